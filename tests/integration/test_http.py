"""HTTP/1.1 behaviour of a unigw node over raw sockets: keep-alive, pipelining,
Expect: 100-continue, chunked request bodies, malformed and oversized requests,
slow-loris header timeout, client disconnect mid-PUT, health and metrics."""
import hashlib
import os
import time
import xml.etree.ElementTree as ET

import pytest

import util
from util import RawConn, raw_request_bytes

GW_NODES = 1


@pytest.fixture(scope="module")
def bucket(gw, s3):
    name = util.unique_bucket("http")
    s3.create_bucket(Bucket=name)
    for i in range(3):
        s3.put_object(Bucket=name, Key="obj%d" % i, Body=b"body of object %d" % i)
    return name


def test_health_and_metrics(gw):
    for path in ("/health/live", "/health/ready"):
        st, h, _ = util.http_request(gw.endpoint, "GET", path)
        assert st == 200, path
    st, h, body = util.http_request(gw.endpoint, "GET", "/metrics")
    assert st == 200
    assert h.get("content-type", "").startswith("text/plain")
    text = body.decode()
    assert "# TYPE " in text
    # every non-comment line is "name{labels} value"
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            assert name, line
            float(value)


def test_keep_alive_sequential(gw, bucket):
    c = RawConn(gw.node)
    try:
        for i in range(3):
            c.send(raw_request_bytes(gw, "GET", util.key_path(bucket, "obj%d" % i)))
            st, h, body = c.read_response()
            assert st == 200 and body == b"body of object %d" % i
            assert h.get("connection", "").lower() != "close"
        # an error response does not end the connection either
        c.send(raw_request_bytes(gw, "GET", util.key_path(bucket, "missing")))
        st, h, body = c.read_response()
        assert st == 404 and util.s3_error(body)[0] == "NoSuchKey"
        c.send(raw_request_bytes(gw, "HEAD", util.key_path(bucket, "obj1")))
        st, h, body = c.read_response(head=True)
        assert st == 200 and int(h["content-length"]) == len(b"body of object 1")
        c.send(raw_request_bytes(gw, "GET", util.key_path(bucket, "obj2")))
        assert c.read_response()[2] == b"body of object 2"
    finally:
        c.close()


def test_pipelining(gw, bucket):
    c = RawConn(gw.node)
    try:
        reqs = b"".join(raw_request_bytes(gw, "GET", util.key_path(bucket, "obj%d" % (i % 3)))
                        for i in range(6))
        put = raw_request_bytes(gw, "PUT", util.key_path(bucket, "piped"), body=b"pipelined put")
        c.send(reqs + put + raw_request_bytes(gw, "GET", util.key_path(bucket, "piped")))
        for i in range(6):
            st, _, body = c.read_response()
            assert st == 200 and body == b"body of object %d" % (i % 3)
        assert c.read_response()[0] == 200
        st, _, body = c.read_response()
        assert st == 200 and body == b"pipelined put"
    finally:
        c.close()


def test_connection_close_honoured(gw, bucket):
    c = RawConn(gw.node)
    try:
        c.send(raw_request_bytes(gw, "GET", util.key_path(bucket, "obj0"),
                                 headers={"Connection": "close"}))
        st, h, body = c.read_response()
        assert st == 200 and body == b"body of object 0"
        assert c.closed_by_peer(10)
    finally:
        c.close()


def test_expect_100_continue(gw, bucket):
    body = os.urandom(200000)
    c = RawConn(gw.node)
    try:
        req = raw_request_bytes(gw, "PUT", util.key_path(bucket, "expect"), body=body,
                                headers={"Expect": "100-continue",
                                         "Content-MD5": util.md5_b64(body)})
        head, body_part = req[:len(req) - len(body)], req[len(req) - len(body):]
        c.send(head)
        st, _, _ = c.read_response()
        assert st == 100
        c.send(body_part)
        st, h, _ = c.read_response()
        assert st == 200 and h["etag"] == '"%s"' % util.md5_hex(body)
    finally:
        c.close()
    with open(os.path.join(gw.mount, bucket, "expect"), "rb") as f:
        assert f.read() == body

    # a request that will fail gets its final status instead of 100 Continue
    c = RawConn(gw.node)
    try:
        req = raw_request_bytes(gw, "PUT", util.key_path(bucket, "expect-denied"), body=body,
                                headers={"Expect": "100-continue"},
                                sign=False)
        c.send(req[:len(req) - len(body)])
        st, h, resp = c.read_response()
        assert st == 403 and util.s3_error(resp)[0] == "AccessDenied"
    finally:
        c.close()
    assert not os.path.exists(os.path.join(gw.mount, bucket, "expect-denied"))


def _chunked(data, sizes):
    out, pos = b"", 0
    for n in sizes:
        out += b"%x\r\n" % n + data[pos:pos + n] + b"\r\n"
        pos += n
    assert pos == len(data)
    return out + b"0\r\n\r\n"


def test_chunked_presigned_put(gw, bucket):
    data = os.urandom(100000)
    path = util.key_path(bucket, "chunked presigned")
    url = gw.boto3().generate_presigned_url("put_object", Params={
        "Bucket": bucket, "Key": "chunked presigned"}, ExpiresIn=300)
    target = url[len(gw.endpoint):]
    assert target.startswith(path + "?")
    c = RawConn(gw.node)
    try:
        c.send(("PUT %s HTTP/1.1\r\nHost: %s\r\nTransfer-Encoding: chunked\r\n\r\n"
                % (target, gw.node.hostport)).encode() + _chunked(data, [1, 4095, 60000, 35904]))
        st, h, body = c.read_response()
        assert st == 200, body
        assert h["etag"] == '"%s"' % util.md5_hex(data)
    finally:
        c.close()
    with open(os.path.join(gw.mount, bucket, "chunked presigned"), "rb") as f:
        assert f.read() == data


def test_chunked_unsigned_payload_put(gw, bucket):
    data = os.urandom(70000)
    path = util.key_path(bucket, "chunked-unsigned")
    hdrs = util.sigv4_headers("PUT", gw.node.hostport, path, None,
                              {"Transfer-Encoding": "chunked"}, util.UNSIGNED_PAYLOAD,
                              gw.access_key, gw.secret_key)
    c = RawConn(gw.node)
    try:
        c.send(("PUT %s HTTP/1.1\r\n" % path).encode()
               + "".join("%s: %s\r\n" % kv for kv in hdrs.items()).encode() + b"\r\n"
               + _chunked(data, [65536, 4464]))
        st, h, body = c.read_response()
        assert st == 200, body
    finally:
        c.close()
    with open(os.path.join(gw.mount, bucket, "chunked-unsigned"), "rb") as f:
        assert hashlib.md5(f.read()).hexdigest() == util.md5_hex(data)


@pytest.mark.parametrize("garbage", [b"GARBAGE\r\n\r\n", b"GET\r\n\r\n",
                                     b"GET /x HTTP/1.1\r\nNo colon header\r\n\r\n",
                                     b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + b"\0" * 64,
                                     b"PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                                     b"PUT /b/k HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n"
                                     b"Transfer-Encoding: chunked\r\n\r\nzz\r\n"])
def test_malformed_request(gw, garbage):
    c = RawConn(gw.node)
    try:
        c.send(garbage)
        st, h, body = c.read_response()
        assert st == 400
        assert h.get("content-type", "").startswith("application/xml")
        code, _, _ = util.s3_error(body)
        assert code
    finally:
        c.close()
    st, _, _ = util.http_request(gw.endpoint, "GET", "/health/live")
    assert st == 200


def test_oversized_headers(gw):
    c = RawConn(gw.node)
    try:
        c.send(b"GET /health/live HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * (256 * 1024)
               + b"\r\n\r\n")
        st, h, body = c.read_response()
        assert st == 400
        assert util.s3_error(body)[0] == "RequestHeaderSectionTooLarge"
    except (ConnectionResetError, BrokenPipeError):
        pytest.fail("server reset the connection instead of answering 400")
    finally:
        c.close()
    c = RawConn(gw.node)
    try:
        c.send(b"GET /health/live HTTP/1.1\r\nHost: x\r\n"
               + b"".join(b"X-H%d: v\r\n" % i for i in range(5000)) + b"\r\n")
        st, h, body = c.read_response()
        assert st == 400
    finally:
        c.close()
    st, _, _ = util.http_request(gw.endpoint, "GET", "/health/live")
    assert st == 200


def test_slow_loris_header_timeout(gw_factory):
    """Trickling a header one byte per second must not hold a connection forever: with
    [server] header_timeout = 2s the node closes it (a 408/400 before closing is fine)."""
    c_gw = gw_factory(config="[server]\nheader_timeout = 2s\n")
    c = RawConn(c_gw.node, timeout=5)
    closed = False
    t0 = time.monotonic()
    try:
        c.send(b"GET /health/live HTTP/1.1\r\nHost: x\r\n")
        while time.monotonic() - t0 < 20:
            try:
                c.send(b"X")
            except (BrokenPipeError, ConnectionResetError):
                closed = True
                break
            if c.closed_by_peer(1.0):
                closed = True
                break
    finally:
        c.close()
    assert closed, "connection still open after 20 s of a trickled header (timeout 2 s)"
    assert time.monotonic() - t0 < 15
    st, _, _ = util.http_request(c_gw.endpoint, "GET", "/health/live")
    assert st == 200


def test_client_disconnect_mid_put(gw, bucket):
    size = 8 * 1024 * 1024
    path = util.key_path(bucket, "interrupted")
    hdrs = util.sigv4_headers("PUT", gw.node.hostport, path, None,
                              {"Content-Length": str(size)}, util.UNSIGNED_PAYLOAD,
                              gw.access_key, gw.secret_key)
    c = RawConn(gw.node)
    try:
        c.send(("PUT %s HTTP/1.1\r\n" % path).encode()
               + "".join("%s: %s\r\n" % kv for kv in hdrs.items()).encode() + b"\r\n")
        c.send(os.urandom(1024 * 1024))
        time.sleep(0.5)
    finally:
        c.close()
    left = gw.wait_tmp_empty(timeout=15)
    assert left == [], "temp files left behind: %r" % left
    assert not os.path.exists(os.path.join(gw.mount, bucket, "interrupted"))
    st, _, _ = util.http_request(gw.endpoint, "GET", "/health/live")
    assert st == 200
    # the key is still free for a complete upload
    r = gw.request("PUT", path, body=b"complete")
    assert r[0] == 200


def test_short_body_incomplete(gw, bucket):
    """Content-Length larger than what arrives before the client half-closes."""
    c = RawConn(gw.node)
    path = util.key_path(bucket, "short")
    try:
        hdrs = util.sigv4_headers("PUT", gw.node.hostport, path, None, {"Content-Length": "100"},
                                  util.UNSIGNED_PAYLOAD, gw.access_key, gw.secret_key)
        c.send(("PUT %s HTTP/1.1\r\n" % path).encode()
               + "".join("%s: %s\r\n" % kv for kv in hdrs.items()).encode() + b"\r\n" + b"x" * 10)
        c.sock.shutdown(1)
        try:
            st, _, body = c.read_response()
            assert st == 400 and util.s3_error(body)[0] in ("IncompleteBody", "RequestTimeout")
        except ConnectionError:
            pass  # closing without a response is acceptable for a half-closed client
    finally:
        c.close()
    assert gw.wait_tmp_empty(timeout=15) == []
    assert not os.path.exists(os.path.join(gw.mount, bucket, "short"))


def test_error_bodies_are_xml(gw):
    st, h, body = util.http_request(gw.endpoint, "GET", "/nonexistent-bucket-zz/k")
    assert st in (403, 404)  # anonymous: AccessDenied, or NoSuchBucket
    assert h.get("content-type", "").startswith("application/xml")
    root = ET.fromstring(body)
    assert root.tag == "Error"
    assert util.s3_error(body)[2] == h["x-amz-request-id"]


def test_vhost_style(gw_factory):
    c = gw_factory(args=["--vhost-domain", "s3.local"])
    s3 = c.boto3()
    s3.create_bucket(Bucket="vhbucket")
    s3.put_object(Bucket="vhbucket", Key="dir/hello.txt", Body=b"virtual host")
    host = "vhbucket.s3.local:%d" % c.node.port
    r = util.http_request(c.endpoint, "GET", "/dir/hello.txt", creds=(c.access_key,
                                                                      c.secret_key),
                          headers={"Host": host}, sign_host=host)
    assert r[0] == 200 and r[2] == b"virtual host", r
    url = "http://vhbucket.s3.local:%d/dir/hello.txt" % c.node.port
    p = util.run(["curl", "-sS", "--fail-with-body", "--noproxy", "*", "--resolve",
                  "vhbucket.s3.local:%d:%s" % (c.node.port, c.node.addr),
                  "-H", "x-amz-content-sha256: " + util.EMPTY_SHA256,
                  "--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
                  "%s:%s" % (c.access_key, c.secret_key), url])
    assert p.stdout == b"virtual host"
    r = util.http_request(c.endpoint, "GET", "/", query=[("list-type", "2")],
                          creds=(c.access_key, c.secret_key), headers={"Host": host},
                          sign_host=host)
    assert r[0] == 200
    keys = [e.text for e in util.xml_find(ET.fromstring(r[2]), "Contents/Key")]
    assert keys == ["dir/hello.txt"]
    # path style keeps working on the same node
    assert s3.get_object(Bucket="vhbucket", Key="dir/hello.txt")["Body"].read() == b"virtual host"


def test_thousands_of_connections(gw, s3, bucket):
    """2000 clients connected at once, each with a request in flight: every one
    gets its object back, and the node keeps serving afterwards."""
    import selectors
    import socket

    n = 2000
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "obj0"},
                                       ExpiresIn=600).split(gw.node.hostport, 1)[1]
    req = ("GET %s HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n"
           % (url, gw.node.hostport)).encode()
    socks = []
    try:
        for _ in range(n):
            s = socket.create_connection((gw.node.addr, gw.node.port), timeout=30)
            socks.append(s)
        for s in socks:  # all connected first, then all requests in flight together
            s.sendall(req)
        sel = selectors.DefaultSelector()
        got = {}
        for s in socks:
            s.setblocking(False)
            sel.register(s, selectors.EVENT_READ)
            got[s] = b""
        deadline = time.monotonic() + 120
        open_ = n
        while open_ and time.monotonic() < deadline:
            for key, _ in sel.select(timeout=1):
                data = key.fileobj.recv(65536)
                if data:
                    got[key.fileobj] += data
                else:
                    sel.unregister(key.fileobj)
                    open_ -= 1
        assert open_ == 0, "%d responses did not complete" % open_
        for s in socks:
            head, _, body = got[s].partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), head[:80]
            assert body == b"body of object 0"
    finally:
        for s in socks:
            s.close()
    st, _, _ = util.http_request(gw.endpoint, "GET", "/health/live")
    assert st == 200

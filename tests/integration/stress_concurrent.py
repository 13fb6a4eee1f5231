"""The error paths under stress (issue 7 item 6): the failure-path tests, many times over and
concurrently, on one node under ASan.

* disk full on a small tmpfs mount: concurrent PUTs and UploadParts larger than an io
  buffer, answered 507 InsufficientStorage (or 200 when one fits);
* a client gone at every phase of PUT, UploadPart and CompleteMultipartUpload: after the
  head, in the middle of the body, after the body before the answer;
* Content-MD5 and x-amz-content-sha256 mismatches;
* aws-chunked streams cut off, with a bad chunk size, or with a wrong trailer checksum.

Every answer must be exactly one well-formed response (nothing follows it on the
connection); afterwards no temp file is left in .unigw/tmp, no object appeared, the node
serves, and its log has no sanitizer report (conftest checks after every test).  Each test
is bounded by a round count and by UNIGW_STRESS_SECONDS (default 20 s) of wall time."""
import base64
import concurrent.futures
import hashlib
import os
import socket
import time

import pytest
from botocore.exceptions import ClientError

import util
from util import RawConn

GW_NODES = 1
SECONDS = float(os.environ.get("UNIGW_STRESS_SECONDS", "20"))
WORKERS = 6


def rounds(n):
    """Up to @n rounds, stopping once SECONDS have passed."""
    deadline = time.time() + SECONDS
    for i in range(n):
        if i > 0 and time.time() > deadline:
            return
        yield i


def hammer(fn, n):
    """Run fn(i) for up to @n rounds on WORKERS threads; re-raise the first failure."""
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as ex:
        for f in [ex.submit(fn, i) for i in rounds(n)]:
            f.result()


def one_response(c):
    """Read one response from RawConn @c and check nothing else follows it."""
    st, h, body = c.read_response()
    c.sock.settimeout(0.2)
    try:
        extra = c.buf or c.sock.recv(4096)
    except (socket.timeout, ConnectionError, OSError):
        extra = b""
    assert not extra, "bytes after the response (a second response?): %r" % extra[:200]
    return st, h, body


def error_code(body):
    b = body.decode("utf-8", "replace")
    return b.split("<Code>", 1)[1].split("</Code>", 1)[0] if "<Code>" in b else ""


def settle(gw, bucket=None, absent=()):
    """The node has cleaned up: no temp file, none of @absent exists, it still serves."""
    left = gw.wait_tmp_empty()
    assert left == [], "temp files left: %r" % left
    for key in absent:
        assert not os.path.lexists(os.path.join(gw.mount, bucket, key)), key
    st, _, _ = util.http_request(gw.endpoint, "GET", "/health/live")
    assert st == 200


def put_head(gw, path, size, query=None, extra=None):
    headers = {"Content-Length": str(size)}
    headers.update(extra or {})
    return util.raw_request_bytes(gw, "PUT", path, query=query, headers=headers,
                                  payload_hash=util.UNSIGNED_PAYLOAD)


@pytest.fixture(scope="module")
def bucket(gw):
    s3 = gw.boto3()
    name = util.unique_bucket("stress")
    s3.create_bucket(Bucket=name)
    return name


def send_body(c, size, chunk=1 << 20):
    """Send @size bytes; the server may answer and close early (that is fine)."""
    data = os.urandom(min(size, chunk))
    sent = 0
    try:
        while sent < size:
            n = min(len(data), size - sent)
            c.send(data[:n])
            sent += n
    except (BrokenPipeError, ConnectionResetError):
        pass


def test_disk_full_concurrent(tmpfs, gw_factory):
    """Concurrent PUTs and UploadParts of 6 MiB into a 24 MiB tmpfs that a filler has
    nearly filled: each answer is 200 or 507 InsufficientStorage, never anything else, and
    every temp file and staged part of a refused write is gone."""
    small_tmpfs = tmpfs("24m")
    gw = gw_factory(mount=small_tmpfs)
    s3 = gw.boto3()
    s3.create_bucket(Bucket="full")
    with open(os.path.join(small_tmpfs, "filler"), "wb") as f:
        f.write(b"\0" * (14 << 20))
    uid = s3.create_multipart_upload(Bucket="full", Key="mp")["UploadId"]
    size = 6 << 20

    def one(i):
        is_part = i % 3 == 2
        path = util.key_path("full", "mp" if is_part else "k%d" % i)
        query = [("partNumber", str(i % 100 + 1)), ("uploadId", uid)] if is_part else None
        c = RawConn(gw.node, timeout=60)
        try:
            c.send(put_head(gw, path, size, query=query))
            send_body(c, size)
            st, _, body = one_response(c)
        finally:
            c.close()
        assert st in (200, 507), (st, body)
        if st == 507:
            assert error_code(body) == "InsufficientStorage", body
            assert is_part or not os.path.exists(os.path.join(small_tmpfs, "full", "k%d" % i))
        elif not is_part:
            os.unlink(os.path.join(small_tmpfs, "full", "k%d" % i))  # room for the next

    hammer(one, 60)
    s3.abort_multipart_upload(Bucket="full", Key="mp", UploadId=uid)
    settle(gw)
    os.unlink(os.path.join(small_tmpfs, "filler"))
    s3.put_object(Bucket="full", Key="after", Body=b"after the failures")
    assert s3.get_object(Bucket="full", Key="after")["Body"].read() == b"after the failures"
    util.wait_for(lambda: not os.listdir(os.path.join(small_tmpfs, ".unigw", "multipart")),
                  timeout=20, what="the aborted upload's staged parts to go")


PHASES = ("after-head", "mid-body", "before-answer")


def cut(gw, head, size, phase):
    """Send @head and part of a @size-byte body as @phase says, then vanish."""
    c = RawConn(gw.node, timeout=10)
    try:
        c.send(head)
        if phase == "mid-body":
            send_body(c, size // 2, chunk=64 << 10)
        elif phase == "before-answer":
            send_body(c, size, chunk=64 << 10)
    finally:
        # RST rather than FIN: the peer is gone, not done.
        c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
        c.close()


def test_client_gone_at_every_phase_of_put(gw, bucket):
    size = 3 << 20

    def one(i):
        key = "gone/p%d" % i
        phase = PHASES[i % len(PHASES)]
        cut(gw, put_head(gw, util.key_path(bucket, key), size), size, phase)

    hammer(one, 90)
    # a PUT cut before its answer may have completed; one cut earlier never does
    settle(gw, bucket, ["gone/p%d" % i for i in range(90) if PHASES[i % 3] != "before-answer"])


def test_client_gone_at_every_phase_of_upload_part(gw, bucket):
    s3 = gw.boto3()
    uid = s3.create_multipart_upload(Bucket=bucket, Key="gone-mp")["UploadId"]
    size = 5 << 20

    def one(i):
        phase = PHASES[i % len(PHASES)]
        q = [("partNumber", str(i % 50 + 1)), ("uploadId", uid)]
        cut(gw, put_head(gw, util.key_path(bucket, "gone-mp"), size, query=q), size, phase)

    hammer(one, 60)
    parts = s3.list_parts(Bucket=bucket, Key="gone-mp", UploadId=uid).get("Parts", [])
    assert all(p["Size"] == size for p in parts), parts
    s3.abort_multipart_upload(Bucket=bucket, Key="gone-mp", UploadId=uid)
    settle(gw)


def test_client_gone_during_complete(gw, bucket):
    """Complete requests cut mid-body, and after the body while the upload assembles; a
    later Complete with the same list still succeeds, or finds the completed object."""
    s3 = gw.boto3()
    body = b"x" * (5 << 20)

    def one(i):
        key = "gone-cmpl-%d" % i
        uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
        etags = [s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=n,
                                Body=body)["ETag"] for n in (1, 2)]
        xml = ("<CompleteMultipartUpload>%s</CompleteMultipartUpload>" % "".join(
            "<Part><PartNumber>%d</PartNumber><ETag>%s</ETag></Part>" % (n + 1, e)
            for n, e in enumerate(etags))).encode()
        phase = ("mid-body", "before-answer")[i % 2]
        head = util.raw_request_bytes(gw, "POST", util.key_path(bucket, key),
                                      query=[("uploadId", uid)], body=xml)
        c = RawConn(gw.node, timeout=10)
        try:
            c.send(head[:len(head) - (len(xml) // 2 if phase == "mid-body" else 0)])
        finally:
            c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
            c.close()
        done = {"Parts": [{"PartNumber": n + 1, "ETag": e} for n, e in enumerate(etags)]}
        deadline = time.time() + 20
        while True:  # a cut Complete may still be assembling: a retry waits for it
            try:
                s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid,
                                             MultipartUpload=done)
                break
            except ClientError as e:
                if util.client_error(e)[0] != "NoSuchUpload" or time.time() > deadline:
                    raise
                time.sleep(0.2)
        assert s3.head_object(Bucket=bucket, Key=key)["ContentLength"] == 2 * len(body)
        s3.delete_object(Bucket=bucket, Key=key)

    hammer(one, 12)
    settle(gw)


def test_digest_mismatch(gw, bucket):
    def one(i):
        data = os.urandom(64 << 10)
        key = "bad-digest-%d" % i
        if i % 2 == 0:
            wrong = base64.b64encode(hashlib.md5(data + b"!").digest()).decode()
            req = util.raw_request_bytes(gw, "PUT", util.key_path(bucket, key), body=data,
                                         payload_hash=util.UNSIGNED_PAYLOAD,
                                         headers={"Content-MD5": wrong})
            want = (400, "BadDigest")
        else:
            req = util.raw_request_bytes(gw, "PUT", util.key_path(bucket, key), body=data,
                                         payload_hash=hashlib.sha256(b"other").hexdigest())
            want = (400, "XAmzContentSHA256Mismatch")
        c = RawConn(gw.node, timeout=30)
        try:
            c.send(req)
            st, _, body = one_response(c)
        finally:
            c.close()
        assert (st, error_code(body)) == want, body

    hammer(one, 120)
    settle(gw, bucket, ["bad-digest-%d" % i for i in range(120)])


def chunked_put(gw, bucket, key, data, body):
    path = util.key_path(bucket, key)
    h = util.sigv4_headers("PUT", gw.node.hostport, path, None, {
        "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
        "x-amz-trailer": "x-amz-checksum-crc32"}, "STREAMING-UNSIGNED-PAYLOAD-TRAILER",
        gw.access_key, gw.secret_key)
    h["Content-Length"] = str(len(body))
    head = "PUT %s HTTP/1.1\r\n" % path + "".join("%s: %s\r\n" % kv for kv in h.items())
    return (head + "\r\n").encode()


def test_aborted_aws_chunked(gw, bucket):
    """aws-chunked bodies cut short, with a chunk size that lies, with a wrong trailer."""
    data = os.urandom(256 << 10)
    good = util.checksum_b64("CRC32", data)
    bad = util.checksum_b64("CRC32", data + b"?")

    def framed(trailer, size_line=None):
        sl = size_line if size_line is not None else b"%x" % len(data)
        return (sl + b"\r\n" + data + b"\r\n0\r\nx-amz-checksum-crc32:" + trailer.encode() +
                b"\r\n\r\n")

    def one(i):
        key = "chunked-%d" % i
        kind = i % 3
        body = framed(bad) if kind == 1 else framed(good, b"%x" % (len(data) + 7)) \
            if kind == 2 else framed(good)
        c = RawConn(gw.node, timeout=30)
        try:
            c.send(chunked_put(gw, bucket, key, data, body))
            if kind == 0:  # cut off mid-stream
                c.send(body[:len(body) // 2])
                c.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\1\0\0\0\0\0\0\0")
                return
            try:
                c.send(body)
            except (BrokenPipeError, ConnectionResetError):
                pass
            st, _, out = one_response(c)
            assert 400 <= st < 500, (st, out)
        finally:
            c.close()

    hammer(one, 90)
    settle(gw, bucket, ["chunked-%d" % i for i in range(90)])

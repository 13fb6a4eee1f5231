"""HTTPS on the S3 listener: [server] tls_cert / tls_key with a throwaway CA made by
deploy/tls-test-ca.sh.  curl, boto3 and awscli verify the node's certificate against the CA;
plain HTTP, garbage and aborted handshakes on the TLS port are refused without disturbing
the node; aws:SecureTransport is true over TLS; SIGHUP loads a new certificate for new
connections while an open connection keeps working; a bad certificate or key stops the
start-up with a clear message."""
import json
import os
import signal
import socket
import ssl
import subprocess
import time

import pytest

import util

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CA_SCRIPT = os.path.join(ROOT, "deploy", "tls-test-ca.sh")
NAMES = ["127.0.0.11", "localhost"]  # util.Cluster's first node listens on 127.0.0.11


def make_pki(d):
    util.run(["bash", CA_SCRIPT, str(d)] + NAMES)
    return {k: os.path.join(str(d), f) for k, f in
            (("ca", "ca.pem"), ("cert", "server.pem"), ("key", "server.key"))}


def tls_config(pki):
    return "[server]\ntls_cert = %s\ntls_key = %s\n" % (pki["cert"], pki["key"])


@pytest.fixture(scope="module")
def pki(tmp_path_factory):
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="module")
def tgw(pki, tmp_path_factory):
    c = util.Cluster(tmp_path_factory.mktemp("gw"), config=tls_config(pki), tls_ca=pki["ca"])
    c.start()
    yield c
    c.stop()


@pytest.fixture(scope="module")
def s3(tgw):
    return tgw.boto3()


def curl(tgw, pki, *args):
    return util.run(["curl", "-sS", "--fail-with-body", "--cacert", pki["ca"],
                     "--aws-sigv4", "aws:amz:us-east-1:s3",
                     "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD",  # curl 7.88 sends none
                     "--user", "%s:%s" % (tgw.access_key, tgw.secret_key)] + list(args),
                    timeout=120)


def still_serving(s3):
    assert s3.list_buckets()["ResponseMetadata"]["HTTPStatusCode"] == 200


def test_endpoint_is_https_and_plain_http_is_refused(tgw, s3):
    assert tgw.endpoint.startswith("https://")
    # http.client over plain TCP: the server answers no HTTP and closes.
    with pytest.raises((ConnectionError, OSError, util.http.client.HTTPException)):
        util.http_request(tgw.endpoint.replace("https://", "http://"), "GET", "/health/ready",
                          timeout=10)
    with socket.create_connection((tgw.node.addr, tgw.node.port), timeout=10) as sock:
        sock.sendall(b"GET /health/ready HTTP/1.1\r\nHost: x\r\n\r\n")
        got = b""
        for _ in range(100):
            try:
                chunk = sock.recv(4096)
            except ConnectionResetError:
                break
            if not chunk:
                break
            got += chunk
        assert not got.startswith(b"HTTP/"), got
    still_serving(s3)


def test_curl_put_get_head(tgw, pki, tmp_path):
    bucket = util.unique_bucket("tls")
    base = tgw.endpoint + "/" + bucket
    curl(tgw, pki, "-X", "PUT", base)
    for size in (10, 300 * 1024, 3 * 1024 * 1024 + 7):  # small, >64 KiB and several reads
        src = str(tmp_path / ("src-%d" % size))
        dst = str(tmp_path / ("dst-%d" % size))
        util.write_random_file(src, size, seed=size)
        curl(tgw, pki, "-T", src, base + "/obj-%d" % size)
        curl(tgw, pki, "-o", dst, base + "/obj-%d" % size)
        with open(src, "rb") as a, open(dst, "rb") as b:
            assert a.read() == b.read()
        head = curl(tgw, pki, "-I", base + "/obj-%d" % size).stdout.decode()
        assert "content-length: %d" % size in head.lower()


def test_boto3_object_operations(tgw, s3):
    bucket = util.unique_bucket("tls")
    s3.create_bucket(Bucket=bucket)
    body = os.urandom(1024 * 1024 + 3)
    s3.put_object(Bucket=bucket, Key="a/one", Body=body)
    assert s3.get_object(Bucket=bucket, Key="a/one")["Body"].read() == body
    r = s3.get_object(Bucket=bucket, Key="a/one", Range="bytes=100-199999")
    assert r["Body"].read() == body[100:200000]
    part1, part2 = os.urandom(5 * 1024 * 1024), b"z"
    up = s3.create_multipart_upload(Bucket=bucket, Key="a/mpu")["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="a/mpu", UploadId=up, PartNumber=1,
                        Body=part1)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key="a/mpu", UploadId=up, PartNumber=2,
                        Body=part2)["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="a/mpu", UploadId=up, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert s3.get_object(Bucket=bucket, Key="a/mpu")["Body"].read() == part1 + part2
    s3.copy_object(Bucket=bucket, Key="a/copy", CopySource={"Bucket": bucket, "Key": "a/one"})
    assert s3.get_object(Bucket=bucket, Key="a/copy")["Body"].read() == body
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket)["Contents"]]
    assert keys == ["a/copy", "a/mpu", "a/one"]
    for k in keys:
        s3.delete_object(Bucket=bucket, Key=k)
    assert s3.list_objects_v2(Bucket=bucket)["KeyCount"] == 0
    s3.delete_bucket(Bucket=bucket)


def test_boto3_refuses_without_the_ca(tgw):
    import botocore.exceptions
    s3 = tgw.boto3(verify=True)  # the system CAs do not know our test CA
    with pytest.raises(botocore.exceptions.SSLError):
        s3.list_buckets()


def test_admin_cli_over_https(tgw, pki):
    """unigw-admin speaks https: verified against --ca-file (or UNIGW_CA_FILE); without the
    CA the handshake fails (exit 3, nothing changed)."""
    admin = os.path.join(os.path.dirname(util.unigw_bin()), "unigw-admin")
    base = [admin, "--endpoint", tgw.endpoint, "--access-key", tgw.access_key,
            "--secret-key", tgw.secret_key]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": tgw.client_dir}
    name = "tlsuser" + util.random_key(5).lower()
    p = subprocess.run(base + ["--ca-file", pki["ca"], "user", "create", name],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    p = subprocess.run(base + ["--json", "user", "list"], capture_output=True, text=True,
                       env=dict(env, UNIGW_CA_FILE=pki["ca"]), timeout=60)
    assert p.returncode == 0 and name in {u["name"] for u in json.loads(p.stdout)["users"]}
    p = subprocess.run(base + ["user", "delete", name], capture_output=True, text=True,
                       env=env, timeout=60)
    assert p.returncode == 3 and "TLS handshake" in p.stderr, p.stderr
    p = subprocess.run(base + ["--ca-file", pki["ca"], "user", "delete", name],
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr


def test_awscli_with_ca_bundle(tgw, pki, tmp_path):
    env = tgw.client_env()
    bucket = util.unique_bucket("tls")

    def aws(*args):
        return util.run([util.AWS_CLI, "--endpoint-url", tgw.endpoint, "--ca-bundle", pki["ca"],
                         "--no-cli-pager"] + list(args), env=env, timeout=180)
    src = str(tmp_path / "up.bin")
    dst = str(tmp_path / "down.bin")
    md5 = util.write_random_file(src, 2 * 1024 * 1024 + 5, seed=7)
    aws("s3", "mb", "s3://" + bucket)
    aws("s3", "cp", src, "s3://%s/k" % bucket)
    assert aws("s3", "ls", "s3://%s/" % bucket).stdout.split()[-1] == b"k"
    aws("s3", "cp", "s3://%s/k" % bucket, dst)
    assert util.file_md5(dst) == md5
    aws("s3", "rm", "s3://%s/k" % bucket)
    aws("s3", "rb", "s3://" + bucket)


def client_hello_prefix():
    """The first bytes of a real ClientHello, from an in-memory TLS client."""
    ctx = ssl.create_default_context()
    inc, out = ssl.MemoryBIO(), ssl.MemoryBIO()
    obj = ctx.wrap_bio(inc, out, server_hostname="localhost")
    with pytest.raises(ssl.SSLWantReadError):
        obj.do_handshake()
    return out.read()


def test_garbage_and_aborted_handshakes_leave_the_node_serving(tgw, s3, pki):
    hello = client_hello_prefix()
    assert hello[:1] == b"\x16"  # a handshake record
    addr = (tgw.node.addr, tgw.node.port)
    for i in range(20):
        with socket.create_connection(addr, timeout=10) as sock:
            if i % 4 == 0:
                sock.sendall(os.urandom(2000))
            elif i % 4 == 1:
                sock.sendall(hello[:len(hello) // 2])  # half a ClientHello, then close
            elif i % 4 == 2:
                sock.sendall(hello)  # a whole one, gone before the server's answer is read
            else:
                sock.sendall(b"\x16\x03\x01\xff\xff" + b"\x00" * 64)  # oversized record
            if i % 4 == 0:
                sock.settimeout(10)
                try:
                    while sock.recv(4096):
                        pass
                except ConnectionResetError:
                    pass
    # A full handshake and a close without any request, and one aborted by the client's
    # certificate check (it does not know the CA).
    ctx = ssl.create_default_context(cafile=pki["ca"])
    with socket.create_connection(addr, timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname=tgw.node.addr) as tls:
            assert tls.selected_alpn_protocol() is None  # we offered none
    with socket.create_connection(addr, timeout=10) as sock:
        with pytest.raises(ssl.SSLCertVerificationError):
            ssl.create_default_context().wrap_socket(sock, server_hostname=tgw.node.addr)
    still_serving(s3)


def test_client_gone_mid_download_and_pipelining(tgw, s3, pki):
    """A client that closes in the middle of a large GET (the body goes out by pread +
    SSL_write, a read job may be in flight) leaves nothing broken; pipelined requests in
    one TLS record are all answered."""
    bucket = util.unique_bucket("tls")
    s3.create_bucket(Bucket=bucket)
    body = os.urandom(8 * 1024 * 1024)
    s3.put_object(Bucket=bucket, Key="big", Body=body)
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": "arn:aws:s3:::%s/*" % bucket}]}))
    ctx = ssl.create_default_context(cafile=pki["ca"])
    addr = (tgw.node.addr, tgw.node.port)
    for i in range(6):
        with socket.create_connection(addr, timeout=10) as sock:
            with ctx.wrap_socket(sock, server_hostname=addr[0]) as tls:
                tls.sendall(b"GET /%s/big HTTP/1.1\r\nHost: x\r\n\r\n" % bucket.encode())
                got = 0
                while got < 4096 * (i + 1):
                    got += len(tls.recv(65536))
    req = b"GET /%s/big HTTP/1.1\r\nHost: x\r\nRange: bytes=%d-%d\r\n\r\n"
    with socket.create_connection(addr, timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname=addr[0]) as tls:
            tls.sendall(req % (bucket.encode(), 0, 99999) + req % (bucket.encode(), 5, 9)
                        + b"GET /health/ready HTTP/1.1\r\nHost: x\r\n\r\n")
            conn = util.RawConn.__new__(util.RawConn)  # its response reader, on TLS
            conn.sock, conn.buf = tls, b""
            r1, r2, r3 = conn.read_response(), conn.read_response(), conn.read_response()
    assert (r1[0], r1[2]) == (206, body[:100000])
    assert (r2[0], r2[2]) == (206, body[5:10])
    assert r3[0] == 200
    still_serving(s3)


def test_concurrent_clients(tgw, s3):
    """Parallel keep-alive clients with bodies bigger than a read buffer and a TLS record
    both ways (decrypted bytes left pending, partial writes): every byte arrives."""
    import concurrent.futures
    bucket = util.unique_bucket("tls")
    s3.create_bucket(Bucket=bucket)

    def worker(w):
        client = tgw.boto3()
        for i in range(6):
            body = os.urandom(64 * 1024 * (1 + (w * 7 + i) % 24) + w + i)
            key = "w%d/%d" % (w, i)
            client.put_object(Bucket=bucket, Key=key, Body=body)
            assert client.get_object(Bucket=bucket, Key=key)["Body"].read() == body
        return w
    with concurrent.futures.ThreadPoolExecutor(8) as ex:
        assert sorted(ex.map(worker, range(8))) == list(range(8))
    still_serving(s3)


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion")
def test_tls_versions_and_alpn(tgw, pki):
    addr = (tgw.node.addr, tgw.node.port)
    ctx = ssl.create_default_context(cafile=pki["ca"])
    ctx.set_alpn_protocols(["h2", "http/1.1"])
    with socket.create_connection(addr, timeout=10) as sock:
        with ctx.wrap_socket(sock, server_hostname=tgw.node.addr) as tls:
            assert tls.selected_alpn_protocol() == "http/1.1"
            assert tls.version() in ("TLSv1.2", "TLSv1.3")
    old = ssl.create_default_context(cafile=pki["ca"])
    old.minimum_version = ssl.TLSVersion.TLSv1
    old.maximum_version = ssl.TLSVersion.TLSv1_1
    old.set_ciphers("ALL:@SECLEVEL=0")
    with socket.create_connection(addr, timeout=10) as sock:
        with pytest.raises(ssl.SSLError):
            old.wrap_socket(sock, server_hostname=tgw.node.addr)


def test_secure_transport_condition_holds_over_tls(tgw, s3):
    bucket = util.unique_bucket("tls")
    s3.create_bucket(Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="pub", Body=b"over tls")
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": "arn:aws:s3:::%s/*" % bucket,
                       "Condition": {"Bool": {"aws:SecureTransport": "true"}}}]}))
    status, _, body = tgw.request("GET", "/%s/pub" % bucket, sign=False)
    assert (status, body) == (200, b"over tls")
    # A Deny on insecure transport does not hit TLS requests.
    s3.put_bucket_policy(Bucket=bucket, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                       "Resource": ["arn:aws:s3:::%s" % bucket, "arn:aws:s3:::%s/*" % bucket],
                       "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}))
    assert s3.get_object(Bucket=bucket, Key="pub")["Body"].read() == b"over tls"


def test_sighup_reloads_the_certificate(tgw, s3, tmp_path):
    addr = (tgw.node.addr, tgw.node.port)
    old_ca = tgw.tls_ca
    # An open keep-alive connection made with the old certificate.
    ctx = ssl.create_default_context(cafile=old_ca)
    keep = util.http.client.HTTPSConnection(addr[0], addr[1], timeout=10, context=ctx)
    keep.request("GET", "/health/ready")
    assert keep.getresponse().read() is not None
    new = make_pki(tmp_path / "pki2")
    cert_path = tgw_config_value(tgw, "tls_cert")
    key_path = tgw_config_value(tgw, "tls_key")
    # Replace the files in place, as an operator renewing a certificate does.
    with open(new["cert"], "rb") as f, open(cert_path, "wb") as g:
        g.write(f.read())
    with open(new["key"], "rb") as f, open(key_path, "wb") as g:
        g.write(f.read())
    tgw.node.proc.send_signal(signal.SIGHUP)
    new_ctx = ssl.create_default_context(cafile=new["ca"])
    deadline = time.monotonic() + 10
    while True:
        try:
            with socket.create_connection(addr, timeout=10) as sock:
                with new_ctx.wrap_socket(sock, server_hostname=addr[0]):
                    break
        except ssl.SSLCertVerificationError:
            assert time.monotonic() < deadline, "SIGHUP did not load the new certificate"
            time.sleep(0.05)
    keep.request("GET", "/health/ready")
    r = keep.getresponse()
    assert r.status == 200
    r.read()
    keep.close()
    tgw.tls_ca = new["ca"]
    still_serving(tgw.boto3())
    assert "TLS certificate reloaded" in tgw.node.log_text()


def tgw_config_value(tgw, key):
    with open(tgw.config_file) as f:
        for line in f:
            k, _, v = line.partition("=")
            if k.strip() == key:
                return v.strip()
    raise KeyError(key)


@pytest.mark.parametrize("case", ["missing cert", "missing key", "key mismatch", "not pem"])
def test_bad_certificate_stops_start_up(pki, tmp_path, case):
    other = make_pki(tmp_path / "other")
    cert, key = pki["cert"], pki["key"]
    if case == "missing cert":
        cert, want = str(tmp_path / "nope.pem"), "tls_cert '%s': No such file" % (tmp_path / "nope.pem")
    elif case == "missing key":
        key, want = str(tmp_path / "nope.key"), "tls_key '%s': No such file" % (tmp_path / "nope.key")
    elif case == "key mismatch":
        key, want = other["key"], "does not match the certificate"
    else:
        junk = tmp_path / "junk.pem"
        junk.write_text("not a certificate\n")
        cert, want = str(junk), "tls_cert '%s'" % junk
    c = util.Cluster(tmp_path / "gw", config="[server]\ntls_cert = %s\ntls_key = %s\n"
                     % (cert, key), tls_ca=pki["ca"])
    n = c.nodes[0]
    os.makedirs(n.data, exist_ok=True)
    p = subprocess.run(n.argv(), capture_output=True, timeout=60,
                       env=dict(os.environ, UNIGW_ROOT_ACCESS_KEY=c.access_key,
                                UNIGW_ROOT_SECRET_KEY=c.secret_key))
    err = p.stderr.decode()
    assert p.returncode != 0
    assert want in err, err
    assert "bootstrapped" not in err  # refused before anything else starts

"""One namespace, two protocols: what S3 writes is a plain file on the mount, what POSIX
writes is an object; the reserved .unigw directory is invisible; no request reaches a path
outside <mount>/<bucket>/."""
import hashlib
import http.client
import os
import re
import shutil
import time
import urllib.parse

import pytest
from botocore.exceptions import ClientError

import util

GW_NODES = 1
DASHED = re.compile(r'^"[0-9a-f]{32}-1"$')


@pytest.fixture(scope="module")
def bucket(gw, s3):
    name = util.unique_bucket("ns")
    s3.create_bucket(Bucket=name)
    return name


def test_s3_put_is_a_plain_file(gw, s3, bucket):
    body = os.urandom(3 * 1024 * 1024 + 17)
    s3.put_object(Bucket=bucket, Key="from-s3/data.bin", Body=body)
    path = os.path.join(gw.mount, bucket, "from-s3", "data.bin")
    assert os.path.isfile(path)
    assert util.file_md5(path) == util.md5_hex(body)
    assert os.path.getsize(path) == len(body)


def test_posix_file_becomes_object(gw, s3, bucket):
    d = os.path.join(gw.mount, bucket, "posix")
    os.makedirs(d, exist_ok=True)
    path = os.path.join(d, "dd.bin")
    util.run(["dd", "if=/dev/urandom", "of=" + path, "bs=1M", "count=10", "status=none"])
    md5 = util.file_md5(path)

    listing = s3.list_objects_v2(Bucket=bucket, Prefix="posix/")
    assert [(o["Key"], o["Size"]) for o in listing["Contents"]] == [("posix/dd.bin", 10 << 20)]
    first = s3.head_object(Bucket=bucket, Key="posix/dd.bin")["ETag"]
    # a file never written through S3 starts with a fingerprint ETag (unless the background
    # hash already finished, in which case it is the real MD5)
    assert DASHED.match(first) or first == '"%s"' % md5, first
    assert listing["Contents"][0]["ETag"] in (first, '"%s"' % md5)

    r = s3.get_object(Bucket=bucket, Key="posix/dd.bin")
    assert util.md5_hex(r["Body"].read()) == md5
    assert r["ContentLength"] == 10 << 20

    etag = first
    for _ in range(60):
        etag = s3.head_object(Bucket=bucket, Key="posix/dd.bin")["ETag"]
        if etag == '"%s"' % md5:
            break
        assert etag == first, "ETag changed to %s, neither the first value nor the MD5" % etag
        time.sleep(0.5)
    assert etag == '"%s"' % md5, "ETag never upgraded to the MD5 within 30 s"


def test_posix_change_invalidates_metadata(gw, s3, bucket):
    s3.put_object(Bucket=bucket, Key="mut.txt", Body=b"version one", ContentType="text/x-one",
                  ChecksumAlgorithm="CRC32")
    path = os.path.join(gw.mount, bucket, "mut.txt")
    time.sleep(1.1)  # make sure mtime moves on filesystems with coarse timestamps
    with open(path, "wb") as f:
        f.write(b"version two, longer")
    h = s3.head_object(Bucket=bucket, Key="mut.txt", ChecksumMode="ENABLED")
    assert h["ContentLength"] == len(b"version two, longer")
    assert h["ETag"] != '"%s"' % util.md5_hex(b"version one")
    # the stale CRC32 of version one must not be served
    crc = h["ResponseMetadata"]["HTTPHeaders"].get("x-amz-checksum-crc32")
    assert crc in (None, util.checksum_b64("CRC32", b"version two, longer"))
    r = s3.get_object(Bucket=bucket, Key="mut.txt")
    assert r["Body"].read() == b"version two, longer"


def test_posix_rename_and_delete(gw, s3, bucket):
    s3.put_object(Bucket=bucket, Key="mv/src.txt", Body=b"move me")
    base = os.path.join(gw.mount, bucket, "mv")
    os.rename(os.path.join(base, "src.txt"), os.path.join(base, "dst.txt"))
    with pytest.raises(ClientError) as ei:
        s3.head_object(Bucket=bucket, Key="mv/src.txt")
    assert util.client_error(ei.value)[1] == 404
    assert s3.get_object(Bucket=bucket, Key="mv/dst.txt")["Body"].read() == b"move me"
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="mv/")["Contents"]]
    assert keys == ["mv/dst.txt"]

    os.makedirs(os.path.join(gw.mount, bucket, "renamed-dir"))
    os.rename(os.path.join(base, "dst.txt"), os.path.join(gw.mount, bucket, "renamed-dir", "f"))
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="renamed-dir/")["Contents"]]
    assert keys == ["renamed-dir/f"]
    os.unlink(os.path.join(gw.mount, bucket, "renamed-dir", "f"))
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=bucket, Key="renamed-dir/f")
    assert util.client_error(ei.value) == ("NoSuchKey", 404)
    # The directory itself is still there on the mount: an empty directory
    # lists as a directory-marker object, as one made with mkdir does.
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="renamed-dir/")["Contents"]]
    assert keys == ["renamed-dir/"]
    os.rmdir(os.path.join(gw.mount, bucket, "renamed-dir"))
    assert s3.list_objects_v2(Bucket=bucket, Prefix="renamed-dir/")["KeyCount"] == 0


def test_mkdir_is_a_bucket(gw, s3):
    name = util.unique_bucket("posixdir")
    os.mkdir(os.path.join(gw.mount, name))
    with open(os.path.join(gw.mount, name, "hello.txt"), "wb") as f:
        f.write(b"hi from posix")
    names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
    assert name in names
    s3.head_bucket(Bucket=name)
    assert s3.get_object(Bucket=name, Key="hello.txt")["Body"].read() == b"hi from posix"
    s3.put_object(Bucket=name, Key="from-s3", Body=b"s3 side")
    with open(os.path.join(gw.mount, name, "from-s3"), "rb") as f:
        assert f.read() == b"s3 side"


def test_reserved_dir_invisible(gw, s3, bucket):
    s3.put_object(Bucket=bucket, Key="warmup", Body=b"w")
    res = os.path.join(gw.mount, ".unigw")
    assert os.path.isdir(res)
    probe = os.path.join(res, "itest-probe")
    with open(probe, "wb") as f:
        f.write(b"must stay hidden")
    try:
        names = [b["Name"] for b in s3.list_buckets()["Buckets"]]
        assert ".unigw" not in names and not any(n.startswith(".") for n in names)
        for method in ("GET", "HEAD", "PUT", "DELETE"):
            for path in ("/.unigw/itest-probe", "/.unigw", "/.unigw/", "/%2Eunigw/itest-probe",
                         "/.unigw/tmp/"):
                st, _, body = gw.request(method, path, body=b"x" if method == "PUT" else b"")
                assert st in (400, 404), (method, path, st, body)
                if method != "HEAD":
                    assert util.s3_error(body)[0] in ("InvalidBucketName", "NoSuchBucket")
        with pytest.raises(ClientError) as ei:
            s3.create_bucket(Bucket=".unigw")
        assert util.client_error(ei.value)[0] == "InvalidBucketName"
        with open(probe, "rb") as f:
            assert f.read() == b"must stay hidden"
    finally:
        os.unlink(probe)


def _snapshot(root):
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel = os.path.relpath(dirpath, root)
        if rel.split(os.sep)[0] == ".unigw":
            continue
        for n in filenames:
            p = os.path.join(dirpath, n)
            out[os.path.join(rel, n)] = (os.path.getsize(p), os.stat(p).st_mtime_ns)
        for n in dirnames:
            out[os.path.join(rel, n) + "/"] = None
    return out


TRAVERSALS = [
    "/{b}/../x", "/{b}/../{b}2/x", "/{b}/%2e%2e/x", "/{b}/%2E%2E/%2E%2E/outside",
    "/{b}/a/../../x", "/{b}/./x", "/{b}/a/./b", "/{b}/a//b", "/{b}/..", "/{b}/%2e%2e",
    "/{b}/..%2Fx", "/{b}/a%2F..%2F..%2Fx", "/{b}/%2F%2Fetc%2Fpasswd", "/{b}/x%00y",
    "/{b}/%00", "/{b}/" + "s" * 300, "/{b}/dir/" + "t" * 256 + "/f",
]


@pytest.mark.parametrize("template", TRAVERSALS)
def test_path_traversal_rejected(gw, bucket, template):
    root = os.path.dirname(gw.mount)
    for name in ("x", "outside"):
        with open(os.path.join(root, name), "wb") as f:
            f.write(b"outside the mount")
    with open(os.path.join(gw.mount, "x"), "wb") as f:
        f.write(b"outside the bucket")
    before = (_snapshot(gw.mount), sorted(os.listdir(root)))
    raw = template.format(b=bucket)
    # sign the canonical form of the decoded path, as a server re-deriving it would
    canon = util.uri_encode(urllib.parse.unquote(raw), safe="/~")
    try:
        for method, body in (("PUT", b"attack"), ("GET", b""), ("HEAD", b""), ("DELETE", b"")):
            hdrs = util.sigv4_headers(method, gw.node.hostport, canon, None, {},
                                      util.EMPTY_SHA256 if not body else
                                      hashlib.sha256(body).hexdigest(),
                                      gw.access_key, gw.secret_key)
            conn = http.client.HTTPConnection(gw.node.addr, gw.node.port, timeout=15)
            try:
                conn.putrequest(method, raw, skip_host=True, skip_accept_encoding=True)
                for k, v in hdrs.items():
                    conn.putheader(k, v)
                conn.putheader("Content-Length", str(len(body)))
                conn.endheaders(body)
                resp = conn.getresponse()
                data = resp.read()
                assert resp.status == 400, (method, raw, resp.status, data[:300])
                if method != "HEAD":
                    assert util.s3_error(data)[0]
            finally:
                conn.close()
        assert (_snapshot(gw.mount), sorted(os.listdir(root))) == before
        for name in ("x", "outside"):
            with open(os.path.join(root, name), "rb") as f:
                assert f.read() == b"outside the mount"
        with open(os.path.join(gw.mount, "x"), "rb") as f:
            assert f.read() == b"outside the bucket"
    finally:
        for name in ("x", "outside"):
            os.unlink(os.path.join(root, name))
        os.unlink(os.path.join(gw.mount, "x"))
    assert gw.wait_tmp_empty() == []
    st, _, _ = util.http_request(gw.endpoint, "GET", "/health/live")
    assert st == 200


def test_symlink_out_of_bucket_not_followed(gw, s3, bucket):
    """A symlink planted on the mount that points outside the bucket is not served."""
    outside = os.path.join(os.path.dirname(gw.mount), "secret.txt")
    with open(outside, "wb") as f:
        f.write(b"top secret")
    link = os.path.join(gw.mount, bucket, "link-out")
    os.symlink(outside, link)
    try:
        with pytest.raises(ClientError) as ei:
            s3.get_object(Bucket=bucket, Key="link-out")
        code, status = util.client_error(ei.value)
        assert status in (403, 404), (code, status)
        # overwriting the key replaces the link at most, never the file it points to
        try:
            s3.put_object(Bucket=bucket, Key="link-out", Body=b"overwrite")
        except ClientError:
            pass
        with open(outside, "rb") as f:
            assert f.read() == b"top secret"
    finally:
        if os.path.lexists(link):
            os.unlink(link)
        os.unlink(outside)


def test_posix_rmdir_bucket(gw):
    """A bucket directory removed through POSIX is gone for S3 too."""
    name = util.unique_bucket("gone")
    s3 = gw.boto3()
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="f", Body=b"x")
    shutil.rmtree(os.path.join(gw.mount, name))
    with pytest.raises(ClientError) as ei:
        s3.get_object(Bucket=name, Key="f")
    assert util.client_error(ei.value)[1] == 404

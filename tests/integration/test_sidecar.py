"""[storage] xattrs = off and copy_file_range = false: object metadata lives in
sidecar records under .unigw/meta/ (as on filesystems without user xattrs) and
copies use the buffered path (as with NFS servers that hang on COPY).  The S3
behaviour must not change: metadata, ETags, copies, multipart, markers,
POSIX-written files and deletes."""
import hashlib
import os
import time

import boto3

import util

MIB = 1 << 20
GW_ARGS = ("--set", "storage.xattrs=off", "--set", "storage.copy_file_range=false",
           "--set", "storage.reflink=false")


def xattr_of(path):
    try:
        return os.getxattr(path, "user.unigw")
    except OSError:
        return None


def test_records_are_sidecars(gw, s3):
    b = util.unique_bucket("side")
    s3.create_bucket(Bucket=b)
    body = os.urandom(70000)
    s3.put_object(Bucket=b, Key="d/o.bin", Body=body, ContentType="x/y", Metadata={"k": "v"})
    path = os.path.join(gw.mount, b, "d", "o.bin")
    assert xattr_of(path) is None
    assert os.path.exists(os.path.join(gw.mount, ".unigw", "meta", b, "d", "o.bin#unigw"))
    h = s3.head_object(Bucket=b, Key="d/o.bin")
    assert h["ETag"] == '"%s"' % hashlib.md5(body).hexdigest()
    assert h["ContentType"] == "x/y" and h["Metadata"] == {"k": "v"}
    # a buffered copy, metadata kept
    s3.copy_object(Bucket=b, Key="copy", CopySource={"Bucket": b, "Key": "d/o.bin"})
    c = s3.get_object(Bucket=b, Key="copy")
    assert c["Body"].read() == body and c["Metadata"] == {"k": "v"}
    assert c["ETag"] == h["ETag"]
    # directory marker
    s3.put_object(Bucket=b, Key="m/", Body=b"")
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=b)["Contents"]]
    assert keys == ["copy", "d/o.bin", "m/"]
    # deletes take the record along
    s3.delete_object(Bucket=b, Key="d/o.bin")
    assert not os.path.exists(os.path.join(gw.mount, ".unigw", "meta", b, "d", "o.bin#unigw"))
    assert not os.path.exists(path)


def test_multipart_and_posix_files(gw, s3):
    b = util.unique_bucket("sidemp")
    s3.create_bucket(Bucket=b)
    cfg = boto3.s3.transfer.TransferConfig(multipart_threshold=5 * MIB,
                                           multipart_chunksize=5 * MIB)
    data = os.urandom(11 * MIB + 3)
    src = os.path.join(gw.client_dir, "mp.bin")
    with open(src, "wb") as f:
        f.write(data)
    s3.upload_file(src, b, "mp.bin", Config=cfg)
    assert util.file_md5(os.path.join(gw.mount, b, "mp.bin")) == hashlib.md5(data).hexdigest()
    assert s3.head_object(Bucket=b, Key="mp.bin")["ETag"].endswith('-3"')
    # a file written through POSIX: fingerprint ETag first, then the real MD5
    posix = os.path.join(gw.mount, b, "posix.txt")
    with open(posix, "wb") as f:
        f.write(b"written on the mount")
    want = '"%s"' % hashlib.md5(b"written on the mount").hexdigest()
    etag = s3.head_object(Bucket=b, Key="posix.txt")["ETag"]
    for _ in range(100):
        if etag == want:
            break
        time.sleep(0.1)
        etag = s3.head_object(Bucket=b, Key="posix.txt")["ETag"]
    assert etag == want
    assert xattr_of(posix) is None


def test_fifo_as_sidecar_record(gw, s3):
    """A mount user swaps an object's sidecar record for a FIFO: reading the record must not
    block the worker (open(2) of a FIFO for reading waits for a writer). The object is served
    at once, as one without a record, and the background MD5 writes a real record again."""
    b = util.unique_bucket("sidefifo")
    s3.create_bucket(Bucket=b)
    s3.put_object(Bucket=b, Key="o", Body=b"fifo victim")
    rec = os.path.join(gw.mount, ".unigw", "meta", b, "o#unigw")
    os.unlink(rec)
    os.mkfifo(rec)
    want = '"%s"' % hashlib.md5(b"fifo victim").hexdigest()
    try:
        for _ in range(20):  # more than the node's 16 worker threads
            st, hdrs, body = gw.request("GET", util.key_path(b, "o"), timeout=5)
            assert (st, body) == (200, b"fifo victim")
        deadline = time.monotonic() + 10
        while hdrs["etag"] != want and time.monotonic() < deadline:
            time.sleep(0.05)
            hdrs = gw.request("HEAD", util.key_path(b, "o"), timeout=5)[1]
        assert hdrs["etag"] == want and os.path.isfile(rec)
    finally:
        try:  # a regression left readers blocked on it: let them go
            os.close(os.open(rec, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            pass

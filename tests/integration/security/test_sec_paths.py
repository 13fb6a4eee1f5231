"""Security: every request stays inside its bucket directory (issue 8, items 1 and 2).

A user of the shared mount can create directory entries the gateway did not make. Here
they plant, inside the public-read bucket `pub`:

    lnk      -> <outside>            (absolute, a directory outside the mount)
    a/deep   -> <outside>            (the same, one level down)
    rel      -> ../other             (another bucket, private)
    datalnk  -> <node data dir>      (where root.credentials lives)
    flnk     -> <outside>/secret.txt (a symlink to a file)

and at the top level of the mount `toplnk -> <outside>`. Each test sends what a client can
send through those names and checks the status, the S3 error code, and that nothing changed
outside the bucket: the files of <outside>, of `other` and of the data dir, their sizes,
mtimes, contents and xattrs. Reads through a link would also queue the file for the
background MD5, which writes an xattr on it; every check first waits until a file queued
after the test's requests has been hashed (the queue is FIFO), so that write would be seen.
"""
import hashlib
import json
import os
import subprocess
import time
import xml.etree.ElementTree as ET

import pytest

import util

GW_NODES = 1
SECRET = b"the outside secret\n"
VICTIM = b"delete me not\n"
PRIV = b"private to other\n"
LINKED_KEYS = ("lnk/secret.txt", "a/deep/secret.txt", "rel/priv.txt")


def tree_state(root):
    """Everything observable under @root: per entry its kind, size, mtime, content hash,
    link target and xattrs."""
    out = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, root)
            entry = {"mode": st.st_mode, "size": st.st_size, "mtime": st.st_mtime_ns}
            if os.path.islink(p):
                entry["target"] = os.readlink(p)
            else:
                entry["xattrs"] = {k: os.getxattr(p, k) for k in sorted(os.listxattr(p))}
                if os.path.isfile(p):
                    with open(p, "rb") as f:
                        entry["sha"] = hashlib.sha256(f.read()).hexdigest()
            out[rel] = entry
    return out


class Mount:
    """The planted layout and the state of everything the links point at."""

    def __init__(self, gw):
        self.gw = gw
        self.outside = os.path.join(gw.base, "outside")
        os.makedirs(os.path.join(self.outside, "sub"))
        for name, data in (("secret.txt", SECRET), ("victim.txt", VICTIM)):
            with open(os.path.join(self.outside, name), "wb") as f:
                f.write(data)
        self.pub = os.path.join(gw.mount, "pub")
        self.other = os.path.join(gw.mount, "other")
        os.makedirs(os.path.join(self.pub, "a"))
        os.symlink(self.outside, os.path.join(self.pub, "lnk"))
        os.symlink(self.outside, os.path.join(self.pub, "a", "deep"))
        os.symlink("../other", os.path.join(self.pub, "rel"))
        os.symlink(gw.node.data, os.path.join(self.pub, "datalnk"))
        os.symlink(os.path.join(self.outside, "secret.txt"), os.path.join(self.pub, "flnk"))
        os.symlink(self.outside, os.path.join(gw.mount, "toplnk"))
        self.before = self.state()

    def state(self):
        creds = os.path.join(self.gw.node.data, "root.credentials")
        st = os.stat(creds)
        with open(creds, "rb") as f:
            data = (st.st_size, st.st_mtime_ns, hashlib.sha256(f.read()).hexdigest(),
                    sorted(os.listxattr(creds)))
        return {"outside": tree_state(self.outside), "other": tree_state(self.other),
                "data": data,
                "links": tree_state(self.pub) | {"toplnk": os.readlink(
                    os.path.join(self.gw.mount, "toplnk"))}}

    def assert_unchanged(self, s3):
        drain_rehash(self.gw, s3)
        after = self.state()
        for part in ("outside", "other", "data"):
            assert after[part] == self.before[part], part
        # The links themselves are still there, pointing where they did.
        for name, entry in self.before["links"].items():
            if "target" in entry:
                assert after["links"].get(name, {}).get("target") == entry["target"], name
        assert after["links"]["toplnk"] == self.before["links"]["toplnk"]


def drain_rehash(gw, s3):
    """Wait (bounded) until a POSIX file queued for the background MD5 after every earlier
    request has its real MD5: the FIFO queue has then processed whatever those requests
    queued."""
    name = "drain-%s" % util.random_key(8).lower()
    body = os.urandom(64)
    with open(os.path.join(gw.mount, "pub", name), "wb") as f:
        f.write(body)
    want = '"%s"' % util.md5_hex(body)
    deadline = time.monotonic() + 20
    while True:
        etag = s3.head_object(Bucket="pub", Key=name)["ETag"]
        if etag == want:
            break
        assert time.monotonic() < deadline, "background MD5 did not run: %s" % etag
        time.sleep(0.05)
    s3.delete_object(Bucket="pub", Key=name)


@pytest.fixture(scope="module")
def mount(gw, s3):
    s3.create_bucket(Bucket="pub")
    s3.create_bucket(Bucket="other")
    s3.put_object(Bucket="pub", Key="plain.txt", Body=b"plain")
    s3.put_object(Bucket="other", Key="priv.txt", Body=PRIV)
    policy = {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:ListBucket"],
        "Resource": ["arn:aws:s3:::pub", "arn:aws:s3:::pub/*"]}]}
    s3.put_bucket_policy(Bucket="pub", Policy=json.dumps(policy))
    return Mount(gw)


def req(gw, method, bucket, key=None, query=None, headers=None, body=b"", sign=True, **kw):
    return gw.request(method, util.key_path(bucket, key), query=query, headers=headers,
                      body=body, sign=sign, **kw)


def assert_error(resp, status, code):
    util.assert_s3_error(resp, status, code)
    assert SECRET not in resp[2] and PRIV not in resp[2]


# ---- item 1: a symlinked directory inside a bucket -----------------------------------------


def test_get_through_dir_symlink(gw, s3, mount):
    for key in LINKED_KEYS + ("datalnk/root.credentials",):
        assert_error(req(gw, "GET", "pub", key), 404, "NoSuchKey")
    assert req(gw, "GET", "pub", "plain.txt")[0] == 200
    mount.assert_unchanged(s3)


def test_head_through_dir_symlink(gw, s3, mount):
    for key in LINKED_KEYS:
        status, hdrs, body = req(gw, "HEAD", "pub", key)
        assert status == 404 and body == b"" and hdrs.get("x-amz-request-id")
        assert "etag" not in hdrs and "last-modified" not in hdrs
    mount.assert_unchanged(s3)


def test_anonymous_public_read_get(gw, s3, mount):
    """The issue's exploit: the root credentials, anonymously, through a public bucket."""
    assert req(gw, "GET", "pub", "plain.txt", sign=False)[0] == 200
    with open(os.path.join(gw.node.data, "root.credentials"), "rb") as f:
        creds = f.read()
    for key in ("datalnk/root.credentials",) + LINKED_KEYS:
        resp = req(gw, "GET", "pub", key, sign=False)
        assert_error(resp, 404, "NoSuchKey")
        assert gw.secret_key.encode() not in resp[2] and creds not in resp[2]
    mount.assert_unchanged(s3)


def test_delete_through_dir_symlink(gw, s3, mount):
    for key in ("lnk/victim.txt", "a/deep/victim.txt", "rel/priv.txt", "lnk/sub/"):
        assert_error(req(gw, "DELETE", "pub", key), 404, "NoSuchKey")
    assert os.path.exists(os.path.join(mount.outside, "victim.txt"))
    mount.assert_unchanged(s3)


def test_delete_objects_through_dir_symlink(gw, s3, mount):
    keys = ["lnk/victim.txt", "a/deep/victim.txt", "rel/priv.txt"]
    doc = "<Delete>%s</Delete>" % "".join("<Object><Key>%s</Key></Object>" % k for k in keys)
    status, _, body = req(gw, "POST", "pub", query=[("delete", "")], body=doc.encode())
    assert status == 200, body
    root = ET.fromstring(body)
    assert not util.xml_find(root, "Deleted"), body
    errors = {util.xml_find(e, "Key")[0].text: util.xml_find(e, "Code")[0].text
              for e in util.xml_find(root, "Error")}
    assert errors == {k: "NoSuchKey" for k in keys}
    mount.assert_unchanged(s3)


def test_copy_object_source_through_dir_symlink(gw, s3, mount):
    for i, src in enumerate(LINKED_KEYS):
        resp = req(gw, "PUT", "pub", "copied-%d" % i,
                   headers={"x-amz-copy-source": "/pub/" + src})
        assert_error(resp, 404, "NoSuchKey")
        assert not os.path.lexists(os.path.join(mount.pub, "copied-%d" % i))
    mount.assert_unchanged(s3)


def test_upload_part_copy_source_through_dir_symlink(gw, s3, mount):
    up = s3.create_multipart_upload(Bucket="pub", Key="mp")["UploadId"]
    try:
        for src in LINKED_KEYS:
            resp = req(gw, "PUT", "pub", "mp", query=[("partNumber", "1"), ("uploadId", up)],
                       headers={"x-amz-copy-source": "/pub/" + src})
            assert_error(resp, 404, "NoSuchKey")
        assert s3.list_parts(Bucket="pub", Key="mp", UploadId=up).get("Parts", []) == []
    finally:
        s3.abort_multipart_upload(Bucket="pub", Key="mp", UploadId=up)
    mount.assert_unchanged(s3)


def test_put_object_tagging_through_dir_symlink(gw, s3, mount):
    tagging = b"<Tagging><TagSet><Tag><Key>k</Key><Value>v</Value></Tag></TagSet></Tagging>"
    for key in LINKED_KEYS:
        assert_error(req(gw, "PUT", "pub", key, query=[("tagging", "")], body=tagging),
                     404, "NoSuchKey")
        assert_error(req(gw, "GET", "pub", key, query=[("tagging", "")]), 404, "NoSuchKey")
        assert_error(req(gw, "DELETE", "pub", key, query=[("tagging", "")]), 404, "NoSuchKey")
    mount.assert_unchanged(s3)


def test_listing_does_not_follow(gw, s3, mount):
    """(The walk already skipped links; kept so it stays that way.)"""
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket="pub").get("Contents", [])]
    assert keys == ["a/", "plain.txt"]  # a/ holds only a link: an empty directory marker
    for prefix in ("lnk/", "a/deep/", "rel/", "datalnk/", "flnk"):
        r = s3.list_objects_v2(Bucket="pub", Prefix=prefix)
        assert r.get("Contents", []) == [] and r.get("CommonPrefixes", []) == [], prefix
    status, _, body = req(gw, "GET", "pub", query=[("list-type", "2"), ("prefix", "lnk/")],
                          sign=False)
    assert status == 200 and b"secret" not in body
    mount.assert_unchanged(s3)


def test_put_through_dir_symlink(gw, s3, mount):
    """(Refused before too, by an lstat of each parent; now without the race.)"""
    for key in ("lnk/new.txt", "a/deep/new.txt", "rel/new.txt", "lnk/sub/deeper/x", "lnk/d/"):
        body = b"" if key.endswith("/") else b"evil"
        assert_error(req(gw, "PUT", "pub", key, body=body), 409, "OperationAborted")
    mount.assert_unchanged(s3)
    assert gw.wait_tmp_empty() == []


def test_file_symlink_is_not_an_object(gw, s3, mount):
    """A symlink to a file is not an object: not listed, 404, and DELETE leaves it."""
    assert_error(req(gw, "GET", "pub", "flnk"), 404, "NoSuchKey")
    assert_error(req(gw, "GET", "pub", "flnk", sign=False), 404, "NoSuchKey")
    assert req(gw, "HEAD", "pub", "flnk")[0] == 404
    assert_error(req(gw, "DELETE", "pub", "flnk"), 404, "NoSuchKey")
    assert_error(req(gw, "PUT", "pub", "flnk", query=[("tagging", "")],
                     body=b"<Tagging><TagSet></TagSet></Tagging>"), 404, "NoSuchKey")
    assert_error(req(gw, "PUT", "pub", "copied-f", headers={"x-amz-copy-source": "/pub/flnk"}),
                 404, "NoSuchKey")
    assert os.path.islink(os.path.join(mount.pub, "flnk"))
    mount.assert_unchanged(s3)


def test_hard_link_is_an_ordinary_file(gw, s3, mount):
    """(Documented behaviour, not a hole: a hard link names an inode in the bucket. A PUT
    replaces the name, never writes through it; a DELETE removes the name only.)"""
    outside_file = os.path.join(gw.base, "hard-outside.txt")
    with open(outside_file, "wb") as f:
        f.write(b"hard")
    os.link(outside_file, os.path.join(mount.pub, "hard.txt"))
    assert s3.get_object(Bucket="pub", Key="hard.txt")["Body"].read() == b"hard"
    s3.put_object(Bucket="pub", Key="hard.txt", Body=b"replaced")
    with open(outside_file, "rb") as f:
        assert f.read() == b"hard"
    s3.delete_object(Bucket="pub", Key="hard.txt")
    assert os.path.exists(outside_file)
    assert os.stat(outside_file).st_nlink == 1


# ---- special files planted under a key's name ----------------------------------------------


def release_fifo(path):
    """Open the writer end of the FIFO @path if a reader is blocked on it (a regression), so a
    failing test still lets the node's worker threads, and so the node, stop."""
    for _ in range(3):
        try:
            os.close(os.open(path, os.O_WRONLY | os.O_NONBLOCK))
        except OSError:
            return


def test_fifo_and_socket_are_not_objects(gw, s3, mount):
    """A mount user plants a FIFO (and a socket) where objects would be. open(2) of a FIFO for
    reading waits for a writer, forever if none comes: every GET, HEAD, copy source and
    upload-part-copy source of it must still answer 404 NoSuchKey at once, more of them than
    the node has worker threads ([server] io_threads, 16 by default), and the node keeps
    serving. Listings do not show them."""
    import socket
    fifos = [os.path.join(mount.pub, n) for n in ("fifo", "a/fifo")]
    for p in fifos:
        os.mkfifo(p)
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(os.path.join(mount.pub, "sock"))
    keys = ("fifo", "a/fifo", "fifo/", "sock")
    up = s3.create_multipart_upload(Bucket="pub", Key="mp-fifo")["UploadId"]
    try:
        for i in range(20):
            key = keys[i % len(keys)]
            assert_error(req(gw, "GET", "pub", key, timeout=5), 404, "NoSuchKey")
            assert req(gw, "HEAD", "pub", key, timeout=5)[0] == 404
        for key in keys:
            assert_error(req(gw, "GET", "pub", key, headers={"Range": "bytes=0-9"}, timeout=5),
                         404, "NoSuchKey")
            assert_error(req(gw, "PUT", "pub", "copied-fifo", timeout=5,
                             headers={"x-amz-copy-source": "/pub/" + key}), 404, "NoSuchKey")
            assert_error(req(gw, "PUT", "pub", "mp-fifo", timeout=5,
                             query=[("partNumber", "1"), ("uploadId", up)],
                             headers={"x-amz-copy-source": "/pub/" + key}), 404, "NoSuchKey")
            assert_error(req(gw, "GET", "pub", key, query=[("tagging", "")], timeout=5), 404,
                         "NoSuchKey")
        assert not os.path.lexists(os.path.join(mount.pub, "copied-fifo"))
        listed = [o["Key"] for o in s3.list_objects_v2(Bucket="pub").get("Contents", [])]
        assert not {"fifo", "a/fifo", "sock"} & set(listed), listed
        # Still serving, every worker thread free.
        assert req(gw, "GET", "pub", "plain.txt", timeout=5)[2] == b"plain"
        assert util.http_request(gw.endpoint, "GET", "/health/ready", timeout=5)[0] == 200
        mount.assert_unchanged(s3)
    finally:
        s3.abort_multipart_upload(Bucket="pub", Key="mp-fifo", UploadId=up)
        for p in fifos:
            release_fifo(p)
            os.unlink(p)
        sock.close()
        os.unlink(os.path.join(mount.pub, "sock"))


# ---- item 2: a top-level symlink on the mount is not a bucket -------------------------------


def test_top_level_symlink_read(gw, s3, mount):
    assert_error(req(gw, "GET", "toplnk", "secret.txt"), 404, "NoSuchBucket")
    assert req(gw, "HEAD", "toplnk", "secret.txt")[0] == 404
    assert req(gw, "HEAD", "toplnk")[0] == 404
    assert_error(req(gw, "GET", "toplnk", query=[("list-type", "2")]), 404, "NoSuchBucket")
    assert_error(req(gw, "PUT", "toplnk", "x", query=[("tagging", "")],
                     body=b"<Tagging><TagSet></TagSet></Tagging>"), 404, "NoSuchBucket")
    assert_error(req(gw, "PUT", "pub", "c", headers={"x-amz-copy-source": "/toplnk/secret.txt"}),
                 404, "NoSuchBucket")
    assert "toplnk" not in [b["Name"] for b in s3.list_buckets()["Buckets"]]
    mount.assert_unchanged(s3)


def test_top_level_symlink_write(gw, s3, mount):
    assert_error(req(gw, "PUT", "toplnk", "new.txt", body=b"evil"), 404, "NoSuchBucket")
    assert_error(req(gw, "PUT", "toplnk", "newdir/", body=b""), 404, "NoSuchBucket")
    assert_error(req(gw, "PUT", "toplnk", "c", headers={"x-amz-copy-source": "/pub/plain.txt"}),
                 404, "NoSuchBucket")
    assert_error(req(gw, "DELETE", "toplnk", "victim.txt"), 404, "NoSuchBucket")
    doc = b"<Delete><Object><Key>victim.txt</Key></Object></Delete>"
    assert_error(req(gw, "POST", "toplnk", query=[("delete", "")], body=doc), 404,
                 "NoSuchBucket")
    assert_error(req(gw, "POST", "toplnk", "mp", query=[("uploads", "")]), 404,
                 "NoSuchBucket")
    mount.assert_unchanged(s3)
    assert gw.wait_tmp_empty() == []


def test_top_level_symlink_takes_no_owner_or_policy(gw, s3, mount):
    """The chain that would grant the outside directory to anyone: an admin gives the name an
    owner record (as for a bucket made through POSIX), puts a public policy on it, and an
    anonymous client reads through it. Every step is refused."""
    p = admin(gw, "bucket", "set-owner", "toplnk", "root")
    assert p.returncode == 1, p.stdout + p.stderr
    doc = json.dumps({"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
        "Resource": "arn:aws:s3:::toplnk/*"}]})
    assert_error(req(gw, "PUT", "toplnk", query=[("policy", "")], body=doc), 404,
                 "NoSuchBucket")
    status, _, body = req(gw, "GET", "toplnk", "secret.txt", sign=False)
    assert status in (403, 404) and SECRET not in body
    mount.assert_unchanged(s3)


def test_top_level_symlink_create_delete_bucket(gw, s3, mount):
    assert_error(req(gw, "PUT", "toplnk"), 409, "BucketAlreadyExists")
    assert_error(req(gw, "DELETE", "toplnk"), 404, "NoSuchBucket")
    assert os.path.islink(os.path.join(gw.mount, "toplnk"))
    mount.assert_unchanged(s3)


def admin(gw, *args):
    path = os.environ.get("UNIGW_ADMIN_BIN") or os.path.join(
        os.path.dirname(util.unigw_bin()), "unigw-admin")
    base = [path, "--endpoint", gw.endpoint, "--access-key", gw.access_key,
            "--secret-key", gw.secret_key]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": gw.client_dir}
    return subprocess.run(base + list(args), capture_output=True, text=True, env=env,
                          timeout=60)


def test_admin_bucket_commands_refuse_symlink(gw, s3, mount):
    """unigw-admin goes through the same bucket-directory helpers: a top-level link is
    neither listed, shown, created over nor deleted."""
    p = admin(gw, "bucket", "list")
    assert p.returncode == 0 and "toplnk" not in p.stdout, p.stdout + p.stderr
    for args in (("bucket", "show", "toplnk"), ("bucket", "create", "toplnk", "--owner", "root"),
                 ("bucket", "delete", "toplnk")):
        p = admin(gw, *args)
        assert p.returncode == 1, (args, p.stdout, p.stderr)
    assert os.path.islink(os.path.join(gw.mount, "toplnk"))
    mount.assert_unchanged(s3)


@pytest.mark.parametrize("plant", ["symlink", "fifo"])
def test_staged_part_replaced_on_the_mount(gw, s3, mount, plant):
    """A mount user with write access to .unigw/ swaps a staged part file for a symlink to an
    outside file, or for a FIFO: Complete refuses the part (InvalidPart), never reads
    through the link, never blocks a worker on the FIFO, and publishes nothing."""
    key = "staged-%s" % plant
    uid = s3.create_multipart_upload(Bucket="pub", Key=key)["UploadId"]
    etag = s3.upload_part(Bucket="pub", Key=key, UploadId=uid, PartNumber=1,
                          Body=b"p" * 1024)["ETag"]
    staged = os.path.join(gw.mount, ".unigw", "multipart", uid)
    (part,) = os.listdir(staged)
    os.unlink(os.path.join(staged, part))
    if plant == "symlink":
        os.symlink(os.path.join(mount.outside, "secret.txt"), os.path.join(staged, part))
    else:
        os.mkfifo(os.path.join(staged, part))
    try:
        xml = ("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag>"
               "</Part></CompleteMultipartUpload>" % etag).encode()
        st, _, body = req(gw, "POST", "pub", key, query=[("uploadId", uid)], body=xml,
                          timeout=10)
    finally:
        release_fifo(os.path.join(staged, part))
    assert b"<Code>InvalidPart</Code>" in body, (st, body)
    assert SECRET not in body
    assert not os.path.lexists(os.path.join(mount.pub, key))
    s3.abort_multipart_upload(Bucket="pub", Key=key, UploadId=uid)
    mount.assert_unchanged(s3)

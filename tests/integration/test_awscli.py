"""awscli v2 (Debian's /usr/bin/aws 2.9.19): s3 mb/cp/ls/sync/rm and s3api put/get with a
20 MiB file, single-part only (multipart_threshold set above the file size); the whole
lifecycle of a bucket with awscli's own commands; the sequence of issue 7 (mb, cp,
put-object-tagging, rm, rb) and its variants (bucket tags, a multipart upload with tags, the
bucket's tag records alone, first or last in the store), each on a node of its own."""
import json
import os

import pytest

import util

GW_NODES = 1
SIZE = 20 << 20


@pytest.fixture(scope="module")
def aws(gw):
    env = gw.client_env()
    with open(env["AWS_CONFIG_FILE"], "w") as f:
        f.write("[default]\nregion = us-east-1\noutput = json\ns3 =\n"
                "    multipart_threshold = 1GB\n    multipart_chunksize = 1GB\n"
                "    addressing_style = path\n")

    def run(*args, check=True):
        return util.run([util.AWS_CLI, "--endpoint-url", gw.endpoint, "--no-cli-pager"]
                        + list(args), env=env, timeout=180, check=check)
    return run


@pytest.fixture(scope="module")
def bigfile(tmp_path_factory):
    d = tmp_path_factory.mktemp("awscli-src")
    path = str(d / "big file.bin")
    return path, util.write_random_file(path, SIZE, seed=20)


def test_s3_commands(gw, aws, bigfile, tmp_path):
    path, md5 = bigfile
    b = util.unique_bucket("cli")
    out = aws("s3", "mb", "s3://" + b).stdout.decode()
    assert "make_bucket: " + b in out
    assert b in aws("s3", "ls").stdout.decode()

    aws("s3", "cp", path, "s3://%s/dir/big file.bin" % b)
    on_mount = os.path.join(gw.mount, b, "dir", "big file.bin")
    assert util.file_md5(on_mount) == md5
    head = json.loads(aws("s3api", "head-object", "--bucket", b, "--key",
                          "dir/big file.bin").stdout)
    assert head["ETag"] == '"%s"' % md5 and head["ContentLength"] == SIZE

    ls = aws("s3", "ls", "s3://%s/dir/" % b).stdout.decode()
    assert "big file.bin" in ls and str(SIZE) in ls
    ls = aws("s3", "ls", "--recursive", "s3://%s" % b).stdout.decode()
    assert "dir/big file.bin" in ls

    dst = str(tmp_path / "back.bin")
    aws("s3", "cp", "s3://%s/dir/big file.bin" % b, dst)
    assert util.file_md5(dst) == md5

    # sync a small tree up and down
    src = tmp_path / "tree"
    for rel, data in (("a.txt", b"A"), ("sub/b+c=d e.txt", b"BCDE"), ("sub/deeper/ü.txt", b"U")):
        p = src / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_bytes(data)
    aws("s3", "sync", str(src), "s3://%s/tree" % b)
    with open(os.path.join(gw.mount, b, "tree", "sub", "b+c=d e.txt"), "rb") as f:
        assert f.read() == b"BCDE"
    with open(os.path.join(gw.mount, b, "tree", "sub", "deeper", "ü.txt"), "rb") as f:
        assert f.read() == b"U"
    # a second sync transfers nothing
    out = aws("s3", "sync", str(src), "s3://%s/tree" % b).stdout.decode()
    assert "upload:" not in out
    down = tmp_path / "down"
    aws("s3", "sync", "s3://%s/tree" % b, str(down))
    assert (down / "sub" / "b+c=d e.txt").read_bytes() == b"BCDE"
    assert (down / "sub" / "deeper" / "ü.txt").read_bytes() == b"U"
    # sync --delete removes what is gone locally
    (src / "a.txt").unlink()
    aws("s3", "sync", "--delete", str(src), "s3://%s/tree" % b)
    assert not os.path.exists(os.path.join(gw.mount, b, "tree", "a.txt"))

    # copy within the gateway, then remove everything
    aws("s3", "cp", "s3://%s/tree/sub/b+c=d e.txt" % b, "s3://%s/copied+key.txt" % b)
    with open(os.path.join(gw.mount, b, "copied+key.txt"), "rb") as f:
        assert f.read() == b"BCDE"
    aws("s3", "rm", "s3://%s/copied+key.txt" % b)
    assert not os.path.exists(os.path.join(gw.mount, b, "copied+key.txt"))
    p = aws("s3", "rb", "s3://" + b, check=False)
    assert p.returncode != 0 and b"BucketNotEmpty" in p.stderr
    aws("s3", "rm", "--recursive", "s3://%s/" % b)
    aws("s3", "rb", "s3://" + b)
    assert not os.path.exists(os.path.join(gw.mount, b))


def test_s3api_put_get(gw, aws, bigfile, tmp_path):
    path, md5 = bigfile
    b = util.unique_bucket("api")
    aws("s3api", "create-bucket", "--bucket", b)
    out = json.loads(aws("s3api", "put-object", "--bucket", b, "--key", "api/obj.bin", "--body",
                         path, "--content-type", "application/x-big", "--metadata",
                         "color=blue").stdout)
    assert out["ETag"] == '"%s"' % md5
    dst = str(tmp_path / "got.bin")
    out = json.loads(aws("s3api", "get-object", "--bucket", b, "--key", "api/obj.bin",
                         dst).stdout)
    assert out["ContentType"] == "application/x-big"
    assert out["Metadata"] == {"color": "blue"}
    assert out["ContentLength"] == SIZE
    assert util.file_md5(dst) == md5
    out = json.loads(aws("s3api", "get-object", "--bucket", b, "--key", "api/obj.bin",
                         "--range", "bytes=1048576-2097151", dst).stdout)
    assert out["ContentRange"] == "bytes 1048576-2097151/%d" % SIZE
    with open(path, "rb") as f:
        f.seek(1 << 20)
        want = f.read(1 << 20)
    assert open(dst, "rb").read() == want
    lst = json.loads(aws("s3api", "list-objects-v2", "--bucket", b).stdout)
    assert [(o["Key"], o["Size"]) for o in lst["Contents"]] == [("api/obj.bin", SIZE)]
    p = aws("s3api", "get-object", "--bucket", b, "--key", "nope", dst, check=False)
    assert p.returncode != 0 and b"NoSuchKey" in p.stderr
    aws("s3api", "delete-object", "--bucket", b, "--key", "api/obj.bin")
    assert not os.path.exists(os.path.join(gw.mount, b, "api", "obj.bin"))


# ----------------------------------------------------------------------------------------------
# the whole lifecycle (issue 7)



def jrun(aws, *args, **kw):
    out = aws(*args, **kw).stdout
    return json.loads(out) if out.strip() else {}


def tags_of(s3, b, key):
    """Checks read through boto3 (each awscli command costs about a second)."""
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=b, Key=key)["TagSet"]}


def mpu_with_tags(aws, b, key, path, tmp_path, tagging="mp=1"):
    """create-multipart-upload --tagging, one upload-part per 5 MiB of @path, complete."""
    uid = jrun(aws, "s3api", "create-multipart-upload", "--bucket", b, "--key", key,
               "--tagging", tagging, "--metadata", "kind=mpu")["UploadId"]
    data = open(path, "rb").read()
    parts = []
    for n, off in enumerate(range(0, len(data), 5 << 20), 1):
        chunk = tmp_path / ("part-%d" % n)
        chunk.write_bytes(data[off:off + (5 << 20)])
        e = jrun(aws, "s3api", "upload-part", "--bucket", b, "--key", key, "--upload-id", uid,
                 "--part-number", str(n), "--body", str(chunk))["ETag"]
        parts.append({"PartNumber": n, "ETag": e})
    done = tmp_path / "parts.json"
    done.write_text(json.dumps({"Parts": parts}))
    aws("s3api", "complete-multipart-upload", "--bucket", b, "--key", key, "--upload-id", uid,
        "--multipart-upload", "file://%s" % done)


def lifecycle_writes(c, aws, s3, b, tmp_path):
    """Tagged objects with metadata (s3api put-object, s3 cp), a tagged multipart upload
    (s3api) and an untagged one (s3 cp over the threshold), an aborted upload, copies."""
    small = tmp_path / "small.txt"
    small.write_bytes(b"small")
    big = str(tmp_path / "big.bin")
    md5 = util.write_random_file(big, (5 << 20) + 999, seed=70)
    aws("s3api", "put-object", "--bucket", b, "--key", "docs/a.txt", "--body", str(small),
        "--tagging", "k=v&x=y", "--metadata", "color=blue")
    aws("s3", "cp", str(small), "s3://%s/plain" % b, "--metadata", "size=s")
    mpu_with_tags(aws, b, "big.bin", big, tmp_path)
    assert util.file_md5(os.path.join(c.mount, b, "big.bin")) == md5
    aws("s3", "cp", big, "s3://%s/cp-big.bin" % b)  # multipart by s3transfer
    assert util.file_md5(os.path.join(c.mount, b, "cp-big.bin")) == md5
    uid = jrun(aws, "s3api", "create-multipart-upload", "--bucket", b, "--key", "gone",
               "--tagging", "g=1")["UploadId"]
    aws("s3api", "abort-multipart-upload", "--bucket", b, "--key", "gone", "--upload-id", uid)
    aws("s3", "cp", "s3://%s/docs/a.txt" % b, "s3://%s/copy/a.txt" % b)
    aws("s3api", "copy-object", "--bucket", b, "--key", "copy/big.bin", "--copy-source",
        "%s/big.bin" % b, "--tagging-directive", "REPLACE", "--tagging", "c=2")
    assert tags_of(s3, b, "big.bin") == {"mp": "1"}
    assert tags_of(s3, b, "copy/a.txt") == {"k": "v", "x": "y"}
    assert tags_of(s3, b, "copy/big.bin") == {"c": "2"}
    assert s3.head_object(Bucket=b, Key="copy/a.txt")["Metadata"] == {"color": "blue"}
    assert s3.head_object(Bucket=b, Key="plain")["Metadata"] == {"size": "s"}
    return ["big.bin", "copy/a.txt", "copy/big.bin", "cp-big.bin", "docs/a.txt", "plain"]


def lifecycle_deletes(aws, s3, b, keys):
    """List, tag and untag, delete one by one (s3 rm, s3api delete-object) and in bulk
    (s3api delete-objects)."""
    lst = jrun(aws, "s3api", "list-objects-v2", "--bucket", b)
    assert [o["Key"] for o in lst["Contents"]] == keys
    aws("s3api", "put-object-tagging", "--bucket", b, "--key", "plain", "--tagging",
        "TagSet=[{Key=t,Value=1}]")
    assert tags_of(s3, b, "plain") == {"t": "1"}
    aws("s3api", "delete-object-tagging", "--bucket", b, "--key", "docs/a.txt")
    assert tags_of(s3, b, "docs/a.txt") == {}
    aws("s3", "rm", "s3://%s/%s" % (b, keys[0]))
    aws("s3api", "delete-object", "--bucket", b, "--key", keys[1])
    objs = ",".join("{Key=%s}" % k for k in keys[2:])
    r = jrun(aws, "s3api", "delete-objects", "--bucket", b, "--delete", "Objects=[%s]" % objs)
    assert sorted(d["Key"] for d in r["Deleted"]) == keys[2:] and not r.get("Errors")


def assert_empty_cli(aws, b):
    """The recreated bucket, through awscli: no object, no upload, no bucket tags."""
    assert jrun(aws, "s3api", "list-objects-v2", "--bucket", b).get("KeyCount", 0) == 0
    assert "Uploads" not in jrun(aws, "s3api", "list-multipart-uploads", "--bucket", b)
    p = aws("s3api", "get-bucket-tagging", "--bucket", b, check=False)
    assert p.returncode != 0 and b"NoSuchTagSet" in p.stderr, p.stderr


def test_whole_lifecycle(tmp_path):
    """Every step with awscli's own commands; the bucket deleted and created again holds
    nothing, nothing is left on the mount or in the store, the node serves on."""
    with util.own_cluster(tmp_path / "own") as c:
        aws = util.awscli(c, multipart_mb=5)
        s3 = c.boto3()
        b = util.unique_bucket("life")
        aws("s3", "mb", "s3://" + b)
        aws("s3api", "put-bucket-tagging", "--bucket", b, "--tagging",
            "TagSet=[{Key=team,Value=x}]")
        keys = lifecycle_writes(c, aws, s3, b, tmp_path)
        lifecycle_deletes(aws, s3, b, keys)
        aws("s3", "rb", "s3://" + b)
        assert not os.path.exists(os.path.join(c.mount, b))
        aws("s3", "mb", "s3://" + b)
        util.assert_nothing_left(c.mount, b, c)
        assert_empty_cli(aws, b)
        util.assert_s3_empty(s3, b, keys)


# The sequence of issue 7 and its variants.  Other buckets with tag records are created so
# that the bucket's records are alone in the tags database, or its first or last keys (LMDB
# keys sort bytewise: "a-..." < "m-..." < "z-...").
POSITIONS = {"alone": (), "first": ("z",), "last": ("a",)}


def other_buckets(s3, prefixes):
    """A bucket per prefix, with bucket tags and a tagged object; returns what to check."""
    made = []
    for p in prefixes:
        o = util.unique_bucket(p)
        s3.create_bucket(Bucket=o)
        s3.put_bucket_tagging(Bucket=o, Tagging={"TagSet": [{"Key": "o", "Value": p}]})
        s3.put_object(Bucket=o, Key="t.txt", Body=b"t", Tagging="o=" + p)
        made.append((o, p))
    return made


def assert_others_intact(s3, made):
    for o, p in made:
        assert s3.get_bucket_tagging(Bucket=o)["TagSet"] == [{"Key": "o", "Value": p}]
        assert tags_of(s3, o, "t.txt") == {"o": p}


def issue_sequence(aws, b, f, what):
    """mb, cp, put-object-tagging, rm, rb, as in issue 7 (@what "object-tags"), or with
    bucket tags in place of object tags, or a multipart upload with tags."""
    aws("s3", "mb", "s3://" + b)
    if what == "bucket-tags":
        aws("s3api", "put-bucket-tagging", "--bucket", b, "--tagging",
            "TagSet=[{Key=k,Value=v}]")
    if what == "multipart-tags":
        mpu_with_tags(aws, b, "a.txt", str(f), f.parent, tagging="k=v")
    else:
        aws("s3", "cp", str(f), "s3://%s/a.txt" % b)
    if what == "object-tags":
        aws("s3api", "put-object-tagging", "--bucket", b, "--key", "a.txt", "--tagging",
            "TagSet=[{Key=k,Value=v}]")
    aws("s3", "rm", "s3://%s/a.txt" % b)
    aws("s3", "rb", "s3://" + b)


def variant(tmp_path, what, position):
    """The sequence, then: the node serves, starts again (no entry to replay stops it),
    the bucket can be created again and holds nothing, other buckets kept their tags."""
    with util.own_cluster(tmp_path / "own") as c:
        s3 = c.boto3()
        made = other_buckets(s3, POSITIONS[position])
        f = tmp_path / "f"
        f.write_bytes(b"f" * (100 if what != "multipart-tags" else 6 << 20))
        aws = util.awscli(c)
        b = util.unique_bucket("m")
        issue_sequence(aws, b, f, what)
        # boto3 from here on: each awscli command costs about a second
        assert b not in [x["Name"] for x in s3.list_buckets()["Buckets"]]
        util.restart_all(c)
        s3.create_bucket(Bucket=b)
        util.assert_nothing_left(c.mount, b, c)
        util.assert_s3_empty(s3, b, ["a.txt"])
        assert_others_intact(s3, made)


def test_issue7_sequence(tmp_path):
    """The exact sequence of issue 7 on a fresh node: its DeleteBucket stopped the node for
    good (apply of entry N failed: INVALID; stopping this node)."""
    variant(tmp_path, "object-tags", "alone")


@pytest.mark.parametrize("position", ["first", "last"])
def test_issue7_sequence_position(tmp_path, position):
    variant(tmp_path, "object-tags", position)


def test_issue7_bucket_tags(tmp_path):
    variant(tmp_path, "bucket-tags", "alone")


def test_issue7_multipart_tags(tmp_path):
    variant(tmp_path, "multipart-tags", "alone")

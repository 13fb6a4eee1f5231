"""rclone 1.60 against the node: a config file with a provider=Other remote (env_auth false,
force_path_style), copyto/cat/ls/lsjson/size/check/delete/purge with byte checks, and the
whole lifecycle of a bucket with rclone's own commands.  rclone has no tagging commands and
no bulk delete (DeleteObjects): tags go on with --header-upload "x-amz-tagging: ..." (it
reaches PutObject and CreateMultipartUpload), tag/untag use boto3, and `rclone delete`
removes many objects with one DeleteObject each."""
import json
import os

import pytest

import util

GW_NODES = 1


def rclone_runner(c, d, multipart_mb=None):
    """rclone against @c with a config in @d: multipart from @multipart_mb MiB (None: 1 GiB)."""
    cfg = d / "rclone.conf"
    cut = "%dM" % multipart_mb if multipart_mb else "1G"
    cfg.write_text("\n".join([
        "[gw]",
        "type = s3",
        "provider = Other",
        "env_auth = false",
        "access_key_id = %s" % c.access_key,
        "secret_access_key = %s" % c.secret_key,
        "region = us-east-1",
        "endpoint = %s" % c.endpoint,
        "force_path_style = true",
        "upload_cutoff = %s" % cut,
        "chunk_size = %s" % ("%dM" % multipart_mb if multipart_mb else "5M"),
        ""]))
    env = c.client_env()

    def run(*args, check=True):
        return util.run(["rclone", "--config", str(cfg), "--retries", "1",
                         "--low-level-retries", "1", "--contimeout", "10s", "--timeout", "60s"]
                        + list(args), env=env, timeout=180, check=check)
    return run


@pytest.fixture(scope="module")
def rclone(gw, tmp_path_factory):
    return rclone_runner(gw, tmp_path_factory.mktemp("rclone"))


def test_rclone_roundtrip(gw, rclone, tmp_path):
    b = util.unique_bucket("rclone")
    rclone("mkdir", "gw:" + b)
    assert os.path.isdir(os.path.join(gw.mount, b))
    src = str(tmp_path / "payload.bin")
    md5 = util.write_random_file(src, (5 << 20) + 3, seed=5)
    rclone("copyto", src, "gw:%s/dir/a+b=c d.bin" % b)
    on_mount = os.path.join(gw.mount, b, "dir", "a+b=c d.bin")
    assert util.file_md5(on_mount) == md5

    out = rclone("ls", "gw:" + b).stdout.decode()
    assert "%d dir/a+b=c d.bin" % ((5 << 20) + 3) in out
    items = json.loads(rclone("lsjson", "--hash", "-R", "gw:" + b).stdout)
    files = [i for i in items if not i["IsDir"]]
    assert [(i["Path"], i["Size"]) for i in files] == [("dir/a+b=c d.bin", (5 << 20) + 3)]
    assert files[0].get("Hashes", {}).get("md5") == md5
    out = rclone("md5sum", "gw:%s/dir" % b).stdout.decode()
    assert out.split()[0] == md5

    dst = str(tmp_path / "back.bin")
    rclone("copyto", "gw:%s/dir/a+b=c d.bin" % b, dst)
    assert util.file_md5(dst) == md5
    p = rclone("cat", "--offset", "100", "--count", "50", "gw:%s/dir/a+b=c d.bin" % b)
    assert p.stdout == open(src, "rb").read()[100:150]

    tree = tmp_path / "tree"
    (tree / "sub").mkdir(parents=True)
    (tree / "sub" / "ü.txt").write_bytes(b"unicode")
    (tree / "top.txt").write_bytes(b"top")
    rclone("sync", str(tree), "gw:%s/tree" % b)
    with open(os.path.join(gw.mount, b, "tree", "sub", "ü.txt"), "rb") as f:
        assert f.read() == b"unicode"
    size = json.loads(rclone("size", "--json", "gw:%s/tree" % b).stdout)
    assert size["count"] == 2 and size["bytes"] == len(b"unicode") + len(b"top")

    rclone("deletefile", "gw:%s/dir/a+b=c d.bin" % b)
    assert not os.path.exists(on_mount)
    rclone("purge", "gw:" + b)
    assert not os.path.exists(os.path.join(gw.mount, b))


# ----------------------------------------------------------------------------------------------
# the whole lifecycle (issue 7)


def tags_of(s3, b, key):
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=b, Key=key)["TagSet"]}


def lifecycle_writes(c, rclone, s3, b, tmp_path):
    small = str(tmp_path / "small.txt")
    with open(small, "wb") as f:
        f.write(b"small")
    big = str(tmp_path / "big.bin")
    md5 = util.write_random_file(big, (5 << 20) + 333, seed=33)
    rclone("copyto", "-M", "--metadata-set", "color=blue", "--header-upload",
           "x-amz-tagging: k=v&x=y", small, "gw:%s/docs/a.txt" % b)
    rclone("copyto", small, "gw:%s/plain" % b)
    rclone("copyto", "--header-upload", "x-amz-tagging: mp=1", big, "gw:%s/big.bin" % b)
    assert s3.head_object(Bucket=b, Key="big.bin")["ETag"].endswith('-2"')  # multipart
    assert util.file_md5(os.path.join(c.mount, b, "big.bin")) == md5
    rclone("copyto", "gw:%s/docs/a.txt" % b, "gw:%s/copy/a.txt" % b)  # CopyObject
    assert tags_of(s3, b, "docs/a.txt") == {"k": "v", "x": "y"}
    assert tags_of(s3, b, "big.bin") == {"mp": "1"}
    assert tags_of(s3, b, "copy/a.txt") == {"k": "v", "x": "y"}
    assert s3.head_object(Bucket=b, Key="copy/a.txt")["Metadata"]["color"] == "blue"
    return ["big.bin", "copy/a.txt", "docs/a.txt", "plain"]


def lifecycle_tags_and_deletes(rclone, s3, b, keys):
    items = json.loads(rclone("lsjson", "-R", "--files-only", "gw:" + b).stdout)
    assert sorted(i["Path"] for i in items) == keys
    s3.put_object_tagging(Bucket=b, Key="plain", Tagging={"TagSet": [{"Key": "t",
                                                                      "Value": "1"}]})
    assert tags_of(s3, b, "plain") == {"t": "1"}
    s3.delete_object_tagging(Bucket=b, Key="docs/a.txt")
    assert tags_of(s3, b, "docs/a.txt") == {}
    rclone("deletefile", "gw:%s/%s" % (b, keys[0]))
    rclone("delete", "gw:" + b)
    assert s3.list_objects_v2(Bucket=b)["KeyCount"] == 0


def uploads_of(rclone, b):
    return json.loads(rclone("backend", "list-multipart-uploads", "gw:" + b).stdout)


def test_whole_lifecycle(tmp_path):
    with util.own_cluster(tmp_path / "own") as c:
        rclone = rclone_runner(c, tmp_path, multipart_mb=5)
        s3 = c.boto3()
        b = util.unique_bucket("life")
        rclone("mkdir", "gw:" + b)
        s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "team", "Value": "x"}]})
        keys = lifecycle_writes(c, rclone, s3, b, tmp_path)
        assert uploads_of(rclone, b) == {b: []}
        lifecycle_tags_and_deletes(rclone, s3, b, keys)
        rclone("rmdir", "gw:" + b)
        assert not os.path.exists(os.path.join(c.mount, b))
        rclone("mkdir", "gw:" + b)
        util.assert_nothing_left(c.mount, b, c)
        assert uploads_of(rclone, b) == {b: []}
        assert json.loads(rclone("lsjson", "-R", "gw:" + b).stdout) == []
        util.assert_s3_empty(s3, b, keys)
        rclone("purge", "gw:" + b)

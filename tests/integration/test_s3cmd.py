"""s3cmd 2.3.0 with a private config pointing at the node (path style, plain http, SigV4):
put/get/ls/info/cp/sync/del, and the whole lifecycle of a bucket with s3cmd's own commands.
s3cmd 2.3.0 has no tagging commands (settagging came with 2.4.0): tags go on with
--add-header=x-amz-tagging (put, multipart put) and are changed by `s3cmd modify` with
x-amz-tagging-directive: REPLACE (a copy onto itself); checks read them with boto3."""
import os

import pytest

import util

GW_NODES = 1


def s3cmd_runner(c, d, multipart_mb=None):
    """s3cmd against @c with a config in @d: multipart from @multipart_mb MiB (None: off)."""
    cfg = d / "s3cfg"
    cfg.write_text("\n".join([
        "[default]",
        "access_key = %s" % c.access_key,
        "secret_key = %s" % c.secret_key,
        "host_base = %s" % c.node.hostport,
        "host_bucket = %s" % c.node.hostport,
        "use_https = False",
        "signature_v2 = False",
        "bucket_location = us-east-1",
        "check_ssl_certificate = False",
        "proxy_host = ",
        "multipart_chunk_size_mb = %d" % (multipart_mb or 1024),
        "enable_multipart = %s" % bool(multipart_mb),
        ""]))
    env = c.client_env()

    def run(*args, check=True):
        return util.run(["s3cmd", "-c", str(cfg), "--no-progress"] + list(args), env=env,
                        timeout=180, check=check)
    return run


@pytest.fixture(scope="module")
def s3cmd(gw, tmp_path_factory):
    return s3cmd_runner(gw, tmp_path_factory.mktemp("s3cmd"))


def test_s3cmd_put_get_ls_info_del(gw, s3cmd, tmp_path):
    b = util.unique_bucket("s3cmd")
    s3cmd("mb", "s3://" + b)
    assert os.path.isdir(os.path.join(gw.mount, b))
    src = str(tmp_path / "src file.bin")
    md5 = util.write_random_file(src, (6 << 20) + 7, seed=7)
    s3cmd("put", src, "s3://%s/dir/a+b=c d.bin" % b)
    on_mount = os.path.join(gw.mount, b, "dir", "a+b=c d.bin")
    assert util.file_md5(on_mount) == md5

    out = s3cmd("ls", "s3://%s/dir/" % b).stdout.decode()
    assert "s3://%s/dir/a+b=c d.bin" % b in out
    out = s3cmd("ls", "s3://%s" % b).stdout.decode()
    assert "DIR" in out and "s3://%s/dir/" % b in out
    out = s3cmd("la", "--recursive").stdout.decode()
    assert "dir/a+b=c d.bin" in out

    info = s3cmd("info", "s3://%s/dir/a+b=c d.bin" % b).stdout.decode()
    assert md5 in info
    assert str((6 << 20) + 7) in info
    s3cmd("info", "s3://" + b)

    dst = str(tmp_path / "back.bin")
    s3cmd("get", "s3://%s/dir/a+b=c d.bin" % b, dst)
    assert util.file_md5(dst) == md5

    s3cmd("cp", "s3://%s/dir/a+b=c d.bin" % b, "s3://%s/copy.bin" % b)
    assert util.file_md5(os.path.join(gw.mount, b, "copy.bin")) == md5

    # sync a directory
    tree = tmp_path / "tree"
    (tree / "x").mkdir(parents=True)
    (tree / "x" / "one.txt").write_bytes(b"one")
    (tree / "two.txt").write_bytes(b"two")
    s3cmd("sync", str(tree) + "/", "s3://%s/synced/" % b)
    with open(os.path.join(gw.mount, b, "synced", "x", "one.txt"), "rb") as f:
        assert f.read() == b"one"

    s3cmd("del", "s3://%s/dir/a+b=c d.bin" % b)
    assert not os.path.exists(on_mount)
    p = s3cmd("get", "s3://%s/dir/a+b=c d.bin" % b, str(tmp_path / "none"), check=False)
    assert p.returncode != 0
    p = s3cmd("rb", "s3://" + b, check=False)
    assert p.returncode != 0
    s3cmd("del", "--recursive", "--force", "s3://%s/" % b)
    s3cmd("rb", "s3://" + b)
    assert not os.path.exists(os.path.join(gw.mount, b))


# ----------------------------------------------------------------------------------------------
# the whole lifecycle (issue 7)


def tags_of(s3, b, key):
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=b, Key=key)["TagSet"]}


def lifecycle_writes(c, s3cmd, s3, b, tmp_path):
    small = str(tmp_path / "small.txt")
    with open(small, "wb") as f:
        f.write(b"small")
    big = str(tmp_path / "big.bin")
    md5 = util.write_random_file(big, (5 << 20) + 555, seed=55)
    s3cmd("put", "--add-header=x-amz-tagging:k=v&x=y", "--add-header=x-amz-meta-color:blue",
          small, "s3://%s/docs/a.txt" % b)
    s3cmd("put", small, "s3://%s/plain" % b)
    s3cmd("put", "--add-header=x-amz-tagging:mp=1", big, "s3://%s/big.bin" % b)  # multipart
    assert s3.head_object(Bucket=b, Key="big.bin")["ETag"].endswith('-2"')
    assert util.file_md5(os.path.join(c.mount, b, "big.bin")) == md5
    s3cmd("cp", "s3://%s/docs/a.txt" % b, "s3://%s/copy/a.txt" % b)
    assert tags_of(s3, b, "docs/a.txt") == {"k": "v", "x": "y"}
    assert tags_of(s3, b, "big.bin") == {"mp": "1"}
    assert tags_of(s3, b, "copy/a.txt") == {"k": "v", "x": "y"}
    assert s3.head_object(Bucket=b, Key="copy/a.txt")["Metadata"]["color"] == "blue"
    return ["big.bin", "copy/a.txt", "docs/a.txt", "plain"]


def lifecycle_tags_and_deletes(s3cmd, s3, b, keys):
    out = s3cmd("ls", "--recursive", "s3://" + b).stdout.decode()
    assert [line.split()[-1] for line in out.splitlines()] == ["s3://%s/%s" % (b, k)
                                                               for k in keys]
    s3cmd("modify", "--add-header=x-amz-tagging-directive:REPLACE",
          "--add-header=x-amz-tagging:t=1", "s3://%s/plain" % b)
    assert tags_of(s3, b, "plain") == {"t": "1"}
    s3cmd("modify", "--add-header=x-amz-tagging-directive:REPLACE", "s3://%s/docs/a.txt" % b)
    assert tags_of(s3, b, "docs/a.txt") == {}
    s3cmd("del", "s3://%s/%s" % (b, keys[0]), "s3://%s/%s" % (b, keys[1]))  # one by one
    s3cmd("del", "--recursive", "--force", "s3://%s" % b)  # DeleteObjects
    assert s3.list_objects_v2(Bucket=b)["KeyCount"] == 0


def test_whole_lifecycle(tmp_path):
    with util.own_cluster(tmp_path / "own") as c:
        s3cmd = s3cmd_runner(c, tmp_path, multipart_mb=5)
        s3 = c.boto3()
        b = util.unique_bucket("life")
        s3cmd("mb", "s3://" + b)
        s3.put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "team", "Value": "x"}]})
        keys = lifecycle_writes(c, s3cmd, s3, b, tmp_path)
        lifecycle_tags_and_deletes(s3cmd, s3, b, keys)
        s3cmd("rb", "s3://" + b)
        assert not os.path.exists(os.path.join(c.mount, b))
        s3cmd("mb", "s3://" + b)
        util.assert_nothing_left(c.mount, b, c)
        out = s3cmd("multipart", "s3://" + b).stdout.decode()
        assert out.splitlines()[1:] == ["Initiated\tPath\tId"], out
        assert s3cmd("ls", "--recursive", "s3://" + b).stdout == b""
        util.assert_s3_empty(s3, b, keys)
        s3cmd("rb", "s3://" + b)

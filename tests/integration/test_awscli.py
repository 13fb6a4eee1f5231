"""awscli v2 (Debian's /usr/bin/aws 2.9.19): s3 mb/cp/ls/sync/rm and s3api put/get with a
20 MiB file, single-part only (multipart_threshold set above the file size)."""
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

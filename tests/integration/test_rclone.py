"""rclone 1.60 against the node: a config file with a provider=Other remote (env_auth false,
force_path_style), copyto/cat/ls/lsjson/size/check/delete/purge with byte checks."""
import json
import os

import pytest

import util

GW_NODES = 1


@pytest.fixture(scope="module")
def rclone(gw, tmp_path_factory):
    d = tmp_path_factory.mktemp("rclone")
    cfg = d / "rclone.conf"
    cfg.write_text("\n".join([
        "[gw]",
        "type = s3",
        "provider = Other",
        "env_auth = false",
        "access_key_id = %s" % gw.access_key,
        "secret_access_key = %s" % gw.secret_key,
        "region = us-east-1",
        "endpoint = %s" % gw.endpoint,
        "force_path_style = true",
        "upload_cutoff = 1G",
        ""]))
    env = gw.client_env()

    def run(*args, check=True):
        return util.run(["rclone", "--config", str(cfg), "--retries", "1",
                         "--low-level-retries", "1", "--contimeout", "10s", "--timeout", "60s"]
                        + list(args), env=env, timeout=180, check=check)
    return run


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

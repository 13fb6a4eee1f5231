"""s3cmd 2.3.0 with a private config pointing at the node (path style, plain http, SigV4)."""
import os

import pytest

import util

GW_NODES = 1


@pytest.fixture(scope="module")
def s3cmd(gw, tmp_path_factory):
    d = tmp_path_factory.mktemp("s3cmd")
    cfg = d / "s3cfg"
    cfg.write_text("\n".join([
        "[default]",
        "access_key = %s" % gw.access_key,
        "secret_key = %s" % gw.secret_key,
        "host_base = %s" % gw.node.hostport,
        "host_bucket = %s" % gw.node.hostport,
        "use_https = False",
        "signature_v2 = False",
        "bucket_location = us-east-1",
        "check_ssl_certificate = False",
        "proxy_host = ",
        "multipart_chunk_size_mb = 1024",
        "enable_multipart = False",
        ""]))
    env = gw.client_env()

    def run(*args, check=True):
        return util.run(["s3cmd", "-c", str(cfg), "--no-progress"] + list(args), env=env,
                        timeout=180, check=check)
    return run


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

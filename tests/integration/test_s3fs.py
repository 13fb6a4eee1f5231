"""s3fs 1.90 (FUSE) mounting a bucket of the node: write, read, ls, mkdir, rename, chmod and
rm through the FUSE mount, checked as plain files on the gateway's own mount.
Skipped cleanly when FUSE is not available (no /dev/fuse, no fuse module, not root)."""
import os
import shutil
import signal
import stat
import subprocess
import time

import pytest

import util

GW_NODES = 1


def fuse_usable():
    if not shutil.which("s3fs"):
        return "s3fs is not installed"
    try:
        with open("/proc/filesystems") as f:
            if "fuse" not in f.read().split():
                return "the fuse filesystem is not available in this kernel"
        fd = os.open("/dev/fuse", os.O_RDWR)
        os.close(fd)
    except OSError as e:
        return "/dev/fuse not usable: %s" % e
    return None


@pytest.fixture(scope="module")
def fuse(gw, s3, tmp_path_factory):
    why = fuse_usable()
    if why:
        pytest.skip(why)
    b = util.unique_bucket("s3fs")
    s3.create_bucket(Bucket=b)
    d = tmp_path_factory.mktemp("s3fs")
    mnt = d / "mnt"
    mnt.mkdir()
    pw = d / "passwd"
    pw.write_text("%s:%s\n" % (gw.access_key, gw.secret_key))
    pw.chmod(0o600)
    log = open(str(d / "s3fs.log"), "wb")
    proc = subprocess.Popen(
        ["s3fs", b, str(mnt), "-f", "-o", "url=%s" % gw.endpoint, "-o", "use_path_request_style",
         "-o", "passwd_file=%s" % pw, "-o", "endpoint=us-east-1", "-o", "stat_cache_expire=1",
         "-o", "enable_noobj_cache", "-o", "retries=1", "-o", "connect_timeout=10",
         "-o", "readwrite_timeout=60", "-o", "dbglevel=info", "-o", "curldbg"],
        stdout=log, stderr=subprocess.STDOUT, env=gw.client_env())
    log.close()
    deadline = time.monotonic() + 20
    while not os.path.ismount(str(mnt)) and time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        time.sleep(0.1)
    if not os.path.ismount(str(mnt)):
        proc.kill()
        proc.wait(10)
        with open(str(d / "s3fs.log"), errors="replace") as f:
            pytest.fail("s3fs did not mount:\n" + f.read()[-5000:])
    yield b, str(mnt)
    subprocess.run(["umount", "-l", str(mnt)], timeout=30)
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(10)


def gw_path(gw, bucket, *parts):
    return os.path.join(gw.mount, bucket, *parts)


def test_write_read_through_fuse(gw, s3, fuse, tmp_path):
    b, mnt = fuse
    src = str(tmp_path / "src.bin")
    md5 = util.write_random_file(src, (2 << 20) + 99, seed=11)
    shutil.copyfile(src, os.path.join(mnt, "written by fuse.bin"))
    assert util.file_md5(gw_path(gw, b, "written by fuse.bin")) == md5
    body = s3.get_object(Bucket=b, Key="written by fuse.bin")["Body"].read()
    assert util.md5_hex(body) == md5

    payload = os.urandom(300000)
    s3.put_object(Bucket=b, Key="from-s3/obj+1.bin", Body=payload)
    with open(os.path.join(mnt, "from-s3", "obj+1.bin"), "rb") as f:
        assert f.read() == payload
    # overwrite in place through FUSE
    with open(os.path.join(mnt, "from-s3", "obj+1.bin"), "wb") as f:
        f.write(b"rewritten")
    with open(gw_path(gw, b, "from-s3", "obj+1.bin"), "rb") as f:
        assert f.read() == b"rewritten"


def test_ls_mkdir_rename_rm(gw, s3, fuse):
    b, mnt = fuse
    s3.put_object(Bucket=b, Key="apidir/inner.txt", Body=b"inner")
    assert "apidir" in os.listdir(mnt)
    assert os.listdir(os.path.join(mnt, "apidir")) == ["inner.txt"]

    os.mkdir(os.path.join(mnt, "made-by-fuse"))
    assert os.path.isdir(gw_path(gw, b, "made-by-fuse"))
    with open(os.path.join(mnt, "made-by-fuse", "f.txt"), "wb") as f:
        f.write(b"in new dir")
    with open(gw_path(gw, b, "made-by-fuse", "f.txt"), "rb") as f:
        assert f.read() == b"in new dir"
    assert sorted(os.listdir(os.path.join(mnt, "made-by-fuse"))) == ["f.txt"]

    os.chmod(os.path.join(mnt, "made-by-fuse", "f.txt"), 0o640)
    assert stat.S_IMODE(os.stat(os.path.join(mnt, "made-by-fuse", "f.txt")).st_mode) == 0o640
    with open(gw_path(gw, b, "made-by-fuse", "f.txt"), "rb") as f:
        assert f.read() == b"in new dir"

    os.rename(os.path.join(mnt, "made-by-fuse", "f.txt"), os.path.join(mnt, "moved.txt"))
    assert not os.path.exists(gw_path(gw, b, "made-by-fuse", "f.txt"))
    with open(gw_path(gw, b, "moved.txt"), "rb") as f:
        assert f.read() == b"in new dir"

    os.unlink(os.path.join(mnt, "moved.txt"))
    assert not os.path.exists(gw_path(gw, b, "moved.txt"))
    os.rmdir(os.path.join(mnt, "made-by-fuse"))
    assert not os.path.exists(gw_path(gw, b, "made-by-fuse"))
    keys = [o["Key"] for o in s3.list_objects_v2(Bucket=b).get("Contents", [])]
    assert "moved.txt" not in keys and not any(k.startswith("made-by-fuse") for k in keys)
    assert gw.wait_tmp_empty() == []

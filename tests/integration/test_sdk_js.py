"""JavaScript clients from npm (tests/integration/js): @aws-sdk/client-s3 with its default
checksum behaviour (CRC32 on Buffer bodies, aws-chunked + trailer on stream bodies) and
minio-js (encoding-type=url listings, raw '+' in copy sources); the whole lifecycle of a
bucket with each (js/lifecycle_*.mjs)."""
import hashlib
import json
import os
import shutil

import pytest

import util

GW_NODES = 1
JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")


def node_script(gw, script, cfg):
    if not shutil.which("node"):
        pytest.fail("node is not installed (deploy/deps.sh installs it)")
    for mod in ("@aws-sdk/client-s3", "minio"):
        if not os.path.isdir(os.path.join(JS, "node_modules", mod)):
            pytest.fail("%s missing: run `npm install` in %s (deploy/deps.sh does)" % (mod, JS))
    env = gw.client_env()
    env.pop("AWS_REQUEST_CHECKSUM_CALCULATION", None)
    env.pop("AWS_RESPONSE_CHECKSUM_VALIDATION", None)
    p = util.run(["node", os.path.join(JS, script), json.dumps(cfg)], env=env, cwd=JS,
                 timeout=180)
    return json.loads(p.stdout.decode().strip().splitlines()[-1])


def test_aws_sdk_v3(gw, s3, tmp_path):
    b = util.unique_bucket("sdkv3")
    s3.create_bucket(Bucket=b)
    stream_file = str(tmp_path / "stream.bin")
    size = (3 << 20) + 4321  # several 64 KiB aws-chunks, an odd tail
    md5 = util.write_random_file(stream_file, size, seed=3)
    data = open(stream_file, "rb").read()
    out = node_script(gw, "sdkv3.mjs", {"endpoint": gw.endpoint, "accessKey": gw.access_key,
                                        "secretKey": gw.secret_key, "bucket": b,
                                        "streamFile": stream_file})

    hello = b"hello world\n"
    assert out["bufferPut"]["etag"] == '"%s"' % util.md5_hex(hello)
    assert out["bufferPut"]["crc32"] == "rwg7LQ=="
    assert out["bufferGet"] == {"body": "hello world\n", "crc32": "rwg7LQ==",
                                "contentType": "text/plain", "metadata": {"color": "blue"},
                                "etag": '"%s"' % util.md5_hex(hello)}
    with open(os.path.join(gw.mount, b, "sdkv3", "buffer body.txt"), "rb") as f:
        assert f.read() == hello

    crc = util.checksum_b64("CRC32", data)
    assert out["streamPut"]["etag"] == '"%s"' % md5
    assert out["streamPut"]["crc32"] == crc
    assert out["streamGet"]["md5"] == md5 and out["streamGet"]["length"] == size
    assert out["streamGet"]["crc32"] == crc
    assert "aws-chunked" not in (out["streamGet"]["contentEncoding"] or "")
    on_mount = os.path.join(gw.mount, b, "sdkv3", "stream body.bin")
    assert os.path.getsize(on_mount) == size and util.file_md5(on_mount) == md5
    h = s3.head_object(Bucket=b, Key="sdkv3/stream body.bin")
    assert "aws-chunked" not in h.get("ContentEncoding", "")

    assert out["copy"]["etag"] == '"%s"' % util.md5_hex(b"special")
    assert out["copyHead"]["length"] == len(b"special")
    with open(os.path.join(gw.mount, b, "sdkv3", "copy of a+b=c d.txt"), "rb") as f:
        assert f.read() == b"special"

    assert out["list"] == {"keys": ["sdkv3/a+b=c d.txt", "sdkv3/buffer body.txt",
                                    "sdkv3/copy of a+b=c d.txt", "sdkv3/stream body.bin"],
                           "keyCount": 4, "truncated": False}
    assert out["listPage"]["keys"] == ["sdkv3/a+b=c d.txt", "sdkv3/buffer body.txt"]
    assert out["listPage"]["truncated"] is True and out["listPage"]["token"]

    assert out["deleted"] == ["sdkv3/a+b=c d.txt", "sdkv3/missing"]
    assert out["deleteErrors"] == []
    assert out["afterDelete"] == "NoSuchKey"
    assert not os.path.exists(os.path.join(gw.mount, b, "sdkv3", "a+b=c d.txt"))
    assert gw.wait_tmp_empty() == []


def test_minio_js(gw, s3):
    b = util.unique_bucket("minio")
    s3.create_bucket(Bucket=b)
    out = node_script(gw, "minio.mjs", {"host": gw.node.addr, "port": gw.node.port,
                                        "accessKey": gw.access_key,
                                        "secretKey": gw.secret_key, "bucket": b})
    keys = ["minio/a+b=c d.txt", "minio/plus+only", "minio/sp ace", "minio/ünï.txt"]
    for k in keys:
        assert out["put:" + k] == util.md5_hex(("body of " + k).encode()), k
    # The script removes all but the first key by its end.
    for k in keys[:1]:
        with open(os.path.join(gw.mount, b, *k.split("/")), "rb") as f:
            assert f.read() == ("body of " + k).encode()
    assert out["get"] == {k: True for k in keys}
    assert out["stat"] == {"size": len(("body of " + keys[0]).encode()),
                           "etag": util.md5_hex(("body of " + keys[0]).encode()),
                           "color": "red"}
    assert out["listV2"] == keys
    assert out["listV1"] == keys
    assert out["listDirs"] == ["minio/"]
    assert out["partial"] == "dy of"
    assert out["copy"] == "body of " + keys[0]
    assert out["afterRemove"] == ["minio/a+b=c d.txt", "minio/copy of a+b=c d.txt",
                                  "minio/ünï.txt"]
    assert out["removed"] in ("NotFound", "NoSuchKey")
    assert not os.path.exists(os.path.join(gw.mount, b, "minio", "plus+only"))
    assert not os.path.exists(os.path.join(gw.mount, b, "minio", "sp ace"))


def test_full_object_checksums(gw, s3, tmp_path):
    """Multipart uploads with FULL_OBJECT CRCs: the server combines the part CRCs
    into the whole object's CRC, which equals the CRC of the bytes."""
    b = util.unique_bucket("fullobj")
    s3.create_bucket(Bucket=b)
    src = str(tmp_path / "f.bin")
    util.write_random_file(src, (11 << 20) + 777, seed=11)
    data = open(src, "rb").read()
    out = node_script(gw, "full_object.mjs", {"endpoint": gw.endpoint, "accessKey": gw.access_key,
                                              "secretKey": gw.secret_key, "bucket": b,
                                              "file": src})
    for alg in ("CRC32", "CRC32C", "CRC64NVME"):
        want = util.checksum_b64(alg, data)
        assert out[alg]["same"], alg
        assert out[alg]["complete"] == want, (alg, out[alg])
        assert out[alg]["head"] == want, (alg, out[alg])


# ----------------------------------------------------------------------------------------------
# the whole lifecycle (issue 7): js/lifecycle_sdkv3.mjs and js/lifecycle_minio.mjs run every
# step and check the recreated bucket through the client; here: the mount and the store.

LIFE_KEYS = ["big.bin", "copy/a.txt", "copy/big.bin", "docs/a.txt", "low.bin", "plain"]


def multipart_etag(path, part_size=5 << 20):
    """The ETag of @path uploaded in parts of @part_size: md5 of the parts' md5s, -count."""
    data = open(path, "rb").read()
    digests = [hashlib.md5(data[i:i + part_size]).digest()
               for i in range(0, len(data), part_size)]
    return '"%s-%d"' % (hashlib.md5(b"".join(digests)).hexdigest(), len(digests))


def test_whole_lifecycle_sdkv3(tmp_path):
    with util.own_cluster(tmp_path / "own") as c:
        src = str(tmp_path / "big.bin")
        util.write_random_file(src, (5 << 20) + 4321, seed=4)
        b = util.unique_bucket("life")
        out = node_script(c, "lifecycle_sdkv3.mjs", {
            "endpoint": c.endpoint, "accessKey": c.access_key, "secretKey": c.secret_key,
            "bucket": b, "file": src})
        assert out["libStorage"] == out["lowLevel"] == multipart_etag(src)
        assert out["tags"] == {"docs/a.txt": {"k": "v", "x": "y"}, "big.bin": {"mp": "1"},
                               "low.bin": {"low": "1"}, "copy/a.txt": {"k": "v", "x": "y"},
                               "copy/big.bin": {"c": "2"}}
        assert out["meta"] == {"big.bin": {"kind": "mpu"}, "copy/a.txt": {"color": "blue"}}
        assert out["keys"] == LIFE_KEYS and out["uploads"] == []
        assert out["tagged"] == {"t": "1"} and out["untagged"] == {}
        assert out["bulkDeleted"] == LIFE_KEYS[2:] and out["bulkErrors"] == []
        assert out["afterDeletes"] == []
        assert out["deletedBucketTags"] == "NoSuchBucket"
        assert out["again"] == {"keys": [], "uploads": [], "bucketTags": "NoSuchTagSet",
                                "tags": {k: {} for k in LIFE_KEYS}}
        util.assert_nothing_left(c.mount, b, c)
        c.boto3().delete_bucket(Bucket=b)


def test_whole_lifecycle_minio(tmp_path):
    with util.own_cluster(tmp_path / "own") as c:
        src = str(tmp_path / "big.bin")
        util.write_random_file(src, (5 << 20) + 1234, seed=6)
        b = util.unique_bucket("life")
        out = node_script(c, "lifecycle_minio.mjs", {
            "host": c.node.addr, "port": c.node.port, "accessKey": c.access_key,
            "secretKey": c.secret_key, "bucket": b, "file": src})
        keys = ["big.bin", "copy/a.txt", "copy/big.bin", "docs/a.txt", "plain"]
        assert '"%s"' % out["multipart"] == multipart_etag(src)
        assert out["tags"] == {"docs/a.txt": {"k": "v", "x": "y"}, "big.bin": {"mp": "1"},
                               "copy/a.txt": {"k": "v", "x": "y"}, "copy/big.bin": {"c": "2"}}
        assert out["meta"] == {"big.bin": "mpu", "copy/a.txt": "blue"}
        assert out["keys"] == keys and out["uploads"] == []
        assert out["tagged"] == {"t": "1"} and out["untagged"] == {}
        assert out["bulkErrors"] == [] and out["afterDeletes"] == []
        assert out["bucketGone"] is False
        assert out["again"] == {"keys": [], "uploads": [], "bucketTags": "NoSuchTagSet",
                                "tags": {k: {} for k in keys}}
        util.assert_nothing_left(c.mount, b, c)
        c.boto3().delete_bucket(Bucket=b)

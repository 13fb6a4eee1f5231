"""Multipart uploads against one real unigw node: awscli cp with default multipart
settings, boto3 TransferConfig, @aws-sdk/lib-storage and minio-js large uploads, the
low-level API (ListMultipartUploads, ListParts, part replacement, UploadPartCopy, abort),
the Complete validation errors, idempotent completion, and a node restart in the middle of
an upload, including a 500 MiB awscli upload."""
import json
import os
import shutil

import boto3.s3.transfer
import pytest
from botocore.exceptions import ClientError

import util
from util import client_error

GW_NODES = 1
MIB = 1 << 20
JS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "js")


@pytest.fixture
def bucket(s3):
    name = util.unique_bucket("mp")
    s3.create_bucket(Bucket=name)
    return name


def expect_error(fn, code, status, **kw):
    with pytest.raises(ClientError) as ei:
        fn(**kw)
    assert client_error(ei.value) == (code, status), ei.value.response
    return ei.value.response


def staged(gw, upload_id=None):
    root = os.path.join(gw.mount, ".unigw", "multipart")
    if upload_id is not None:
        root = os.path.join(root, upload_id)
    if not os.path.isdir(root):
        return []
    return sorted(os.listdir(root))


def mp_etag(parts):
    import hashlib
    cat = b"".join(bytes.fromhex(util.md5_hex(p)) for p in parts)
    return '"%s-%d"' % (hashlib.md5(cat).hexdigest(), len(parts))


def awscli_cp(gw, tmp_path, bucket, size):
    src = str(tmp_path / "big.bin")
    md5 = util.write_random_file(src, size, seed=size)
    util.run([util.AWS_CLI, "--endpoint-url", gw.endpoint, "s3", "cp", src, "s3://%s/dir/big.bin" % bucket],
             env=gw.client_env(), timeout=900)
    on_mount = os.path.join(gw.mount, bucket, "dir", "big.bin")
    assert os.path.getsize(on_mount) == size
    assert util.file_md5(on_mount) == md5
    os.unlink(src)
    return on_mount


def test_awscli_cp_large(gw, s3, bucket, tmp_path):
    awscli_cp(gw, tmp_path, bucket, 100 * MIB + 12345)
    h = s3.head_object(Bucket=bucket, Key="dir/big.bin")
    assert h["ETag"].endswith('-13"')  # 8 MiB default chunks
    assert staged(gw) == []


def test_awscli_cp_500mib(gw, s3, bucket, tmp_path):
    """The issue's acceptance case: `aws s3 cp` of 500 MiB with default settings."""
    awscli_cp(gw, tmp_path, bucket, 500 * MIB)
    assert staged(gw) == []


def test_boto3_transfer_config(gw, s3, bucket, tmp_path):
    src = str(tmp_path / "t.bin")
    md5 = util.write_random_file(src, 23 * MIB + 7, seed=5)
    cfg = boto3.s3.transfer.TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB,
                                           max_concurrency=4)
    s3.upload_file(src, bucket, "t.bin", Config=cfg, ExtraArgs={"Metadata": {"k": "v"},
                                                                 "ContentType": "text/x-test"})
    on_mount = os.path.join(gw.mount, bucket, "t.bin")
    assert util.file_md5(on_mount) == md5
    h = s3.head_object(Bucket=bucket, Key="t.bin")
    assert h["ETag"].endswith('-5"')
    assert h["Metadata"] == {"k": "v"} and h["ContentType"] == "text/x-test"
    dst = str(tmp_path / "back.bin")
    s3.download_file(bucket, "t.bin", dst)
    assert util.file_md5(dst) == md5


def test_low_level_flow(gw, s3, bucket):
    key = "low/level.bin"
    p1 = os.urandom(5 * MIB)
    p2 = os.urandom(5 * MIB)
    p3 = b"tail"
    up = s3.create_multipart_upload(Bucket=bucket, Key=key, ContentType="application/x-mp",
                                    Metadata={"a": "1"}, Tagging="t1=v1&t2=v2")
    uid = up["UploadId"]
    assert uid.startswith("v1-")
    lst = s3.list_multipart_uploads(Bucket=bucket)
    assert [(u["Key"], u["UploadId"]) for u in lst["Uploads"]] == [(key, uid)]
    e1 = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=b"x" * 100)["ETag"]
    assert e1 == '"%s"' % util.md5_hex(b"x" * 100)
    # Re-uploading a part number replaces it and its staged file.
    e1 = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=p1)["ETag"]
    e3 = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=3, Body=p3)["ETag"]
    e2 = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=2, Body=p2)["ETag"]
    parts = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid)["Parts"]
    assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in parts] == \
        [(1, e1, len(p1)), (2, e2, len(p2)), (3, e3, len(p3))]
    page = s3.list_parts(Bucket=bucket, Key=key, UploadId=uid, MaxParts=1, PartNumberMarker=1)
    assert [p["PartNumber"] for p in page["Parts"]] == [2]
    assert page["IsTruncated"] and page["NextPartNumberMarker"] == 2
    assert len(staged(gw, uid)) == 3
    mp = {"Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2},
                    {"PartNumber": 3, "ETag": e3}]}
    r = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload=mp)
    assert r["ETag"] == mp_etag([p1, p2, p3])
    # Completing again with the same list answers the same result (idempotent).
    r2 = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload=mp)
    assert r2["ETag"] == r["ETag"]
    with open(os.path.join(gw.mount, bucket, key), "rb") as f:
        assert f.read() == p1 + p2 + p3
    h = s3.head_object(Bucket=bucket, Key=key)
    assert h["ContentType"] == "application/x-mp" and h["Metadata"] == {"a": "1"}
    assert h["ResponseMetadata"]["HTTPHeaders"].get("x-amz-tagging-count") == "2"
    tags = s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]
    assert sorted((t["Key"], t["Value"]) for t in tags) == [("t1", "v1"), ("t2", "v2")]
    assert staged(gw, uid) == []
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    expect_error(s3.upload_part, "NoSuchUpload", 404, Bucket=bucket, Key=key, UploadId=uid,
                 PartNumber=1, Body=b"x")


def test_complete_errors(gw, s3, bucket):
    key = "errs.bin"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    small = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1, Body=b"a" * 10)
    e2 = s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=2, Body=b"b")["ETag"]
    e1 = small["ETag"]
    expect_error(s3.complete_multipart_upload, "InvalidPartOrder", 400, Bucket=bucket, Key=key,
                 UploadId=uid, MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2},
                                                          {"PartNumber": 1, "ETag": e1}]})
    expect_error(s3.complete_multipart_upload, "InvalidPart", 400, Bucket=bucket, Key=key,
                 UploadId=uid, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e2}]})
    expect_error(s3.complete_multipart_upload, "InvalidPart", 400, Bucket=bucket, Key=key,
                 UploadId=uid, MultipartUpload={"Parts": [{"PartNumber": 7, "ETag": e1}]})
    expect_error(s3.complete_multipart_upload, "EntityTooSmall", 400, Bucket=bucket, Key=key,
                 UploadId=uid, MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e1},
                                                          {"PartNumber": 2, "ETag": e2}]})
    for n in (0, 10001):
        expect_error(s3.upload_part, "InvalidArgument", 400, Bucket=bucket, Key=key, UploadId=uid,
                     PartNumber=n, Body=b"x")
    expect_error(s3.upload_part, "NoSuchUpload", 404, Bucket=bucket, Key=key,
                 UploadId="v1-00000000000000000000000000000000", PartNumber=1, Body=b"x")
    expect_error(s3.upload_part, "NoSuchUpload", 404, Bucket=bucket, Key=key,
                 UploadId="../../etc", PartNumber=1, Body=b"x")
    expect_error(s3.upload_part, "NoSuchUpload", 404, Bucket=bucket, Key="other-key",
                 UploadId=uid, PartNumber=1, Body=b"x")
    # A single small part is a valid upload (the last part may be small).
    r = s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid,
                                     MultipartUpload={"Parts": [{"PartNumber": 2, "ETag": e2}]})
    assert r["ETag"] == mp_etag([b"b"])
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == b"b"


def test_abort_leaves_nothing(gw, s3, bucket):
    key = "ab/x.bin"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    for n in (1, 2, 3):
        s3.upload_part(Bucket=bucket, Key=key, UploadId=uid, PartNumber=n, Body=os.urandom(1000))
    assert len(staged(gw, uid)) == 3
    s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=uid)
    assert uid not in staged(gw)
    expect_error(s3.list_parts, "NoSuchUpload", 404, Bucket=bucket, Key=key, UploadId=uid)
    expect_error(s3.abort_multipart_upload, "NoSuchUpload", 404, Bucket=bucket, Key=key,
                 UploadId=uid)
    assert not os.path.exists(os.path.join(gw.mount, bucket, key))
    assert gw.wait_tmp_empty() == []


def test_list_uploads_paging(gw, s3, bucket):
    ids = {}
    for key in ("a/1", "a/2", "b", "c/d/e"):
        ids[key] = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    r = s3.list_multipart_uploads(Bucket=bucket, Delimiter="/")
    assert [u["Key"] for u in r.get("Uploads", [])] == ["b"]
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["a/", "c/"]
    r = s3.list_multipart_uploads(Bucket=bucket, Prefix="a/")
    assert [u["Key"] for u in r["Uploads"]] == ["a/1", "a/2"]
    r = s3.list_multipart_uploads(Bucket=bucket, MaxUploads=2)
    assert r["IsTruncated"] and [u["Key"] for u in r["Uploads"]] == ["a/1", "a/2"]
    r = s3.list_multipart_uploads(Bucket=bucket, KeyMarker=r["NextKeyMarker"],
                                  UploadIdMarker=r["NextUploadIdMarker"])
    assert [u["Key"] for u in r["Uploads"]] == ["b", "c/d/e"] and not r["IsTruncated"]
    for key, uid in ids.items():
        s3.abort_multipart_upload(Bucket=bucket, Key=key, UploadId=uid)


def test_upload_part_copy(gw, s3, bucket):
    src = os.urandom(7 * MIB + 3)
    s3.put_object(Bucket=bucket, Key="src.bin", Body=src)
    etag = s3.head_object(Bucket=bucket, Key="src.bin")["ETag"]
    key = "copied.bin"
    uid = s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    r1 = s3.upload_part_copy(Bucket=bucket, Key=key, UploadId=uid, PartNumber=1,
                             CopySource={"Bucket": bucket, "Key": "src.bin"},
                             CopySourceRange="bytes=0-%d" % (5 * MIB - 1),
                             CopySourceIfMatch=etag)["CopyPartResult"]
    assert r1["ETag"] == '"%s"' % util.md5_hex(src[:5 * MIB])
    r2 = s3.upload_part_copy(Bucket=bucket, Key=key, UploadId=uid, PartNumber=2,
                             CopySource="%s/src.bin" % bucket,
                             CopySourceRange="bytes=%d-%d" % (5 * MIB, len(src) - 1))["CopyPartResult"]
    expect_error(s3.upload_part_copy, "PreconditionFailed", 412, Bucket=bucket, Key=key,
                 UploadId=uid, PartNumber=3, CopySource="%s/src.bin" % bucket,
                 CopySourceIfMatch='"0123"')
    expect_error(s3.upload_part_copy, "InvalidRange", 416, Bucket=bucket, Key=key,
                 UploadId=uid, PartNumber=3, CopySource="%s/src.bin" % bucket,
                 CopySourceRange="bytes=0-%d" % len(src))
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": r1["ETag"]}, {"PartNumber": 2, "ETag": r2["ETag"]}]})
    assert s3.get_object(Bucket=bucket, Key=key)["Body"].read() == src
    assert staged(gw, uid) == []


def test_restart_mid_upload(gw_fresh):
    gw = gw_fresh
    s3 = gw.boto3()
    bucket = util.unique_bucket("rs")
    s3.create_bucket(Bucket=bucket)
    p1, p2 = os.urandom(5 * MIB), os.urandom(1234)
    uid = s3.create_multipart_upload(Bucket=bucket, Key="r.bin", Tagging="keep=yes")["UploadId"]
    e1 = s3.upload_part(Bucket=bucket, Key="r.bin", UploadId=uid, PartNumber=1, Body=p1)["ETag"]
    assert gw.node.stop() == 0
    gw.node.start()
    gw.node.wait_ready()
    s3 = gw.boto3()
    assert [u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]] == [uid]
    assert [p["ETag"] for p in s3.list_parts(Bucket=bucket, Key="r.bin", UploadId=uid)["Parts"]] \
        == [e1]
    e2 = s3.upload_part(Bucket=bucket, Key="r.bin", UploadId=uid, PartNumber=2, Body=p2)["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="r.bin", UploadId=uid, MultipartUpload={
        "Parts": [{"PartNumber": 1, "ETag": e1}, {"PartNumber": 2, "ETag": e2}]})
    assert s3.get_object(Bucket=bucket, Key="r.bin")["Body"].read() == p1 + p2
    tags = s3.get_object_tagging(Bucket=bucket, Key="r.bin")["TagSet"]
    assert tags == [{"Key": "keep", "Value": "yes"}]


def node_script(gw, script, cfg):
    if not shutil.which("node"):
        pytest.fail("node is not installed (deploy/deps.sh installs it)")
    for mod in ("@aws-sdk/lib-storage", "minio"):
        if not os.path.isdir(os.path.join(JS, "node_modules", mod)):
            pytest.fail("%s missing: run `npm install` in %s (deploy/deps.sh does)" % (mod, JS))
    env = gw.client_env()
    p = util.run(["node", os.path.join(JS, script), json.dumps(cfg)], env=env, cwd=JS,
                 timeout=300)
    return json.loads(p.stdout.decode().strip().splitlines()[-1])


def test_js_lib_storage_and_minio(gw, s3, bucket, tmp_path):
    src = str(tmp_path / "js.bin")
    size = 17 * MIB + 99
    md5 = util.write_random_file(src, size, seed=9)
    out = node_script(gw, "multipart.mjs", {"endpoint": gw.endpoint, "accessKey": gw.access_key,
                                            "secretKey": gw.secret_key, "bucket": bucket,
                                            "file": src})
    for key in ("sdk/lib-storage.bin", "minio/large.bin"):
        on_mount = os.path.join(gw.mount, bucket, key)
        assert os.path.getsize(on_mount) == size, key
        assert util.file_md5(on_mount) == md5, key
    assert out["sdk"]["etag"].endswith('-4"')  # lib-storage: 5 MiB parts
    assert staged(gw) == [] or all(not staged(gw, u) for u in staged(gw))


def test_complete_checks_part_checksums(s3, bucket):
    """A part checksum stated in CompleteMultipartUpload must be the stored one."""
    up = s3.create_multipart_upload(Bucket=bucket, Key="ck", ChecksumAlgorithm="CRC32")
    uid = up["UploadId"]
    r = s3.upload_part(Bucket=bucket, Key="ck", UploadId=uid, PartNumber=1, Body=b"abc" * 100,
                       ChecksumAlgorithm="CRC32")
    good = {"PartNumber": 1, "ETag": r["ETag"], "ChecksumCRC32": r["ChecksumCRC32"]}
    bad = dict(good, ChecksumCRC32="AAAAAA==")
    with pytest.raises(ClientError) as ei:
        s3.complete_multipart_upload(Bucket=bucket, Key="ck", UploadId=uid,
                                     MultipartUpload={"Parts": [bad]})
    assert util.client_error(ei.value) == ("InvalidPart", 400)
    done = s3.complete_multipart_upload(Bucket=bucket, Key="ck", UploadId=uid,
                                        MultipartUpload={"Parts": [good]})
    assert done["ETag"].endswith('-1"')


def test_concurrent_completes_same_list(s3, bucket):
    """Two CompleteMultipartUpload requests with the same part list at once (a
    client retrying before the first answered): both answer the same object."""
    import threading

    uid = s3.create_multipart_upload(Bucket=bucket, Key="twice")["UploadId"]
    parts = []
    for n in (1, 2):
        body = bytes([n]) * (5 * MIB if n == 1 else 1000)
        r = s3.upload_part(Bucket=bucket, Key="twice", UploadId=uid, PartNumber=n, Body=body)
        parts.append({"PartNumber": n, "ETag": r["ETag"]})
    results = []

    def complete():
        try:
            r = s3.complete_multipart_upload(Bucket=bucket, Key="twice", UploadId=uid,
                                             MultipartUpload={"Parts": parts})
            results.append(("ok", r["ETag"]))
        except ClientError as e:
            results.append(("error", util.client_error(e)))
    threads = [threading.Thread(target=complete) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert len(results) == 4 and all(k == "ok" for k, _ in results), results
    assert len({etag for _, etag in results}) == 1
    assert s3.head_object(Bucket=bucket, Key="twice")["ContentLength"] == 5 * MIB + 1000

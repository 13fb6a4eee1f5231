"""Object and bucket tagging against one real unigw node: Put/Get/DeleteObjectTagging,
x-amz-tagging on PutObject, CopyObject (tagging directive) and CreateMultipartUpload,
x-amz-tagging-count, the S3 limits and errors, tags dropped by overwrites (S3 and POSIX),
bucket tags and NoSuchTagSet."""
import os
import time

import pytest
from botocore.exceptions import ClientError

import util
from util import client_error

GW_NODES = 1


@pytest.fixture
def bucket(s3):
    name = util.unique_bucket("tg")
    s3.create_bucket(Bucket=name)
    return name


def expect_error(fn, code, status, **kw):
    with pytest.raises(ClientError) as ei:
        fn(**kw)
    assert client_error(ei.value) == (code, status), ei.value.response


def tagset(d):
    return {"TagSet": [{"Key": k, "Value": v} for k, v in d.items()]}


def tags_of(s3, bucket, key):
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}


def count_header(s3, bucket, key):
    h = s3.head_object(Bucket=bucket, Key=key)["ResponseMetadata"]["HTTPHeaders"]
    return h.get("x-amz-tagging-count")


def test_object_tagging_crud(s3, bucket):
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"a")
    assert tags_of(s3, bucket, "a.txt") == {}
    assert count_header(s3, bucket, "a.txt") is None
    s3.put_object_tagging(Bucket=bucket, Key="a.txt",
                          Tagging=tagset({"k1": "v1", "k 2": "v & 2=", "empty": ""}))
    assert tags_of(s3, bucket, "a.txt") == {"k1": "v1", "k 2": "v & 2=", "empty": ""}
    assert count_header(s3, bucket, "a.txt") == "3"
    r = s3.get_object(Bucket=bucket, Key="a.txt")
    assert r["TagCount"] == 3
    s3.put_object_tagging(Bucket=bucket, Key="a.txt", Tagging=tagset({"only": "one"}))
    assert tags_of(s3, bucket, "a.txt") == {"only": "one"}
    s3.delete_object_tagging(Bucket=bucket, Key="a.txt")
    assert tags_of(s3, bucket, "a.txt") == {}
    s3.delete_object_tagging(Bucket=bucket, Key="a.txt")  # idempotent
    expect_error(s3.get_object_tagging, "NoSuchKey", 404, Bucket=bucket, Key="missing")
    expect_error(s3.put_object_tagging, "NoSuchKey", 404, Bucket=bucket, Key="missing",
                 Tagging=tagset({"a": "b"}))


def test_limits(s3, bucket):
    s3.put_object(Bucket=bucket, Key="l", Body=b"l")
    too_many = {"k%d" % i: "v" for i in range(11)}
    expect_error(s3.put_object_tagging, "InvalidTag", 400, Bucket=bucket, Key="l",
                 Tagging=tagset(too_many))
    expect_error(s3.put_object_tagging, "InvalidTag", 400, Bucket=bucket, Key="l",
                 Tagging=tagset({"k" * 129: "v"}))
    expect_error(s3.put_object_tagging, "InvalidTag", 400, Bucket=bucket, Key="l",
                 Tagging=tagset({"k": "v" * 257}))
    expect_error(s3.put_object_tagging, "InvalidTag", 400, Bucket=bucket, Key="l",
                 Tagging={"TagSet": [{"Key": "d", "Value": "1"}, {"Key": "d", "Value": "2"}]})
    expect_error(s3.put_object_tagging, "InvalidTag", 400, Bucket=bucket, Key="l",
                 Tagging=tagset({"aws:x": "v"}))
    s3.put_object_tagging(Bucket=bucket, Key="l", Tagging=tagset({"k" * 128: "v" * 256}))
    expect_error(s3.put_object, "InvalidTag", 400, Bucket=bucket, Key="h", Body=b"h",
                 Tagging="&".join("k%d=v" % i for i in range(11)))
    assert "h" not in [o["Key"] for o in s3.list_objects_v2(Bucket=bucket).get("Contents", [])]


def test_malformed_xml(gw, bucket, s3):
    s3.put_object(Bucket=bucket, Key="m", Body=b"m")
    status, _, body = gw.request("PUT", "/%s/m" % bucket, query=[("tagging", "")],
                                 body=b"<Tagging><TagSet><Tag><Key>a</Key>")
    assert status == 400 and b"MalformedXML" in body


def test_put_object_header_and_overwrite(gw, s3, bucket):
    s3.put_object(Bucket=bucket, Key="p", Body=b"1", Tagging="a=1&b=2")
    assert tags_of(s3, bucket, "p") == {"a": "1", "b": "2"}
    s3.put_object(Bucket=bucket, Key="p", Body=b"2")  # a new version: no tags
    assert tags_of(s3, bucket, "p") == {}
    s3.put_object(Bucket=bucket, Key="p", Body=b"3", Tagging="c=3")
    assert tags_of(s3, bucket, "p") == {"c": "3"}
    time.sleep(0.01)
    with open(os.path.join(gw.mount, bucket, "p"), "wb") as f:  # a POSIX overwrite
        f.write(b"posix")
    assert tags_of(s3, bucket, "p") == {}
    # A POSIX-written file can be tagged too, until it changes again.
    with open(os.path.join(gw.mount, bucket, "posix.txt"), "wb") as f:
        f.write(b"x")
    s3.put_object_tagging(Bucket=bucket, Key="posix.txt", Tagging=tagset({"p": "1"}))
    assert tags_of(s3, bucket, "posix.txt") == {"p": "1"}


def test_copy_directive(s3, bucket):
    s3.put_object(Bucket=bucket, Key="src", Body=b"s", Tagging="from=src")
    s3.copy_object(Bucket=bucket, Key="c1", CopySource={"Bucket": bucket, "Key": "src"})
    assert tags_of(s3, bucket, "c1") == {"from": "src"}
    s3.copy_object(Bucket=bucket, Key="c2", CopySource={"Bucket": bucket, "Key": "src"},
                   TaggingDirective="REPLACE", Tagging="new=1")
    assert tags_of(s3, bucket, "c2") == {"new": "1"}
    s3.copy_object(Bucket=bucket, Key="c3", CopySource={"Bucket": bucket, "Key": "src"},
                   TaggingDirective="REPLACE")
    assert tags_of(s3, bucket, "c3") == {}
    expect_error(s3.copy_object, "InvalidArgument", 400, Bucket=bucket, Key="c4",
                 CopySource={"Bucket": bucket, "Key": "src"}, TaggingDirective="BOGUS")


def test_multipart_tagging(s3, bucket):
    uid = s3.create_multipart_upload(Bucket=bucket, Key="mp", Tagging="m=p")["UploadId"]
    e = s3.upload_part(Bucket=bucket, Key="mp", UploadId=uid, PartNumber=1, Body=b"z")["ETag"]
    s3.complete_multipart_upload(Bucket=bucket, Key="mp", UploadId=uid,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
    assert tags_of(s3, bucket, "mp") == {"m": "p"}
    expect_error(s3.create_multipart_upload, "InvalidTag", 400, Bucket=bucket, Key="bad",
                 Tagging="aws:reserved=1")


def test_bucket_tagging(s3, bucket):
    expect_error(s3.get_bucket_tagging, "NoSuchTagSet", 404, Bucket=bucket)
    many = {"k%02d" % i: "v%d" % i for i in range(50)}
    s3.put_bucket_tagging(Bucket=bucket, Tagging=tagset(many))
    got = s3.get_bucket_tagging(Bucket=bucket)["TagSet"]
    assert {t["Key"]: t["Value"] for t in got} == many
    many["k50"] = "x"
    expect_error(s3.put_bucket_tagging, "InvalidTag", 400, Bucket=bucket, Tagging=tagset(many))
    s3.delete_bucket_tagging(Bucket=bucket)
    expect_error(s3.get_bucket_tagging, "NoSuchTagSet", 404, Bucket=bucket)
    expect_error(s3.get_bucket_tagging, "NoSuchBucket", 404, Bucket="no-such-bucket-tg")

"""The whole lifecycle of a bucket on a three-node cluster, each step on another node.

boto3: create, bucket tags, tagged objects with metadata, a tagged multipart upload whose last
part goes to the leader and whose Complete goes at once to a follower, an aborted upload,
copies, list, tag and untag, deletes one by one and in bulk, the bucket deleted and created
again; then nothing is left on the mount or in any node's store, every node sees an empty
bucket, and the cluster starts again.  awscli: the sequence of issue 7 (mb, cp,
put-object-tagging, rm, rb), each command on the next node: its DeleteBucket is applied by
every replica, so it must not stop any of them.

Each test starts its own cluster (util.own_cluster): a node that dies fails that test alone.
"""
import os

import botocore.exceptions
import pytest

import util

GW_NODES = 3


def tags_of(s3, bucket, key):
    return {t["Key"]: t["Value"]
            for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}


class Rotation:
    """One boto3 client per node; next() is the client of the next node in turn."""

    def __init__(self, c):
        self.s3 = [c.boto3(endpoint=n.endpoint) for n in c.nodes]
        self.i = -1

    def next(self):
        self.i = (self.i + 1) % len(self.s3)
        return self.s3[self.i]


def expect_code(fn, code, **kw):
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        fn(**kw)
    assert util.client_error(ei.value)[0] == code, ei.value.response


def multipart_across(c, s3, b):
    """Create on one follower, part 1 on the other, the last part on the leader and, at once,
    Complete on the first follower; an upload created on the leader, aborted elsewhere."""
    lead = util.wait_leader(c)
    f1, f2 = [i for i in range(GW_NODES) if i != lead]
    body = os.urandom((5 << 20) + 4321)
    uid = s3[f1].create_multipart_upload(Bucket=b, Key="big.bin", Tagging="mp=1",
                                         Metadata={"kind": "mpu"})["UploadId"]
    parts = []
    for n, node, chunk in ((1, f2, body[:5 << 20]), (2, lead, body[5 << 20:])):
        e = s3[node].upload_part(Bucket=b, Key="big.bin", UploadId=uid, PartNumber=n,
                                 Body=chunk)["ETag"]
        parts.append({"PartNumber": n, "ETag": e})
    s3[f1].complete_multipart_upload(Bucket=b, Key="big.bin", UploadId=uid,
                                     MultipartUpload={"Parts": parts})
    assert util.file_md5(os.path.join(c.mount, b, "big.bin")) == util.md5_hex(body)
    assert tags_of(s3[f2], b, "big.bin") == {"mp": "1"}
    assert s3[lead].head_object(Bucket=b, Key="big.bin")["Metadata"] == {"kind": "mpu"}
    gone = s3[lead].create_multipart_upload(Bucket=b, Key="gone", Tagging="g=1")["UploadId"]
    s3[f1].upload_part(Bucket=b, Key="gone", UploadId=gone, PartNumber=1, Body=b"g")
    s3[f2].abort_multipart_upload(Bucket=b, Key="gone", UploadId=gone)


def writes(c, r, b):
    r.next().create_bucket(Bucket=b)
    r.next().put_bucket_tagging(Bucket=b, Tagging={"TagSet": [{"Key": "team", "Value": "x"}]})
    r.next().put_object(Bucket=b, Key="docs/a.txt", Body=b"a", Tagging="k=v&x=y",
                        Metadata={"color": "blue"})
    r.next().put_object(Bucket=b, Key="plain", Body=b"p")
    multipart_across(c, r.s3, b)
    r.next().copy_object(Bucket=b, Key="copy/a.txt",
                         CopySource={"Bucket": b, "Key": "docs/a.txt"})
    r.next().copy_object(Bucket=b, Key="copy/big.bin", CopySource={"Bucket": b, "Key": "big.bin"},
                         TaggingDirective="REPLACE", Tagging="c=2")
    assert tags_of(r.next(), b, "copy/a.txt") == {"k": "v", "x": "y"}
    assert r.next().head_object(Bucket=b, Key="copy/a.txt")["Metadata"] == {"color": "blue"}
    assert tags_of(r.next(), b, "copy/big.bin") == {"c": "2"}
    keys = ["big.bin", "copy/a.txt", "copy/big.bin", "docs/a.txt", "plain"]
    assert [o["Key"] for o in r.next().list_objects_v2(Bucket=b)["Contents"]] == keys
    return keys


def tags_and_deletes(r, b, keys):
    r.next().put_object_tagging(Bucket=b, Key="plain",
                                Tagging={"TagSet": [{"Key": "t", "Value": "1"}]})
    assert tags_of(r.next(), b, "plain") == {"t": "1"}
    r.next().delete_object_tagging(Bucket=b, Key="docs/a.txt")
    assert tags_of(r.next(), b, "docs/a.txt") == {}
    for k in keys[:2]:
        r.next().delete_object(Bucket=b, Key=k)
    d = r.next().delete_objects(Bucket=b, Delete={"Objects": [{"Key": k} for k in keys[2:]]})
    assert sorted(x["Key"] for x in d["Deleted"]) == keys[2:] and not d.get("Errors")
    assert r.next().list_objects_v2(Bucket=b)["KeyCount"] == 0


def test_whole_lifecycle_three_nodes(tmp_path):
    with util.own_cluster(tmp_path / "cl", nodes=GW_NODES) as c:
        r = Rotation(c)
        b = util.unique_bucket("life3")
        keys = writes(c, r, b)
        tags_and_deletes(r, b, keys)
        r.next().delete_bucket(Bucket=b)
        for _ in range(GW_NODES - 1):
            expect_code(r.next().head_bucket, "404", Bucket=b)
        r.next().create_bucket(Bucket=b)
        util.assert_nothing_left(c.mount, b, c)
        for s3 in r.s3:
            util.assert_s3_empty(s3, b)
        util.assert_s3_empty(r.next(), b, keys)
        util.restart_all(c)
        for s3 in r.s3:
            assert s3.list_objects_v2(Bucket=b)["KeyCount"] == 0
        r.next().delete_bucket(Bucket=b)


def test_issue7_sequence_three_nodes(tmp_path):
    """mb, cp, put-object-tagging, rm, rb with awscli, each on the next node; then every
    node serves, the cluster starts again, and the bucket can be created again, empty."""
    with util.own_cluster(tmp_path / "cl", nodes=GW_NODES) as c:
        aws = util.awscli(c)
        f = tmp_path / "f"
        f.write_bytes(b"f" * 100)
        b = util.unique_bucket("m")
        aws("s3", "mb", "s3://" + b, node=0)
        aws("s3", "cp", str(f), "s3://%s/a.txt" % b, node=1)
        aws("s3api", "put-object-tagging", "--bucket", b, "--key", "a.txt", "--tagging",
            "TagSet=[{Key=k,Value=v}]", node=2)
        aws("s3", "rm", "s3://%s/a.txt" % b, node=0)
        aws("s3", "rb", "s3://" + b, node=1)
        util.wait_all_applied(c)
        s3 = [c.boto3(endpoint=n.endpoint) for n in c.nodes]
        for one in s3:
            assert b not in [x["Name"] for x in one.list_buckets()["Buckets"]]
        util.restart_all(c)
        aws("s3", "mb", "s3://" + b, node=2)
        util.assert_nothing_left(c.mount, b, c)
        for one in s3:
            util.assert_s3_empty(one, b)

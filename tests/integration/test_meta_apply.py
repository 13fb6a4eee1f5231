"""The metadata state machine on real nodes (issue 7).

DeleteBucket of a bucket whose tag records are the only, the first or the last keys of the
replicated store must leave every node serving, and so must the restart that replays the
log (after a kill -9 the node rebuilds its store from the Raft log).  The tags of an object
go with it (DeleteObject, DeleteObjects): the node's LMDB tags database is read with
mdb_dump (util.store_keys) to check that no record is left behind."""
import os

import pytest
from botocore.exceptions import ClientError

import util
from util import client_error

GW_NODES = 1


def tagset(d):
    return {"TagSet": [{"Key": k, "Value": v} for k, v in d.items()]}


def tag_records(node):
    """Entries of the tags db in @node's metadata store (readable while it runs)."""
    return len(util.store_keys(node, "tags"))


def expect_code(fn, code, **kw):
    with pytest.raises(ClientError) as ei:
        fn(**kw)
    assert client_error(ei.value)[0] == code, ei.value.response


def tagged_object(s3, bucket, key):
    s3.put_object(Bucket=bucket, Key=key, Body=b"x")
    s3.put_object_tagging(Bucket=bucket, Key=key, Tagging=tagset({"k": "v"}))


def tagged_multipart(s3, bucket, key):
    up = s3.create_multipart_upload(Bucket=bucket, Key=key, Tagging="team=a&env=b")
    p = s3.upload_part(Bucket=bucket, Key=key, UploadId=up["UploadId"], PartNumber=1,
                       Body=b"p" * 1024)
    s3.complete_multipart_upload(Bucket=bucket, Key=key, UploadId=up["UploadId"],
                                 MultipartUpload={"Parts": [{"PartNumber": 1,
                                                             "ETag": p["ETag"]}]})


def remove_bucket(s3, bucket):
    """What `aws s3 rm --recursive` then `aws s3 rb` do."""
    for o in s3.list_objects_v2(Bucket=bucket).get("Contents", []):
        s3.delete_object(Bucket=bucket, Key=o["Key"])
    s3.delete_bucket(Bucket=bucket)


def check_gone_and_reusable(s3, bucket):
    expect_code(s3.head_bucket, "404", Bucket=bucket)
    s3.create_bucket(Bucket=bucket)
    expect_code(s3.get_bucket_tagging, "NoSuchTagSet", Bucket=bucket)
    s3.put_object(Bucket=bucket, Key="a.txt", Body=b"y")
    assert s3.get_object_tagging(Bucket=bucket, Key="a.txt")["TagSet"] == []
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    remove_bucket(s3, bucket)


def kill_and_restart(node):
    """kill -9: no clean marker, so the store is rebuilt by replaying the Raft log."""
    node.expected_exit = True
    node.proc.kill()
    node.proc.wait(10)
    node.start()
    node.wait_ready()


def run_issue_sequences(s3, tag):
    """The issue's sequence and its variants; each bucket's records alone / first / last."""
    sfx = util.random_key(6).lower()
    # Alone in the store: the object's tag records are the only keys of the tags db.
    s3.create_bucket(Bucket="m-" + sfx)
    tagged_object(s3, "m-" + sfx, "a.txt")
    remove_bucket(s3, "m-" + sfx)
    check_gone_and_reusable(s3, "m-" + sfx)
    # Bucket tags, object tags and a tagged multipart upload, with neighbours around.
    for name in ("a-" + sfx, "z-" + sfx):
        s3.create_bucket(Bucket=name)
        tagged_object(s3, name, "keep.txt")
    for target in ("b-" + sfx, "y-" + sfx, "zz-" + sfx, "0-" + sfx):
        s3.create_bucket(Bucket=target)
        s3.put_bucket_tagging(Bucket=target, Tagging=tagset({"team": tag}))
        tagged_object(s3, target, "a.txt")
        tagged_multipart(s3, target, "big.bin")
        s3.create_multipart_upload(Bucket=target, Key="open.bin")  # left open
        remove_bucket(s3, target)
        check_gone_and_reusable(s3, target)
    for name in ("a-" + sfx, "z-" + sfx):
        assert s3.get_object_tagging(Bucket=name, Key="keep.txt")["TagSet"] == [
            {"Key": "k", "Value": "v"}]
        remove_bucket(s3, name)


def test_delete_bucket_with_tags_keeps_node_serving(gw_fresh):
    s3 = gw_fresh.boto3()
    run_issue_sequences(s3, "one")
    assert tag_records(gw_fresh.node) == 0
    kill_and_restart(gw_fresh.node)
    s3 = gw_fresh.boto3()
    s3.list_buckets()
    run_issue_sequences(s3, "two")


def test_object_tags_go_with_the_object(gw, s3):
    bucket = util.unique_bucket("mt")
    s3.create_bucket(Bucket=bucket)
    before = tag_records(gw.node)
    for k in ("a", "b", "c", "d"):
        tagged_object(s3, bucket, k)
    s3.put_object(Bucket=bucket, Key="plain", Body=b"p")
    assert tag_records(gw.node) == before + 4
    s3.delete_object(Bucket=bucket, Key="a")
    s3.delete_object(Bucket=bucket, Key="plain")
    assert tag_records(gw.node) == before + 3
    r = s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": "b"}, {"Key": "missing"},
                                                             {"Key": "c"}]})
    assert sorted(d["Key"] for d in r["Deleted"]) == ["b", "c", "missing"]
    assert tag_records(gw.node) == before + 1
    # A key written again comes back without the old tags (a new object).
    tagged_object(s3, bucket, "a")
    s3.delete_object(Bucket=bucket, Key="a")
    s3.put_object(Bucket=bucket, Key="a", Body=b"again")
    assert s3.get_object_tagging(Bucket=bucket, Key="a")["TagSet"] == []
    assert tag_records(gw.node) == before + 1
    remove_bucket(s3, bucket)
    assert tag_records(gw.node) == before


def test_three_nodes_survive_delete_bucket(gw_factory):
    cl = gw_factory(nodes=3)
    for i, n in enumerate(cl.nodes):
        run_issue_sequences(cl.boto3(endpoint=n.endpoint), "n%d" % i)
    for n in cl.nodes:
        cl.boto3(endpoint=n.endpoint).list_buckets()
        m = util.node_metrics(n)
        assert m['unigw_meta_apply_failures_total{command="bucket_delete"}'] == 0
        assert m['unigw_meta_apply_failures_total{command="tags_drop"}'] == 0


def test_tag_sweep_collects_posix_removals(tmp_path):
    """Tags of an object removed or replaced through POSIX (the gateway never sees it) are
    dropped by the leader's sweep, two sweeps apart ([s3] tag_sweep_interval, 1 s here);
    the tags of objects still there, and bucket tags, stay."""
    with util.own_cluster(tmp_path / "own",
                          extra_args=["--set", "s3.tag_sweep_interval=1s"]) as c:
        s3 = c.boto3()
        b = util.unique_bucket("sweep")
        s3.create_bucket(Bucket=b)
        s3.put_bucket_tagging(Bucket=b, Tagging=tagset({"team": "x"}))
        for k in ("gone", "replaced", "kept", "dir/deep"):
            tagged_object(s3, b, k)
        prefix = b.encode() + b"\0"

        def left():
            return sorted(k[len(prefix):] for k in util.store_keys(c.nodes[0], "tags")
                          if k.startswith(prefix))

        assert left() == [b"", b"dir/deep", b"gone", b"kept", b"replaced"]
        os.unlink(os.path.join(c.mount, b, "gone"))
        os.unlink(os.path.join(c.mount, b, "dir", "deep"))
        with open(os.path.join(c.mount, b, "replaced.new"), "wb") as f:
            f.write(b"written by a POSIX program")
        os.rename(os.path.join(c.mount, b, "replaced.new"), os.path.join(c.mount, b, "replaced"))
        util.wait_for(lambda: left() == [b"", b"kept"], timeout=30,
                      what="the sweep to drop the orphaned tag records")
        assert s3.get_object_tagging(Bucket=b, Key="kept")["TagSet"] == [
            {"Key": "k", "Value": "v"}]
        assert s3.get_bucket_tagging(Bucket=b)["TagSet"] == [{"Key": "team", "Value": "x"}]
        assert s3.get_object_tagging(Bucket=b, Key="replaced")["TagSet"] == []

"""Three nodes: every multipart step on any node sees the parts other nodes acknowledged,
and a tagged write refused for want of a leader leaves the old object and its tags.

  * read-your-writes for multipart (issue 7, 4b): hundreds of rounds, each part of an upload
    through a different node, all at once, and CompleteMultipartUpload through a third node
    the moment the last part is acknowledged (also UploadPartCopy and ListParts there);
    InvalidPart is not retryable for any SDK, so one is a failure;
  * tags and publish order (issue 7): the leader and the other follower are killed, and a
    PutObject with x-amz-tagging or a CopyObject with new tags goes to the survivor at once:
    it answers 503, and once the others are back the old object and its tags are there.
"""
import concurrent.futures
import hashlib
import os
import time

import botocore.exceptions
import pytest

import util

GW_NODES = 3
ROUNDS = 200            # small uploads: one part per node, Complete on the third
BIG_ROUNDS = 20         # with a 5 MiB first part (every part but the last is >= 5 MiB)
WORKERS = 4
MIB = 1 << 20


@pytest.fixture(scope="module")
def cl(tmp_path_factory):
    c = util.Cluster(tmp_path_factory.mktemp("cw"), nodes=GW_NODES)
    c.start()
    util.wait_leader(c)
    yield c
    c.stop()


@pytest.fixture
def cl_fresh(tmp_path):
    c = util.Cluster(tmp_path / "cw", nodes=GW_NODES)
    c.start()
    util.wait_leader(c)
    yield c
    c.stop()


def clients(c):
    return [c.boto3(endpoint=n.endpoint) for n in c.nodes]


def _staged(mount):
    root = os.path.join(mount, ".unigw", "multipart")
    return sorted(os.listdir(root)) if os.path.isdir(root) else []


def _round(s3, bucket, r, parts):
    """One upload: created on node r, part i on node r+1+i, all parts at once, then
    CompleteMultipartUpload on the next node the moment every part is acknowledged."""
    n = len(s3)
    key = "r%04d" % r
    up = s3[r % n].create_multipart_upload(Bucket=bucket, Key=key)["UploadId"]
    with concurrent.futures.ThreadPoolExecutor(len(parts)) as ex:
        futs = [ex.submit(s3[(r + 1 + i) % n].upload_part, Bucket=bucket, Key=key,
                          UploadId=up, PartNumber=i + 1, Body=body)
                for i, body in enumerate(parts)]
        etags = [f.result()["ETag"] for f in futs]
    third = (r + 1 + len(parts)) % n
    done = s3[third].complete_multipart_upload(
        Bucket=bucket, Key=key, UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": i + 1, "ETag": e}
                                   for i, e in enumerate(etags)]})
    md5s = b"".join(hashlib.md5(p).digest() for p in parts)
    assert done["ETag"] == '"%s-%d"' % (hashlib.md5(md5s).hexdigest(), len(parts)), key
    return key, up


def _run_rounds(s3, bucket, rounds, workers, parts_of):
    failures = []

    def one(r):
        try:
            return _round(s3, bucket, r, parts_of(r))
        except botocore.exceptions.ClientError as e:
            failures.append("round %d: %s" % (r, util.client_error(e)))
            return None
    with concurrent.futures.ThreadPoolExecutor(workers) as ex:
        done = [k for k in ex.map(one, range(rounds)) if k is not None]
    assert not failures, "%d of %d rounds failed: %s" % (len(failures), rounds, failures[:5])
    return done


def test_complete_on_another_node_sees_the_part(cl):
    s3 = clients(cl)
    bucket = util.unique_bucket("ryw")
    s3[0].create_bucket(Bucket=bucket)
    t0 = time.monotonic()
    done = _run_rounds(s3, bucket, ROUNDS, WORKERS, lambda r: [b"part of round %d" % r])
    assert len(done) == ROUNDS
    for key, up in done:
        with open(os.path.join(cl.mount, bucket, key), "rb") as f:
            assert f.read() == b"part of round %d" % int(key[1:])
    assert not set(_staged(cl.mount)) & {up for _, up in done}
    print("%d rounds in %.1f s" % (ROUNDS, time.monotonic() - t0))


def test_parts_on_two_nodes_complete_on_the_third(cl):
    s3 = clients(cl)
    bucket = util.unique_bucket("ryw2")
    s3[1].create_bucket(Bucket=bucket)
    first = os.urandom(5 * MIB)
    done = _run_rounds(s3, bucket, BIG_ROUNDS, 2, lambda r: [first, b"last part %d" % r])
    for key, up in done:
        last = b"last part %d" % int(key[1:])
        assert os.path.getsize(os.path.join(cl.mount, bucket, key)) == len(first) + len(last)
    assert not set(_staged(cl.mount)) & {up for _, up in done}


def test_part_copy_and_list_parts_on_other_nodes(cl):
    s3 = clients(cl)
    bucket = util.unique_bucket("ryw3")
    s3[2].create_bucket(Bucket=bucket)
    s3[0].put_object(Bucket=bucket, Key="src", Body=b"copy me" * 100)
    for r in range(30):
        a, b, c = r % 3, (r + 1) % 3, (r + 2) % 3
        up = s3[a].create_multipart_upload(Bucket=bucket, Key="pc")["UploadId"]
        e = s3[a].upload_part(Bucket=bucket, Key="pc", UploadId=up, PartNumber=1,
                              Body=b"first")["ETag"]
        # the part is replaced through B at once; ListParts on C must show the copy
        cp = s3[b].upload_part_copy(Bucket=bucket, Key="pc", UploadId=up, PartNumber=1,
                                    CopySource={"Bucket": bucket, "Key": "src"})
        lp = s3[c].list_parts(Bucket=bucket, Key="pc", UploadId=up)["Parts"]
        assert [(p["PartNumber"], p["ETag"]) for p in lp] == [(1, cp["CopyPartResult"]["ETag"])]
        assert cp["CopyPartResult"]["ETag"] != e
        # the replaced file went: one staged file for one part
        d = os.path.join(cl.mount, ".unigw", "multipart", up)
        assert len(os.listdir(d)) == 1, os.listdir(d)
        s3[c].abort_multipart_upload(Bucket=bucket, Key="pc", UploadId=up)
        assert not os.path.exists(d)


def _tags(s3, bucket, key):
    return {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket,
                                                                 Key=key)["TagSet"]}


def test_tagged_writes_without_a_leader_leave_the_old_object(cl_fresh):
    c = cl_fresh
    s3 = clients(c)
    lead = util.wait_leader(c)
    surv = [i for i in range(GW_NODES) if i != lead][0]
    victims = [i for i in range(GW_NODES) if i != surv]
    bucket = util.unique_bucket("tag")
    s3[lead].create_bucket(Bucket=bucket)
    for key in ("put", "copy"):
        s3[lead].put_object(Bucket=bucket, Key=key, Body=b"old " + key.encode(), Tagging="t=old")
    s3[lead].put_object(Bucket=bucket, Key="src", Body=b"the source", Tagging="t=src")
    util.wait_all_applied(c)  # GetObjectTagging reads the local replica
    for key in ("put", "copy"):
        assert _tags(s3[surv], bucket, key) == {"t": "old"}  # the survivor has applied them
    for i in victims:
        util.kill9(c.nodes[i])
    try:
        _refused_without_leader(s3[surv], bucket)
        for key in ("put", "copy"):
            with open(os.path.join(c.mount, bucket, key), "rb") as f:
                assert f.read() == b"old " + key.encode()
    finally:
        for i in victims:
            util.restart(c.nodes[i])
    util.wait_leader(c)
    for i in range(GW_NODES):
        for key in ("put", "copy"):
            assert s3[i].get_object(Bucket=bucket, Key=key)["Body"].read() == \
                b"old " + key.encode()
            assert _tags(s3[i], bucket, key) == {"t": "old"}, (i, key)


def _refused_without_leader(s3, bucket):
    """At once, before the survivor gives up on its leader: the tag proposal is refused."""
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.put_object(Bucket=bucket, Key="put", Body=b"new bytes", Tagging="t=new")
    assert util.client_error(ei.value)[1] == 503
    with pytest.raises(botocore.exceptions.ClientError) as ei:
        s3.copy_object(Bucket=bucket, Key="copy", CopySource={"Bucket": bucket, "Key": "src"},
                       TaggingDirective="REPLACE", Tagging="t=new")
    assert util.client_error(ei.value)[1] == 503

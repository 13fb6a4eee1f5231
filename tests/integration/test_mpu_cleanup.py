"""The leader's housekeeping removes multipart uploads that were neither
completed nor aborted within [s3] multipart_expiry: the upload disappears from
every listing, its staged parts leave the mount, and a later UploadPart or
Complete gets NoSuchUpload.  (The first housekeeping tick runs 5 s after
start, then every minute.)"""
import os
import time

import pytest
from botocore.exceptions import ClientError

import util

GW_ARGS = ("--set", "s3.multipart_expiry=2s")


def staged(mount, upload_id):
    root = os.path.join(mount, ".unigw", "multipart")
    return os.path.isdir(root) and any(upload_id in d for d in os.listdir(root))


def test_expired_upload_is_removed(gw, s3):
    b = util.unique_bucket("expire")
    s3.create_bucket(Bucket=b)
    up = s3.create_multipart_upload(Bucket=b, Key="old")["UploadId"]
    s3.upload_part(Bucket=b, Key="old", UploadId=up, PartNumber=1, Body=b"x" * 1000)
    assert staged(gw.mount, up)
    deadline = time.monotonic() + 30
    # Only the file system is watched here: ListMultipartUploads would trigger a
    # cleanup itself, and this test is about the leader's periodic one.
    while time.monotonic() < deadline and staged(gw.mount, up):
        time.sleep(0.2)
    assert s3.list_multipart_uploads(Bucket=b).get("Uploads", []) == []
    assert not staged(gw.mount, up)
    with pytest.raises(ClientError) as ei:
        s3.upload_part(Bucket=b, Key="old", UploadId=up, PartNumber=2, Body=b"y")
    assert util.client_error(ei.value) == ("NoSuchUpload", 404)
    assert not os.path.exists(os.path.join(gw.mount, b, "old"))


def test_completed_upload_staged_data_is_removed(gw_factory):
    """A node stopped between upload_finish and removing the staged directory leaves the
    parts behind; the leader's housekeeping removes them at once, not when the completed
    record expires (an hour here)."""
    c = gw_factory(args=("--set", "s3.multipart_expiry=1h"))
    s3 = c.boto3()
    b = util.unique_bucket("done")
    s3.create_bucket(Bucket=b)
    up = s3.create_multipart_upload(Bucket=b, Key="obj")["UploadId"]
    e = s3.upload_part(Bucket=b, Key="obj", UploadId=up, PartNumber=1, Body=b"z" * 1000)["ETag"]
    s3.complete_multipart_upload(Bucket=b, Key="obj", UploadId=up,
                                 MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
    assert not staged(c.mount, up)
    # What the stopped node left: the staged directory with a part file in it.
    d = os.path.join(c.mount, ".unigw", "multipart", up)
    os.makedirs(d)
    with open(os.path.join(d, "1-leftover"), "wb") as f:
        f.write(b"z" * 1000)
    # A restarted node runs its first housekeeping 5 s after start.
    assert c.node.stop() == 0
    util.restart(c.node)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and staged(c.mount, up):
        time.sleep(0.2)
    assert not staged(c.mount, up)
    # the completed record is still there: a retried Complete answers the same object
    r = s3.complete_multipart_upload(Bucket=b, Key="obj", UploadId=up,
                                     MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
    assert r["ETag"].endswith('-1"')
    assert s3.get_object(Bucket=b, Key="obj")["Body"].read() == b"z" * 1000

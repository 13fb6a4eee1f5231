"""The node's hot-object cache on the GET path (issue 10, the local part).

An object read `admit_after` (2) times is read into memory; later GETs are served from
there, which /metrics proves (cache hits rise, unigw_mount_read_bytes_total does not).
Every answer from the cache, ranges and conditionals included, is byte for byte the answer
of a node without a cache on the same mount.  A write through S3 or through POSIX on the
mount (same size, mtime put back) is never hidden by a cached body."""
import os
import re
import time

import pytest

import util

GW_NODES = 1
HIDE = ("date", "x-amz-request-id", "x-amz-id-2")


@pytest.fixture(scope="module")
def uncached(gw, tmp_path_factory):
    """A second node on the same mount with the cache off: the reference answers."""
    c = util.Cluster(tmp_path_factory.mktemp("nocache"), mount=gw.mount,
                     extra_args=["--set", "cache.size=0"])
    c.access_key, c.secret_key = gw.access_key, gw.secret_key  # the same root key
    c.start()
    yield c
    c.stop()


def metric(gw, name):
    return util.node_metrics(gw.node).get(name, 0.0)


def get(gw, bucket, key, headers=None):
    st, h, body = gw.request("GET", util.key_path(bucket, key), headers=headers)
    body = re.sub(rb"<RequestId>[^<]*</RequestId>", b"", body)  # differs per request
    return st, {k: v for k, v in h.items() if k not in HIDE}, body


@pytest.fixture(scope="module")
def bucket(gw, s3):
    name = util.unique_bucket("cache")
    s3.create_bucket(Bucket=name)
    return name


def warm(gw, bucket, key):
    """Read @key until it is served from memory: a file is cached only once it is a
    second old (a younger one could still change within the same clock tick)."""
    time.sleep(max(0.0, 1.1 - (time.time() - os.stat(os.path.join(gw.mount, bucket,
                                                                    key)).st_ctime)))
    for _ in range(3):
        assert get(gw, bucket, key)[0] == 200
    hits = metric(gw, "unigw_cache_hits_total")
    assert get(gw, bucket, key)[0] == 200
    assert metric(gw, "unigw_cache_hits_total") == hits + 1, "not served from the cache"


def test_hot_object_served_from_memory(gw, s3, bucket):
    body = os.urandom(300 << 10)
    s3.put_object(Bucket=bucket, Key="hot", Body=body, ContentType="image/png",
                  Metadata={"k": "v"})
    warm(gw, bucket, "hot")
    hits, read = metric(gw, "unigw_cache_hits_total"), metric(gw, "unigw_mount_read_bytes_total")
    for _ in range(5):
        st, h, got = get(gw, bucket, "hot")
        assert (st, got, h["content-type"], h["x-amz-meta-k"]) == (200, body, "image/png", "v")
    assert metric(gw, "unigw_cache_hits_total") >= hits + 5
    assert metric(gw, "unigw_mount_read_bytes_total") == read
    assert metric(gw, "unigw_cache_objects") >= 1


@pytest.mark.parametrize("headers", [
    {}, {"Range": "bytes=0-99"}, {"Range": "bytes=1000-"}, {"Range": "bytes=-17"},
    {"Range": "bytes=999999999-"}, {"If-None-Match": "*"}, {"If-Match": '"0000"'},
    {"If-Modified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"},
    {"If-Unmodified-Since": "Sat, 01 Jan 2000 00:00:00 GMT"},
    {"Range": "bytes=5-9", "If-Range": "x"},
])
def test_cached_answers_equal_uncached(gw, s3, bucket, uncached, headers):
    key = "same"
    if not os.path.exists(os.path.join(gw.mount, bucket, key)):
        s3.put_object(Bucket=bucket, Key=key, Body=os.urandom(70000))
    warm(gw, bucket, key)
    etag = get(gw, bucket, key)[1]["etag"]
    for hs in (headers, {"If-None-Match": etag}, {"If-Match": etag, "Range": "bytes=3-4"}):
        assert get(gw, bucket, key, hs) == get(uncached, bucket, key, hs), hs


def test_posix_overwrite_never_hidden(gw, s3, bucket):
    path = os.path.join(gw.mount, bucket, "posix")
    s3.put_object(Bucket=bucket, Key="posix", Body=b"A" * 100000)
    warm(gw, bucket, "posix")
    st = os.stat(path)
    with open(path, "r+b") as f:  # same size, same mtime afterwards: only ctime tells
        f.write(b"B" * 100000)  # (a second or more after the fill: see warm())
    os.utime(path, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert get(gw, bucket, "posix")[2] == b"B" * 100000
    with open(path + ".new", "wb") as f:  # replaced by rename: another inode
        f.write(b"C" * 100000)
    os.rename(path + ".new", path)
    assert get(gw, bucket, "posix")[2] == b"C" * 100000


def test_s3_writes_never_hidden(gw, s3, bucket):
    s3.put_object(Bucket=bucket, Key="w", Body=b"one" * 30000)
    warm(gw, bucket, "w")
    s3.put_object(Bucket=bucket, Key="w", Body=b"two" * 30000)
    assert get(gw, bucket, "w")[2] == b"two" * 30000
    s3.copy_object(Bucket=bucket, Key="w", CopySource={"Bucket": bucket, "Key": "hot"})
    assert get(gw, bucket, "w")[2] == get(gw, bucket, "hot")[2]
    s3.delete_object(Bucket=bucket, Key="w")
    assert get(gw, bucket, "w")[0] == 404

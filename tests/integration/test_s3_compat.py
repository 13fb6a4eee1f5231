"""AWS conformance of bucket creation and listing details (issue 13, "error codes that differ
from AWS" and the listing items), each checked with boto3 and with raw signed requests whose
XML is compared element by element.

The AWS behaviour each test pins, and where it is written down:

* CreateBucket of a bucket you already own: "Amazon S3 returns this error in all Amazon Web
  Services Regions except in the North Virginia Region. For legacy compatibility, if you
  re-create an existing bucket that you already own in the North Virginia Region, Amazon S3
  returns 200 OK" (the BucketAlreadyOwnedByYou error, S3 API reference / SDK docs).
* delimiter= (empty) is no delimiter and the response has no <Delimiter> (ceph/s3-tests
  test_bucket_list_delimiter_empty and test_bucket_listv2_delimiter_empty, which run against
  AWS).
* encoding-type=url: "returns encoded key name values in the following response elements:
  Delimiter, Prefix, Key, and StartAfter" (ListObjectsV2 EncodingType); ListObjects (v1)
  encodes Delimiter, Marker, Prefix, NextMarker and Key, the CommonPrefixes' Prefix in both
  (botocore's decode_list_object handlers undo exactly these; ceph/s3-tests
  test_bucket_list_encoding_basic). A continuation token is opaque and never encoded.
  Encoded once: a key holding '%41' comes back as '%2541', never '%252541'.
* An empty continuation-token is no token: the listing starts at the beginning and the
  empty token is echoed (ceph/s3-tests test_bucket_listv2_continuationtoken_empty).
* max-keys: 0 is an empty page with IsTruncated false (ceph/s3-tests
  test_bucket_list_maxkeys_zero); a value that is not an int32 from 0 up is 400
  InvalidArgument ("Argument maxKeys must be an integer between 0 and 2147483647",
  test_bucket_list_maxkeys_invalid); above 1000 a page still holds at most 1000 keys ("The
  response might contain fewer keys but will never contain more") and MaxKeys echoes the
  value asked for.
* ListObjects (v1) NextMarker: "This element is returned only if you have delimiter request
  parameter specified" (ListObjectsOutput NextMarker).
"""
import json
import os
import subprocess
import urllib.parse
import xml.etree.ElementTree as ET

import pytest
from botocore.exceptions import ClientError

import util
from util import client_error

GW_NODES = 1

# Keys chosen so that every echoed element carries a byte encoding-type=url must escape:
# a space, a '+', a literal "%41" (double encoding would show as %252541) and UTF-8.
KEYS = ["a b/1", "a b/2", "a b/3", "pct%41/x", "pct%41/y z", "plus+/y", "top", "\u00fc/z"]


def tag(el):
    return el.tag.split("}")[-1]


def listing(gw, bucket, query):
    """A raw signed listing: (top-level elements other than Contents and CommonPrefixes as a
    dict tag -> text, the Contents keys, the CommonPrefixes prefixes), each exactly as sent."""
    st, _, body = gw.request("GET", util.key_path(bucket), query=query)
    assert st == 200, body
    root = ET.fromstring(body)
    top = {}
    for el in root:
        if tag(el) in ("Contents", "CommonPrefixes", "Version"):
            continue
        assert tag(el) not in top, "duplicate <%s>: %r" % (tag(el), body)
        assert len(el) == 0, body
        top[tag(el)] = el.text or ""
    keys = [e.text for e in util.xml_find(root, "Contents/Key")]
    keys += [e.text for e in util.xml_find(root, "Version/Key")]
    cps = [e.text for e in util.xml_find(root, "CommonPrefixes/Prefix")]
    return top, keys, cps


def expect_error(fn, code, status, **kw):
    with pytest.raises(ClientError) as ei:
        fn(**kw)
    assert client_error(ei.value) == (code, status), ei.value.response
    return ei.value.response


@pytest.fixture(scope="module")
def keys_bucket(s3):
    name = util.unique_bucket("compat")
    s3.create_bucket(Bucket=name)
    for k in KEYS:
        s3.put_object(Bucket=name, Key=k, Body=k.encode())
    return name


@pytest.fixture(scope="module")
def big_bucket(gw, s3):
    """1005 objects, written through the mount (fast)."""
    name = util.unique_bucket("compat-big")
    s3.create_bucket(Bucket=name)
    for i in range(1005):
        with open(os.path.join(gw.mount, name, "k%04d" % i), "wb") as f:
            f.write(b"x")
    return name


# ---- CreateBucket of a bucket you own ------------------------------------------------------


def test_create_own_bucket_again_us_east_1(gw, s3):
    name = util.unique_bucket("again")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="kept", Body=b"still here")
    r = s3.create_bucket(Bucket=name)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert r["Location"] == "/" + name
    st, hdrs, body = gw.request("PUT", util.key_path(name))
    assert (st, body, hdrs.get("location")) == (200, b"", "/" + name)
    # Nothing was reset or emptied, and the bucket is listed once.
    assert s3.get_object(Bucket=name, Key="kept")["Body"].read() == b"still here"
    assert [b["Name"] for b in s3.list_buckets()["Buckets"]].count(name) == 1


def new_user(gw, name):
    """@name with one key, made through unigw-admin; a boto3 client for it."""
    admin = os.environ.get("UNIGW_ADMIN_BIN") or os.path.join(
        os.path.dirname(util.unigw_bin()), "unigw-admin")
    base = [admin, "--endpoint", gw.endpoint, "--access-key", gw.access_key,
            "--secret-key", gw.secret_key]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": gw.client_dir}
    for args in (["user", "create", name], ["--json", "key", "create", name]):
        p = subprocess.run(base + args, capture_output=True, text=True, env=env, timeout=60)
        assert p.returncode == 0, p.stderr
    keys = json.loads(p.stdout)
    return gw.boto3(access_key=keys["access_key"], secret_key=keys["secret_key"])


def test_create_someone_elses_bucket_is_409_everywhere(gw, s3):
    name = util.unique_bucket("theirs")
    s3.create_bucket(Bucket=name)
    other = new_user(gw, "compat" + util.random_key(6).lower())
    expect_error(other.create_bucket, "BucketAlreadyExists", 409, Bucket=name)


def test_create_own_bucket_again_other_region(gw_factory):
    """The same node with region eu-west-1: 409 BucketAlreadyOwnedByYou."""
    region = "eu-west-1"
    gw = gw_factory(args=("--set", "server.region=" + region))
    s3 = gw.boto3(region_name=region)
    name = util.unique_bucket("again")
    cfg = {"LocationConstraint": region}
    s3.create_bucket(Bucket=name, CreateBucketConfiguration=cfg)
    s3.put_object(Bucket=name, Key="kept", Body=b"k")
    expect_error(s3.create_bucket, "BucketAlreadyOwnedByYou", 409, Bucket=name,
                        CreateBucketConfiguration=cfg)
    # Raw, signed for the node's region.
    u = urllib.parse.urlsplit(gw.endpoint)
    hdrs = util.sigv4_headers("PUT", u.netloc, util.key_path(name), [], {"Content-Length": "0"},
                              util.EMPTY_SHA256, gw.access_key, gw.secret_key, region=region)
    r = util.http_request(gw.endpoint, "PUT", util.key_path(name), headers=hdrs)
    util.assert_s3_error(r, 409, "BucketAlreadyOwnedByYou")
    assert s3.get_object(Bucket=name, Key="kept")["Body"].read() == b"k"


# ---- listing: an empty delimiter -----------------------------------------------------------


@pytest.mark.parametrize("query", [[("delimiter", "")], [("list-type", "2"), ("delimiter", "")],
                                   [("versions", ""), ("delimiter", "")]],
                         ids=["v1", "v2", "versions"])
def test_empty_delimiter_is_omitted(gw, keys_bucket, query):
    top, keys, cps = listing(gw, keys_bucket, query)
    assert "Delimiter" not in top, top
    assert keys == sorted(KEYS, key=lambda k: k.encode()) and cps == []


def test_empty_delimiter_boto3(s3, keys_bucket):
    for r in (s3.list_objects(Bucket=keys_bucket, Delimiter=""),
              s3.list_objects_v2(Bucket=keys_bucket, Delimiter="")):
        assert "Delimiter" not in r and "CommonPrefixes" not in r
        assert [o["Key"] for o in r["Contents"]] == sorted(KEYS, key=lambda k: k.encode())


# ---- listing: encoding-type=url ------------------------------------------------------------


def test_encoding_v1_every_element_once(gw, keys_bucket):
    q = [("encoding-type", "url"), ("prefix", "a b/"), ("marker", "a b/1"), ("delimiter", "/"),
         ("max-keys", "1")]
    top, keys, cps = listing(gw, keys_bucket, q)
    assert top == {"Name": keys_bucket, "Prefix": "a%20b/", "Marker": "a%20b/1",
                   "NextMarker": "a%20b/2", "MaxKeys": "1", "Delimiter": "/",
                   "EncodingType": "url", "IsTruncated": "true"}
    assert (keys, cps) == (["a%20b/2"], [])
    # A delimiter and the common prefixes it makes.
    top, keys, cps = listing(gw, keys_bucket, [("encoding-type", "url"), ("delimiter", "+"),
                                               ("prefix", "p")])
    assert (top["Delimiter"], top["Prefix"], top["Marker"]) == ("%2B", "p", "")
    assert (keys, cps) == (["pct%2541/x", "pct%2541/y%20z"], ["plus%2B"])
    # The same without encoding-type: the literal values (XML-escaped), no EncodingType.
    top, keys, cps = listing(gw, keys_bucket, q[1:])
    assert top == {"Name": keys_bucket, "Prefix": "a b/", "Marker": "a b/1",
                   "NextMarker": "a b/2", "MaxKeys": "1", "Delimiter": "/",
                   "IsTruncated": "true"}
    assert keys == ["a b/2"]


def test_encoding_v2_every_element_once(gw, keys_bucket):
    q = [("list-type", "2"), ("encoding-type", "url"), ("prefix", "pct%41/"),
         ("start-after", "pct%41/x"), ("delimiter", " ")]
    top, keys, cps = listing(gw, keys_bucket, q)
    assert top == {"Name": keys_bucket, "Prefix": "pct%2541/", "StartAfter": "pct%2541/x",
                   "KeyCount": "1", "MaxKeys": "1000", "Delimiter": "%20",
                   "EncodingType": "url", "IsTruncated": "false"}
    assert (keys, cps) == ([], ["pct%2541/y%20"])
    top, keys, cps = listing(gw, keys_bucket, [("list-type", "2"), ("encoding-type", "url"),
                                               ("prefix", "\u00fc")])
    assert top["Prefix"] == "%C3%BC" and keys == ["%C3%BC/z"]


def test_encoding_v2_continuation_token_verbatim(gw, keys_bucket):
    """The token is opaque: echoed as sent even with encoding-type=url."""
    base = [("list-type", "2"), ("encoding-type", "url"), ("max-keys", "4")]
    top, keys, _ = listing(gw, keys_bucket, base)
    token = top["NextContinuationToken"]
    assert keys == ["a%20b/1", "a%20b/2", "a%20b/3", "pct%2541/x"]
    top, keys, _ = listing(gw, keys_bucket, base + [("continuation-token", token)])
    assert top["ContinuationToken"] == token
    assert keys == ["pct%2541/y%20z", "plus%2B/y", "top", "%C3%BC/z"]


def test_encoding_boto3_round_trip(s3, keys_bucket):
    """boto3 asks for encoding-type=url itself and decodes what AWS encodes: every value comes
    back as the key it names (double encoding would leave a '%41' as '%2541')."""
    r = s3.list_objects_v2(Bucket=keys_bucket, Prefix="pct%41/", StartAfter="pct%41/x",
                           Delimiter=" ")
    assert (r["Prefix"], r["StartAfter"], r["Delimiter"]) == ("pct%41/", "pct%41/x", " ")
    assert [p["Prefix"] for p in r["CommonPrefixes"]] == ["pct%41/y "]
    r = s3.list_objects(Bucket=keys_bucket, Prefix="a b/", Marker="a b/1", Delimiter="/",
                        MaxKeys=1)
    assert (r["Marker"], r["NextMarker"], r["Delimiter"]) == ("a b/1", "a b/2", "/")
    assert [o["Key"] for o in r["Contents"]] == ["a b/2"]
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=keys_bucket,
                                                         PaginationConfig={"PageSize": 3})
    assert [o["Key"] for p in pages for o in p["Contents"]] == sorted(
        KEYS, key=lambda k: k.encode())


# ---- listing: an empty continuation token --------------------------------------------------


def test_empty_continuation_token_is_absent(gw, s3, keys_bucket):
    top, keys, _ = listing(gw, keys_bucket, [("list-type", "2"), ("continuation-token", "")])
    assert top["ContinuationToken"] == "" and top["IsTruncated"] == "false"
    assert keys == sorted(KEYS, key=lambda k: k.encode())
    r = s3.list_objects_v2(Bucket=keys_bucket, ContinuationToken="")
    assert r["ContinuationToken"] == "" and r["IsTruncated"] is False
    assert [o["Key"] for o in r["Contents"]] == sorted(KEYS, key=lambda k: k.encode())
    # A token that is not one of ours is still refused.
    r = gw.request("GET", util.key_path(keys_bucket),
                   query=[("list-type", "2"), ("continuation-token", "!!")])
    util.assert_s3_error(r, 400, "InvalidArgument")


# ---- listing: max-keys ---------------------------------------------------------------------


@pytest.mark.parametrize("v2", [False, True], ids=["v1", "v2"])
def test_max_keys_zero(gw, s3, keys_bucket, v2):
    q = ([("list-type", "2")] if v2 else []) + [("max-keys", "0"), ("delimiter", "/")]
    top, keys, cps = listing(gw, keys_bucket, q)
    assert (top["MaxKeys"], top["IsTruncated"], keys, cps) == ("0", "false", [], [])
    assert "NextMarker" not in top and "NextContinuationToken" not in top
    if v2:
        assert top["KeyCount"] == "0"
        r = s3.list_objects_v2(Bucket=keys_bucket, MaxKeys=0)
    else:
        r = s3.list_objects(Bucket=keys_bucket, MaxKeys=0)
    assert r["IsTruncated"] is False and "Contents" not in r and r["MaxKeys"] == 0


@pytest.mark.parametrize("value", ["-1", "abc", "1.5", "2147483648",
                                   "99999999999999999999999"])
def test_max_keys_invalid(gw, keys_bucket, value):
    for q in ([("max-keys", value)], [("list-type", "2"), ("max-keys", value)],
              [("versions", ""), ("max-keys", value)]):
        util.assert_s3_error(gw.request("GET", util.key_path(keys_bucket), query=q), 400,
                             "InvalidArgument")


def test_max_keys_above_1000(gw, s3, big_bucket):
    top, keys, _ = listing(gw, big_bucket, [("list-type", "2"), ("max-keys", "2000")])
    assert (top["MaxKeys"], top["KeyCount"], top["IsTruncated"]) == ("2000", "1000", "true")
    assert keys == ["k%04d" % i for i in range(1000)]
    top, _, _ = listing(gw, big_bucket, [("list-type", "2"), ("max-keys", "2147483647"),
                                         ("start-after", "k1000")])
    assert (top["MaxKeys"], top["KeyCount"], top["IsTruncated"]) == ("2147483647", "4", "false")
    r = s3.list_objects(Bucket=big_bucket, MaxKeys=5000)
    assert r["MaxKeys"] == 5000 and len(r["Contents"]) == 1000 and r["IsTruncated"] is True


# ---- listing: ListObjects (v1) NextMarker --------------------------------------------------


def test_v1_next_marker_only_with_delimiter(gw, s3, keys_bucket):
    top, keys, _ = listing(gw, keys_bucket, [("max-keys", "2")])
    assert top["IsTruncated"] == "true" and "NextMarker" not in top
    assert keys == ["a b/1", "a b/2"]
    r = s3.list_objects(Bucket=keys_bucket, MaxKeys=2)
    assert r["IsTruncated"] is True and "NextMarker" not in r
    # The client resumes after the last key, as AWS documents.
    r = s3.list_objects(Bucket=keys_bucket, MaxKeys=2, Marker=r["Contents"][-1]["Key"])
    assert [o["Key"] for o in r["Contents"]] == ["a b/3", "pct%41/x"]
    # With a delimiter: NextMarker, the last key or common prefix of the page.
    top, keys, cps = listing(gw, keys_bucket, [("max-keys", "2"), ("delimiter", "/")])
    assert (top["IsTruncated"], top["NextMarker"], cps) == ("true", "pct%41/", ["a b/",
                                                                               "pct%41/"])
    # An empty delimiter is none: no NextMarker either.
    top, _, _ = listing(gw, keys_bucket, [("max-keys", "2"), ("delimiter", "")])
    assert top["IsTruncated"] == "true" and "NextMarker" not in top
    # All pages through boto3's paginator (which falls back to the last key).
    pages = s3.get_paginator("list_objects").paginate(Bucket=keys_bucket,
                                                      PaginationConfig={"PageSize": 3})
    assert [o["Key"] for p in pages for o in p["Contents"]] == sorted(
        KEYS, key=lambda k: k.encode())

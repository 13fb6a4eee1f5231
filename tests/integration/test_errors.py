"""Error paths: each returns the right S3 error, leaves no object and no temp file behind,
and the node keeps serving."""
import hashlib
import os

import pytest

import util
from util import RawConn, assert_s3_error

GW_NODES = 1


@pytest.fixture(scope="module")
def bucket(gw, s3):
    name = util.unique_bucket("err")
    s3.create_bucket(Bucket=name)
    return name


def nothing_left(gw, bucket, key):
    assert not os.path.lexists(os.path.join(gw.mount, bucket, *key.split("/"))), key
    left = gw.wait_tmp_empty()
    assert left == [], "temp files left: %r" % left
    st, _, _ = util.http_request(gw.endpoint, "GET", "/health/live")
    assert st == 200


def test_bad_content_md5(gw, bucket):
    path = util.key_path(bucket, "md5/bad")
    body = os.urandom(300000)
    r = gw.request("PUT", path, body=body, headers={"Content-MD5": util.md5_b64(body[1:])})
    assert_s3_error(r, 400, "BadDigest")
    nothing_left(gw, bucket, "md5/bad")
    r = gw.request("PUT", path, body=body, headers={"Content-MD5": "AAAA"})
    assert_s3_error(r, 400, "InvalidDigest")
    nothing_left(gw, bucket, "md5/bad")


def test_content_sha256_mismatch(gw, bucket):
    body = os.urandom(100000)
    path = util.key_path(bucket, "sha/bad")
    r = gw.request("PUT", path, body=body, payload_hash=hashlib.sha256(b"other").hexdigest())
    assert_s3_error(r, 400, "XAmzContentSHA256Mismatch")
    nothing_left(gw, bucket, "sha/bad")
    # not a valid hash value at all
    r = gw.request("PUT", path, body=body, payload_hash="zz" * 32)
    assert r[0] in (400, 403)
    assert util.s3_error(r[2])[0] in ("XAmzContentSHA256Mismatch", "InvalidArgument",
                                      "SignatureDoesNotMatch")
    nothing_left(gw, bucket, "sha/bad")


@pytest.mark.parametrize("skew", [-20 * 60, 20 * 60, -7 * 86400])
def test_request_time_skewed(gw, bucket, skew):
    path = util.key_path(bucket, "skewed")
    r = gw.request("PUT", path, body=b"late", amz_date=util.amz_now(skew))
    assert_s3_error(r, 403, "RequestTimeTooSkewed")
    nothing_left(gw, bucket, "skewed")
    # 2 minutes of skew is within the 15 minute window
    r = gw.request("GET", util.key_path(bucket), amz_date=util.amz_now(-120))
    assert r[0] == 200


def test_malformed_authorization(gw, bucket):
    path = util.key_path(bucket, "auth")
    for auth, code, status in (
            ("AWS4-HMAC-SHA256 Credential=garbage", "AuthorizationHeaderMalformed", 400),
            ("AWS4-HMAC-SHA256 Credential=%s/20200101/us-east-1/s3/aws4_request, "
             "SignedHeaders=host, Signature=zz" % gw.access_key, None, None),
            # SigV2 is supported: a wrong V2 signature is a signature mismatch
            ("AWS %s:c2lnbmF0dXJl" % gw.access_key, "SignatureDoesNotMatch", 403)):
        st, h, body = util.http_request(gw.endpoint, "PUT", path, body=b"x", headers={
            "Authorization": auth, "X-Amz-Date": util.amz_now(),
            "X-Amz-Content-SHA256": hashlib.sha256(b"x").hexdigest()})
        if code:
            assert_s3_error((st, h, body), status, code)
        else:
            assert st in (400, 403) and util.s3_error(body)[0]
        nothing_left(gw, bucket, "auth")


def test_missing_content_length(gw, bucket):
    path = util.key_path(bucket, "nolen")
    c = RawConn(gw.node)
    try:
        c.send(util.raw_request_bytes(gw, "PUT", path, payload_hash=util.UNSIGNED_PAYLOAD))
        st, h, body = c.read_response()
        # A PUT with neither Content-Length nor Transfer-Encoding: AWS answers 411
        assert_s3_error((st, h, body), 411, "MissingContentLength")
    finally:
        c.close()
    nothing_left(gw, bucket, "nolen")


def test_entity_too_large(gw, bucket):
    path = util.key_path(bucket, "huge")
    c = RawConn(gw.node)
    try:
        c.send(util.raw_request_bytes(gw, "PUT", path, payload_hash=util.UNSIGNED_PAYLOAD,
                                      headers={"Content-Length": str(6 << 30),
                                               "Expect": "100-continue"}))
        st, h, body = c.read_response()
        assert_s3_error((st, h, body), 400, "EntityTooLarge")
    finally:
        c.close()
    nothing_left(gw, bucket, "huge")


def test_key_too_long(gw, bucket):
    key = "/".join(["k" * 200] * 6)  # 1205 bytes, every segment < NAME_MAX
    r = gw.request("PUT", util.key_path(bucket, key), body=b"x")
    assert_s3_error(r, 400, "KeyTooLongError")
    nothing_left(gw, bucket, key)


def test_invalid_arguments(gw, bucket):
    for q in ([("list-type", "2"), ("max-keys", "-1")], [("max-keys", "abc")],
              [("list-type", "2"), ("continuation-token", "!!not-a-token!!")],
              [("list-type", "2"), ("encoding-type", "base64")]):
        r = gw.request("GET", util.key_path(bucket), query=q)
        assert_s3_error(r, 400, "InvalidArgument")
    r = gw.request("GET", util.key_path(bucket, "x"), headers={"Range": "bytes=0-0"},
                   query=[("partNumber", "0")])
    assert r[0] == 400


def test_malformed_xml_bodies(gw):
    name = util.unique_bucket("xml")
    r = gw.request("PUT", util.key_path(name), body=b"<CreateBucketConfiguration><Loca")
    assert_s3_error(r, 400, "MalformedXML")
    assert not os.path.exists(os.path.join(gw.mount, name))
    r = gw.request("PUT", util.key_path(name), body=b"\x00\x01binary")
    assert_s3_error(r, 400, "MalformedXML")
    big = b"<a>" * 100000
    r = gw.request("PUT", util.key_path(name), body=big)
    assert r[0] == 400 and util.s3_error(r[2])[0]
    assert not os.path.exists(os.path.join(gw.mount, name))


def test_method_not_allowed(gw, bucket):
    r = gw.request("PATCH", util.key_path(bucket, "k"), body=b"x")
    assert_s3_error(r, 405, "MethodNotAllowed")
    nothing_left(gw, bucket, "k")


# ---------------------------------------------------------------------------------------------
# disk full


def test_disk_full(small_tmpfs, gw_factory):
    gw = gw_factory(mount=small_tmpfs)
    s3 = gw.boto3()
    s3.create_bucket(Bucket="full")
    s3.put_object(Bucket="full", Key="small", Body=b"fits")
    size = 16 << 20
    path = util.key_path("full", "too-big")
    c = RawConn(gw.node, timeout=60)
    try:
        head = util.raw_request_bytes(gw, "PUT", path, payload_hash=util.UNSIGNED_PAYLOAD,
                                      headers={"Content-Length": str(size)})
        try:
            c.send(head)
            chunk = os.urandom(1 << 20)
            for _ in range(16):
                c.send(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server may answer and close before reading the rest
        try:
            st, h, body = c.read_response()
        except (ConnectionError, OSError) as e:
            pytest.fail("no S3 error response for a full disk: %r" % e)
        assert_s3_error((st, h, body), 507, "InsufficientStorage")
    finally:
        c.close()
    nothing_left(gw, "full", "too-big")
    # the space is released: a later small write succeeds and the old object is intact
    s3.put_object(Bucket="full", Key="after", Body=b"after the failure")
    assert s3.get_object(Bucket="full", Key="small")["Body"].read() == b"fits"
    st = os.statvfs(small_tmpfs)
    assert st.f_bfree * st.f_frsize > 7 << 20

"""AWS Signature Version 2: botocore's HmacV1Auth (Config(signature_version='s3')) for
put/get/list/delete, botocore 1.29's default presigned URLs (HmacV1QueryAuth) used with
curl, and hand-signed requests for what botocore will not send (skew, malformed headers,
x-amz-date, a Content-MD5 that does not match the body)."""
import base64
import email.utils
import hashlib
import hmac
import os
import time
import urllib.parse

import botocore.exceptions
import pytest

import util

GW_NODES = 1
CURL = ["curl", "-sS", "--noproxy", "*", "--max-time", "60"]


@pytest.fixture(scope="module")
def v2(gw):
    return gw.boto3(signature_version="s3")


@pytest.fixture(scope="module")
def bucket(gw, v2):
    name = util.unique_bucket("v2")
    v2.create_bucket(Bucket=name)
    return name


def curl(*args):
    p = util.run(CURL + ["-o", "-", "-w", "\n%{http_code}"] + list(args))
    body, _, code = p.stdout.rpartition(b"\n")
    return int(code), body


def v2_sign(secret, method, resource, headers, date_line):
    """Independent SigV2 signer: headers is a dict with lower-case names."""
    amz = sorted((k, v.strip()) for k, v in headers.items() if k.startswith("x-amz-"))
    sts = "\n".join([method, headers.get("content-md5", ""), headers.get("content-type", ""),
                     date_line]) + "\n"
    sts += "".join("%s:%s\n" % kv for kv in amz) + resource
    mac = hmac.new(secret.encode(), sts.encode(), hashlib.sha1).digest()
    return base64.b64encode(mac).decode()


def v2_request(gw, method, path, headers=None, body=b"", date=None, secret=None,
               use_amz_date=False, authorization=None):
    """A request signed with an Authorization: AWS header by v2_sign."""
    headers = {k.lower(): v for k, v in (headers or {}).items()}
    date = date or email.utils.formatdate(usegmt=True)
    if use_amz_date:
        headers["x-amz-date"] = date
        date_line = ""
    else:
        headers["date"] = date
        date_line = date
    if authorization is None:
        sig = v2_sign(secret or gw.secret_key, method, path.split("?")[0], headers, date_line)
        authorization = "AWS %s:%s" % (gw.access_key, sig)
    headers["authorization"] = authorization
    return gw.request(method, path, headers=headers, body=body, sign=False)


def test_header_auth_put_get_list(gw, v2, bucket):
    body = os.urandom(300 << 10)
    keys = ["plain.bin", "dir/a b+c=d.txt", "unicode/\u00e9t\u00e9 \u65e5\u672c.bin"]
    for k in keys:
        v2.put_object(Bucket=bucket, Key=k, Body=body, ContentType="application/x-v2",
                      Metadata={"color": "blue"})
        assert util.file_md5(os.path.join(gw.mount, bucket, k)) == util.md5_hex(body)
    for k in keys:
        got = v2.get_object(Bucket=bucket, Key=k)
        assert got["Body"].read() == body
        assert got["ContentType"] == "application/x-v2"
        assert got["Metadata"] == {"color": "blue"}
    got = v2.get_object(Bucket=bucket, Key="plain.bin", Range="bytes=5-9",
                        ResponseContentType="text/x-override")
    assert got["Body"].read() == body[5:10] and got["ContentType"] == "text/x-override"
    # (list_objects_v2 is left out: botocore signs its path-style resource as
    # "/bucket?list-type=2", which S3 rejects too -- boto/boto3#4433)
    listed = v2.list_objects(Bucket=bucket, Prefix="dir/")
    assert [o["Key"] for o in listed["Contents"]] == ["dir/a b+c=d.txt"]
    listed = v2.list_objects(Bucket=bucket, Delimiter="/")
    assert {p["Prefix"] for p in listed["CommonPrefixes"]} == {"dir/", "unicode/"}
    assert bucket in [b["Name"] for b in v2.list_buckets()["Buckets"]]
    assert v2.head_object(Bucket=bucket, Key="plain.bin")["ContentLength"] == len(body)
    for k in keys:
        v2.delete_object(Bucket=bucket, Key=k)
    assert "Contents" not in v2.list_objects(Bucket=bucket)


def test_delete_objects_subresource(gw, v2, bucket):
    """?delete is a signed sub-resource, with Content-MD5 and Content-Type (signed by hand:
    botocore 1.29 signs "/bucket?delete?delete" for it, as for every sub-resource operation
    whose model URI carries a query)."""
    for k in ("d1", "d 2"):
        v2.put_object(Bucket=bucket, Key="del/" + k, Body=b"x")
    xml = ("<Delete><Object><Key>del/d1</Key></Object><Object><Key>del/d 2</Key></Object>"
           "</Delete>").encode()
    h = {"content-md5": util.md5_b64(xml), "content-type": "application/xml",
         "date": email.utils.formatdate(usegmt=True)}
    sig = v2_sign(gw.secret_key, "POST", util.key_path(bucket) + "/?delete", h, h["date"])
    h["authorization"] = "AWS %s:%s" % (gw.access_key, sig)
    st, _, body = gw.request("POST", util.key_path(bucket) + "?delete", headers=h, body=xml,
                             sign=False)
    assert st == 200, body
    assert "Contents" not in v2.list_objects(Bucket=bucket, Prefix="del/")
    # the same request signed without the sub-resource does not verify
    sig = v2_sign(gw.secret_key, "POST", util.key_path(bucket) + "/", h, h["date"])
    h["authorization"] = "AWS %s:%s" % (gw.access_key, sig)
    util.assert_s3_error(gw.request("POST", util.key_path(bucket) + "?delete", headers=h,
                                    body=xml, sign=False), 403, "SignatureDoesNotMatch")


def test_header_auth_errors(gw, bucket):
    bad = gw.boto3(signature_version="s3", secret_key="wrong" * 8)
    with pytest.raises(botocore.exceptions.ClientError) as e:
        bad.list_objects_v2(Bucket=bucket)
    assert util.client_error(e.value) == ("SignatureDoesNotMatch", 403)
    unknown = gw.boto3(signature_version="s3", access_key="AKIAUNKNOWN000000000")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        unknown.list_objects_v2(Bucket=bucket)
    assert util.client_error(e.value) == ("InvalidAccessKeyId", 403)


def test_header_auth_md5_still_checked(gw, v2, bucket):
    """SigV2 signs no payload hash; Content-MD5 is signed and PUT still checks it."""
    wrong = util.md5_b64(b"something else")
    with pytest.raises(botocore.exceptions.ClientError) as e:
        v2.put_object(Bucket=bucket, Key="md5.bin", Body=b"payload", ContentMD5=wrong)
    assert util.client_error(e.value) == ("BadDigest", 400)
    assert not os.path.exists(os.path.join(gw.mount, bucket, "md5.bin"))
    v2.put_object(Bucket=bucket, Key="md5.bin", Body=b"payload",
                  ContentMD5=util.md5_b64(b"payload"))
    assert v2.get_object(Bucket=bucket, Key="md5.bin")["Body"].read() == b"payload"


def test_hand_signed(gw, bucket):
    path = util.key_path(bucket, "hand/x y.txt")
    st, _, body = v2_request(gw, "PUT", path, {"Content-Type": "text/plain",
                                               "x-amz-meta-a": " one "}, body=b"hand")
    assert st == 200, body
    # x-amz-date (RFC 1123 with +0000, as the S3 documentation writes it) empties Date
    now = time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())
    st, _, got = v2_request(gw, "GET", path, date=now, use_amz_date=True)
    assert st == 200 and got == b"hand"
    # the clock
    old = email.utils.formatdate(time.time() - 3600, usegmt=True)
    util.assert_s3_error(v2_request(gw, "GET", path, date=old), 403, "RequestTimeTooSkewed")
    util.assert_s3_error(v2_request(gw, "GET", path, date=old, secret="wrong"), 403,
                         "RequestTimeTooSkewed")
    # malformed
    util.assert_s3_error(v2_request(gw, "GET", path, authorization="AWS nocolon"), 400,
                         "InvalidArgument")
    util.assert_s3_error(v2_request(gw, "GET", path, date="yesterday"), 403, "AccessDenied")
    util.assert_s3_error(gw.request("GET", path, headers={"Authorization": "Bearer x"},
                                    sign=False), 400, "InvalidRequest")
    # a signed x-amz-* header changed in flight
    h = {"date": email.utils.formatdate(usegmt=True), "x-amz-meta-a": "1"}
    sig = v2_sign(gw.secret_key, "GET", path, h, h["date"])
    h["x-amz-meta-a"] = "2"
    h["authorization"] = "AWS %s:%s" % (gw.access_key, sig)
    util.assert_s3_error(gw.request("GET", path, headers=h, sign=False), 403,
                         "SignatureDoesNotMatch")


def _replace_param(url, name, fn):
    u = urllib.parse.urlsplit(url)
    q = urllib.parse.parse_qsl(u.query, keep_blank_values=True)
    q = [(k, fn(v) if k == name else v) for k, v in q]
    return urllib.parse.urlunsplit(u._replace(query=urllib.parse.urlencode(q)))


def test_presigned_v2(gw, s3, bucket, tmp_path):
    body = os.urandom(1 << 20)
    s3.put_object(Bucket=bucket, Key="pre/get me.bin", Body=body)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket,
                                                          "Key": "pre/get me.bin"},
                                    ExpiresIn=120)
    assert "AWSAccessKeyId=" in url and "Signature=" in url, url  # botocore 1.29: SigV2
    st, got = curl(url)
    assert st == 200 and got == body

    def flip(sig):
        return sig[:-2] + ("A" if sig[-2] != "A" else "B") + sig[-1]
    for b in [_replace_param(url, "Signature", flip),
              _replace_param(url, "Expires", lambda v: str(int(v) + 1)),
              url.replace("/get%20me.bin?", "/get%20mf.bin?"),
              url + "&response-content-type=text%2Fhtml"]:
        st, out = curl(b)
        assert st == 403 and util.s3_error(out)[0] == "SignatureDoesNotMatch", (b, out)
    st, out = curl("-X", "PUT", "--data-binary", "overwrite", url)
    assert st == 403 and util.s3_error(out)[0] == "SignatureDoesNotMatch"
    st, out = curl(url.replace(gw.access_key, "AKIAUNKNOWN000000000"))
    assert st == 403 and util.s3_error(out)[0] == "InvalidAccessKeyId"
    st, out = curl(_replace_param(url, "Expires", lambda v: "soon"))
    assert st == 403 and util.s3_error(out)[0] == "AccessDenied"

    # a response override is signed with its decoded value
    url = s3.generate_presigned_url("get_object", Params={
        "Bucket": bucket, "Key": "pre/get me.bin",
        "ResponseContentDisposition": 'attachment; filename="a b.bin"'}, ExpiresIn=120)
    p = util.run(CURL + ["-D", "-", "-o", os.devnull, url])
    assert b'filename="a b.bin"' in p.stdout

    # a presigned PUT with a Content-Type (botocore moves it into the query)
    src = tmp_path / "v2put.bin"
    md5 = util.write_random_file(str(src), (2 << 20) + 7)
    url = s3.generate_presigned_url("put_object", Params={
        "Bucket": bucket, "Key": "pre/put+it.bin", "ContentType": "application/x-v2"},
        ExpiresIn=120)
    st, out = curl("-T", str(src), "-H", "Content-Type: application/x-v2", url)
    assert st == 200, out
    assert util.file_md5(os.path.join(gw.mount, bucket, "pre/put+it.bin")) == md5
    st, out = curl("-T", str(src), "-H", "Content-Type: text/html", url)
    assert st == 403 and util.s3_error(out)[0] == "SignatureDoesNotMatch"


def test_presigned_v2_expired(gw, s3, bucket):
    s3.put_object(Bucket=bucket, Key="exp", Body=b"expiring")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "exp"},
                                    ExpiresIn=1)
    time.sleep(2.2)
    st, out = curl(url)
    assert st == 403 and util.s3_error(out)[:2] == ("AccessDenied", "Request has expired")
    # hand-made, long expired PUT: refused before the body is written
    path = util.key_path(bucket, "exp-put")
    expires = str(int(time.time()) - 600)
    sig = v2_sign(gw.secret_key, "PUT", path, {}, expires)
    url = "%s%s?AWSAccessKeyId=%s&Expires=%s&Signature=%s" % (
        gw.endpoint, path, gw.access_key, expires, urllib.parse.quote(sig, safe=""))
    st, out = curl("-X", "PUT", "-H", "Content-Type:", "--data-binary", "late", url)
    assert st == 403 and util.s3_error(out)[1] == "Request has expired"
    assert not os.path.exists(os.path.join(gw.mount, bucket, "exp-put"))
    # the same, in time, works
    expires = str(int(time.time()) + 600)
    sig = v2_sign(gw.secret_key, "PUT", path, {}, expires)
    url = "%s%s?AWSAccessKeyId=%s&Expires=%s&Signature=%s" % (
        gw.endpoint, path, gw.access_key, expires, urllib.parse.quote(sig, safe=""))
    st, out = curl("-X", "PUT", "--data-binary", "in time", url)
    # curl's default Content-Type was not signed
    assert st == 403 and util.s3_error(out)[0] == "SignatureDoesNotMatch"
    st, out = curl("-X", "PUT", "-H", "Content-Type:", "--data-binary", "in time", url)
    assert st == 200, out
    assert s3.get_object(Bucket=bucket, Key="exp-put")["Body"].read() == b"in time"

"""Presigned URLs (boto3 generate_presigned_url and a hand-made one) used with curl, expiry,
tampering, and curl's own --aws-sigv4 signing."""
import os
import time
import urllib.parse

import pytest

import util

GW_NODES = 1
CURL = ["curl", "-sS", "--noproxy", "*", "--max-time", "60"]


@pytest.fixture(scope="module")
def bucket(gw, s3):
    name = util.unique_bucket("pre")
    s3.create_bucket(Bucket=name)
    return name


def curl(*args, check=True):
    """Run curl; returns (status, body bytes)."""
    p = util.run(CURL + ["-o", "-", "-w", "\n%{http_code}"] + list(args), check=check)
    out = p.stdout
    body, _, code = out.rpartition(b"\n")
    return int(code), body


def test_presigned_get_and_put(gw, s3, bucket, tmp_path):
    body = os.urandom(2 << 20)
    s3.put_object(Bucket=bucket, Key="dir/get me.bin", Body=body)
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket,
                                                          "Key": "dir/get me.bin"},
                                    ExpiresIn=120)
    st, got = curl(url)
    assert st == 200 and got == body

    url = s3.generate_presigned_url("get_object", Params={
        "Bucket": bucket, "Key": "dir/get me.bin", "ResponseContentType": "application/x-pre"},
        ExpiresIn=120)
    p = util.run(CURL + ["-D", "-", "-o", os.devnull, url])
    assert b"application/x-pre" in p.stdout.lower()

    src = tmp_path / "upload.bin"
    md5 = util.write_random_file(str(src), 3 << 20 | 123)
    url = s3.generate_presigned_url("put_object", Params={"Bucket": bucket,
                                                          "Key": "put+via=curl.bin"},
                                    ExpiresIn=120)
    st, out = curl("-T", str(src), url)
    assert st == 200, out
    assert util.file_md5(os.path.join(gw.mount, bucket, "put+via=curl.bin")) == md5
    h = s3.head_object(Bucket=bucket, Key="put+via=curl.bin")
    assert h["ETag"] == '"%s"' % md5

    # the hand-made signer agrees with botocore
    url = util.presign_url(gw.endpoint, "GET", util.key_path(bucket, "dir/get me.bin"),
                           gw.access_key, gw.secret_key, expires=60)
    st, got = curl(url)
    assert st == 200 and got == body


def test_presigned_expired(gw, s3, bucket):
    s3.put_object(Bucket=bucket, Key="exp", Body=b"expiring")
    url = util.presign_url(gw.endpoint, "GET", util.key_path(bucket, "exp"), gw.access_key,
                           gw.secret_key, expires=60, amz_date=util.amz_now(-600))
    st, body = curl(url)
    assert st == 403
    code, msg, _ = util.s3_error(body)
    assert code == "AccessDenied" and msg == "Request has expired"

    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "exp"},
                                    ExpiresIn=1)
    time.sleep(2.2)
    st, body = curl(url)
    assert st == 403
    assert util.s3_error(body)[:2] == ("AccessDenied", "Request has expired")

    # an expired PUT does not write
    url = util.presign_url(gw.endpoint, "PUT", util.key_path(bucket, "exp-put"), gw.access_key,
                           gw.secret_key, expires=60, amz_date=util.amz_now(-600))
    st, body = curl("-X", "PUT", "--data-binary", "late", url)
    assert st == 403 and util.s3_error(body)[0] == "AccessDenied"
    assert not os.path.exists(os.path.join(gw.mount, bucket, "exp-put"))

    # more than 7 days is not a valid expiry
    url = util.presign_url(gw.endpoint, "GET", util.key_path(bucket, "exp"), gw.access_key,
                           gw.secret_key, expires=604801)
    st, body = curl(url)
    assert st == 400 and util.s3_error(body)[0] == "AuthorizationQueryParametersError"


def _replace_param(url, name, fn):
    u = urllib.parse.urlsplit(url)
    q = urllib.parse.parse_qsl(u.query, keep_blank_values=True)
    q = [(k, fn(v) if k == name else v) for k, v in q]
    return urllib.parse.urlunsplit(u._replace(query=urllib.parse.urlencode(q)))


def test_presigned_tampered(gw, s3, bucket):
    s3.put_object(Bucket=bucket, Key="tamper", Body=b"original")
    s3.put_object(Bucket=bucket, Key="tampes", Body=b"other")
    url = s3.generate_presigned_url("get_object", Params={"Bucket": bucket, "Key": "tamper"},
                                    ExpiresIn=300)

    def flip(sig):
        return sig[:-1] + ("0" if sig[-1] != "0" else "1")
    # boto3's default presigned URLs are SigV2 (Signature, Expires); check whichever it made.
    v4 = "X-Amz-Signature=" in url
    bad = [
        _replace_param(url, "X-Amz-Signature" if v4 else "Signature", flip),
        _replace_param(url, "X-Amz-Expires" if v4 else "Expires", lambda v: str(int(v) + 1)),
        url.replace("/tamper?", "/tampes?"),
        url + "&response-content-type=text%2Fhtml",
    ]
    for b in bad:
        st, body = curl(b)
        assert st == 403, b
        assert util.s3_error(body)[0] == "SignatureDoesNotMatch", (b, body)
    # a GET URL is not a PUT URL
    st, body = curl("-X", "PUT", "--data-binary", "overwrite", url)
    assert st == 403 and util.s3_error(body)[0] == "SignatureDoesNotMatch"
    assert s3.get_object(Bucket=bucket, Key="tamper")["Body"].read() == b"original"
    # unknown access key in the credential
    st, body = curl(url.replace(gw.access_key, "AKIAUNKNOWN000000000"))
    assert st == 403 and util.s3_error(body)[0] == "InvalidAccessKeyId"


def test_curl_aws_sigv4(gw, s3, bucket, tmp_path):
    """curl 7.88 signs with --aws-sigv4 but sends no x-amz-content-sha256 of its own; when the
    caller supplies that header, curl signs it and uses it as the payload hash (as S3 needs)."""
    auth = ["--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
            "%s:%s" % (gw.access_key, gw.secret_key)]
    empty = ["-H", "x-amz-content-sha256: " + util.EMPTY_SHA256]
    src = tmp_path / "curl.bin"
    md5 = util.write_random_file(str(src), 1 << 20)
    data = open(str(src), "rb").read()
    base = gw.endpoint + util.key_path(bucket, "curl/signed.bin")
    st, out = curl(*auth, "-H", "x-amz-content-sha256: " + util.hashlib.sha256(data).hexdigest(),
                   "-T", str(src), base)
    assert st == 200, out
    assert util.file_md5(os.path.join(gw.mount, bucket, "curl", "signed.bin")) == md5
    st, out = curl(*auth, "-H", "x-amz-content-sha256: UNSIGNED-PAYLOAD", "-T", str(src),
                   base + "2")
    assert st == 200, out
    assert util.file_md5(os.path.join(gw.mount, bucket, "curl", "signed.bin2")) == md5
    st, got = curl(*auth, *empty, base)
    assert st == 200 and util.md5_hex(got) == md5
    st, got = curl(*auth, *empty, "-r", "10-19", base)
    assert st == 206 and got == data[10:20]
    st, got = curl(*auth, *empty,
                   gw.endpoint + util.key_path(bucket) + "?list-type=2&prefix=curl%2F")
    assert st == 200 and b"<Key>curl/signed.bin</Key>" in got
    st, got = curl(*auth, *empty, "-X", "DELETE", base)
    assert st == 204
    assert not os.path.exists(os.path.join(gw.mount, bucket, "curl", "signed.bin"))
    # a body that does not match the signed hash
    st, got = curl(*auth, "-H", "x-amz-content-sha256: " + util.EMPTY_SHA256, "-T", str(src),
                   base + "3")
    assert st == 400 and util.s3_error(got)[0] == "XAmzContentSHA256Mismatch"
    assert not os.path.exists(os.path.join(gw.mount, bucket, "curl", "signed.bin3"))
    # wrong secret through curl
    st, got = curl("--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
                   "%s:%s" % (gw.access_key, "wrong" * 8), *empty, base + "2")
    assert st == 403 and util.s3_error(got)[0] == "SignatureDoesNotMatch"

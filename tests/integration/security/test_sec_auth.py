"""Security: every request stays inside what was signed (issue 8, items 3-6, 8, 9).

One test per hole that was closed, and one per class of abuse already refused, each
checking the status, the S3 error code, and that nothing changed: neither on the mount
(every entry, its size, mtime and xattrs) nor in the metadata store (the users, keys,
buckets, policies, uploads, parts and tags databases, read with mdb_dump beside the node).

The holes: unsigned x-amz-* headers on SigV4 and presigned requests (a presigned PUT plus
x-amz-copy-source became a CopyObject run as the signer), [s3] presign_max_expiry not
enforced, SigV2 leaving operation selectors such as ?policyStatus unsigned, the admin API
accepting UNSIGNED-PAYLOAD and presigned URLs, lenient HTTP head parsing, and aws-chunked
bodies whose checksum only x-amz-trailer announces.
"""
import hashlib
import hmac
import http.client
import os
import subprocess
import urllib.parse

import pytest

import util

GW_NODES = 1
MDB_DUMP = "/usr/bin/mdb_dump"
# Databases whose content an accepted request may change (the others hold the applied
# index, membership and request-id deduplication, which move on their own).
STORE_DBS = ("users", "keys", "buckets", "policies", "uploads", "parts", "tags")
SECRET = b"the private object's bytes\n"


# ----------------------------------------------------------------------------------------------
# what must not change


def mount_state(mount):
    """{relative path: (kind, size, mtime_ns, {xattr: value})} of every entry under @mount."""
    out = {}
    for root, dirs, files in os.walk(mount):
        for name in dirs + files:
            p = os.path.join(root, name)
            st = os.lstat(p)
            xattrs = {}
            try:
                for x in os.listxattr(p, follow_symlinks=False):
                    xattrs[x] = os.getxattr(p, x, follow_symlinks=False)
            except OSError:
                pass
            kind = "d" if os.path.isdir(p) and not os.path.islink(p) else "f"
            out[os.path.relpath(p, mount)] = (kind, st.st_size if kind == "f" else 0,
                                              st.st_mtime_ns if kind == "f" else 0, xattrs)
    return out


def store_state(node):
    """The records of STORE_DBS in @node's metadata store (mdb_dump -p of each)."""
    if not os.access(MDB_DUMP, os.X_OK):
        raise util.GatewayError("%s is missing (deploy/deps.sh installs lmdb-utils)" % MDB_DUMP)
    out = {}
    for db in STORE_DBS:
        p = util.run([MDB_DUMP, "-p", "-s", db, os.path.join(node.data, "meta")], timeout=30)
        lines = p.stdout.decode("latin-1").splitlines()
        out[db] = lines[lines.index("HEADER=END") + 1:lines.index("DATA=END")]
    return out


class Unchanged:
    """with Unchanged(gw): ...  fails when the block changed the mount or the store."""

    def __init__(self, gw):
        self.gw = gw

    def __enter__(self):
        self.mount = mount_state(self.gw.mount)
        self.store = store_state(self.gw.node)
        return self

    def __exit__(self, exc_type, exc, tb):
        if exc_type is not None:
            return False
        assert self.gw.wait_tmp_empty() == [], "temp files left behind"
        after = mount_state(self.gw.mount)
        changed = sorted(k for k in set(self.mount) | set(after)
                         if self.mount.get(k) != after.get(k))
        assert changed == [], "the mount changed: %r" % changed
        store = store_state(self.gw.node)
        for db in STORE_DBS:
            assert self.store[db] == store[db], "the %s database changed" % db
        return False


# ----------------------------------------------------------------------------------------------
# requests by hand


def send(gw, method, target, headers=None, body=b""):
    """One request with @target verbatim; (status, lower-case headers, body)."""
    conn = http.client.HTTPConnection(gw.node.addr, gw.node.port, timeout=30)
    try:
        headers = dict(headers or {})
        conn.putrequest(method, target, skip_host="host" in {k.lower() for k in headers},
                        skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        if body or method in ("PUT", "POST"):
            if not any(k.lower() in ("content-length", "transfer-encoding") for k in headers):
                conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body or None)
        resp = conn.getresponse()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, resp.read()
    finally:
        conn.close()


def presign(gw, method, path, query=None, signed=None, expires=300, amz_date=None,
            access=None, secret=None):
    """A presigned target (path?query) for @path (encoded), signing host and the headers
    in @signed ({name: value}, which the request must then carry)."""
    amz_date = amz_date or util.amz_now()
    scope = "%s/%s/s3/aws4_request" % (amz_date[:8], util.REGION)
    hdrs = dict({"host": gw.node.hostport}, **{k.lower(): v for k, v in (signed or {}).items()})
    names = ";".join(sorted(hdrs))
    q = list(query or []) + [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        ("X-Amz-Credential", "%s/%s" % (access or gw.access_key, scope)),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", names),
    ]
    canon = "".join("%s:%s\n" % (k, hdrs[k]) for k in sorted(hdrs))
    creq = "\n".join([method, path, util.canonical_query(q), canon, names,
                      util.UNSIGNED_PAYLOAD])
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    key = util.signing_key(secret or gw.secret_key, amz_date[:8])
    q.append(("X-Amz-Signature", hmac.new(key, sts.encode(), hashlib.sha256).hexdigest()))
    return path + "?" + util.canonical_query(q)


def error_field(body, name):
    """Text of the <@name> element of an S3 error document (None when absent)."""
    import xml.etree.ElementTree as ET
    for el in ET.fromstring(body):
        if el.tag.split("}")[-1] == name:
            return el.text or ""
    return None


def refused(resp, status, code):
    util.assert_s3_error(resp, status, code)
    return resp[2]


# ----------------------------------------------------------------------------------------------
# fixtures


@pytest.fixture(scope="module")
def buckets(gw, s3):
    """("private", "pub"): a private object the presigner (root) may read, and a bucket a
    presigned URL writes to."""
    private, pub = util.unique_bucket("priv"), util.unique_bucket("pub")
    s3.create_bucket(Bucket=private)
    s3.create_bucket(Bucket=pub)
    s3.put_object(Bucket=private, Key="secret.txt", Body=SECRET)
    return private, pub


# ----------------------------------------------------------------------------------------------
# item 3: x-amz-* headers that were not signed


def test_presigned_put_plus_copy_source_copies_nothing(gw, buckets):
    private, pub = buckets
    target = presign(gw, "PUT", util.key_path(pub, "dest.txt"))
    with Unchanged(gw):
        body = refused(send(gw, "PUT", target,
                            {"x-amz-copy-source": "/%s/secret.txt" % private}), 403,
                       "AccessDenied")
    assert util.s3_error(body)[1] == \
        "There were headers present in the request which were not signed"
    assert error_field(body, "HeadersNotSigned") == "x-amz-copy-source"
    assert not os.path.exists(os.path.join(gw.mount, pub, "dest.txt"))
    # the URL itself still works for what it was made for
    st, _, out = send(gw, "PUT", target, body=b"an upload")
    assert st == 200, out


def test_presigned_upload_part_plus_copy_source_copies_nothing(gw, s3, buckets):
    private, pub = buckets
    up = s3.create_multipart_upload(Bucket=pub, Key="mpu.bin")["UploadId"]
    target = presign(gw, "PUT", util.key_path(pub, "mpu.bin"),
                     query=[("partNumber", "1"), ("uploadId", up)])
    with Unchanged(gw):
        body = refused(send(gw, "PUT", target,
                            {"x-amz-copy-source": "/%s/secret.txt" % private}), 403,
                       "AccessDenied")
    assert error_field(body, "HeadersNotSigned") == "x-amz-copy-source"
    assert s3.list_parts(Bucket=pub, Key="mpu.bin", UploadId=up).get("Parts", []) == []
    s3.abort_multipart_upload(Bucket=pub, Key="mpu.bin", UploadId=up)


# Every x-amz-* request header S3 acts on for PUT/GET/HEAD/DELETE of an object, plus the
# SigV4 and aws-chunked envelope headers: none may ride along unsigned on a presigned URL.
ADDABLE = [
    ("x-amz-copy-source", "/{private}/secret.txt"),
    ("x-amz-copy-source-range", "bytes=0-3"),
    ("x-amz-metadata-directive", "REPLACE"),
    ("x-amz-tagging-directive", "REPLACE"),
    ("x-amz-meta-owner", "mallory"),
    ("x-amz-tagging", "stolen=yes"),
    ("x-amz-acl", "public-read"),
    ("x-amz-grant-read", "uri=\"http://acs.amazonaws.com/groups/global/AllUsers\""),
    ("x-amz-storage-class", "STANDARD"),
    ("x-amz-website-redirect-location", "/elsewhere"),
    ("x-amz-server-side-encryption", "AES256"),
    ("x-amz-checksum-crc32", "AAAAAA=="),
    ("x-amz-sdk-checksum-algorithm", "CRC32"),
    ("x-amz-trailer", "x-amz-checksum-crc32"),
    ("x-amz-decoded-content-length", "9"),
    ("x-amz-date", "20300101T000000Z"),
    ("x-amz-security-token", "token"),
    ("x-amz-expected-bucket-owner", "123456789012"),
    ("x-amz-object-lock-mode", "GOVERNANCE"),
    ("x-amz-object-lock-legal-hold", "ON"),
    ("x-amz-grant-full-control", "id=\"mallory\""),
    ("x-amz-grant-write-acp", "id=\"mallory\""),
    ("x-amz-request-payer", "requester"),
    ("x-amz-checksum-sha256", "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
    ("x-amz-server-side-encryption-customer-algorithm", "AES256"),
    ("x-amz-copy-source-if-match", "\"etag\""),
    ("x-amz-write-offset-bytes", "0"),
]


@pytest.mark.parametrize("name,value", ADDABLE, ids=[n for n, _ in ADDABLE])
def test_presigned_put_refuses_each_added_header(gw, buckets, name, value):
    private, pub = buckets
    target = presign(gw, "PUT", util.key_path(pub, "added-%s" % name))
    with Unchanged(gw):
        body = refused(send(gw, "PUT", target, {name: value.format(private=private)},
                            body=b"an upload"), 403, "AccessDenied")
    assert error_field(body, "HeadersNotSigned") == name


def test_presigned_lists_every_unsigned_header(gw, buckets):
    _, pub = buckets
    target = presign(gw, "PUT", util.key_path(pub, "many"), signed={"x-amz-meta-a": "1"})
    with Unchanged(gw):
        body = refused(send(gw, "PUT", target,
                            {"x-amz-meta-a": "1", "X-Amz-Tagging": "t=1", "x-amz-acl": "private"},
                            body=b"x"), 403, "AccessDenied")
    assert error_field(body, "HeadersNotSigned") == "x-amz-tagging, x-amz-acl"


def test_presigned_get_refuses_added_header(gw, buckets):
    private, _ = buckets
    target = presign(gw, "GET", util.key_path(private, "secret.txt"))
    body = refused(send(gw, "GET", target, {"x-amz-checksum-mode": "ENABLED"}), 403,
                   "AccessDenied")
    assert error_field(body, "HeadersNotSigned") == "x-amz-checksum-mode"
    st, _, out = send(gw, "GET", target)
    assert st == 200 and out == SECRET


def test_presigned_allows_what_s3_allows(gw, buckets):
    """x-amz-content-sha256 may stay unsigned (its value is the payload-hash line of the
    canonical request); x-amzn-trace-id is no x-amz-* header; a signed header is fine."""
    _, pub = buckets
    target = presign(gw, "PUT", util.key_path(pub, "allowed"), signed={"x-amz-meta-a": "1"})
    st, _, out = send(gw, "PUT", target, {"x-amz-content-sha256": util.UNSIGNED_PAYLOAD,
                                          "x-amzn-trace-id": "Root=1-abc", "x-amz-meta-a": "1"},
                      body=b"allowed")
    assert st == 200, out
    with open(os.path.join(gw.mount, pub, "allowed"), "rb") as f:
        assert f.read() == b"allowed"


def test_header_auth_refuses_unsigned_copy_source(gw, buckets):
    """A captured header-signed PUT replayed with an added x-amz-copy-source."""
    private, pub = buckets
    path = util.key_path(pub, "replayed")
    signed = util.sigv4_headers("PUT", gw.node.hostport, path, None, {},
                                hashlib.sha256(b"").hexdigest(), gw.access_key, gw.secret_key)
    signed["x-amz-copy-source"] = "/%s/secret.txt" % private
    with Unchanged(gw):
        body = refused(send(gw, "PUT", path, signed), 403, "AccessDenied")
    assert error_field(body, "HeadersNotSigned") == "x-amz-copy-source"


# ----------------------------------------------------------------------------------------------
# item 4: [s3] presign_max_expiry


def test_presign_max_expiry_enforced(gw_factory):
    gw = gw_factory(config="[s3]\npresign_max_expiry = 1h\n")
    s3 = gw.boto3()
    s3.create_bucket(Bucket="exp")
    s3.put_object(Bucket="exp", Key="k", Body=b"kept")
    path = util.key_path("exp", "k")
    with Unchanged(gw):
        body = refused(send(gw, "PUT", presign(gw, "PUT", path, expires=3601), body=b"new"),
                       400, "AuthorizationQueryParametersError")
        assert "3600" in util.s3_error(body)[1]
        refused(send(gw, "GET", presign(gw, "GET", path, expires=7 * 86400)), 400,
                "AuthorizationQueryParametersError")
    st, _, out = send(gw, "GET", presign(gw, "GET", path, expires=3600))
    assert st == 200 and out == b"kept"


def test_presign_longer_than_a_week_refused(gw, buckets):
    private, pub = buckets
    with Unchanged(gw):
        body = refused(send(gw, "PUT", presign(gw, "PUT", util.key_path(pub, "week"),
                                               expires=604801), body=b"x"),
                       400, "AuthorizationQueryParametersError")
    assert util.s3_error(body)[1] == \
        "X-Amz-Expires must be less than a week (in seconds) that is; 604800"
    st, _, out = send(gw, "GET", presign(gw, "GET", util.key_path(private, "secret.txt"),
                                         expires=604800))
    assert st == 200 and out == SECRET


# ----------------------------------------------------------------------------------------------
# item 5: SigV2 signs every query parameter that chooses the operation


def v2_headers(gw, method, resource):
    """Date and an Authorization: AWS header signing @resource (SigV2, HMAC-SHA1)."""
    import base64
    import email.utils
    date = email.utils.formatdate(usegmt=True)
    sts = "%s\n\n\n%s\n%s" % (method, date, resource)
    mac = hmac.new(gw.secret_key.encode(), sts.encode(), hashlib.sha1).digest()
    return {"Date": date,
            "Authorization": "AWS %s:%s" % (gw.access_key, base64.b64encode(mac).decode())}


@pytest.mark.parametrize("selector", ["policyStatus", "policy", "acl", "%61cl", "tagging",
                                      "uploads", "versioning"])
def test_sigv2_list_signature_does_not_select_another_operation(gw, s3, buckets, selector):
    """A captured SigV2 ListObjects, replayed with an operation selector added."""
    private, _ = buckets
    hdrs = v2_headers(gw, "GET", "/%s/" % private)
    st, _, out = send(gw, "GET", "/%s?prefix=nothing" % private, hdrs)
    assert st == 200, out
    with Unchanged(gw):
        refused(send(gw, "GET", "/%s?prefix=nothing&%s" % (private, selector), hdrs), 403,
                "SignatureDoesNotMatch")


def test_sigv2_client_still_reads_policy_status(gw, s3):
    """botocore's SigV2 signer signs the operation's own query as part of the path; a
    signer that lists it as a sub-resource works as well."""
    import json
    name = util.unique_bucket("v2pol")
    s3.create_bucket(Bucket=name)
    s3.put_bucket_policy(Bucket=name, Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                       "Resource": "arn:aws:s3:::%s/*" % name}]}))
    v2 = gw.boto3(signature_version="s3")
    assert v2.get_bucket_policy_status(Bucket=name)["PolicyStatus"]["IsPublic"] is True
    st, _, out = send(gw, "GET", "/%s?policyStatus" % name,
                      v2_headers(gw, "GET", "/%s/?policyStatus" % name))
    assert st == 200 and b"<IsPublic>true</IsPublic>" in out, out


# ----------------------------------------------------------------------------------------------
# item 6: the admin API signs its body


def admin_error(resp, status, code):
    import json
    st, _, body = resp
    assert st == status, "expected %d %s, got %d: %r" % (status, code, st, body[:400])
    got = json.loads(body)
    assert got.get("error") == code, got
    return got


def user_names(gw):
    import json
    st, _, body = gw.request("GET", "/admin/v1/users")
    assert st == 200, body
    doc = json.loads(body)
    users = doc.get("users", doc) if isinstance(doc, dict) else doc
    return sorted(u["name"] for u in users)


def test_admin_replay_with_another_body(gw):
    """A captured admin request (body hash signed) replayed with {"admin": true}."""
    path = "/admin/v1/users"
    first = b'{"name": "replayed", "admin": false}'
    headers = util.sigv4_headers("POST", gw.node.hostport, path, None,
                                 {"Content-Type": "application/json"},
                                 hashlib.sha256(first).hexdigest(), gw.access_key, gw.secret_key)
    before = user_names(gw)
    with Unchanged(gw):
        admin_error(send(gw, "POST", path, headers, b'{"name": "replayed", "admin": true}'),
                    400, "XAmzContentSHA256Mismatch")
    assert user_names(gw) == before


def test_admin_unsigned_payload_refused(gw):
    path = "/admin/v1/users"
    body = b'{"name": "mallory", "admin": true}'
    headers = util.sigv4_headers("POST", gw.node.hostport, path, None,
                                 {"Content-Type": "application/json"}, util.UNSIGNED_PAYLOAD,
                                 gw.access_key, gw.secret_key)
    with Unchanged(gw):
        admin_error(send(gw, "POST", path, headers, body), 403, "AccessDenied")
    assert "mallory" not in user_names(gw)


def test_admin_presigned_refused(gw):
    path = "/admin/v1/users"
    with Unchanged(gw):
        admin_error(send(gw, "POST", presign(gw, "POST", path),
                         {"Content-Type": "application/json"},
                         b'{"name": "mallory2", "admin": true}'), 403, "AccessDenied")
        # a presigned GET reveals nothing either
        admin_error(send(gw, "GET", presign(gw, "GET", path)), 403, "AccessDenied")
    assert "mallory2" not in user_names(gw)


def test_admin_aws_chunked_refused(gw):
    path = "/admin/v1/users"
    headers = util.sigv4_headers("POST", gw.node.hostport, path, None,
                                 {"Content-Encoding": "aws-chunked",
                                  "x-amz-decoded-content-length": "2"},
                                 "STREAMING-UNSIGNED-PAYLOAD-TRAILER", gw.access_key,
                                 gw.secret_key)
    with Unchanged(gw):
        admin_error(send(gw, "POST", path, headers, b"2\r\n{}\r\n0\r\n\r\n"), 400,
                    "InvalidRequest")


def test_admin_needs_an_admin(gw):
    """Already refused: a plain user's signed request, SigV2, an anonymous one."""
    import json
    st, _, body = gw.request("POST", "/admin/v1/users", body=b'{"name": "plain"}')
    assert st == 201, body
    st, _, body = gw.request("POST", "/admin/v1/users/plain/keys", body=b"{}")
    assert st in (200, 201), body
    key = json.loads(body)
    access, secret = key["access_key"], key["secret_key"]
    with Unchanged(gw):
        body = b'{"name": "plain2", "admin": true}'
        admin_error(util.http_request(gw.endpoint, "POST", "/admin/v1/users", body=body,
                                      creds=(access, secret)), 403, "AccessDenied")
        admin_error(send(gw, "POST", "/admin/v1/users", v2_headers(gw, "POST",
                                                                   "/admin/v1/users"), body),
                    400, "InvalidRequest")
        admin_error(send(gw, "GET", "/admin/v1/users"), 403, "AccessDenied")
    assert "plain2" not in user_names(gw)


# ----------------------------------------------------------------------------------------------
# item 8: strict HTTP/1.1 heads; request smuggling


def raw_exchange(gw, data):
    """Send @data on a fresh connection; the first response."""
    c = util.RawConn(gw.node, timeout=15)
    try:
        c.send(data)
        return c.read_response()
    finally:
        c.close()


def signed_put_head(gw, key, body, extra=()):
    """A correctly signed PUT of @body to pub/@key, as head lines (no blank line yet)."""
    path = util.key_path(gw.pub, key)
    h = util.sigv4_headers("PUT", gw.node.hostport, path, None, {},
                           hashlib.sha256(body).hexdigest(), gw.access_key, gw.secret_key)
    lines = ["PUT %s HTTP/1.1" % path] + ["%s: %s" % kv for kv in h.items()] + list(extra)
    return "\r\n".join(lines).encode() + b"\r\n"


@pytest.fixture
def gwp(gw, buckets):
    gw.pub = buckets[1]
    return gw


MALFORMED_HEADS = {
    "no-host": lambda gw: b"GET /health/live HTTP/1.1\r\n\r\n",
    "two-hosts": lambda gw: signed_put_head(gw, "two-hosts", b"x",
                                            ["Host: evil.example", "Content-Length: 1"]) +
    b"\r\nx",
    "space-in-name": lambda gw: signed_put_head(gw, "space", b"x",
                                                ["X-Amz-Meta-A B: 1", "Content-Length: 1"]) +
    b"\r\nx",
    "empty-name": lambda gw: signed_put_head(gw, "empty", b"x",
                                             [": 1", "Content-Length: 1"]) + b"\r\nx",
    "space-before-colon": lambda gw: signed_put_head(gw, "colon", b"x",
                                                     ["Content-Length : 1"]) + b"\r\nx",
    "http-0.9": lambda gw: b"GET /%s/secret.txt\r\n\r\n" % gw.private.encode(),
    "http-2.0-line": lambda gw: b"GET /health/live HTTP/2.0\r\nHost: a\r\n\r\n",
    # smuggling shapes (llhttp refused these already)
    "cl-and-te": lambda gw: signed_put_head(gw, "clte", b"x", [
        "Content-Length: 1", "Transfer-Encoding: chunked"]) + b"\r\n0\r\n\r\n",
    "two-cl": lambda gw: signed_put_head(gw, "twocl", b"x", [
        "Content-Length: 1", "Content-Length: 6"]) + b"\r\nxGET /",
    "te-not-chunked-last": lambda gw: signed_put_head(gw, "tegz", b"x", [
        "Transfer-Encoding: chunked, gzip"]) + b"\r\n1\r\nx\r\n0\r\n\r\n",
    "obs-fold": lambda gw: signed_put_head(gw, "fold", b"x", [
        "Content-Length: 1", "X-Amz-Meta-A: 1", " folded"]) + b"\r\nx",
}


@pytest.mark.parametrize("case", sorted(MALFORMED_HEADS))
def test_malformed_head_refused(gwp, buckets, case):
    gwp.private = buckets[0]
    with Unchanged(gwp):
        st, hdrs, body = raw_exchange(gwp, MALFORMED_HEADS[case](gwp))
    want = 501 if case == "te-not-chunked-last" else 400
    assert st == want, (st, body[:300])
    code = util.s3_error(body)[0]
    assert code == ("NotImplemented" if want == 501 else "BadRequest"), body[:300]


def test_well_formed_raw_put_still_works(gwp):
    """The same hand-made head, well formed, is served (so the refusals above are the
    malformations' doing)."""
    st, _, body = raw_exchange(gwp, signed_put_head(gwp, "raw-ok", b"x",
                                                    ["Content-Length: 1"]) + b"\r\nx")
    assert st == 200, body
    with open(os.path.join(gwp.mount, gwp.pub, "raw-ok"), "rb") as f:
        assert f.read() == b"x"


# ----------------------------------------------------------------------------------------------
# item 9: an aws-chunked checksum announced by x-amz-trailer alone


def trailer_put(gw, bucket, key, data, alg, value):
    """PUT @data as STREAMING-UNSIGNED-PAYLOAD-TRAILER with the checksum trailer @value,
    announced only by x-amz-trailer (no x-amz-sdk-checksum-algorithm)."""
    name = "x-amz-checksum-%s" % alg.lower()
    body = b"%x\r\n%s\r\n0\r\n%s:%s\r\n\r\n" % (len(data), data, name.encode(), value.encode())
    path = util.key_path(bucket, key)
    h = util.sigv4_headers("PUT", gw.node.hostport, path, None, {
        "Content-Encoding": "aws-chunked", "x-amz-decoded-content-length": str(len(data)),
        "x-amz-trailer": name}, "STREAMING-UNSIGNED-PAYLOAD-TRAILER", gw.access_key,
        gw.secret_key)
    h["Content-Length"] = str(len(body))
    return send(gw, "PUT", path, h, body)


@pytest.mark.parametrize("alg", ["CRC32", "CRC32C", "SHA256"])
def test_trailer_only_checksum_accepted(gw, s3, buckets, alg):
    _, pub = buckets
    data = b"a body whose checksum only the trailer names\n"
    st, _, out = trailer_put(gw, pub, "trailer-" + alg, data, alg, util.checksum_b64(alg, data))
    assert st == 200, out
    with open(os.path.join(gw.mount, pub, "trailer-" + alg), "rb") as f:
        assert f.read() == data
    got = s3.head_object(Bucket=pub, Key="trailer-" + alg, ChecksumMode="ENABLED")
    assert got.get("Checksum" + alg) == util.checksum_b64(alg, data)


def test_trailer_only_wrong_checksum_refused(gw, buckets):
    _, pub = buckets
    data = b"the body"
    with Unchanged(gw):
        refused(trailer_put(gw, pub, "trailer-bad", data, "CRC32",
                            util.checksum_b64("CRC32", b"another body")), 400, "BadDigest")

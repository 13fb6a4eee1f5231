#!/usr/bin/python3
"""Generate botocore_v2.txt: S3 requests signed with Signature Version 2 by Debian's
botocore (HmacV1Auth for the Authorization header, HmacV1QueryAuth for presigned URLs,
which botocore 1.29 uses by default for generate_presigned_url) at a fixed time.

Run with /usr/bin/python3 (Debian's botocore).  The output is committed; the unit test
tests/unit/s3/test_sigv2.c reads it and checks that s3_sigv2_verify accepts every
request and rejects it once the signature, the path or a signed header changes.

Format: one block per request, lines "<field>\t<value>", fields:
  name, method, target (raw request target), header (name\tvalue, lower-case name),
  vhost (the virtual-host domain when the bucket is in Host; absent otherwise),
  secret, now (epoch seconds), then a line "end".
"""
import os
import sys
from unittest import mock

import botocore
from botocore.auth import HmacV1Auth, HmacV1QueryAuth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

NOW = 1710003942  # 2024-03-09T17:05:42Z
AK = "AKIAIOSFODNN7EXAMPLE"
SK = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
HOST = "s3.example.test:9000"
VHOST = "s3.example.test"
TOKEN = "FQoGZXIvYXdzEXAMPLE//token+="

# (name, method, path+query, headers (list of pairs), presign expiry or None, token,
#  vhost bucket or None)
CASES = [
    ("get-simple", "GET", "/bkt/hello.txt", [], None, None, None),
    ("list-buckets", "GET", "/", [], None, None, None),
    ("put-content", "PUT", "/bkt/dir/key%20with%20space.txt",
     [("Content-Type", "text/plain"), ("Content-MD5", "XUFAKrxLKna5cZ2REBfFkg==")],
     None, None, None),
    ("put-amz-headers", "PUT", "/bkt/a%2Bb%3Dc.txt",
     [("x-amz-meta-color", "  blue  and green "), ("X-Amz-ACL", "private"),
      ("X-Amz-Meta-Reviewer", "joe"), ("x-amz-meta-reviewer", "jane"),
      ("x-amz-storage-class", "STANDARD")], None, None, None),
    ("get-unicode", "GET", "/bkt/%E6%97%A5%E6%9C%AC/%C3%A9t%C3%A9.txt", [], None, None, None),
    ("list-query", "GET", "/bkt?prefix=dir%2Fsub%20x&delimiter=%2F&max-keys=10", [],
     None, None, None),
    ("list-query-literal", "GET", "/bkt?prefix=x", [], None, None, None),
    ("get-acl", "GET", "/bkt?acl", [], None, None, None),
    ("uploads", "POST", "/bkt/big.bin?uploads", [], None, None, None),
    ("upload-part", "PUT", "/bkt/big.bin?uploadId=abc%2B123%2F4&partNumber=2", [],
     None, None, None),
    ("delete-objects", "POST", "/bkt?delete",
     [("Content-MD5", "1B2M2Y8AsgTpgAmY7PhCfg=="), ("Content-Type", "application/xml")],
     None, None, None),
    ("get-overrides", "GET", "/bkt/o.txt?versionId=v1&response-content-type=text%2Fplain"
     "&response-content-disposition=attachment%3B%20filename%3D%22a%20b.txt%22", [],
     None, None, None),
    ("session-token", "GET", "/bkt/t.txt", [], None, TOKEN, None),
    ("vhost-get", "GET", "/dir/v.txt", [], None, None, "bkt"),
    ("vhost-acl", "GET", "/?acl", [], None, None, "bkt"),
    ("presign-get", "GET", "/bkt/dir/get%20me.bin", [], 120, None, None),
    ("presign-put", "PUT", "/bkt/put%2Bvia%3Dcurl.bin", [], 900, None, None),
    ("presign-put-type", "PUT", "/bkt/typed.bin",
     [("Content-Type", "application/x-typed"), ("x-amz-acl", "private")], 900, None, None),
    ("presign-overrides", "GET", "/bkt/x.txt?response-content-type=application%2Fx-pre",
     [], 3600, None, None),
    ("presign-token", "GET", "/bkt/t.txt", [], 60, TOKEN, None),
    ("presign-vhost", "GET", "/p/q.txt", [], 300, None, "bkt"),
    ("presign-list", "GET", "/bkt?list-type=2", [], 300, None, None),
]


def sign(name, method, path, headers, expires, token, bucket):
    creds = Credentials(AK, SK, token)
    host = HOST if bucket is None else bucket + "." + HOST
    req = AWSRequest(method=method, url="http://" + host + path, data=b"")
    for k, v in headers:
        req.headers[k] = v  # botocore keeps repeats
    if bucket is not None:
        req.auth_path = "/" + bucket + path.split("?")[0]
    elif path.split("?")[0].count("/") == 1 and len(path.split("?")[0]) > 1 \
            and not name.endswith("-literal"):
        # what botocore's S3 client does for bucket-level operations: the URL is "/bkt",
        # the signed resource "/bkt/" (handlers.remove_bucket_from_url_paths_from_model)
        req.auth_path = path.split("?")[0] + "/"
    auth = HmacV1Auth(creds) if expires is None else HmacV1QueryAuth(creds, expires=expires)
    with mock.patch("time.time", return_value=float(NOW)):
        auth.add_auth(req)
    prepared = req.prepare()
    target = prepared.url[len("http://" + host):]
    out = ["name\t" + name, "method\t" + method, "target\t" + target]
    seen = set()
    # req.headers keeps repeated headers (the prepared request folds them).  A presigned
    # URL is used as it is: its client sends none of the signed headers (botocore moved
    # them into the query).
    for k, v in req.headers.items() if expires is None else []:
        out.append("header\t%s\t%s" % (k.lower(), v if isinstance(v, str) else v.decode()))
        seen.add(k.lower())
    if "host" not in seen:
        out.append("header\thost\t" + host)
    if bucket is not None:
        out.append("vhost\t" + VHOST)
    out += ["secret\t" + SK, "now\t%d" % NOW, "end"]
    return "\n".join(out) + "\n"


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "botocore_v2.txt"), "w") as f:
        f.write("# generated by gen_botocore_v2.py with botocore %s; do not edit\n"
                % botocore.__version__)
        for c in CASES:
            f.write(sign(*c))
    return 0


if __name__ == "__main__":
    sys.exit(main())

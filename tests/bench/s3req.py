"""Request helpers of the unigw benchmark (tests/bench/run.sh).

Prints what curl needs to talk to unigw for the 1 GiB rows; it never moves object data
itself, so the timed transfers are plain curl runs against both servers (the 4 KiB rows use
unigw-bench, which signs by itself).

  s3req.py ENDPOINT free-port                     a free TCP port on 127.0.0.1
  s3req.py ENDPOINT mkbucket BUCKET               CreateBucket through boto3
  s3req.py ENDPOINT presign METHOD BUCKET KEY     presigned URL (SigV4, UNSIGNED-PAYLOAD)
  s3req.py ENDPOINT signed-put BUCKET KEY SHA256  curl -H arguments, one per line, of a
                                                  header-signed PutObject whose
                                                  x-amz-content-sha256 is SHA256 (hex)

Credentials come from UNIGW_ROOT_ACCESS_KEY / UNIGW_ROOT_SECRET_KEY.  Runs under
/usr/bin/python3 (Debian's boto3 and botocore).
"""
import os
import socket
import sys
import urllib.parse

import boto3
import botocore.auth
import botocore.awsrequest
import botocore.config
import botocore.credentials

REGION = "us-east-1"


def creds():
    return os.environ["UNIGW_ROOT_ACCESS_KEY"], os.environ["UNIGW_ROOT_SECRET_KEY"]


def client(endpoint):
    access, secret = creds()
    cfg = botocore.config.Config(signature_version="s3v4", s3={"addressing_style": "path"},
                                 retries={"max_attempts": 1})
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=access,
                        aws_secret_access_key=secret, region_name=REGION, config=cfg)


def free_port():
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
    finally:
        s.close()


def presign(endpoint, method, bucket, key):
    op = {"GET": "get_object", "PUT": "put_object"}[method]
    return client(endpoint).generate_presigned_url(op, Params={"Bucket": bucket, "Key": key},
                                                   ExpiresIn=3600)


def signed_put_headers(endpoint, bucket, key, sha256_hex):
    """SigV4 header auth over a declared payload hash: botocore's plain SigV4Auth signs the
    X-Amz-Content-SHA256 header as given (S3SigV4Auth would hash the empty body instead)."""
    access, secret = creds()
    url = "%s/%s/%s" % (endpoint, bucket, urllib.parse.quote(key, safe="/~"))
    req = botocore.awsrequest.AWSRequest(method="PUT", url=url, data=b"")
    req.headers["X-Amz-Content-SHA256"] = sha256_hex
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(access, secret), "s3",
                            REGION).add_auth(req)
    lines = []
    for name in ("Authorization", "X-Amz-Date", "X-Amz-Content-SHA256"):
        lines.append("%s: %s" % (name, req.headers[name]))
    return "\n".join(lines)


def main(argv):
    if len(argv) < 3:
        sys.exit(__doc__)
    endpoint, cmd, args = argv[1], argv[2], argv[3:]
    if cmd == "free-port" and not args:
        print(free_port())
    elif cmd == "mkbucket" and len(args) == 1:
        client(endpoint).create_bucket(Bucket=args[0])
    elif cmd == "presign" and len(args) == 3:
        print(presign(endpoint, args[0], args[1], args[2]))
    elif cmd == "signed-put" and len(args) == 3:
        print(signed_put_headers(endpoint, args[0], args[1], args[2]))
    else:
        sys.exit(__doc__)


if __name__ == "__main__":
    main(sys.argv)

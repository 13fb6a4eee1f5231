"""Bucket policies against one real unigw node: Put/Get/Delete/GetBucketPolicyStatus,
MalformedPolicy, anonymous access (curl) through public-read, prefix-restricted and
IP-restricted policies, explicit Deny over the owner, and two users (created with
unigw-admin) granted or refused by name, including the source of a copy."""
import json
import os
import subprocess

import pytest
from botocore.exceptions import ClientError

import util
from util import client_error

GW_NODES = 1


def admin_bin():
    path = os.environ.get("UNIGW_ADMIN_BIN") or os.path.join(
        os.path.dirname(util.unigw_bin()), "unigw-admin")
    if not os.access(path, os.X_OK):
        raise util.GatewayError("unigw-admin not found at %s (set UNIGW_ADMIN_BIN)" % path)
    return path


def new_user(gw, name):
    """Create @name with one key through unigw-admin; return a boto3 client for it."""
    base = [admin_bin(), "--endpoint", gw.endpoint, "--access-key", gw.access_key,
            "--secret-key", gw.secret_key]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": gw.client_dir}
    for args in (["user", "create", name], ["--json", "key", "create", name]):
        p = subprocess.run(base + args, capture_output=True, text=True, env=env, timeout=60)
        assert p.returncode == 0, p.stderr
    keys = json.loads(p.stdout)
    return gw.boto3(access_key=keys["access_key"], secret_key=keys["secret_key"])


@pytest.fixture(scope="module")
def users(gw):
    suffix = util.random_key(6).lower()
    return {"alice": ("alice" + suffix, new_user(gw, "alice" + suffix)),
            "bob": ("bob" + suffix, new_user(gw, "bob" + suffix))}


@pytest.fixture
def bucket(s3):
    name = util.unique_bucket("pol")
    s3.create_bucket(Bucket=name)
    s3.put_object(Bucket=name, Key="public/a.txt", Body=b"public data")
    s3.put_object(Bucket=name, Key="private/b.txt", Body=b"private data")
    return name


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def stmt(effect, principal, action, resource, condition=None, not_principal=False):
    s = {"Effect": effect, ("NotPrincipal" if not_principal else "Principal"): principal,
         "Action": action, "Resource": resource}
    if condition:
        s["Condition"] = condition
    return s


def arn(bucket, key=None):
    return "arn:aws:s3:::%s%s" % (bucket, "" if key is None else "/" + key)


def curl(gw, method, path, query=""):
    """Anonymous request with curl: (status, body)."""
    url = gw.endpoint + path + (("?" + query) if query else "")
    argv = ["curl", "-s", "-o", "-", "-w", "\n%{http_code}", "-X", method, url]
    if method == "HEAD":
        argv[argv.index("-X"):argv.index("-X") + 2] = ["-I"]
    p = subprocess.run(argv, capture_output=True, timeout=30)
    assert p.returncode == 0, p.stderr
    body, _, code = p.stdout.rpartition(b"\n")
    return int(code), body


def expect_error(fn, code, status, **kw):
    with pytest.raises(ClientError) as ei:
        fn(**kw)
    assert client_error(ei.value) == (code, status), ei.value.response


def is_public(s3, bucket):
    return s3.get_bucket_policy_status(Bucket=bucket)["PolicyStatus"]["IsPublic"]


def test_round_trip_and_delete(s3, bucket):
    doc = ('{ "Version": "2012-10-17",\n  "Statement": [{"Sid": "r", "Effect": "Allow",'
           ' "Principal": {"AWS": "*"}, "Action": "s3:GetObject",'
           ' "Resource": "%s"}] }' % arn(bucket, "*"))
    expect_error(s3.get_bucket_policy, "NoSuchBucketPolicy", 404, Bucket=bucket)
    expect_error(s3.get_bucket_policy_status, "NoSuchBucketPolicy", 404, Bucket=bucket)
    r = s3.put_bucket_policy(Bucket=bucket, Policy=doc)
    assert r["ResponseMetadata"]["HTTPStatusCode"] == 204
    assert s3.get_bucket_policy(Bucket=bucket)["Policy"] == doc
    assert is_public(s3, bucket) is True
    assert s3.delete_bucket_policy(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error(s3.get_bucket_policy, "NoSuchBucketPolicy", 404, Bucket=bucket)
    # Deleting again is fine, as on AWS.
    assert s3.delete_bucket_policy(Bucket=bucket)["ResponseMetadata"]["HTTPStatusCode"] == 204
    expect_error(s3.get_bucket_policy, "NoSuchBucket", 404, Bucket=bucket + "-none")
    expect_error(s3.put_bucket_policy, "NoSuchBucket", 404, Bucket=bucket + "-none", Policy=doc)


def test_malformed(s3, bucket):
    good = stmt("Allow", "*", "s3:GetObject", arn(bucket, "*"))
    cases = [
        "not json",
        "{",
        "[]",
        policy(),
        json.dumps({"Version": "2012-10-17", "Statement": [dict(good, Effect="Perhaps")]}),
        policy(stmt("Allow", "*", "s3:GetObject", arn("some-other-bucket", "*"))),
        policy(stmt("Allow", "*", "s3:GetObjekt", arn(bucket, "*"))),
        policy(stmt("Allow", "*", "iam:CreateUser", arn(bucket, "*"))),
        policy({"Effect": "Allow", "Action": "s3:GetObject", "Resource": arn(bucket, "*")}),
        policy(stmt("Allow", "*", "s3:GetObject", arn(bucket, "*"),
                    {"IpAddress": {"aws:SourceIp": "10.0.0.0/40"}})),
        policy(stmt("Allow", "*", "s3:GetObject", arn(bucket, "*"),
                    {"StringKindOf": {"aws:Referer": "x"}})),
        json.dumps({"Version": "2012-10-17", "Statement": [good],
                    "Padding": "x" * (21 * 1024)}),
    ]
    for doc in cases:
        expect_error(s3.put_bucket_policy, "MalformedPolicy", 400, Bucket=bucket, Policy=doc)
    expect_error(s3.get_bucket_policy, "NoSuchBucketPolicy", 404, Bucket=bucket)


def test_anonymous_without_policy(gw, s3, bucket):
    assert curl(gw, "GET", "/%s/public/a.txt" % bucket)[0] == 403
    assert curl(gw, "GET", "/%s" % bucket)[0] == 403
    assert curl(gw, "GET", "/")[0] == 403
    assert curl(gw, "PUT", "/%s-anon" % bucket)[0] == 403
    assert curl(gw, "GET", "/%s" % bucket, "policy")[0] == 403


def test_public_read(gw, s3, bucket):
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        stmt("Allow", "*", ["s3:GetObject"], arn(bucket, "*")),
        stmt("Allow", {"AWS": "*"}, "s3:ListBucket", arn(bucket))))
    assert is_public(s3, bucket) is True
    assert curl(gw, "GET", "/%s/public/a.txt" % bucket) == (200, b"public data")
    assert curl(gw, "GET", "/%s/private/b.txt" % bucket) == (200, b"private data")
    assert curl(gw, "HEAD", "/%s/public/a.txt" % bucket)[0] == 200
    status, body = curl(gw, "GET", "/%s" % bucket, "list-type=2")
    assert status == 200 and b"<Key>public/a.txt</Key>" in body
    assert curl(gw, "HEAD", "/%s" % bucket)[0] == 200
    # Reading is all it grants.
    assert curl(gw, "PUT", "/%s/x" % bucket)[0] == 403
    assert curl(gw, "DELETE", "/%s/public/a.txt" % bucket)[0] == 403
    assert curl(gw, "GET", "/%s" % bucket, "policy")[0] == 403
    assert curl(gw, "DELETE", "/%s" % bucket, "policy")[0] == 403
    # boto3 without signing sees the same.
    anon = gw.boto3(unsigned=True)
    assert anon.get_object(Bucket=bucket, Key="public/a.txt")["Body"].read() == b"public data"
    expect_error(anon.put_object, "AccessDenied", 403, Bucket=bucket, Key="y", Body=b"1")


def test_prefix_restricted(gw, s3, bucket):
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        stmt("Allow", "*", "s3:GetObject", arn(bucket, "public/*")),
        stmt("Allow", "*", "s3:ListBucket", arn(bucket),
             {"StringLike": {"s3:prefix": "public/*"}})))
    assert curl(gw, "GET", "/%s/public/a.txt" % bucket) == (200, b"public data")
    assert curl(gw, "GET", "/%s/private/b.txt" % bucket)[0] == 403
    status, body = curl(gw, "GET", "/%s" % bucket, "list-type=2&prefix=public/")
    assert status == 200 and b"public/a.txt" in body and b"private" not in body
    assert curl(gw, "GET", "/%s" % bucket, "list-type=2&prefix=private/")[0] == 403
    assert curl(gw, "GET", "/%s" % bucket, "list-type=2")[0] == 403
    # The owner (root) is not limited by an Allow policy.
    assert s3.get_object(Bucket=bucket, Key="private/b.txt")["Body"].read() == b"private data"


def test_ip_restricted(gw, s3, bucket):
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        stmt("Allow", "*", "s3:GetObject", arn(bucket, "*"),
             {"IpAddress": {"aws:SourceIp": ["127.0.0.0/8", "::1/128"]}})))
    assert is_public(s3, bucket) is False
    assert curl(gw, "GET", "/%s/public/a.txt" % bucket) == (200, b"public data")
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        stmt("Allow", "*", "s3:GetObject", arn(bucket, "*"),
             {"IpAddress": {"aws:SourceIp": "192.0.2.0/24"}})))
    assert curl(gw, "GET", "/%s/public/a.txt" % bucket)[0] == 403
    # Public, but denied to everyone outside 192.0.2.0/24: we are outside.
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        stmt("Allow", "*", "s3:GetObject", arn(bucket, "*")),
        stmt("Deny", "*", "s3:GetObject", arn(bucket, "private/*"),
             {"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}})))
    assert is_public(s3, bucket) is True
    assert curl(gw, "GET", "/%s/public/a.txt" % bucket)[0] == 200
    assert curl(gw, "GET", "/%s/private/b.txt" % bucket)[0] == 403


def test_explicit_deny_binds_the_owner(gw, s3, users):
    name, alice = users["alice"]
    b = util.unique_bucket("pold")
    alice.create_bucket(Bucket=b)
    alice.put_object(Bucket=b, Key="k", Body=b"v")
    alice.put_bucket_policy(Bucket=b, Policy=policy(
        stmt("Deny", "*", "s3:DeleteObject", arn(b, "*"),
             {"NotIpAddress": {"aws:SourceIp": "192.0.2.0/24"}})))
    expect_error(alice.delete_object, "AccessDenied", 403, Bucket=b, Key="k")
    assert alice.get_object(Bucket=b, Key="k")["Body"].read() == b"v"
    # DeleteObjects is s3:DeleteObject per key: the same Deny holds for bulk deletes.
    r = alice.delete_objects(Bucket=b, Delete={"Objects": [{"Key": "k"}]})
    assert [e["Code"] for e in r.get("Errors", [])] == ["AccessDenied"]
    assert "Deleted" not in r
    assert alice.get_object(Bucket=b, Key="k")["Body"].read() == b"v"
    # A Deny on everything locks the owner out, policy management included...
    alice.put_bucket_policy(Bucket=b, Policy=policy(
        stmt("Deny", {"AWS": "arn:aws:iam:::user/%s" % name}, "s3:*", [arn(b), arn(b, "*")])))
    expect_error(alice.get_object, "AccessDenied", 403, Bucket=b, Key="k")
    expect_error(alice.delete_bucket_policy, "AccessDenied", 403, Bucket=b)
    # ...but not root, who can lift it.
    assert s3.get_object(Bucket=b, Key="k")["Body"].read() == b"v"
    s3.delete_bucket_policy(Bucket=b)
    alice.delete_object(Bucket=b, Key="k")
    alice.delete_bucket(Bucket=b)


def test_two_users(gw, s3, users):
    alice_name, alice = users["alice"]
    bob_name, bob = users["bob"]
    b = util.unique_bucket("pol2")
    alice.create_bucket(Bucket=b)
    alice.put_object(Bucket=b, Key="doc", Body=b"alice's")
    expect_error(bob.get_object, "AccessDenied", 403, Bucket=b, Key="doc")
    expect_error(bob.list_objects_v2, "AccessDenied", 403, Bucket=b)
    expect_error(bob.put_bucket_policy, "AccessDenied", 403, Bucket=b,
                 Policy=policy(stmt("Allow", "*", "s3:*", arn(b, "*"))))
    alice.put_bucket_policy(Bucket=b, Policy=policy(
        stmt("Allow", {"AWS": ["arn:aws:iam:::user/%s" % bob_name]}, "s3:GetObject",
             arn(b, "*")),
        stmt("Allow", {"AWS": bob_name}, ["s3:GetBucketPolicy", "s3:PutBucketPolicy"], arn(b))))
    assert is_public(alice, b) is False
    assert bob.get_object(Bucket=b, Key="doc")["Body"].read() == b"alice's"
    expect_error(bob.put_object, "AccessDenied", 403, Bucket=b, Key="x", Body=b"1")
    expect_error(bob.list_objects_v2, "AccessDenied", 403, Bucket=b)
    assert curl(gw, "GET", "/%s/doc" % b)[0] == 403
    # The policy itself grants bob policy management (as AWS allows).
    doc = bob.get_bucket_policy(Bucket=b)["Policy"]
    assert bob_name in doc
    bob.put_bucket_policy(Bucket=b, Policy=policy(
        stmt("Allow", {"AWS": bob_name}, "s3:GetObject", arn(b, "other/*"))))
    expect_error(bob.get_object, "AccessDenied", 403, Bucket=b, Key="doc")
    expect_error(bob.get_bucket_policy, "AccessDenied", 403, Bucket=b)
    # Alice, the owner, always manages it; a NotPrincipal deny spares her only.
    alice.put_bucket_policy(Bucket=b, Policy=policy(
        stmt("Allow", "*", "s3:GetObject", arn(b, "*")),
        stmt("Deny", {"AWS": alice_name}, "s3:GetObject", arn(b, "*"), not_principal=True)))
    assert alice.get_object(Bucket=b, Key="doc")["Body"].read() == b"alice's"
    expect_error(bob.get_object, "AccessDenied", 403, Bucket=b, Key="doc")
    assert curl(gw, "GET", "/%s/doc" % b)[0] == 403
    alice.delete_bucket_policy(Bucket=b)
    alice.delete_object(Bucket=b, Key="doc")
    alice.delete_bucket(Bucket=b)


def test_copy_needs_read_on_the_source(gw, s3, users):
    alice_name, alice = users["alice"]
    bob_name, bob = users["bob"]
    src, dst = util.unique_bucket("polsrc"), util.unique_bucket("poldst")
    alice.create_bucket(Bucket=src)
    alice.put_object(Bucket=src, Key="secret", Body=b"s3cr3t")
    bob.create_bucket(Bucket=dst)
    expect_error(bob.copy_object, "AccessDenied", 403, Bucket=dst, Key="stolen",
                 CopySource={"Bucket": src, "Key": "secret"})
    alice.put_bucket_policy(Bucket=src, Policy=policy(
        stmt("Allow", {"AWS": bob_name}, "s3:GetObject", arn(src, "secret"))))
    bob.copy_object(Bucket=dst, Key="copied", CopySource={"Bucket": src, "Key": "secret"})
    assert bob.get_object(Bucket=dst, Key="copied")["Body"].read() == b"s3cr3t"
    # Read on the source does not grant writes to it.
    expect_error(bob.copy_object, "AccessDenied", 403, Bucket=src, Key="back",
                 CopySource={"Bucket": dst, "Key": "copied"})


def admin(gw, *args):
    base = [admin_bin(), "--endpoint", gw.endpoint, "--access-key", gw.access_key,
            "--secret-key", gw.secret_key]
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": gw.client_dir}
    p = subprocess.run(base + list(args), capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_principal_is_the_user_not_the_name(gw, s3, bucket):
    """A grant to a user does not pass to a later user of the same name, as on AWS:
    the policy holds the user's id, GET shows the ARN while the user exists and the
    bare id once it is gone."""
    name = "carol" + util.random_key(6).lower()
    carol = new_user(gw, name)
    carol_id = json.loads(admin(gw, "--json", "user", "show", name))["id"]
    assert carol_id.startswith("AIDA") and len(carol_id) == 20
    s3.put_bucket_policy(Bucket=bucket, Policy=policy(
        stmt("Allow", {"AWS": "arn:aws:iam:::user/" + name}, "s3:GetObject",
             arn(bucket, "*"))))
    assert carol.get_object(Bucket=bucket, Key="private/b.txt")["Body"].read() == b"private data"
    shown = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert shown["Statement"][0]["Principal"]["AWS"] == "arn:aws:iam:::user/" + name
    admin(gw, "user", "delete", name)
    shown = json.loads(s3.get_bucket_policy(Bucket=bucket)["Policy"])
    assert shown["Statement"][0]["Principal"]["AWS"] == carol_id
    again = new_user(gw, name)
    assert json.loads(admin(gw, "--json", "user", "show", name))["id"] != carol_id
    expect_error(again.get_object, "AccessDenied", 403, Bucket=bucket, Key="private/b.txt")
    s3.delete_bucket_policy(Bucket=bucket)


def test_unknown_principal_refused(s3, bucket):
    expect_error(s3.put_bucket_policy, "MalformedPolicy", 400, Bucket=bucket, Policy=policy(
        stmt("Allow", {"AWS": "arn:aws:iam:::user/nobody-" + util.random_key(6).lower()},
             "s3:GetObject", arn(bucket, "*"))))
    expect_error(s3.get_bucket_policy, "NoSuchBucketPolicy", 404, Bucket=bucket)

"""unigw-admin against a real node: every subcommand, its table and --json output, exit
codes, and that what it changes takes effect at once for S3 clients (boto3)."""
import json
import os
import subprocess

import pytest

import util


def admin_bin():
    path = os.environ.get("UNIGW_ADMIN_BIN")
    if not path:
        path = os.path.join(os.path.dirname(util.unigw_bin()), "unigw-admin")
    if not os.access(path, os.X_OK):
        raise util.GatewayError("unigw-admin not found at %s (set UNIGW_ADMIN_BIN)" % path)
    return path


class Result:
    def __init__(self, p):
        self.code = p.returncode
        self.out = p.stdout
        self.err = p.stderr

    def json(self):
        return json.loads(self.out)

    def __repr__(self):
        return "exit %d\nstdout: %s\nstderr: %s" % (self.code, self.out, self.err)


def run(gw, *args, creds=None, env=None, flags=True, stdin=None):
    """unigw-admin with the root keys (or @creds) passed as flags (or not at all)."""
    access, secret = creds or (gw.access_key, gw.secret_key)
    argv = [admin_bin()]
    if flags:
        argv += ["--endpoint", gw.endpoint, "--access-key", access, "--secret-key", secret]
    e = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": gw.client_dir}
    for k in ("ASAN_OPTIONS", "UBSAN_OPTIONS"):
        if k in os.environ:
            e[k] = os.environ[k]
    e.update(env or {})
    p = subprocess.run(argv + list(args), capture_output=True, text=True, env=e, timeout=60,
                       input=stdin)
    assert "AddressSanitizer" not in p.stderr and "runtime error:" not in p.stderr, p.stderr
    return Result(p)


def ok(r):
    assert r.code == 0, r
    return r


def table(out):
    """Rows of an aligned table as lists of cells (header first)."""
    return [line.split() for line in out.strip().splitlines()]


def new_user(gw, name, admin=False):
    args = ["user", "create", name] + (["--admin"] if admin else [])
    ok(run(gw, *args))
    keys = ok(run(gw, "--json", "key", "create", name)).json()
    return keys["access_key"], keys["secret_key"]


def s3_error_code(exc):
    return exc.response["Error"]["Code"]


# ---- users -----------------------------------------------------------------------------------

def test_user_create_list_show(gw):
    r = ok(run(gw, "user", "create", "alice"))
    rows = table(r.out)
    assert rows[0] == ["NAME", "ID", "ADMIN", "DISABLED", "CREATED"]
    assert rows[1][0] == "alice" and rows[1][2:4] == ["no", "no"]
    assert rows[1][1].startswith("AIDA") and len(rows[1][1]) == 20
    assert rows[1][4].endswith("Z")

    j = ok(run(gw, "--json", "user", "create", "ops", "--admin")).json()
    assert j["name"] == "ops" and j["admin"] is True and j["disabled"] is False
    assert j["id"].startswith("AIDA") and j["id"] != rows[1][1]

    rows = table(ok(run(gw, "user", "list")).out)
    names = [r[0] for r in rows[1:]]
    assert names == sorted(names)
    assert {"root", "alice", "ops"} <= set(names)
    # columns line up: every row starts its second column at the same offset
    lines = ok(run(gw, "user", "list")).out.splitlines()
    col = lines[0].index("ADMIN")
    assert all(line[col - 2:col] == "  " and line[col] != " " for line in lines)

    users = ok(run(gw, "--json", "user", "list")).json()["users"]
    assert {u["name"]: u["admin"] for u in users}["root"] is True

    j = ok(run(gw, "--json", "user", "show", "alice")).json()
    assert j["name"] == "alice" and j["keys"] == []
    r = ok(run(gw, "user", "show", "alice"))
    assert "ACCESS KEYS (0)" in r.out


def test_user_errors(gw):
    r = run(gw, "user", "create", "alice2")
    assert r.code == 0
    r = run(gw, "user", "create", "alice2")
    assert r.code == 1 and "UserAlreadyExists" in r.err
    r = run(gw, "user", "show", "nobody")
    assert r.code == 1 and "NoSuchUser" in r.err
    r = run(gw, "user", "create", "bad name!")
    assert r.code == 1 and "InvalidUserName" in r.err
    r = run(gw, "user", "delete", "root")
    assert r.code == 1 and "cannot be deleted" in r.err
    r = run(gw, "user", "disable", "root")
    assert r.code == 1
    assert run(gw, "user", "show").code == 2
    assert run(gw, "user", "frobnicate", "x").code == 2
    assert run(gw, "nogroup", "list").code == 2
    assert run(gw, "--bogus", "user", "list").code == 2


def test_disable_enable_delete_take_effect(gw):
    access, secret = new_user(gw, "carol")
    s3 = gw.boto3(access_key=access, secret_key=secret)
    s3.create_bucket(Bucket="carol-b")
    s3.list_objects_v2(Bucket="carol-b")

    assert ok(run(gw, "user", "disable", "carol")).out == "user carol disabled\n"
    assert ok(run(gw, "--json", "user", "show", "carol")).json()["disabled"] is True
    with pytest.raises(Exception) as e:
        s3.list_objects_v2(Bucket="carol-b")
    assert s3_error_code(e.value) == "AccessDenied"

    assert ok(run(gw, "user", "enable", "carol")).out == "user carol enabled\n"
    s3.list_objects_v2(Bucket="carol-b")

    # a user that owns buckets cannot be deleted
    r = run(gw, "user", "delete", "carol")
    assert r.code == 1 and "UserOwnsBuckets" in r.err
    ok(run(gw, "bucket", "delete", "carol-b"))
    assert ok(run(gw, "user", "delete", "carol")).out == "user carol deleted\n"
    assert run(gw, "user", "show", "carol").code == 1
    with pytest.raises(Exception) as e:
        s3.list_buckets()
    assert s3_error_code(e.value) == "InvalidAccessKeyId"


# ---- keys ------------------------------------------------------------------------------------

def test_keys(gw):
    ok(run(gw, "user", "create", "dave"))
    r = ok(run(gw, "key", "create", "dave"))
    lines = dict(line.split(":", 1) for line in r.out.splitlines() if ": " in line)
    access, secret = lines["access_key"].strip(), lines["secret_key"].strip()
    assert len(access) == 20 and access.isupper() or access.isdigit()
    assert len(secret) == 40
    assert "shown only this once" in r.out

    j = ok(run(gw, "--json", "key", "create", "dave")).json()
    assert set(j) >= {"access_key", "secret_key"} and j["access_key"] != access

    rows = table(ok(run(gw, "key", "list", "dave")).out)
    assert rows[0] == ["ACCESS_KEY", "USER"]
    assert sorted(r[0] for r in rows[1:]) == sorted([access, j["access_key"]])
    listed = ok(run(gw, "--json", "key", "list", "dave")).json()
    assert sorted(k["access_key"] for k in listed["keys"]) == sorted([access, j["access_key"]])
    assert "secret" not in json.dumps(listed)

    s3 = gw.boto3(access_key=access, secret_key=secret)
    s3.list_buckets()
    assert ok(run(gw, "key", "delete", access)).out == "access key %s deleted\n" % access
    with pytest.raises(Exception) as e:
        s3.list_buckets()
    assert s3_error_code(e.value) == "InvalidAccessKeyId"
    # the other key still works
    gw.boto3(access_key=j["access_key"], secret_key=j["secret_key"]).list_buckets()

    r = run(gw, "key", "delete", access)
    assert r.code == 1 and "NoSuchAccessKey" in r.err
    r = run(gw, "key", "create", "nobody")
    assert r.code == 1 and "NoSuchUser" in r.err
    assert run(gw, "key", "create").code == 2


# ---- buckets ---------------------------------------------------------------------------------

def test_buckets_and_ownership(gw):
    ea, es = new_user(gw, "erin")
    fa, fs = new_user(gw, "frank")
    r = ok(run(gw, "bucket", "create", "erin-data", "--owner", "erin"))
    rows = table(r.out)
    assert rows[0] == ["NAME", "OWNER", "CREATED", "POLICY"]
    assert rows[1][:2] == ["erin-data", "erin"] and rows[1][3] == "no"
    assert os.path.isdir(os.path.join(gw.mount, "erin-data"))

    erin = gw.boto3(access_key=ea, secret_key=es)
    frank = gw.boto3(access_key=fa, secret_key=fs)
    erin.put_object(Bucket="erin-data", Key="k", Body=b"hello")
    assert erin.get_object(Bucket="erin-data", Key="k")["Body"].read() == b"hello"
    with pytest.raises(Exception) as e:
        frank.get_object(Bucket="erin-data", Key="k")
    assert s3_error_code(e.value) == "AccessDenied"
    assert [b["Name"] for b in erin.list_buckets()["Buckets"]] == ["erin-data"]

    # a directory made through POSIX belongs to root until reassigned
    os.mkdir(os.path.join(gw.mount, "posix-made"))
    listed = {b["name"]: b for b in ok(run(gw, "--json", "bucket", "list")).json()["buckets"]}
    assert listed["posix-made"]["owner"] == "root"
    assert listed["posix-made"]["registered"] is False
    assert listed["erin-data"]["owner"] == "erin"
    rows = {r[0]: r for r in table(ok(run(gw, "bucket", "list")).out)[1:]}
    assert rows["posix-made"][1] == "root" and rows["posix-made"][2] == "-"
    with pytest.raises(Exception) as e:
        frank.list_objects_v2(Bucket="posix-made")
    assert s3_error_code(e.value) == "AccessDenied"

    r = ok(run(gw, "bucket", "set-owner", "posix-made", "frank"))
    assert table(r.out)[1][:2] == ["posix-made", "frank"]
    frank.list_objects_v2(Bucket="posix-made")
    j = ok(run(gw, "--json", "bucket", "show", "posix-made")).json()
    assert j["owner"] == "frank" and j["registered"] is True

    # not empty -> refused; empty -> gone
    r = run(gw, "bucket", "delete", "erin-data")
    assert r.code == 1 and "BucketNotEmpty" in r.err
    erin.delete_object(Bucket="erin-data", Key="k")
    assert ok(run(gw, "bucket", "delete", "erin-data")).out == "bucket erin-data deleted\n"
    assert not os.path.exists(os.path.join(gw.mount, "erin-data"))
    r = run(gw, "bucket", "show", "erin-data")
    assert r.code == 1 and "NoSuchBucket" in r.err


def test_bucket_errors(gw):
    ok(run(gw, "user", "create", "gina"))
    ok(run(gw, "bucket", "create", "gina-b", "--owner", "gina"))
    r = run(gw, "bucket", "create", "gina-b", "--owner", "gina")
    assert r.code == 1 and "BucketAlreadyExists" in r.err
    r = run(gw, "bucket", "create", "other-b", "--owner", "nobody")
    assert r.code == 1 and "NoSuchUser" in r.err
    assert not os.path.exists(os.path.join(gw.mount, "other-b"))
    r = run(gw, "bucket", "create", "Bad_Name", "--owner", "gina")
    assert r.code == 1 and "InvalidBucketName" in r.err
    assert run(gw, "bucket", "create", "x-b").code == 2  # no --owner
    r = run(gw, "bucket", "set-owner", "gina-b", "nobody")
    assert r.code == 1 and "NoSuchUser" in r.err
    r = run(gw, "bucket", "delete", "never-was")
    assert r.code == 1 and "NoSuchBucket" in r.err
    j = ok(run(gw, "--json", "bucket", "delete", "gina-b")).json()
    assert j == {"deleted": "gina-b"}


# ---- policies --------------------------------------------------------------------------------

def test_policy(gw, tmp_path):
    ok(run(gw, "user", "create", "hank"))
    ok(run(gw, "bucket", "create", "hank-pub", "--owner", "hank"))
    r = run(gw, "policy", "get", "hank-pub")
    assert r.code == 1 and "NoSuchBucketPolicy" in r.err

    doc = {"Version": "2012-10-17", "Statement": [{
        "Sid": "PublicRead", "Effect": "Allow", "Principal": "*",
        "Action": "s3:GetObject", "Resource": "arn:aws:s3:::hank-pub/*"}]}
    f = tmp_path / "policy.json"
    f.write_text(json.dumps(doc))
    assert ok(run(gw, "policy", "set", "hank-pub", str(f))).out == "policy of hank-pub set\n"
    assert ok(run(gw, "policy", "get", "hank-pub")).json() == doc
    assert ok(run(gw, "--json", "bucket", "show", "hank-pub")).json()["policy"] is True
    # from stdin too
    ok(run(gw, "policy", "set", "hank-pub", "-", stdin=json.dumps(doc)))

    f.write_text("{not json")
    r = run(gw, "policy", "set", "hank-pub", str(f))
    assert r.code == 1 and ("MalformedPolicy" in r.err or "MalformedJSON" in r.err)
    assert run(gw, "policy", "set", "hank-pub", str(tmp_path / "missing.json")).code == 2

    assert ok(run(gw, "policy", "delete", "hank-pub")).out == "policy of hank-pub deleted\n"
    assert run(gw, "policy", "get", "hank-pub").code == 1
    r = run(gw, "policy", "set", "no-such-bucket", "-", stdin=json.dumps(doc))
    assert r.code == 1 and "NoSuchBucket" in r.err


# ---- authentication, configuration, connection -----------------------------------------------

def test_non_admin_refused(gw):
    access, secret = new_user(gw, "ivan")
    r = run(gw, "user", "list", creds=(access, secret))
    assert r.code == 1 and "AccessDenied" in r.err
    st, _, body = gw.request("GET", "/admin/v1/users", sign=False)
    assert st == 403 and json.loads(body)["error"] == "AccessDenied"
    r = run(gw, "user", "list", creds=(gw.access_key, "wrong" * 8))
    assert r.code == 1 and "SignatureDoesNotMatch" in r.err
    # an admin user (not root) may
    oa, os_ = new_user(gw, "olga", admin=True)
    ok(run(gw, "user", "list", creds=(oa, os_)))


def test_env_and_config_file(gw, tmp_path):
    env = {"UNIGW_ENDPOINT": gw.endpoint, "UNIGW_ACCESS_KEY": gw.access_key,
           "UNIGW_SECRET_KEY": gw.secret_key}
    ok(run(gw, "user", "list", flags=False, env=env))

    conf = tmp_path / "admin.conf"
    conf.write_text("# unigw-admin\nendpoint = %s\naccess_key = %s\nsecret_key = %s\n"
                    % (gw.endpoint, gw.access_key, gw.secret_key))
    ok(run(gw, "--config", str(conf), "user", "list", flags=False))
    # the default location
    d = os.path.join(gw.client_dir, ".config", "unigw")
    os.makedirs(d, exist_ok=True)
    with open(os.path.join(d, "admin.conf"), "w") as fh:
        fh.write(conf.read_text())
    ok(run(gw, "user", "list", flags=False))
    os.unlink(os.path.join(d, "admin.conf"))

    # flags win over the environment
    bad = dict(env, UNIGW_SECRET_KEY="x" * 40)
    ok(run(gw, "user", "list", env=bad))
    assert run(gw, "user", "list", flags=False, env=bad).code == 1

    conf.write_text("endpoint = %s\nbogus = 1\n" % gw.endpoint)
    r = run(gw, "--config", str(conf), "user", "list", flags=False)
    assert r.code == 2 and "bogus" in r.err
    assert run(gw, "user", "list", flags=False).code == 2  # nothing configured
    assert run(gw, "--config", str(tmp_path / "none"), "user", "list", flags=False).code == 2


def test_connection_errors(gw):
    port = util.alloc_ports("127.0.0.1", 1)[0]
    r = run(gw, "--endpoint", "http://127.0.0.1:%d" % port, "user", "list")
    assert r.code == 3 and "cannot connect" in r.err
    assert run(gw, "--endpoint", "https://127.0.0.1:1", "user", "list").code == 3
    assert run(gw, "--endpoint", "http://no-such-host.invalid:1", "user", "list").code == 3


def test_help(gw):
    p = subprocess.run([admin_bin(), "--help"], capture_output=True, text=True)
    assert p.returncode == 0 and "usage: unigw-admin" in p.stdout
    p = subprocess.run([admin_bin()], capture_output=True, text=True)
    assert p.returncode == 2 and "usage" in p.stderr


# ---- the admin API itself, with raw requests --------------------------------------------------

def api(gw, method, path, body=b"", **kw):
    st, _, data = gw.request(method, "/admin/v1/" + path, body=body, **kw)
    return st, (json.loads(data) if data else None)


def test_api_malformed_requests(gw):
    st, j = api(gw, "POST", "users", body=b"{not json")
    assert st == 400 and j["error"] == "MalformedJSON"
    st, j = api(gw, "POST", "users", body=b"[1,2]")
    assert st == 400 and j["error"] == "MalformedJSON"
    st, j = api(gw, "POST", "users", body=json.dumps({"name": 7}))
    assert st == 400 and j["error"] == "InvalidRequest"
    st, j = api(gw, "POST", "users", body=json.dumps({"name": "x1", "admin": "yes"}))
    assert st == 400 and j["error"] == "InvalidRequest"
    st, j = api(gw, "POST", "buckets", body=json.dumps({"name": "nb"}))
    assert st == 400 and "owner" in j["message"]
    st, j = api(gw, "GET", "frobs")
    assert st == 404 and j["error"] == "NoSuchRoute"
    st, j = api(gw, "PATCH", "users")
    assert st == 404 and j["error"] == "NoSuchRoute"
    st, j = api(gw, "GET", "users/a/b/c/d")
    assert st == 400
    st, j = api(gw, "GET", "users//keys")
    assert st == 400
    st, j = api(gw, "GET", "users/%zz")
    assert st in (400, 403)  # the signature check refuses the malformed escape first
    st, j = api(gw, "GET", "users/a%00b")
    assert st == 400
    st, j = api(gw, "PUT", "buckets/x/policy", body=b"{" * (70 * 1024))
    assert st == 413 and j["error"] == "EntityTooLarge"
    # the signed payload hash must match the body
    st, j = api(gw, "POST", "users", body=json.dumps({"name": "sneaky"}),
                payload_hash=util.EMPTY_SHA256)
    assert st == 400 and j["error"] == "XAmzContentSHA256Mismatch"
    assert api(gw, "GET", "users/sneaky")[0] == 404
    # percent-encoded names reach the store decoded
    st, j = api(gw, "POST", "users", body=json.dumps({"name": "p+q@r"}))
    assert st == 201 and j["name"] == "p+q@r"
    st, j = api(gw, "GET", "users/p%2Bq%40r")
    assert st == 200 and j["name"] == "p+q@r"

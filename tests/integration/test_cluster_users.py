"""Users on a three-node cluster: a user created through one node works on every
node at once, and a bucket it creates through one node is its own on the others
immediately (read-after-write for ownership, not only for data)."""
import json
import os
import subprocess

import util
from test_policy import admin_bin

GW_NODES = 3


def admin(gw, node, *args):
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "HOME": gw.client_dir}
    p = subprocess.run([admin_bin(), "--endpoint", node.endpoint, "--access-key", gw.access_key,
                        "--secret-key", gw.secret_key] + list(args),
                       capture_output=True, text=True, env=env, timeout=60)
    assert p.returncode == 0, p.stderr
    return p.stdout


def test_user_and_bucket_visible_on_every_node(gw):
    name = "u" + util.random_key(6).lower()
    admin(gw, gw.nodes[0], "user", "create", name)
    keys = json.loads(admin(gw, gw.nodes[1], "--json", "key", "create", name))
    clients = [gw.boto3(endpoint=n.endpoint, access_key=keys["access_key"],
                        secret_key=keys["secret_key"]) for n in gw.nodes]
    for round_ in range(5):
        b = util.unique_bucket("own%d" % round_)
        # Create on one node, then at once write, tag and read on the two others.
        clients[round_ % 3].create_bucket(Bucket=b)
        clients[(round_ + 1) % 3].put_object(Bucket=b, Key="k", Body=b"v%d" % round_)
        clients[(round_ + 2) % 3].put_object_tagging(
            Bucket=b, Key="k", Tagging={"TagSet": [{"Key": "r", "Value": str(round_)}]})
        for c in clients:
            assert c.get_object(Bucket=b, Key="k")["Body"].read() == b"v%d" % round_
            tags = c.get_object_tagging(Bucket=b, Key="k")["TagSet"]
            assert tags == [{"Key": "r", "Value": str(round_)}]
        names = [x["Name"] for x in clients[round_ % 3].list_buckets()["Buckets"]]
        assert b in names
    # Another user's bucket stays closed to it on every node.
    other = util.unique_bucket("root")
    gw.s3.create_bucket(Bucket=other) if hasattr(gw, "s3") else gw.boto3().create_bucket(Bucket=other)
    for c in clients:
        try:
            c.put_object(Bucket=other, Key="x", Body=b"no")
            raise AssertionError("a user wrote into root's bucket")
        except c.exceptions.ClientError as e:
            assert e.response["Error"]["Code"] == "AccessDenied"
    assert not os.path.exists(os.path.join(gw.mount, other, "x"))

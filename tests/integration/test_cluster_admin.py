"""Cluster membership through the admin API and `unigw-admin cluster ...` on a three-node
cluster: status on every node, leadership transfer (from a follower, forwarded to the
leader), a fourth node that joins and catches up by snapshot install, removal of another
node, usage and error exit codes, raw API errors; a boto3 client keeps using the cluster
between every step."""
import re
import os
import socket
import time

import pytest

import util
from test_admin import run, ok

GW_NODES = 3
# Snapshots every 64 entries: the fourth node is far enough behind to need one.
GW_ARGS = ("--set", "cluster.snapshot_threshold=64", "--set", "cluster.snapshot_trailing=64")


class At:
    """The cluster as seen through one node's endpoint (for test_admin.run)."""

    def __init__(self, gw, node):
        self.gw = gw
        self.endpoint = node.endpoint
        self.access_key = gw.access_key
        self.secret_key = gw.secret_key
        self.client_dir = gw.client_dir


def cli(gw, node, *args):
    return run(At(gw, node), *args)


def status(gw, node):
    return ok(cli(gw, node, "--json", "cluster", "status")).json()


def leader_of(gw, timeout=15.0):
    """The node object every live member agrees leads, once they do."""
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        views = []
        for n in gw.nodes:
            if n.proc is None or n.proc.poll() is not None:
                continue
            r = cli(gw, n, "--json", "cluster", "status")
            if r.code == 0:
                views.append((n, r.json()))
        ids = {v["leader_id"] for _, v in views}
        last = views
        if len(ids) == 1 and None not in ids:
            lid = ids.pop()
            for n, v in views:
                if v["id"] == lid and v["state"] == "leader":
                    return n
        time.sleep(0.2)
    raise AssertionError("no agreed leader: %r" % last)


def by_id(gw, node_id):
    return next(n for n in gw.nodes if n.node_id == node_id)


def serve_check(gw, tag):
    """S3 keeps working: write through every live node, read back through another."""
    live = [n for n in gw.nodes if n.proc is not None and n.proc.poll() is None]
    bucket = "clu-serve"
    s3 = gw.boto3(endpoint=live[0].endpoint)
    try:
        s3.create_bucket(Bucket=bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    for i, n in enumerate(live):
        key = "%s-%d" % (tag, i)
        body = ("%s through node %d" % (tag, n.node_id)).encode()
        retry(lambda: gw.boto3(endpoint=n.endpoint).put_object(Bucket=bucket, Key=key,
                                                               Body=body))
        other = live[(i + 1) % len(live)]
        got = retry(lambda: gw.boto3(endpoint=other.endpoint).get_object(
            Bucket=bucket, Key=key)["Body"].read())
        assert got == body


def retry(fn, timeout=15.0):
    """Run @fn, retrying 503s (an election in progress) for up to @timeout seconds."""
    import botocore.exceptions
    deadline = time.monotonic() + timeout
    while True:
        try:
            return fn()
        except botocore.exceptions.ClientError as e:
            code = e.response["ResponseMetadata"]["HTTPStatusCode"]
            if code != 503 or time.monotonic() > deadline:
                raise
            time.sleep(0.2)


def free_port_pair(addr):
    """(P, P + 1) free on @addr: a node's RPC port is its Raft port + 1."""
    pair = getattr(util, "alloc_port_pair", None)
    if pair is not None:
        return pair(addr)
    for _ in range(50):
        p = util.alloc_ports(addr, 1)[0]
        s = socket.socket()
        try:
            s.bind((addr, p + 1))
            return p, p + 1
        except OSError:
            continue
        finally:
            s.close()
    raise util.GatewayError("no port pair on %s" % addr)


def start_joiner(gw, node_id):
    """Start node @node_id with the cluster's key and mount, its own data directory and
    Raft port, and the existing peers list (which does not name it): it waits to be
    added.  It becomes part of gw.nodes (stopped and checked with the cluster)."""
    addr = "127.0.0.%d" % (10 + node_id)
    port = util.alloc_ports(addr, 1)[0]
    raft_port, rpc_port = free_port_pair(addr)
    n = util.Node(gw, node_id - 1, addr, port, gw.nodes[0].extra_args, raft_port, rpc_port)
    gw.nodes.append(n)
    n.start()
    deadline = time.monotonic() + util.READY_TIMEOUT
    while True:  # live (not ready: it knows no leader until it is added)
        assert n.proc.poll() is None, n.log_tail()
        try:
            if util.http_request(n.endpoint, "GET", "/health/live", timeout=2)[0] == 200:
                return n
        except OSError:
            pass
        assert time.monotonic() < deadline, n.log_tail()
        time.sleep(0.1)


def registered_status(gw, node, ids, timeout=15.0):
    """@node's status once every member in @ids shows a registered version (each node
    registers itself once it sees a leader)."""
    deadline = time.monotonic() + timeout
    while True:
        st = status(gw, node)
        regs = {m["id"]: m for m in st["members"] if m["max_level"] is not None}
        if set(ids) <= set(regs):
            return st
        assert time.monotonic() < deadline, st
        time.sleep(0.1)


def test_status_on_every_node(gw):
    lead = leader_of(gw)
    for n in gw.nodes:
        registered_status(gw, n, [1, 2, 3])
    for n in gw.nodes:
        st = status(gw, n)
        assert st["id"] == n.node_id
        assert st["raft_address"] == n.raft_addr
        assert st["leader_id"] == lead.node_id
        assert st["leader_address"] == lead.raft_addr
        assert st["state"] == ("leader" if n is lead else "follower")
        assert st["version"]
        assert st["applied_index"] > 0 and st["commit_index"] >= st["applied_index"] - 1
        members = {m["id"]: m for m in st["members"]}
        assert sorted(members) == [1, 2, 3]
        for o in gw.nodes:
            m = members[o.node_id]
            assert m["raft_address"] == o.raft_addr
            assert m["role"] == "voter"
            assert m["leader"] == (o is lead)
            assert m["reachable"] is True
            assert m["self"] == (o is n)
            # Every member's version and levels come from its registration.
            assert m["version"] == st["version"]
            assert m["min_level"] == 1 and m["max_level"] == 1
            if o is n:
                assert m["term"] == st["term"] and m["applied_index"] == st["applied_index"]
            else:  # only the node itself knows these
                assert m["term"] is None
        # The table: a summary line, a header and one row per member, the leader marked.
        out = ok(cli(gw, n, "cluster", "status")).out.splitlines()
        assert out[0].startswith("node %d (" % n.node_id)
        assert out[1].split() == ["ID", "RAFT_ADDRESS", "ROLE", "LEADER", "TERM", "COMMIT",
                                  "APPLIED", "VERSION", "LEVELS", "REACHABLE"]
        assert out[-1] == "feature level 1 (this node supports up to 1)"
        rows = {r.split()[0]: r.split() for r in out[2:-1]}
        assert sorted(rows) == ["1", "2", "3"]
        assert rows[str(lead.node_id)][3] == "*"
        for row in rows.values():
            assert row[-3:] == [st["version"], "1-1", "yes"]
    serve_check(gw, "status")


def test_feature_level_and_finalize_upgrade(gw):
    """Every node registered at levels 1-1; finalize-upgrade (asked on a follower, where
    the proposal is forwarded) succeeds at the highest common level and every node shows
    it."""
    lead = leader_of(gw)
    follower = next(n for n in gw.nodes if n is not lead)
    for n in gw.nodes:
        st = registered_status(gw, n, [1, 2, 3])
        assert st["feature_level"] == 1 and st["feature_level_max"] == 1
        assert len(st["members"]) == 3
    r = ok(cli(gw, follower, "cluster", "finalize-upgrade"))
    assert r.out.strip() == "feature level 1", r
    j = ok(cli(gw, lead, "--json", "cluster", "finalize-upgrade")).json()
    assert j == {"feature_level": 1}
    for n in gw.nodes:
        assert status(gw, n)["feature_level"] == 1
    r = cli(gw, lead, "cluster", "finalize-upgrade", "extra")
    assert r.code == 2, r
    serve_check(gw, "finalize")


def test_usage_and_errors(gw):
    n = gw.nodes[0]
    for args in (["cluster", "add-node", "4"], ["cluster", "add-node", "x", "1.2.3.4:5"],
                 ["cluster", "add-node", "0", "1.2.3.4:5"], ["cluster", "remove-node"],
                 ["cluster", "remove-node", "-1"], ["cluster", "transfer-leader", "a"],
                 ["cluster", "status", "extra"], ["cluster", "frobnicate"]):
        r = cli(gw, n, *args)
        assert r.code == 2, (args, r)
    r = cli(gw, n, "cluster", "remove-node", "99")
    assert r.code == 1 and "NoSuchMember" in r.err, r
    r = cli(gw, n, "cluster", "add-node", "2", "127.0.0.99:1")
    assert r.code == 1 and "MemberExists" in r.err, r
    r = cli(gw, n, "cluster", "add-node", "9", "localhost:1")
    assert r.code == 1 and "InvalidRequest" in r.err, r
    # Raw API: malformed bodies and paths.
    for body in (b"[]", b"{", b'{"id": "4", "raft_address": "1.2.3.4:5"}',
                 b'{"id": 4}', b'{"id": 4, "raft_address": "1.2.3.4:5", "voter": 1}',
                 b'{"id": -4, "raft_address": "1.2.3.4:5"}',
                 b'{"id": 4, "raft_address": "1.2.3.4:5555555555555555555555"}'):
        st, _, resp = gw.request("POST", "/admin/v1/cluster/members", body=body)
        assert st == 400, (body, st, resp)
    st, _, _ = gw.request("DELETE", "/admin/v1/cluster/members/abc")
    assert st == 400
    st, _, _ = gw.request("POST", "/admin/v1/cluster/transfer", body=b'{"id": 0}')
    assert st == 400
    st, _, _ = gw.request("GET", "/admin/v1/cluster/members")
    assert st == 404
    st, _, _ = gw.request("GET", "/admin/v1/cluster", sign=False)
    assert st == 403
    serve_check(gw, "errors")


def test_transfer_leader(gw):
    lead = leader_of(gw)
    follower = next(n for n in gw.nodes if n is not lead)
    target = next(n for n in gw.nodes if n is not lead and n is not follower)
    # Asked on a follower: forwarded to the leader, which hands over to the target.
    r = ok(cli(gw, follower, "cluster", "transfer-leader", str(target.node_id)))
    assert "leadership transferred" in r.out
    assert leader_of(gw) is target
    for n in gw.nodes:
        assert status(gw, n)["leader_id"] == target.node_id
    serve_check(gw, "transfer1")
    # Without an id, on the leader itself: any up-to-date voter takes over.
    ok(cli(gw, target, "--json", "cluster", "transfer-leader"))
    assert leader_of(gw) is not target
    serve_check(gw, "transfer2")


def test_add_node_catches_up_by_snapshot_then_remove(gw):
    s3 = gw.boto3(endpoint=gw.nodes[1].endpoint)
    retry(lambda: s3.create_bucket(Bucket="clu-tags"))
    retry(lambda: s3.put_object(Bucket="clu-tags", Key="k", Body=b"x"))
    for i in range(120):  # > 64: the log is compacted past what a new node could replay
        retry(lambda: s3.put_object_tagging(
            Bucket="clu-tags", Key="k",
            Tagging={"TagSet": [{"Key": "round", "Value": str(i)}]}))
    lead = leader_of(gw)
    lead_applied = status(gw, lead)["applied_index"]
    assert lead_applied > 128

    new = start_joiner(gw, 4)
    # Until it holds the replica it knows no user at all, so it refuses admin requests.
    r = cli(gw, new, "cluster", "status")
    assert r.code == 1 and "InvalidAccessKeyId" in r.err, r
    follower = next(n for n in gw.nodes[:3] if n is not lead)
    r = ok(cli(gw, follower, "cluster", "add-node", "4", new.raft_addr))
    assert r.out.strip() == "node 4 added as voter (%s)" % new.raft_addr
    deadline = time.monotonic() + 30
    while True:
        r = cli(gw, new, "--json", "cluster", "status")
        if r.code == 0 and r.json()["applied_index"] >= lead_applied:
            break
        assert time.monotonic() < deadline, r
        time.sleep(0.2)
    assert re.search(r"snapshot at command index \d+ restored", new.log_text()), new.log_tail()
    new.wait_ready()
    for n in gw.nodes:
        members = {m["id"]: m for m in status(gw, n)["members"]}
        assert sorted(members) == [1, 2, 3, 4]
        assert members[4]["role"] == "voter" and members[4]["reachable"] is True
    # The new node serves what was written before it joined.
    tags = retry(lambda: gw.boto3(endpoint=new.endpoint).get_object_tagging(
        Bucket="clu-tags", Key="k"))["TagSet"]
    assert tags == [{"Key": "round", "Value": "119"}]
    serve_check(gw, "added")

    # Remove a node that is not the leader, asking the new node.
    lead = leader_of(gw)
    victim = next(n for n in gw.nodes[:3] if n is not lead)
    r = ok(cli(gw, new, "--json", "cluster", "remove-node", str(victim.node_id)))
    assert r.json() == {"removed": victim.node_id}
    for n in gw.nodes:
        if n is victim:
            continue
        deadline = time.monotonic() + 10
        while sorted(m["id"] for m in status(gw, n)["members"]) != sorted(
                o.node_id for o in gw.nodes if o is not victim):
            assert time.monotonic() < deadline
            time.sleep(0.2)
    assert victim.stop() == 0
    gw.nodes.remove(victim)
    leader_of(gw)
    serve_check(gw, "removed")
    r = cli(gw, new, "cluster", "remove-node", str(victim.node_id))
    assert r.code == 1 and "NoSuchMember" in r.err, r

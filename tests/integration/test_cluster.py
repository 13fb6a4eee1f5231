"""Three-node cluster: any node serves any request, DNS round-robin, node failure.

Three real unigw processes on 127.0.0.11, .12 and .13 (their own data directories, one shared
mount, Raft and RPC ports, one cluster key), driven by boto3 and awscli:

  * read-after-write across nodes: objects, HEAD, LIST, tags, policies, buckets;
  * DNS round-robin: a private /etc/hosts (mount namespace, `unshare -m`) makes gw.test
    resolve to the three addresses, every node listening on the same port; awscli and boto3
    go through that name, every node must have served requests and every byte is checked;
  * multipart across nodes: create, concurrent UploadPart on two other nodes, ListParts on
    each node, complete or abort on yet another node, md5 on the mount, no staged data left;
  * kill -9 of the leader during a write workload (tags, tiny parts, policies, buckets):
    time to a new leader, every acknowledged write present on every survivor, the killed
    node restarts on its data directory and catches up;
  * the leader cut off by nftables rules on its Raft and RPC ports: it refuses metadata
    writes with 503, the majority elects a leader and keeps accepting writes, after healing
    every node shows the same buckets, objects, tags and policies.

Leader, terms and indexes come from each node's /metrics (util.node_raft).
"""
import concurrent.futures
import hashlib
import json
import os
import subprocess
import threading
import time

import botocore.exceptions
import pytest

import util

GW_NODES = 3
NEW_LEADER_MAX_S = 8.0     # kill -9 / cut-off -> a new leader (election timeout is 1 s)
MINORITY_503_MAX_S = 20.0  # cut-off leader -> its metadata writes are refused


# ----------------------------------------------------------------------------------------------
# fixtures and helpers


def _start_cluster(base, common_port=False):
    c = util.Cluster(base, nodes=GW_NODES, common_port=common_port)
    for i, n in enumerate(c.nodes):
        n.gid = 41011 + i  # own group per node: Partition tells its sockets apart by it
    c.start()
    util.wait_leader(c)
    return c


@pytest.fixture(scope="module")
def cl(tmp_path_factory):
    """One cluster for the non-destructive tests (one S3 port shared by every node)."""
    c = _start_cluster(tmp_path_factory.mktemp("cl"), common_port=True)
    yield c
    c.stop()


@pytest.fixture
def cl_fresh(tmp_path):
    c = _start_cluster(tmp_path / "cl")
    yield c
    c.stop()


def clients(c, **cfg):
    """One boto3 client per node (index = node index)."""
    return [c.boto3(endpoint=n.endpoint, **cfg) for n in c.nodes]


def arn(bucket, key=None):
    return "arn:aws:s3:::%s%s" % (bucket, "" if key is None else "/" + key)


def policy_doc(bucket, sid):
    return json.dumps({"Version": "2012-10-17", "Statement": [{
        "Sid": sid, "Effect": "Allow", "Principal": {"AWS": "*"},
        "Action": "s3:GetObject", "Resource": arn(bucket, "public/*")}]})


def tags_of(s3, bucket, key):
    return {t["Key"]: t["Value"]
            for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}


def tagset(d):
    return {"TagSet": [{"Key": k, "Value": v} for k, v in sorted(d.items())]}


def policy_or_none(s3, bucket):
    try:
        return s3.get_bucket_policy(Bucket=bucket)["Policy"]
    except botocore.exceptions.ClientError as e:
        assert util.client_error(e) == ("NoSuchBucketPolicy", 404), e
        return None


def list_keys(s3, bucket):
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket):
        keys += [(o["Key"], o["Size"], o["ETag"]) for o in page.get("Contents", [])]
    return keys


def op_counts(node, ops):
    """Sum of unigw_http_requests_total over every status for each op of @ops."""
    m = util.node_metrics(node)
    out = dict.fromkeys(ops, 0)
    for name, v in m.items():
        if not name.startswith("unigw_http_requests_total{"):
            continue
        for op in ops:
            if 'op="%s"' % op in name:
                out[op] += int(v)
    return out


RETRYABLE = (botocore.exceptions.EndpointConnectionError,
             botocore.exceptions.ConnectionClosedError,
             botocore.exceptions.ReadTimeoutError,
             botocore.exceptions.ConnectTimeoutError)


# ----------------------------------------------------------------------------------------------
# 1. read-after-write across nodes


def test_read_after_write_across_nodes(cl):
    s3 = clients(cl)
    for a in range(GW_NODES):
        b, c = (a + 1) % GW_NODES, (a + 2) % GW_NODES
        bucket = util.unique_bucket("raw")
        s3[b].create_bucket(Bucket=bucket)
        s3[c].head_bucket(Bucket=bucket)          # CreateBucket on B -> HeadBucket on C
        assert bucket in [x["Name"] for x in s3[a].list_buckets()["Buckets"]]

        data = os.urandom(4096 + a)
        etag = '"%s"' % util.md5_hex(data)
        r = s3[a].put_object(Bucket=bucket, Key="dir/obj", Body=data,
                             Metadata={"from": "node-%d" % (a + 1)})
        assert r["ETag"] == etag
        for o in (b, c):
            got = s3[o].get_object(Bucket=bucket, Key="dir/obj")
            assert got["Body"].read() == data
            assert got["ETag"] == etag
            h = s3[o].head_object(Bucket=bucket, Key="dir/obj")
            assert h["ContentLength"] == len(data) and h["ETag"] == etag
            assert h["Metadata"] == {"from": "node-%d" % (a + 1)}
            assert list_keys(s3[o], bucket) == [("dir/obj", len(data), etag)]
            lst = s3[o].list_objects_v2(Bucket=bucket, Delimiter="/")
            assert [p["Prefix"] for p in lst.get("CommonPrefixes", [])] == ["dir/"]

        tags = {"node": str(a + 1), "k": "v-%d" % a}
        s3[a].put_object_tagging(Bucket=bucket, Key="dir/obj", Tagging=tagset(tags))
        assert tags_of(s3[b], bucket, "dir/obj") == tags   # tagging on A -> B

        doc = policy_doc(bucket, "sid%d" % a)
        s3[a].put_bucket_policy(Bucket=bucket, Policy=doc)
        assert s3[c].get_bucket_policy(Bucket=bucket)["Policy"] == doc  # policy A -> C

        # and removals travel too
        s3[b].delete_bucket_policy(Bucket=bucket)
        assert policy_or_none(s3[a], bucket) is None
        s3[c].delete_object_tagging(Bucket=bucket, Key="dir/obj")
        assert tags_of(s3[a], bucket, "dir/obj") == {}
        s3[b].delete_object(Bucket=bucket, Key="dir/obj")
        for o in (a, c):
            with pytest.raises(botocore.exceptions.ClientError) as ei:
                s3[o].head_object(Bucket=bucket, Key="dir/obj")
            assert util.client_error(ei.value)[1] == 404
        s3[c].delete_bucket(Bucket=bucket)
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            s3[a].head_bucket(Bucket=bucket)
        assert util.client_error(ei.value)[1] == 404


# ----------------------------------------------------------------------------------------------
# 2. DNS round-robin through a private /etc/hosts


DNS_NAME = "gw.test"

BOTO3_RR = r'''
import hashlib, json, sys
import boto3
from botocore.config import Config

endpoint, bucket, hosts, rotations, count = sys.argv[1:6]
rotations = json.loads(rotations)
count = int(count)


def rotate(r):
    # the bind-mounted file is rewritten in place (same inode): glibc re-reads it per lookup
    with open(hosts, "w") as f:
        f.write("127.0.0.1 localhost\n")
        for addr in rotations[r]:
            f.write("%s gw.test\n" % addr)


cfg = Config(s3={"addressing_style": "path"}, retries={"total_max_attempts": 1},
             connect_timeout=10, read_timeout=60)
clients = []
for r in range(len(rotations)):
    rotate(r)
    c = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1", config=cfg)
    c.head_bucket(Bucket=bucket)  # connects now, to the first address of this order
    clients.append(c)
bad = []
for i in range(count):
    data = hashlib.sha256(b"rr-%d" % i).digest() * (1 + i)
    w = clients[i % len(clients)]
    rd = clients[(i + 1) % len(clients)]
    key = "boto3/obj-%03d" % i
    etag = w.put_object(Bucket=bucket, Key=key, Body=data)["ETag"]
    if etag != '"%s"' % hashlib.md5(data).hexdigest():
        bad.append("etag %s %s" % (key, etag))
    got = rd.get_object(Bucket=bucket, Key=key)["Body"].read()
    if got != data:
        bad.append("bytes %s" % key)
keys = [o["Key"] for o in clients[2 % len(clients)].list_objects_v2(
    Bucket=bucket, Prefix="boto3/")["Contents"]]
if keys != ["boto3/obj-%03d" % i for i in range(count)]:
    bad.append("list %r" % keys)
print(json.dumps({"bad": bad}))
'''

NS_WRAP = 'mount --bind "$1" /etc/hosts && shift && exec "$@"'


def _ns_run(hosts, argv, env, timeout=120):
    return util.run(["unshare", "-m", "sh", "-c", NS_WRAP, "sh", hosts] + argv, env=env,
                    timeout=timeout)


def _write_hosts(path, addrs):
    with open(path, "w") as f:
        f.write("127.0.0.1 localhost\n")
        for a in addrs:
            f.write("%s %s\n" % (a, DNS_NAME))


def test_dns_round_robin_awscli_boto3(cl, tmp_path):
    probe = subprocess.run(["unshare", "-m", "sh", "-c",
                            "mount --bind /dev/null /etc/hostname && true"],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if probe.returncode != 0:
        pytest.skip("unshare -m / mount --bind not permitted: %s"
                    % probe.stderr.decode(errors="replace").strip())
    port = cl.nodes[0].port
    assert all(n.port == port for n in cl.nodes)
    addrs = [n.addr for n in cl.nodes]
    # One order per resolver answer, as a round-robin DNS server hands them out.
    rotations = [addrs[r:] + addrs[:r] for r in range(len(addrs))]
    endpoint = "http://%s:%d" % (DNS_NAME, port)
    bucket = util.unique_bucket("dns")
    env = cl.client_env()
    ops = ("PutObject", "GetObject", "ListObjectsV2", "CreateBucket", "HeadBucket")
    before = [op_counts(n, ops) for n in cl.nodes]

    # awscli: one process per resolver order; each uploads a directory, lists it and
    # downloads it again, all through gw.test.
    src = tmp_path / "src"
    src.mkdir()
    files = {}
    for i in range(6):
        data = os.urandom(1000 + 37 * i)
        (src / ("f%d.bin" % i)).write_bytes(data)
        files["f%d.bin" % i] = data
    for r, order in enumerate(rotations):
        hosts = str(tmp_path / ("hosts-%d" % r))
        _write_hosts(hosts, order)
        aws = [util.AWS_CLI, "--endpoint-url", endpoint]
        if r == 0:
            _ns_run(hosts, aws + ["s3", "mb", "s3://%s" % bucket], env)
        # download what the previous order's process uploaded (through another node)
        frm = r - 1 if r > 0 else 0
        sh = ("set -e; aws=\"$1\"; ep=\"$2\"; "
              "\"$aws\" --endpoint-url \"$ep\" s3 cp --recursive --quiet \"$3\" \"$4\"; "
              "\"$aws\" --endpoint-url \"$ep\" s3 ls \"$4\"; "
              "\"$aws\" --endpoint-url \"$ep\" s3 cp --recursive --quiet \"$5\" \"$6\"")
        args = [util.AWS_CLI, endpoint, str(src), "s3://%s/cli%d/" % (bucket, r),
                "s3://%s/cli%d/" % (bucket, frm), str(tmp_path / ("dst%d" % r))]
        p = _ns_run(hosts, ["sh", "-c", sh, "sh"] + args, env)
        listed = p.stdout.decode()
        for name in files:
            assert name in listed, listed
    for r in range(len(rotations)):
        for name, data in files.items():
            assert (tmp_path / ("dst%d" % r) / name).read_bytes() == data, (r, name)
    mid = [op_counts(n, ops) for n in cl.nodes]
    served = [mid[i]["PutObject"] - before[i]["PutObject"] for i in range(len(cl.nodes))]
    assert all(s > 0 for s in served), "awscli PutObject per node: %r" % served

    # boto3: 60 PUT + 60 GET through gw.test, writer and reader on different nodes.
    count = 60
    hosts = str(tmp_path / "hosts-boto3")
    _write_hosts(hosts, rotations[0])
    script = tmp_path / "rr.py"
    script.write_text(BOTO3_RR)
    p = _ns_run(hosts, [util.PYTHON, str(script), endpoint, bucket, hosts,
                        json.dumps(rotations), str(count)], env)
    out = json.loads(p.stdout.decode().strip().splitlines()[-1])
    assert out["bad"] == []
    after = [op_counts(n, ops) for n in cl.nodes]
    puts = [after[i]["PutObject"] - mid[i]["PutObject"] for i in range(len(cl.nodes))]
    gets = [after[i]["GetObject"] - mid[i]["GetObject"] for i in range(len(cl.nodes))]
    print("DNS round-robin: awscli PutObject per node %r; boto3 PutObject %r GetObject %r"
          % (served, puts, gets))
    assert sum(puts) >= count and sum(gets) >= count
    assert all(x > 0 for x in puts), "boto3 PutObject per node: %r" % puts
    assert all(x > 0 for x in gets), "boto3 GetObject per node: %r" % gets

    # every result checked again from every node, outside the name
    s3 = clients(cl)
    for i in range(0, count, 7):
        data = hashlib.sha256(b"rr-%d" % i).digest() * (1 + i)
        for c in s3:
            assert c.get_object(Bucket=bucket, Key="boto3/obj-%03d" % i)["Body"].read() == data
    for c in s3:
        keys = [k for k, _, _ in list_keys(c, bucket)]
        assert len(keys) == count + 3 * len(files)


# ----------------------------------------------------------------------------------------------
# 3. multipart across nodes


PART = 5 * 1024 * 1024


def _staged(mount):
    out = set()
    root = os.path.join(mount, ".unigw", "multipart")
    for d, _, fs in os.walk(root):
        for f in fs:
            out.add(os.path.join(d, f))
    return out


def _upload_part_after_create(s3, node, late, **kw):
    """UploadPart on @node; a NoSuchUpload for an upload another node just acknowledged is a
    read-after-write violation: recorded in @late, retried (bounded) so the rest of the test
    still runs."""
    t0 = time.monotonic()
    while True:
        try:
            return s3[node].upload_part(**kw)
        except botocore.exceptions.ClientError as e:
            if util.client_error(e)[0] != "NoSuchUpload" or time.monotonic() - t0 > 10:
                raise
        late.append("UploadPart(%d) on node %d: NoSuchUpload (retrying for %.2f s)"
                    % (kw["PartNumber"], node + 1, time.monotonic() - t0))
        time.sleep(0.05)


def test_multipart_across_nodes(cl):
    s3 = clients(cl)
    # created on the leader, parts at once on both followers: the hardest case for them
    a = util.wait_leader(cl)
    b, c = [i for i in range(GW_NODES) if i != a]
    late = []
    bucket = util.unique_bucket("mpx")
    s3[a].create_bucket(Bucket=bucket)
    parts = {n: os.urandom(PART) if n < 5 else os.urandom(12345) for n in range(1, 6)}
    up = s3[a].create_multipart_upload(Bucket=bucket, Key="big/obj")["UploadId"]

    def upload(n):
        node = b if n % 2 else c   # odd parts on B, even parts on C, all at once
        r = _upload_part_after_create(s3, node, late, Bucket=bucket, Key="big/obj",
                                      UploadId=up, PartNumber=n, Body=parts[n])
        return n, r["ETag"]
    with concurrent.futures.ThreadPoolExecutor(len(parts)) as ex:
        etags = dict(ex.map(upload, sorted(parts)))
    for n, e in etags.items():
        assert e == '"%s"' % util.md5_hex(parts[n])
    for node in (a, b, c):
        lp = s3[node].list_parts(Bucket=bucket, Key="big/obj", UploadId=up)["Parts"]
        assert [(p["PartNumber"], p["ETag"], p["Size"]) for p in lp] == \
            [(n, etags[n], len(parts[n])) for n in sorted(parts)], "ListParts on node %d" % node
        ups = s3[node].list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        assert [(u["Key"], u["UploadId"]) for u in ups] == [("big/obj", up)]
    # complete on C (neither the creator nor the node of the odd parts)
    r = s3[c].complete_multipart_upload(
        Bucket=bucket, Key="big/obj", UploadId=up,
        MultipartUpload={"Parts": [{"PartNumber": n, "ETag": etags[n]} for n in sorted(parts)]})
    whole = b"".join(parts[n] for n in sorted(parts))
    md5s = b"".join(hashlib.md5(parts[n]).digest() for n in sorted(parts))
    assert r["ETag"] == '"%s-%d"' % (hashlib.md5(md5s).hexdigest(), len(parts))
    assert util.file_md5(os.path.join(cl.mount, bucket, "big", "obj")) == util.md5_hex(whole)
    for node in (a, b):
        h = s3[node].head_object(Bucket=bucket, Key="big/obj")
        assert h["ContentLength"] == len(whole) and h["ETag"] == r["ETag"]
        assert s3[node].list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    got = s3[a].get_object(Bucket=bucket, Key="big/obj", Range="bytes=%d-%d"
                           % (PART - 10, PART + 9))["Body"].read()
    assert got == whole[PART - 10:PART + 10]

    # abort: created on B, parts on C and A, aborted on A; nothing staged is left
    before = _staged(cl.mount)
    up2 = s3[b].create_multipart_upload(Bucket=bucket, Key="gone")["UploadId"]
    for n, node in ((1, c), (2, a), (3, c)):
        _upload_part_after_create(s3, node, late, Bucket=bucket, Key="gone", UploadId=up2,
                                  PartNumber=n, Body=b"x" * (1000 * n))
    assert len(s3[b].list_parts(Bucket=bucket, Key="gone", UploadId=up2)["Parts"]) == 3
    assert _staged(cl.mount) - before, "no staged part files under .unigw/multipart"
    s3[a].abort_multipart_upload(Bucket=bucket, Key="gone", UploadId=up2)
    for node in (a, b, c):
        with pytest.raises(botocore.exceptions.ClientError) as ei:
            s3[node].list_parts(Bucket=bucket, Key="gone", UploadId=up2)
        assert util.client_error(ei.value) == ("NoSuchUpload", 404)
        assert s3[node].list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    deadline = time.monotonic() + 5
    while _staged(cl.mount) - before and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not (_staged(cl.mount) - before), sorted(_staged(cl.mount) - before)
    mp = os.path.join(cl.mount, ".unigw", "multipart")
    assert not os.path.isdir(mp) or not [p for p in os.listdir(mp) if up2 in p]
    assert not os.path.exists(os.path.join(cl.mount, bucket, "gone"))
    # checked last so that everything above ran: parts refused for an acknowledged upload
    assert not late, "UploadPart not read-after-write consistent across nodes: %r" % late


# ----------------------------------------------------------------------------------------------
# 4. kill -9 the leader during a metadata write workload


class Workload:
    """Threads writing metadata through every node, retrying an unacknowledged write (503,
    connection errors) on the next node until it is acknowledged; each acknowledgement is
    recorded with its time."""

    def __init__(self, cl, bucket, upload_id):
        self.cl = cl
        self.bucket = bucket
        self.upload_id = upload_id
        self.s3 = clients(cl, connect_timeout=2, read_timeout=15)
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.acks = []            # (time acknowledged, kind, time first sent)
        self.local = threading.local()
        self.tags = {}            # key -> last acknowledged value
        self.parts = {}           # part number -> etag
        self.policies = {}        # bucket -> last acknowledged policy
        self.buckets = []         # acknowledged CreateBucket
        self.retries = 0
        self.errors = []          # unexpected answers
        self.threads = []

    def call(self, start, fn, accept=()):
        """fn(client) on node start, start+1, ... until it succeeds; returns its result, or
        None when one of the error codes @accept comes back (the write was applied by an
        earlier attempt whose answer was lost)."""
        i = start
        self.local.t0 = time.monotonic()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            s3 = self.s3[i % len(self.s3)]
            try:
                return fn(s3)
            except RETRYABLE:
                pass
            except botocore.exceptions.ClientError as e:
                code, status = util.client_error(e)
                if code in accept:
                    return None
                if status != 503:
                    with self.lock:
                        self.errors.append("%s %s" % (code, status))
            with self.lock:
                self.retries += 1
            i += 1
            time.sleep(0.05)
        raise AssertionError("a write was not acknowledged within 60 s")

    def ack(self, kind):
        with self.lock:
            self.acks.append((time.monotonic(), kind, self.local.t0))

    def tagger(self, w):
        i = 0
        while not self.stop.is_set():
            # Each writer has its own keys: for one key the writes are then sequential,
            # and the last acknowledged value must be the final one.  (Two writers on one
            # key issue overlapping writes, which linearizability may order either way:
            # a write acknowledged by a lagging follower can be older than one acknowledged
            # earlier by another node.)
            key = "obj-%d-%d" % (w, i % 4)
            val = "w%d-%d" % (w, i)
            self.call(i + w, lambda s3: s3.put_object_tagging(
                Bucket=self.bucket, Key=key, Tagging=tagset({"seq": val})))
            with self.lock:
                self.tags[key] = val
            self.ack("tag")
            i += 1

    def parter(self):
        n = 1
        while not self.stop.is_set() and n <= 10000:
            body = b"part %d\n" % n
            r = self.call(n, lambda s3: s3.upload_part(
                Bucket=self.bucket, Key="mpu", UploadId=self.upload_id, PartNumber=n,
                Body=body))
            with self.lock:
                self.parts[n] = r["ETag"]
            self.ack("part")
            n += 1

    def policer(self):
        i = 0
        while not self.stop.is_set():
            b = "%s-p%d" % (self.bucket, i % 2)
            doc = policy_doc(b, "s%d" % i)
            self.call(i, lambda s3: s3.put_bucket_policy(Bucket=b, Policy=doc))
            with self.lock:
                self.policies[b] = doc
            self.ack("policy")
            i += 1

    def creator(self):
        i = 0
        while not self.stop.is_set():
            b = "%s-c%d" % (self.bucket, i)
            self.call(i, lambda s3: s3.create_bucket(Bucket=b),
                      accept=("BucketAlreadyOwnedByYou",))
            with self.lock:
                self.buckets.append(b)
            self.ack("bucket")
            i += 1

    def start(self):
        fns = [lambda: self.tagger(0), lambda: self.tagger(1), self.parter, self.policer,
               self.creator]
        for f in fns:
            t = threading.Thread(target=self._guard, args=(f,), daemon=True)
            t.start()
            self.threads.append(t)

    def _guard(self, f):
        try:
            f()
        except Exception as e:  # noqa: BLE001 - reported by finish()
            with self.lock:
                self.errors.append("thread died: %r" % e)

    def finish(self):
        self.stop.set()
        for t in self.threads:
            t.join(90)
            assert not t.is_alive(), "a workload thread hangs"

    def verify(self, s3, who):
        b = self.bucket
        for key, val in self.tags.items():
            assert tags_of(s3, b, key) == {"seq": val}, (who, key)
        lp = s3.list_parts(Bucket=b, Key="mpu", UploadId=self.upload_id, MaxParts=1000)
        got = {p["PartNumber"]: p["ETag"] for p in lp["Parts"]}
        for n, e in self.parts.items():
            assert got.get(n) == e, (who, "part", n, got.get(n), e)
        for pb, doc in self.policies.items():
            assert s3.get_bucket_policy(Bucket=pb)["Policy"] == doc, (who, pb)
        names = {x["Name"] for x in s3.list_buckets()["Buckets"]}
        missing = [x for x in self.buckets if x not in names]
        assert not missing, (who, "buckets missing", missing)


def _applied(c, i):
    r = util.node_raft(c.nodes[i])
    return None if r is None else r[3]


def test_kill9_leader_during_writes(cl_fresh):
    c = cl_fresh
    s3 = clients(c)
    bucket = util.unique_bucket("kill")
    s3[0].create_bucket(Bucket=bucket)
    for i in range(4):
        s3[0].put_object(Bucket=bucket, Key="obj-%d" % i, Body=b"o%d" % i)
        for w in range(2):  # the taggers' objects
            s3[0].put_object(Bucket=bucket, Key="obj-%d-%d" % (w, i), Body=b"o%d" % i)
    for i in range(2):
        s3[0].create_bucket(Bucket="%s-p%d" % (bucket, i))
    up = s3[0].create_multipart_upload(Bucket=bucket, Key="mpu")["UploadId"]

    w = Workload(c, bucket, up)
    w.start()
    time.sleep(2.0)
    lead = util.leader_index(c)
    assert lead is not None
    n_before = len(w.acks)
    assert n_before > 0, "no write acknowledged before the kill: %r" % w.errors
    t_kill = time.monotonic()
    util.kill9(c.nodes[lead])
    others = [i for i in range(len(c.nodes)) if i != lead]
    new = util.wait_leader(c, timeout=NEW_LEADER_MAX_S + 5, among=others)
    t_elected = time.monotonic() - t_kill
    time.sleep(2.5)
    w.finish()
    # writes first sent after the kill: they need the new leader
    after = [t for t, _, t0 in w.acks if t0 > t_kill]
    first_write = (min(after) - t_kill) if after else None
    kinds = {k: sum(1 for _, x, _ in w.acks if x == k) for k in ("tag", "part", "policy",
                                                                  "bucket")}
    print("kill -9 leader node %d: new leader node %d after %.2f s; first write sent after "
          "the kill acknowledged %.2f s after it; %d writes acknowledged (%r), %d retries"
          % (lead + 1, new + 1, t_elected, first_write if first_write is not None else -1,
             len(w.acks), kinds, w.retries))
    assert not w.errors, w.errors
    assert t_elected < NEW_LEADER_MAX_S
    assert after, "no write acknowledged after the kill"
    assert all(kinds.values()), kinds

    for i in others:
        w.verify(s3[i], "node %d" % (i + 1))

    # the killed node comes back on its data directory and catches up
    util.restart(c.nodes[lead])
    lead_now = util.wait_leader(c)
    target = _applied(c, lead_now)
    util.wait_applied(c, lead, target, timeout=30)
    w.verify(c.boto3(endpoint=c.nodes[lead].endpoint), "restarted node %d" % (lead + 1))
    # and it takes writes again, seen by the others
    s3[lead].put_object_tagging(Bucket=bucket, Key="obj-0", Tagging=tagset({"seq": "back"}))
    for i in others:
        assert tags_of(s3[i], bucket, "obj-0") == {"seq": "back"}


# ----------------------------------------------------------------------------------------------
# 5. the leader cut off from the others


def _store(s3):
    """Everything S3 shows about metadata: buckets, their policies, objects and tags."""
    out = {}
    for b in sorted(x["Name"] for x in s3.list_buckets()["Buckets"]):
        objs = {}
        for key, size, etag in list_keys(s3, b):
            objs[key] = (size, etag, tuple(sorted(tags_of(s3, b, key).items())))
        out[b] = (policy_or_none(s3, b), objs)
    return out


def test_leader_cut_off(cl_fresh):
    why = util.Partition.usable()
    if why:
        pytest.skip(why)
    c = cl_fresh
    s3 = clients(c, connect_timeout=3, read_timeout=25)
    bucket = util.unique_bucket("cut")
    s3[0].create_bucket(Bucket=bucket)
    for k in ("x", "y"):
        s3[0].put_object(Bucket=bucket, Key=k, Body=b"data " + k.encode())
    old = util.wait_leader(c)
    others = [i for i in range(len(c.nodes)) if i != old]
    part = util.Partition(c, old)
    try:
        part.cut()
        t_cut = time.monotonic()

        # the majority elects one of its own and keeps working
        new = util.wait_leader(c, timeout=NEW_LEADER_MAX_S + 5, among=others)
        t_new = time.monotonic() - t_cut
        for j, i in enumerate(others):
            nb = "%s-maj%d" % (bucket, j)
            s3[i].create_bucket(Bucket=nb)
            s3[i].put_bucket_policy(Bucket=nb, Policy=policy_doc(nb, "maj%d" % j))
        s3[others[0]].put_object_tagging(Bucket=bucket, Key="x",
                                         Tagging=tagset({"side": "majority"}))
        s3[others[1]].put_object(Bucket=bucket, Key="z", Body=b"written during the cut")

        # the minority (the old leader) refuses metadata writes with 503
        deadline = t_cut + MINORITY_503_MAX_S
        seen = []
        while True:
            try:
                s3[old].put_object_tagging(Bucket=bucket, Key="y",
                                           Tagging=tagset({"side": "minority"}))
                seen.append(200)
            except botocore.exceptions.ClientError as e:
                seen.append(util.client_error(e))
                if util.client_error(e)[1] == 503:
                    break
            except RETRYABLE as e:
                seen.append(type(e).__name__)
            assert 200 not in seen, "the cut-off node acknowledged a write: %r" % seen
            assert time.monotonic() < deadline, "no 503 from the cut-off node: %r" % seen
            time.sleep(0.2)
        t_refused = time.monotonic() - t_cut
        for fn in (lambda: s3[old].create_bucket(Bucket=bucket + "-min"),
                   lambda: s3[old].put_bucket_policy(Bucket=bucket,
                                                     Policy=policy_doc(bucket, "min"))):
            with pytest.raises(botocore.exceptions.ClientError) as ei:
                fn()
            assert util.client_error(ei.value)[1] == 503, ei.value.response
            assert ei.value.response["ResponseMetadata"]["HTTPHeaders"].get("retry-after")
        # the majority still works while the minority refuses
        s3[new].put_object_tagging(Bucket=bucket, Key="z", Tagging=tagset({"late": "1"}))
        print("cut off leader node %d: majority leader node %d after %.2f s; the cut-off node "
              "answered 503 after %.2f s (answers before: %r)"
              % (old + 1, new + 1, t_new, t_refused, seen[:-1]))
        assert t_new < NEW_LEADER_MAX_S
    finally:
        part.heal()

    # healed: the old leader follows, applies everything, all stores agree
    lead = util.wait_leader(c, timeout=20)
    target = _applied(c, lead)
    for i in range(len(c.nodes)):
        util.wait_applied(c, i, target, timeout=30)
    fresh = clients(c)
    stores = [_store(x) for x in fresh]
    assert stores[0] == stores[1] == stores[2]
    st = stores[0]
    assert bucket + "-min" not in st
    assert dict(st[bucket][1]["x"][2]) == {"side": "majority"}
    assert dict(st[bucket][1]["y"][2]) == {}, "the refused minority write is visible"
    assert dict(st[bucket][1]["z"][2]) == {"late": "1"}
    assert st[bucket][0] is None
    for j in range(2):
        assert st["%s-maj%d" % (bucket, j)][0] == policy_doc("%s-maj%d" % (bucket, j),
                                                             "maj%d" % j)
    # and the healed node takes writes again
    s3[old].put_object_tagging(Bucket=bucket, Key="y", Tagging=tagset({"side": "healed"}))
    for i in others:
        assert tags_of(fresh[i], bucket, "y") == {"side": "healed"}

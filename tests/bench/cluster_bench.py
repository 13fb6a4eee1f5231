"""Metadata write benchmark of unigw: one node against the three-node Raft cluster.

  cluster_bench.py UNIGW_BINARY

Same machine, same run, same binary (the release build, build/unigw):
  1. PutObjectTagging from 32 concurrent clients (each its own object, keep-alive
     connections, hand-signed SigV4 so that the client stays cheap) for
     UNIGW_BENCH_META_SECONDS (8) after a 1 s warm-up: throughput, latency p50/p99 —
     on a single node (a one-voter Raft cluster) and on three nodes on 127.0.0.11-13
     (clients spread over the nodes as DNS round-robin would, so two thirds of the writes
     are forwarded by a follower to the leader);
  2. kill -9 of the leader while 6 clients write tags through every node: the time from the
     kill to the first acknowledged write sent after the kill (it needs a new leader), and
     to the new leader known on both survivors; UNIGW_BENCH_KILLS (3) runs, the node
     restarted on its data directory between runs.

Every answer is checked (a non-200 fails the run, except 503 and connection errors right
after the kill, which are retried on the next node).  Nodes are started with the
integration harness (tests/integration/util.py) under a temp dir that is removed at the end.
Prints a small table on stdout; progress on stderr.  Bounded to about a minute.
"""
import base64
import hashlib
import http.client
import multiprocessing
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
import util  # noqa: E402

CLIENTS = 32
PROCS = 4                      # client processes (8 threads each): the GIL is no bottleneck
SECONDS = float(os.environ.get("UNIGW_BENCH_META_SECONDS", "8"))
WARMUP = 1.0
KILLS = int(os.environ.get("UNIGW_BENCH_KILLS", "3"))
BUCKET = "metabench"


def log(msg):
    print("cluster-bench: " + msg, file=sys.stderr, flush=True)


class Writer:
    """One keep-alive connection to one node sending signed PutObjectTagging requests."""

    def __init__(self, addr, port, access, secret, key):
        self.addr, self.port = addr, port
        self.access, self.secret = access, secret
        self.path = util.key_path(BUCKET, key)
        self.conn = None

    def put_tag(self, value, timeout=10):
        body = ('<Tagging><TagSet><Tag><Key>v</Key><Value>%s</Value></Tag></TagSet></Tagging>'
                % value).encode()
        hdrs = {"Content-MD5": base64.b64encode(hashlib.md5(body).digest()).decode(),
                "Content-Length": str(len(body))}
        hdrs = util.sigv4_headers("PUT", "%s:%d" % (self.addr, self.port), self.path,
                                  [("tagging", "")], hdrs, hashlib.sha256(body).hexdigest(),
                                  self.access, self.secret)
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.addr, self.port, timeout=timeout)
        try:
            self.conn.request("PUT", self.path + "?tagging=", body, hdrs)
            resp = self.conn.getresponse()
            data = resp.read()
        except (OSError, http.client.HTTPException):
            self.close()
            raise
        if resp.getheader("connection", "").lower() == "close":
            self.close()
        return resp.status, data

    def close(self):
        if self.conn is not None:
            self.conn.close()
            self.conn = None


def _client_proc(args):
    """A process of 8 client threads; returns (latencies in s during the window, errors)."""
    targets, access, secret, t_start, t_end = args
    lat, errs = [], []
    lock = threading.Lock()

    def run(addr, port, key):
        w = Writer(addr, port, access, secret, key)
        mine = []
        i = 0
        while True:
            t0 = time.time()
            if t0 >= t_end:
                break
            try:
                st, data = w.put_tag("x%d" % i)
            except (OSError, http.client.HTTPException) as e:
                with lock:
                    errs.append(repr(e))
                continue
            t1 = time.time()
            i += 1
            if st != 200:
                with lock:
                    errs.append("%d %r" % (st, data[:200]))
            elif t0 >= t_start:
                mine.append(t1 - t0)
        w.close()
        with lock:
            lat.extend(mine)
    threads = [threading.Thread(target=run, args=t) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return lat, errs[:20]


def pct(values, p):
    v = sorted(values)
    return v[min(len(v) - 1, int(round(p / 100.0 * (len(v) - 1))))]


def measure_writes(c):
    """PutObjectTagging from CLIENTS clients over every node: (req/s, p50 ms, p99 ms)."""
    s3 = c.boto3()
    s3.create_bucket(Bucket=BUCKET)
    keys = ["obj-%02d" % i for i in range(CLIENTS)]
    for k in keys:
        s3.put_object(Bucket=BUCKET, Key=k, Body=k.encode())
    targets = [(c.nodes[i % len(c.nodes)].addr, c.nodes[i % len(c.nodes)].port, k)
               for i, k in enumerate(keys)]
    t_start = time.time() + 1.0 + WARMUP
    t_end = t_start + SECONDS
    jobs = [(targets[p::PROCS], c.access_key, c.secret_key, t_start, t_end)
            for p in range(PROCS)]
    with multiprocessing.Pool(PROCS) as pool:
        res = pool.map(_client_proc, jobs)
    lat = [x for r in res for x in r[0]]
    errs = [x for r in res for x in r[1]]
    if errs:
        raise SystemExit("cluster-bench: failed writes: %r" % errs[:5])
    if not lat:
        raise SystemExit("cluster-bench: no write completed")
    # every client's last tag is there, read back through another node
    other = c.boto3(endpoint=c.nodes[-1].endpoint)
    for k in keys[:4]:
        ts = other.get_object_tagging(Bucket=BUCKET, Key=k)["TagSet"]
        if len(ts) != 1 or ts[0]["Key"] != "v":
            raise SystemExit("cluster-bench: tags of %s: %r" % (k, ts))
    return len(lat) / SECONDS, pct(lat, 50) * 1000, pct(lat, 99) * 1000


def measure_failover(c):
    """Kill -9 the leader under 6 writers; (s to first write sent after the kill acknowledged,
    s to a new leader known by both survivors)."""
    stop = threading.Event()
    acks = []
    lock = threading.Lock()

    def writer(j):
        ws = [Writer(n.addr, n.port, c.access_key, c.secret_key, "obj-%02d" % j)
              for n in c.nodes]
        i = j
        while not stop.is_set():
            t0 = time.monotonic()
            w = ws[i % len(ws)]
            i += 1
            try:
                st, data = w.put_tag("f%d" % i, timeout=5)
            except (OSError, http.client.HTTPException):
                time.sleep(0.01)
                continue
            if st == 200:
                with lock:
                    acks.append((t0, time.monotonic()))
            elif st == 503:
                time.sleep(0.01)
            else:
                raise SystemExit("cluster-bench: write answered %d %r" % (st, data[:200]))
        for w in ws:
            w.close()
    threads = [threading.Thread(target=writer, args=(j,), daemon=True) for j in range(6)]
    for t in threads:
        t.start()
    time.sleep(1.0)
    lead = util.leader_index(c)
    t_kill = time.monotonic()
    util.kill9(c.nodes[lead])
    others = [i for i in range(len(c.nodes)) if i != lead]
    util.wait_leader(c, timeout=20, among=others)
    t_leader = time.monotonic() - t_kill
    deadline = time.monotonic() + 20
    first = None
    while first is None and time.monotonic() < deadline:
        with lock:
            after = [t1 for t0, t1 in acks if t0 > t_kill]
        first = min(after) - t_kill if after else None
        time.sleep(0.05)
    time.sleep(0.5)
    stop.set()
    for t in threads:
        t.join(15)
    if first is None:
        raise SystemExit("cluster-bench: no write acknowledged within 20 s of the kill")
    util.restart(c.nodes[lead])
    util.wait_leader(c)
    return first, t_leader


def main():
    if len(sys.argv) != 2:
        raise SystemExit(__doc__)
    os.environ["UNIGW_BIN"] = os.path.abspath(sys.argv[1])
    util.unigw_bin()
    base = tempfile.mkdtemp(prefix="unigw-cluster-bench-",
                            dir=os.environ.get("UNIGW_BENCH_TMP", "/tmp"))
    args = ("--log-level", "warn")
    rows = []
    try:
        for n in (1, 3):
            c = util.Cluster(os.path.join(base, "n%d" % n), nodes=n, extra_args=args)
            c.start()
            try:
                util.wait_leader(c)
                log("%d node(s): PutObjectTagging, %d clients, %.0f s" % (n, CLIENTS, SECONDS))
                rps, p50, p99 = measure_writes(c)
                rows.append((n, rps, p50, p99))
                log("  %.0f req/s, p50 %.2f ms, p99 %.2f ms" % (rps, p50, p99))
                if n == 3:
                    fo = []
                    for k in range(KILLS):
                        first, lead = measure_failover(c)
                        fo.append((first, lead))
                        log("  kill -9 leader #%d: new leader %.2f s, first write %.2f s"
                            % (k + 1, lead, first))
            finally:
                c.stop(check=False)
    finally:
        shutil.rmtree(base, ignore_errors=True)

    print()
    print("metadata writes: PutObjectTagging, %d clients, keep-alive, %.0f s, %d cores, "
          "election timeout 1 s, heartbeat 100 ms" % (CLIENTS, SECONDS, os.cpu_count()))
    print("%-26s %12s %12s %12s" % ("setup", "req/s", "p50 ms", "p99 ms"))
    for n, rps, p50, p99 in rows:
        print("%-26s %12.0f %12.2f %12.2f" % ("1 node" if n == 1 else "%d nodes (Raft)" % n,
                                             rps, p50, p99))
    if len(rows) == 2 and rows[0][1] > 0:
        print("%-26s %12.2f" % ("3 nodes / 1 node, req/s", rows[1][1] / rows[0][1]))
    firsts = [f for f, _ in fo]
    leads = [x for _, x in fo]
    print("kill -9 of the leader (%d runs): new leader known %s s (median %.2f); first "
          "write sent after the kill acknowledged %s s (median %.2f)"
          % (len(fo), ", ".join("%.2f" % x for x in leads), statistics.median(leads),
             ", ".join("%.2f" % x for x in firsts), statistics.median(firsts)))


if __name__ == "__main__":
    main()

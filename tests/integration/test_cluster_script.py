"""deploy/cluster.sh: the local three-node cluster script, driven as a user would.

One cluster per module in a temporary UNIGW_CLUSTER_DIR with probed, non-default ports on
127.0.0.1-3.  The tests run in file order and build on each other: start, any node serves,
SIGKILL of a node (the other two keep serving metadata writes), restart of that node (it
catches up), status, logs, start again while running, stop (no process left), a full
restart from disk, and usage errors.
"""
import os
import re
import signal
import socket
import subprocess
import time

import pytest

import util

SCRIPT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy",
                      "cluster.sh")
ADDRS = ["127.0.0.1", "127.0.0.2", "127.0.0.3"]
WRITE_RETRY_SECONDS = 20.0


def _bindable(port):
    """True if @port can be bound on every node address right now."""
    for addr in ADDRS:
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        try:
            s.bind((addr, port))
        except OSError:
            return False
        finally:
            s.close()
    return True


def _free_ports():
    """(s3_port, raft_port): free on all three addresses, raft_port + 1 (RPC) as well."""
    s3_port = raft_port = None
    for _ in range(200):
        p = util.alloc_ports(ADDRS[0], 1)[0]
        if s3_port is None:
            if _bindable(p):
                s3_port = p
            continue
        if p + 1 < 65536 and p + 1 != s3_port and _bindable(p) and _bindable(p + 1):
            raft_port = p
            break
    if s3_port is None or raft_port is None:
        raise util.GatewayError("no free ports for the cluster script")
    return s3_port, raft_port


class ScriptCluster:
    def __init__(self, base):
        self.dir = os.path.join(str(base), "cluster")
        self.s3_port, self.raft_port = _free_ports()
        self.env = dict(os.environ)
        self.env.update({
            "UNIGW_BIN": util.unigw_bin(),
            "UNIGW_CLUSTER_DIR": self.dir,
            "UNIGW_S3_PORT": str(self.s3_port),
            "UNIGW_RAFT_PORT": str(self.raft_port),
            "UNIGW_CLUSTER_TIMEOUT": "90",
            "UNIGW_STOP_TIMEOUT": "20",
        })
        self.env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        self.env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        self.access_key = None
        self.secret_key = None

    def run(self, *args, check=True, timeout=180):
        p = subprocess.run(["bash", SCRIPT] + list(args), env=self.env, timeout=timeout,
                           stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        out = p.stdout.decode(errors="replace")
        err = p.stderr.decode(errors="replace")
        if check:
            assert p.returncode == 0, "cluster.sh %s failed (%d)\nstdout:\n%s\nstderr:\n%s\n%s" % (
                " ".join(args), p.returncode, out, err, self.logs())
        return p.returncode, out, err

    def endpoint(self, n):
        return "http://%s:%d" % (ADDRS[n - 1], self.s3_port)

    def pid(self, n):
        """Pid of node @n from its pid file if that process is a live unigw of this cluster."""
        try:
            with open(os.path.join(self.dir, "node-%d.pid" % n)) as f:
                pid = int(f.read().strip())
            with open("/proc/%d/cmdline" % pid, "rb") as f:
                cmd = f.read()
            with open("/proc/%d/status" % pid) as f:
                zombie = re.search(r"^State:\s*Z", f.read(), re.M) is not None
        except (OSError, ValueError):
            return None
        if zombie or ("node-%d.conf" % n).encode() not in cmd or self.dir.encode() not in cmd:
            return None
        return pid

    def cluster_pids(self):
        """Every process whose command line names this cluster's directory."""
        out = []
        for e in os.listdir("/proc"):
            if not e.isdigit():
                continue
            try:
                with open("/proc/%s/cmdline" % e, "rb") as f:
                    cmd = f.read()
                with open("/proc/%s/status" % e) as f:
                    status = f.read()
            except OSError:
                continue
            if re.search(r"^State:\s*Z", status, re.M):
                continue
            if (self.dir + "/node-").encode() in cmd and b"--config" in cmd:
                out.append(int(e))
        return out

    def kill_leftovers(self):
        for pid in self.cluster_pids():
            try:
                os.kill(pid, signal.SIGKILL)
            except OSError:
                pass

    def log(self, n):
        try:
            with open(os.path.join(self.dir, "node-%d.log" % n), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def logs(self):
        return "\n".join("----- node %d -----\n%s" % (n, self.log(n)[-8000:]) for n in (1, 2, 3))

    def sanitizer_reports(self):
        return ["node %d: %s" % (n, m) for n in (1, 2, 3) for m in util.SANITIZER_MARKS
                if m in self.log(n)]

    def client(self, n):
        import boto3
        from botocore.config import Config
        cfg = Config(region_name=util.REGION, s3={"addressing_style": "path"},
                     retries={"total_max_attempts": 1, "mode": "standard"},
                     connect_timeout=5, read_timeout=30)
        return boto3.client("s3", endpoint_url=self.endpoint(n), aws_access_key_id=self.access_key,
                            aws_secret_access_key=self.secret_key, config=cfg)


def parse_start(out):
    endpoints = re.findall(r"^S3 endpoint: (\S+)$", out, re.M)
    access = re.findall(r"^Access key: (\S+)$", out, re.M)
    secret = re.findall(r"^Secret key: (\S+)$", out, re.M)
    assert len(access) == 1 and len(secret) == 1, out
    return endpoints, access[0], secret[0]


def retry_503(fn, seconds=WRITE_RETRY_SECONDS):
    """Call @fn until it does not fail with 503 (or a refused connection), for a bounded
    time.  Returns (result, seconds waited)."""
    from botocore.exceptions import ClientError, EndpointConnectionError
    t0 = time.monotonic()
    while True:
        try:
            return fn(), time.monotonic() - t0
        except ClientError as e:
            if util.client_error(e)[1] != 503 or time.monotonic() - t0 > seconds:
                raise
        except EndpointConnectionError:
            if time.monotonic() - t0 > seconds:
                raise
        time.sleep(0.2)


@pytest.fixture(scope="module")
def sc(tmp_path_factory):
    c = ScriptCluster(tmp_path_factory.mktemp("cs"))
    yield c
    try:
        c.run("stop", check=False, timeout=120)
    finally:
        left = c.cluster_pids()
        c.kill_leftovers()
    assert not left, "processes left after stop: %r" % left
    reports = c.sanitizer_reports()
    assert not reports, "\n".join(reports) + "\n" + c.logs()


def test_start_prints_endpoints_and_keys(sc):
    rc, out, _ = sc.run("start")
    endpoints, sc.access_key, sc.secret_key = parse_start(out)
    assert endpoints == [sc.endpoint(n) for n in (1, 2, 3)], out
    assert re.fullmatch(r"[A-Za-z0-9]{16,128}", sc.access_key), out
    assert len(sc.secret_key) >= 32, out
    # Every node answers ready at once, each on its own address.
    for n in (1, 2, 3):
        st, _, body = util.http_request(sc.endpoint(n), "GET", "/health/ready", timeout=5)
        assert st == 200, (n, body)
        assert sc.pid(n) is not None, n
    assert len({sc.pid(n) for n in (1, 2, 3)}) == 3
    # The generated config holds the cluster key: not readable by others.
    for name in ("cluster.env", "node-1.conf"):
        mode = os.stat(os.path.join(sc.dir, name)).st_mode & 0o777
        assert mode == 0o600, (name, oct(mode))
    with open(os.path.join(sc.dir, "node-2.conf")) as f:
        conf = f.read()
    assert "raft_listen = 127.0.0.2:%d" % sc.raft_port in conf
    assert "rpc_listen = 127.0.0.2:%d" % (sc.raft_port + 1) in conf
    assert "peers = 1=127.0.0.1:%d,2=127.0.0.2:%d,3=127.0.0.3:%d" % (
        (sc.raft_port,) * 3) in conf


def test_any_node_serves(sc):
    s1, s2, s3 = sc.client(1), sc.client(2), sc.client(3)
    s1.create_bucket(Bucket="cs-one")
    body = os.urandom(100000)
    s1.put_object(Bucket="cs-one", Key="dir/obj", Body=body)
    for c in (s2, s3):
        assert c.get_object(Bucket="cs-one", Key="dir/obj")["Body"].read() == body
        names = [b["Name"] for b in c.list_buckets()["Buckets"]]
        assert "cs-one" in names
    # The object is a plain file on the one shared mount.
    with open(os.path.join(sc.dir, "mount", "cs-one", "dir", "obj"), "rb") as f:
        assert f.read() == body
    # A wrong secret is refused on every node (the key really is the printed one).
    import boto3
    from botocore.config import Config
    from botocore.exceptions import ClientError
    bad = boto3.client("s3", endpoint_url=sc.endpoint(3), aws_access_key_id=sc.access_key,
                       aws_secret_access_key="x" * 40, region_name=util.REGION,
                       config=Config(s3={"addressing_style": "path"},
                                     retries={"total_max_attempts": 1}))
    with pytest.raises(ClientError) as ei:
        bad.list_buckets()
    assert util.client_error(ei.value)[1] == 403


def test_kill_one_node_others_serve(sc):
    pid = sc.pid(1)
    assert pid is not None
    rc, out, _ = sc.run("kill", "1")
    assert "killed" in out
    assert sc.pid(1) is None
    assert pid not in sc.cluster_pids()
    with pytest.raises(OSError):
        util.http_request(sc.endpoint(1), "GET", "/health/ready", timeout=2)
    # Killing it again is an error, not a silent success.
    rc, _, err = sc.run("kill", "1", check=False)
    assert rc == 1 and "not running" in err, err
    # A metadata write on node 2 succeeds within a bounded time (new leader if 1 led).
    s2, s3 = sc.client(2), sc.client(3)
    _, waited = retry_503(lambda: s2.create_bucket(Bucket="cs-two"))
    assert waited < WRITE_RETRY_SECONDS
    retry_503(lambda: s3.put_object_tagging(
        Bucket="cs-one", Key="dir/obj", Tagging={"TagSet": [{"Key": "k", "Value": "v1"}]}))
    assert s2.get_object_tagging(Bucket="cs-one", Key="dir/obj")["TagSet"] == [
        {"Key": "k", "Value": "v1"}]
    s3.put_object(Bucket="cs-two", Key="while-down", Body=b"written while node 1 was down")
    assert s2.get_object(Bucket="cs-two", Key="while-down")["Body"].read() == (
        b"written while node 1 was down")


def test_restart_node_catches_up(sc):
    rc, out, _ = sc.run("restart", "1")
    assert "node 1 ready" in out, out
    assert sc.pid(1) is not None
    s1 = sc.client(1)
    # Node 1 sees what the others committed while it was dead.
    names = [b["Name"] for b in s1.list_buckets()["Buckets"]]
    assert "cs-two" in names
    assert s1.get_object_tagging(Bucket="cs-one", Key="dir/obj")["TagSet"] == [
        {"Key": "k", "Value": "v1"}]
    assert s1.get_object(Bucket="cs-two", Key="while-down")["Body"].read() == (
        b"written while node 1 was down")
    # And it takes writes again.
    retry_503(lambda: s1.create_bucket(Bucket="cs-three"))
    sc.client(3).head_bucket(Bucket="cs-three")


def test_restart_running_node(sc):
    old = sc.pid(3)
    sc.run("restart", "3")
    new = sc.pid(3)
    assert new is not None and new != old
    assert sc.client(3).get_object(Bucket="cs-one", Key="dir/obj")["ContentLength"] == 100000


def test_status(sc):
    rc, out, _ = sc.run("status")
    lines = [ln for ln in out.splitlines() if ln.startswith("node ")]
    assert len(lines) == 3, out
    for n, ln in zip((1, 2, 3), lines):
        assert ln.startswith("node %d  127.0.0.%d:%d  pid %d  alive" % (
            n, n, sc.s3_port, sc.pid(n))), out
        assert '"ready":true' in ln, out
    assert sum('"detail":"raft leader,' in ln for ln in lines) == 1, out


def test_logs(sc):
    rc, out, _ = sc.run("logs", "2")
    assert out.strip(), "empty log"
    assert "127.0.0.2:%d" % sc.s3_port in out
    assert out == sc.log(2)


def test_start_again_is_idempotent(sc):
    pids = [sc.pid(n) for n in (1, 2, 3)]
    rc, out, _ = sc.run("start")
    _, access, secret = parse_start(out)
    assert (access, secret) == (sc.access_key, sc.secret_key)
    assert [sc.pid(n) for n in (1, 2, 3)] == pids


def test_ports_are_kept(sc):
    env = dict(sc.env)
    env["UNIGW_RAFT_PORT"] = str(sc.raft_port + 2)
    p = subprocess.run(["bash", SCRIPT, "status"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 1
    assert b"was created with UNIGW_RAFT_PORT=%d" % sc.raft_port in p.stderr


def test_stop_leaves_no_process(sc):
    pids = [sc.pid(n) for n in (1, 2, 3)]
    assert None not in pids
    rc, out, _ = sc.run("stop")
    for n in (1, 2, 3):
        assert "node %d stopped" % n in out
        assert sc.pid(n) is None
    assert sc.cluster_pids() == []
    # SIGTERM drained every node (no SIGKILL needed).
    for n in (1, 2, 3):
        last_run = sc.log(n).rsplit("cluster.sh: starting node %d" % n, 1)[-1]
        assert "signal 15" in last_run, sc.logs()
    rc, out, _ = sc.run("status", check=False)
    assert rc == 1
    assert out.count(" dead") == 3, out
    # stop on a stopped cluster is fine.
    sc.run("stop")


def test_full_restart_from_disk(sc):
    rc, out, _ = sc.run("start")
    _, access, secret = parse_start(out)
    assert (access, secret) == (sc.access_key, sc.secret_key)
    s2 = sc.client(2)
    assert s2.get_object_tagging(Bucket="cs-one", Key="dir/obj")["TagSet"] == [
        {"Key": "k", "Value": "v1"}]
    names = {b["Name"] for b in sc.client(3).list_buckets()["Buckets"]}
    assert {"cs-one", "cs-two", "cs-three"} <= names
    retry_503(lambda: sc.client(1).create_bucket(Bucket="cs-four"))
    sc.run("stop")
    assert sc.cluster_pids() == []


@pytest.mark.parametrize("args", [[], ["bogus"], ["kill"], ["kill", "0"], ["kill", "4"],
                                  ["restart", "x"], ["logs", "1", "2"], ["start", "now"]])
def test_usage_errors(sc, args):
    rc, out, err = sc.run(*args, check=False)
    assert rc == 2, (args, rc, out, err)
    assert "usage:" in err
    assert sc.cluster_pids() == []


def test_bad_environment(tmp_path):
    env = dict(os.environ)
    env.update({"UNIGW_CLUSTER_DIR": str(tmp_path / "c"), "UNIGW_S3_PORT": "90000",
                "UNIGW_BIN": util.unigw_bin()})
    p = subprocess.run(["bash", SCRIPT, "start"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 1 and b"UNIGW_S3_PORT" in p.stderr
    env.update({"UNIGW_S3_PORT": "9101", "UNIGW_RAFT_PORT": "9100"})
    p = subprocess.run(["bash", SCRIPT, "start"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 1 and b"must differ" in p.stderr
    env["UNIGW_S3_PORT"] = "9000"
    env["UNIGW_BIN"] = str(tmp_path / "missing")
    p = subprocess.run(["bash", SCRIPT, "start"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 1 and b"missing or not executable" in p.stderr
    assert not os.path.exists(tmp_path / "c" / "cluster.env")
    env["UNIGW_BIN"] = util.unigw_bin()
    p = subprocess.run(["bash", SCRIPT, "status"], env=env, stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, timeout=60)
    assert p.returncode == 1 and b"no cluster" in p.stderr


# ----------------------------------------------------------------------------------------------
# the files for real hosts: example configs, systemd unit, DNS examples

DEPLOY = os.path.join(os.path.dirname(SCRIPT))


def _print_config(path):
    p = subprocess.run([util.unigw_bin(), "--config", path, "--print-config"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, timeout=60)
    return p.returncode, p.stdout.decode(), p.stderr.decode()


def _conf_value(text, key):
    m = re.search(r"^%s = ?(.*)$" % re.escape(key), text, re.M)
    assert m, "no %s in\n%s" % (key, text)
    return m.group(1).strip()


def test_host_configs(tmp_path):
    peers = set()
    ids = set()
    for n in (1, 2, 3):
        src = os.path.join(DEPLOY, "conf", "cluster-node%d.conf" % n)
        # As shipped, the placeholder key is refused: a node never starts with it.
        rc, _, err = _print_config(src)
        assert rc != 0 and "cluster_key" in err, (src, rc, err)
        with open(src) as f:
            text = f.read()
        key = "%064x" % (n * 0x1234567)
        dst = tmp_path / ("node%d.conf" % n)
        dst.write_text(re.sub(r"^cluster_key = .*$", "cluster_key = " + key, text, flags=re.M))
        rc, out, err = _print_config(str(dst))
        assert rc == 0, (src, err)
        ip = "10.0.0.1%d" % n
        assert _conf_value(out, "listen") == ip + ":9000"
        assert _conf_value(out, "raft_id") == str(n)
        assert _conf_value(out, "raft_listen") == ip + ":9100"
        assert _conf_value(out, "rpc_listen") == ip + ":9101"
        assert _conf_value(out, "mount") == "/srv/unigw"
        assert not _conf_value(out, "data_dir").startswith("/srv/unigw")
        assert key not in out, "--print-config shows the cluster key"
        peers.add(_conf_value(out, "peers"))
        ids.add(_conf_value(out, "id"))
    assert peers == {"1=10.0.0.11:9100,2=10.0.0.12:9100,3=10.0.0.13:9100"}
    assert len(ids) == 3


def test_systemd_unit(tmp_path):
    path = os.path.join(DEPLOY, "systemd", "unigw@.service")
    with open(path) as f:
        text = f.read()

    def values(key):
        return re.findall(r"^%s=(.*)$" % key, text, re.M)
    assert values("ExecStart") == ["/usr/local/bin/unigw --config /etc/unigw/%i.conf"]
    assert values("Restart") == ["on-failure"]
    assert values("LimitNOFILE") == ["65536"]
    assert values("KillSignal") == ["SIGTERM"]
    assert int(values("TimeoutStopSec")[0]) >= 30
    assert "remote-fs.target" in values("After")[0].split()
    assert values("User") == ["unigw"]
    analyze = util.which("systemd-analyze")
    if analyze is None:
        return
    # systemd's own parser: no unknown keys or sections (the binary path is swapped for the
    # one under test, which systemd-analyze requires to exist).
    unit = tmp_path / "unigw@node1.service"
    unit.write_text(text.replace("/usr/local/bin/unigw", util.unigw_bin()))
    p = subprocess.run([analyze, "verify", "--man=no", str(unit)], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, timeout=60)
    out = p.stdout.decode()
    assert "Unknown" not in out and "ignoring" not in out, out


def _dns_query_a(port, name):
    """A records of @name from a DNS server on 127.0.0.1:@port (one UDP query)."""
    import struct
    q = struct.pack(">HHHHHH", 0x4242, 0x0100, 1, 0, 0, 0)
    for part in name.split("."):
        q += bytes([len(part)]) + part.encode()
    q += b"\0" + struct.pack(">HH", 1, 1)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(2)
    try:
        s.sendto(q, ("127.0.0.1", port))
        data, _ = s.recvfrom(4096)
    finally:
        s.close()
    count = struct.unpack(">H", data[6:8])[0]
    i = len(q)
    out = []
    for _ in range(count):
        if data[i] & 0xC0 == 0xC0:
            i += 2
        else:
            while data[i]:
                i += data[i] + 1
            i += 1
        typ, _, _, rdlen = struct.unpack(">HHIH", data[i:i + 10])
        i += 10
        if typ == 1:
            out.append(socket.inet_ntoa(data[i:i + 4]))
        i += rdlen
    return out


def test_dnsmasq_round_robin(tmp_path):
    dnsmasq = util.which("dnsmasq", "/usr/sbin/dnsmasq")
    if not os.access(dnsmasq, os.X_OK):
        pytest.skip("dnsmasq is not installed")
    conf = os.path.join(DEPLOY, "dns", "dnsmasq-unigw.conf")
    util.run([dnsmasq, "--test", "-C", conf])
    port = util.alloc_ports("127.0.0.1", 1)[0]
    proc = subprocess.Popen([dnsmasq, "-k", "-C", conf, "--no-resolv", "--no-hosts",
                             "-p", str(port), "--listen-address=127.0.0.1", "--bind-interfaces",
                             "--pid-file=" + str(tmp_path / "dnsmasq.pid")],
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        answers = None
        for _ in range(50):
            try:
                answers = _dns_query_a(port, "s3.example.com")
                break
            except OSError:
                time.sleep(0.1)
        nodes = {"10.0.0.11", "10.0.0.12", "10.0.0.13"}
        assert answers is not None and set(answers) == nodes and len(answers) == 3
        assert set(_dns_query_a(port, "my-bucket.s3.example.com")) == nodes
        orders = {tuple(_dns_query_a(port, "s3.example.com")) for _ in range(10)}
        assert len(orders) > 1, "answers are not rotated: %r" % orders
    finally:
        proc.terminate()
        proc.wait(10)


def test_bind_zone_records():
    with open(os.path.join(DEPLOY, "dns", "bind-s3.example.com.zone")) as f:
        lines = [ln.split(";")[0].split() for ln in f]
    recs = [ln for ln in lines if len(ln) == 4 and ln[1:3] == ["IN", "A"]]
    by_name = {}
    for name, _, _, addr in recs:
        socket.inet_aton(addr)
        by_name.setdefault(name, set()).add(addr)
    nodes = {"10.0.0.11", "10.0.0.12", "10.0.0.13"}
    assert by_name["s3"] == nodes and by_name["*.s3"] == nodes

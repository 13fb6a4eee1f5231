"""Shared helpers of the unigw integration tests.

Starting and stopping real `unigw` processes (Node, Cluster), port probing under a
lock file, a small independent SigV4 signer for hand-made requests (wrong hashes,
skewed dates, raw paths), raw HTTP helpers, S3 XML error parsing, checksums, and
the environment every external client runs with, and the checks that a deleted bucket
left nothing behind (assert_nothing_left).

Runs under /usr/bin/python3 (Debian's boto3, botocore and pytest live there).
"""
import base64
import binascii
import contextlib
import datetime
import fcntl
import hashlib
import hmac
import http.client
import json
import os
import random
import secrets
import shutil
import signal
import socket
import ssl
import string
import subprocess
import time
import urllib.parse
import xml.etree.ElementTree as ET

PYTHON = "/usr/bin/python3"
AWS_CLI = "/usr/bin/aws"
REGION = "us-east-1"
READY_TIMEOUT = 20.0
STOP_TIMEOUT = 10.0
PORT_LOCK = "/tmp/unigw-itest-ports.lock"
PORT_STATE = "/tmp/unigw-itest-ports.json"
PORT_HOLD_SECONDS = 120
SANITIZER_MARKS = ("AddressSanitizer", "runtime error:", "LeakSanitizer")

# Clusters currently running; conftest checks them after every test.
ACTIVE_CLUSTERS = []


class GatewayError(AssertionError):
    """A node misbehaved: exited early, failed to start, or reported a sanitizer error."""


# ----------------------------------------------------------------------------------------------
# ports


def alloc_ports(addr, count):
    """Probe @count free TCP ports on @addr by binding, never handing out a port that another
    run (in this or a parallel process) got in the last PORT_HOLD_SECONDS."""
    ports = []
    with open(PORT_LOCK, "a+") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            try:
                with open(PORT_STATE) as f:
                    state = json.load(f)
            except (OSError, ValueError):
                state = {}
            now = time.time()
            state = {k: v for k, v in state.items() if now - v < PORT_HOLD_SECONDS}
            for _ in range(500):
                if len(ports) == count:
                    break
                s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
                try:
                    s.bind((addr, 0))
                    port = s.getsockname()[1]
                finally:
                    s.close()
                if str(port) in state or port in ports:
                    continue
                ports.append(port)
                state[str(port)] = now
            with open(PORT_STATE + ".new", "w") as f:
                json.dump(state, f)
            os.replace(PORT_STATE + ".new", PORT_STATE)
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    if len(ports) != count:
        raise GatewayError("could not find %d free ports on %s" % (count, addr))
    return ports


def _port_free(addr, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((addr, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def alloc_port_pair(addr, tries=50):
    """Two consecutive free ports (P, P + 1) on @addr."""
    for _ in range(tries):
        port = alloc_ports(addr, 1)[0]
        if port < 65535 and _port_free(addr, port + 1):
            return port, port + 1
    raise GatewayError("no two consecutive free ports on %s" % addr)


def alloc_common_port(addrs, tries=50):
    """A port free on every address of @addrs (probed as alloc_ports does)."""
    for _ in range(tries):
        port = alloc_ports(addrs[0], 1)[0]
        if all(_port_free(addr, port) for addr in addrs[1:]):
            return port
    raise GatewayError("no port free on all of %s" % ", ".join(addrs))


# ----------------------------------------------------------------------------------------------
# processes


def unigw_bin():
    path = os.environ.get("UNIGW_BIN")
    if not path:
        raise GatewayError("UNIGW_BIN is not set: point it at the unigw binary "
                           "(ctest passes $<TARGET_FILE:unigw>)")
    if not os.access(path, os.X_OK):
        raise GatewayError("UNIGW_BIN=%s is not an executable file" % path)
    return path


def random_key(n, alphabet=string.ascii_uppercase + string.digits):
    return "".join(random.SystemRandom().choice(alphabet) for _ in range(n))


class Node:
    def __init__(self, cluster, index, addr, port, extra_args, raft_port=None, rpc_port=None):
        self.cluster = cluster
        self.index = index
        self.node_id = index + 1
        self.addr = addr
        self.port = port
        self.raft_port = raft_port
        self.rpc_port = rpc_port
        self.data = os.path.join(cluster.base, "data-%d" % self.node_id)
        self.log_path = os.path.join(cluster.base, "node-%d.log" % self.node_id)
        self.extra_args = list(extra_args)
        self.proc = None
        self.expected_exit = False
        self.gid = None

    @property
    def endpoint(self):
        scheme = "https" if self.cluster.tls_ca else "http"
        return "%s://%s:%d" % (scheme, self.addr, self.port)

    @property
    def hostport(self):
        return "%s:%d" % (self.addr, self.port)

    def argv(self):
        argv = [unigw_bin(), "--listen", self.hostport, "--mount", self.cluster.mount,
                "--data", self.data, "--node-id", str(self.node_id), "--log-level", "debug"]
        if self.cluster.config_file:
            argv += ["--config", self.cluster.config_file]
        argv += ["--set", "cluster.raft_listen=%s" % self.raft_addr,
                 "--set", "cluster.rpc_listen=%s:%d" % (self.addr, self.rpc_port),
                 "--set", "cluster.cluster_key=%s" % self.cluster.cluster_key,
                 "--set", "cluster.raft_id=%d" % self.node_id]
        if self.cluster.peers:
            argv += ["--set", "cluster.peers=%s" % self.cluster.peers]
        return argv + self.extra_args

    @property
    def raft_addr(self):
        return "%s:%d" % (self.addr, self.raft_port)

    def start(self):
        os.makedirs(self.data, exist_ok=True)
        env = dict(os.environ)
        env["UNIGW_ROOT_ACCESS_KEY"] = self.cluster.access_key
        env["UNIGW_ROOT_SECRET_KEY"] = self.cluster.secret_key
        env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0")
        env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1")
        log = open(self.log_path, "ab")
        preexec = None
        if self.gid is not None:
            # A group id of its own marks this node's sockets (nft `meta skgid`), so that
            # partition tests can drop exactly its traffic; uid 0 keeps its file access.
            gid = self.gid

            def preexec():
                os.setgroups([])
                os.setgid(gid)
        try:
            self.proc = subprocess.Popen(self.argv(), stdin=subprocess.DEVNULL, stdout=log,
                                         stderr=subprocess.STDOUT, env=env,
                                         preexec_fn=preexec)
        finally:
            log.close()
        self.expected_exit = False

    def wait_ready(self, timeout=READY_TIMEOUT):
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise GatewayError("node %d exited with %s during start-up\n%s"
                                   % (self.node_id, self.proc.returncode, self.log_tail()))
            try:
                status, _, _ = http_request(self.endpoint, "GET", "/health/ready", timeout=2,
                                            cafile=self.cluster.tls_ca)
                if status == 200:
                    return
                last = "status %d" % status
            except OSError as e:
                last = repr(e)
            time.sleep(0.1)
        raise GatewayError("node %d not ready after %.0f s (%s)\n%s"
                           % (self.node_id, timeout, last, self.log_tail()))

    def log_text(self):
        try:
            with open(self.log_path, "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def log_tail(self, limit=20000):
        text = self.log_text()
        if len(text) > limit:
            text = "...[%d bytes cut]...\n" % (len(text) - limit) + text[-limit:]
        return "----- node %d log (%s) -----\n%s" % (self.node_id, self.log_path, text)

    def problems(self):
        """Reasons this node is unhealthy right now (empty list when fine)."""
        out = []
        if self.proc is not None and self.proc.poll() is not None and not self.expected_exit:
            out.append("node %d exited unexpectedly with status %s"
                       % (self.node_id, self.proc.returncode))
        text = self.log_text()
        for mark in SANITIZER_MARKS:
            if mark in text:
                out.append("node %d log contains %r" % (self.node_id, mark))
        return out

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM, then SIGKILL after @timeout. Returns the exit status (or None if killed)."""
        if self.proc is None:
            return 0
        self.expected_exit = True
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
                return None
        return self.proc.returncode


class Cluster:
    """N unigw nodes sharing one mount directory, each with its own data directory."""

    def __init__(self, base, nodes=1, extra_args=(), mount=None, config=None,
                 common_port=False, tls_ca=None):
        self.base = str(base)
        # With @tls_ca (the CA file of the nodes' [server] tls_cert) endpoints are https://.
        self.tls_ca = tls_ca
        os.makedirs(self.base, exist_ok=True)
        self.mount = mount or os.path.join(self.base, "mount")
        os.makedirs(self.mount, exist_ok=True)
        self.access_key = "UNIGWTEST" + random_key(11)
        self.secret_key = random_key(40, string.ascii_letters + string.digits + "/+")
        self.config_file = None
        if config:
            self.config_file = os.path.join(self.base, "unigw.conf")
            with open(self.config_file, "w") as f:
                f.write(config)
        # One cluster key for all nodes: it seals access-key secrets and keys the RPC.
        self.cluster_key = "".join(random.SystemRandom().choice("0123456789abcdef")
                                   for _ in range(64))
        self.nodes = []
        addrs = ["127.0.0.%d" % (11 + i) for i in range(nodes)]
        # With @common_port every node listens for S3 on the same port (one host name
        # resolving to all addresses, as with DNS round-robin).
        common = alloc_common_port(addrs) if common_port else None
        for i, addr in enumerate(addrs):
            # A leader's RPC address is its Raft port + 1 (raft/forward.c derives it from the
            # Raft address), so every node's rpc_listen follows that rule.
            port = alloc_ports(addr, 1)[0]
            raft_port, rpc_port = alloc_port_pair(addr)
            self.nodes.append(Node(self, i, addr, common or port, extra_args, raft_port,
                                   rpc_port))
        # A single node is a one-voter cluster; several bootstrap together.
        self.peers = ",".join("%d=%s" % (n.node_id, n.raft_addr)
                              for n in self.nodes) if nodes > 1 else ""
        self.client_dir = os.path.join(self.base, "client")
        os.makedirs(self.client_dir, exist_ok=True)

    @property
    def endpoint(self):
        return self.nodes[0].endpoint

    @property
    def node(self):
        return self.nodes[0]

    def start(self):
        ACTIVE_CLUSTERS.append(self)
        try:
            for n in self.nodes:
                n.start()
            for n in self.nodes:
                n.wait_ready()
        except BaseException:
            self.stop(check=False)
            raise

    def problems(self):
        out = []
        for n in self.nodes:
            out += n.problems()
        return out

    def logs(self):
        return "\n".join(n.log_tail() for n in self.nodes)

    def stop(self, check=True):
        """Stop all nodes; with @check, raise if a node did not exit 0 on SIGTERM or its log
        shows a sanitizer report."""
        problems = self.problems() if check else []
        for n in self.nodes:
            if n.proc is not None and n.proc.returncode is not None and not n.expected_exit:
                continue
            rc = n.stop()
            if check and rc != 0:
                problems.append("node %d: SIGTERM exit status %s (expected 0)" % (n.node_id, rc))
        if check:
            for n in self.nodes:
                for p in n.problems():
                    if p not in problems:
                        problems.append(p)
        if self in ACTIVE_CLUSTERS:
            ACTIVE_CLUSTERS.remove(self)
        if problems:
            raise GatewayError("\n".join(problems) + "\n" + self.logs())

    def tmp_dir(self):
        return os.path.join(self.mount, ".unigw", "tmp")

    def tmp_entries(self):
        """Files left in <mount>/.unigw/tmp (uploads in progress)."""
        d = self.tmp_dir()
        if not os.path.isdir(d):
            return []
        return sorted(os.listdir(d))

    def wait_tmp_empty(self, timeout=5.0):
        """Temp files may be removed just after the response; allow a bounded grace period."""
        deadline = time.monotonic() + timeout
        while True:
            left = self.tmp_entries()
            if not left or time.monotonic() > deadline:
                return left
            time.sleep(0.1)

    # clients -------------------------------------------------------------------------------

    def boto3(self, endpoint=None, access_key=None, secret_key=None, unsigned=False, **cfg):
        import boto3
        import botocore
        from botocore.config import Config
        s3cfg = {"addressing_style": "path"}
        s3cfg.update(cfg.pop("s3", {}))
        kw = dict(region_name=REGION, s3=s3cfg, retries={"total_max_attempts": 1,
                                                          "mode": "standard"},
                  connect_timeout=10, read_timeout=60)
        if unsigned:
            kw["signature_version"] = botocore.UNSIGNED
        verify = cfg.pop("verify", self.tls_ca)
        kw.update(cfg)
        session = boto3.session.Session(
            aws_access_key_id=access_key or self.access_key,
            aws_secret_access_key=secret_key or self.secret_key, region_name=REGION)
        return session.client("s3", endpoint_url=endpoint or self.endpoint, config=Config(**kw),
                              verify=verify)

    def client_env(self, extra=None):
        """Environment for an external client process: our keys, private config files,
        no CA bundle, no profile or endpoint leaking from the host."""
        env = dict(os.environ)
        for k in list(env):
            if k.startswith("AWS_") or k in ("HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
                                            "https_proxy", "ALL_PROXY", "all_proxy"):
                del env[k]
        cfg = os.path.join(self.client_dir, "aws-config")
        creds = os.path.join(self.client_dir, "aws-credentials")
        if not os.path.exists(cfg):
            with open(cfg, "w") as f:
                f.write("[default]\nregion = %s\n" % REGION)
        if not os.path.exists(creds):
            with open(creds, "w") as f:
                f.write("[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n"
                        % (self.access_key, self.secret_key))
        env.update({
            "AWS_CONFIG_FILE": cfg,
            "AWS_SHARED_CREDENTIALS_FILE": creds,
            "AWS_ACCESS_KEY_ID": self.access_key,
            "AWS_SECRET_ACCESS_KEY": self.secret_key,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_PAGER": "",
            "NO_PROXY": "*",
            "no_proxy": "*",
            "HOME": self.client_dir,
        })
        if extra:
            env.update(extra)
        return env

    def request(self, method, path, query=None, headers=None, body=b"", sign=True, node=0,
                **kw):
        """Signed (or unsigned) raw request against node @node; see http_request."""
        n = self.nodes[node]
        creds = (self.access_key, self.secret_key) if sign else None
        kw.setdefault("cafile", self.tls_ca)
        return http_request(n.endpoint, method, path, query=query, headers=headers, body=body,
                            creds=creds, **kw)


# ----------------------------------------------------------------------------------------------
# SigV4 (an independent implementation, so tests can sign what botocore refuses to send)

EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
UNSIGNED_PAYLOAD = "UNSIGNED-PAYLOAD"


def uri_encode(s, safe="~"):
    """AWS URI encoding: every byte except A-Za-z0-9-_.~ percent-encoded (upper-case hex)."""
    if isinstance(s, str):
        s = s.encode("utf-8")
    return urllib.parse.quote(s, safe=safe)


def key_path(bucket, key=None):
    """Canonical, already-encoded request path for bucket[/key]."""
    if key is None:
        return "/" + uri_encode(bucket)
    return "/" + uri_encode(bucket) + "/" + uri_encode(key, safe="/~")


def canonical_query(query):
    pairs = [(uri_encode(k), uri_encode(v)) for k, v in (query or [])]
    return "&".join("%s=%s" % kv for kv in sorted(pairs))


def amz_now(offset_seconds=0):
    t = datetime.datetime.now(datetime.timezone.utc) + datetime.timedelta(seconds=offset_seconds)
    return t.strftime("%Y%m%dT%H%M%SZ")


def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def signing_key(secret, date, region=REGION, service="s3"):
    k = _hmac(("AWS4" + secret).encode("utf-8"), date)
    k = _hmac(k, region)
    k = _hmac(k, service)
    return _hmac(k, "aws4_request")


def sigv4_headers(method, host, path, query, headers, payload_hash, access, secret,
                  amz_date=None, region=REGION):
    """Return @headers plus Host, X-Amz-Date, X-Amz-Content-SHA256 and Authorization.
    @path is the encoded path exactly as it goes on the wire."""
    amz_date = amz_date or amz_now()
    h = {k: v for k, v in (headers or {}).items()}
    lower = {k.lower(): k for k in h}
    if "host" not in lower:
        h["Host"] = host
    h["X-Amz-Date"] = amz_date
    h["X-Amz-Content-SHA256"] = payload_hash
    signed = sorted({k.lower(): " ".join(str(v).strip().split()) for k, v in h.items()}.items())
    canon_headers = "".join("%s:%s\n" % kv for kv in signed)
    signed_names = ";".join(k for k, _ in signed)
    creq = "\n".join([method, path, canonical_query(query), canon_headers, signed_names,
                      payload_hash])
    scope = "%s/%s/s3/aws4_request" % (amz_date[:8], region)
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(creq.encode("utf-8")).hexdigest()])
    sig = hmac.new(signing_key(secret, amz_date[:8], region), sts.encode("utf-8"),
                   hashlib.sha256).hexdigest()
    h["Authorization"] = ("AWS4-HMAC-SHA256 Credential=%s/%s, SignedHeaders=%s, Signature=%s"
                          % (access, scope, signed_names, sig))
    return h


def http_request(endpoint, method, path, query=None, headers=None, body=b"", creds=None,
                 payload_hash=None, amz_date=None, timeout=30, sign_host=None, cafile=None):
    """One request on a fresh connection. @path is sent verbatim (already encoded).
    With @creds=(access, secret) the request is SigV4-signed; @payload_hash overrides the
    signed x-amz-content-sha256 (default: sha256 of @body). An https:// @endpoint is verified
    against @cafile. Returns (status, headers dict
    with lower-case names, body bytes)."""
    u = urllib.parse.urlsplit(endpoint)
    qs = canonical_query(query) if query else ""
    target = path + ("?" + qs if qs else "")
    headers = dict(headers or {})
    if isinstance(body, str):
        body = body.encode("utf-8")
    if creds is not None:
        ph = payload_hash if payload_hash is not None else hashlib.sha256(body or b"").hexdigest()
        headers = sigv4_headers(method, sign_host or u.netloc, path, query, headers, ph,
                                creds[0], creds[1], amz_date=amz_date)
    if u.scheme == "https":
        ctx = ssl.create_default_context(cafile=cafile)
        conn = http.client.HTTPSConnection(u.hostname, u.port, timeout=timeout, context=ctx)
    else:
        conn = http.client.HTTPConnection(u.hostname, u.port, timeout=timeout)
    try:
        conn.putrequest(method, target, skip_host="host" in {k.lower() for k in headers},
                        skip_accept_encoding=True)
        for k, v in headers.items():
            conn.putheader(k, v)
        if body or method in ("PUT", "POST"):
            if not any(k.lower() in ("content-length", "transfer-encoding") for k in headers):
                conn.putheader("Content-Length", str(len(body or b"")))
        conn.endheaders(body or None)
        resp = conn.getresponse()
        data = resp.read()
        return resp.status, {k.lower(): v for k, v in resp.getheaders()}, data
    finally:
        conn.close()


def presign_url(endpoint, method, path, access, secret, expires=300, amz_date=None,
                query=None):
    """Presigned URL by hand (query-string SigV4, UNSIGNED-PAYLOAD)."""
    u = urllib.parse.urlsplit(endpoint)
    amz_date = amz_date or amz_now()
    scope = "%s/%s/s3/aws4_request" % (amz_date[:8], REGION)
    q = list(query or []) + [
        ("X-Amz-Algorithm", "AWS4-HMAC-SHA256"),
        ("X-Amz-Credential", "%s/%s" % (access, scope)),
        ("X-Amz-Date", amz_date),
        ("X-Amz-Expires", str(expires)),
        ("X-Amz-SignedHeaders", "host"),
    ]
    creq = "\n".join([method, path, canonical_query(q), "host:%s\n" % u.netloc, "host",
                      UNSIGNED_PAYLOAD])
    sts = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                     hashlib.sha256(creq.encode()).hexdigest()])
    sig = hmac.new(signing_key(secret, amz_date[:8]), sts.encode(), hashlib.sha256).hexdigest()
    q.append(("X-Amz-Signature", sig))
    return endpoint + path + "?" + canonical_query(q)


# ----------------------------------------------------------------------------------------------
# responses


def s3_error(body):
    """(Code, Message, RequestId) of an S3 XML error body; raises if it is not one."""
    root = ET.fromstring(body)
    tag = root.tag.split("}")[-1]
    assert tag == "Error", "not an S3 error document: %r" % body[:500]

    def text(name):
        for el in root:
            if el.tag.split("}")[-1] == name:
                return el.text or ""
        return None
    return text("Code"), text("Message"), text("RequestId")


def assert_s3_error(resp, status, code):
    st, hdrs, body = resp
    assert st == status, "expected %d %s, got %d: %r" % (status, code, st, body[:600])
    got, _, rid = s3_error(body)
    assert got == code, "expected %s, got %s: %r" % (code, got, body[:600])
    assert hdrs.get("x-amz-request-id"), "no x-amz-request-id header"
    assert rid == hdrs.get("x-amz-request-id"), "RequestId %r != header %r" % (
        rid, hdrs.get("x-amz-request-id"))
    return got


def client_error(exc):
    """(code, http status) of a botocore ClientError."""
    err = exc.response.get("Error", {})
    return err.get("Code"), exc.response["ResponseMetadata"]["HTTPStatusCode"]


def xml_find(root, path):
    """ElementTree findall ignoring namespaces: xml_find(root, 'Contents/Key')."""
    cur = [root]
    for part in path.split("/"):
        nxt = []
        for el in cur:
            nxt += [c for c in el if c.tag.split("}")[-1] == part]
        cur = nxt
    return cur


# ----------------------------------------------------------------------------------------------
# digests


def md5_hex(data):
    return hashlib.md5(data).hexdigest()


def md5_b64(data):
    return base64.b64encode(hashlib.md5(data).digest()).decode()


def file_md5(path):
    h = hashlib.md5()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def _crc_reflected(data, poly, width, init, xorout):
    table = []
    for i in range(256):
        c = i
        for _ in range(8):
            c = (c >> 1) ^ poly if c & 1 else c >> 1
        table.append(c)
    mask = (1 << width) - 1
    crc = init
    for b in data:
        crc = table[(crc ^ b) & 0xFF] ^ (crc >> 8)
    return (crc ^ xorout) & mask


def crc32c(data):
    return _crc_reflected(data, 0x82F63B78, 32, 0xFFFFFFFF, 0xFFFFFFFF)


def crc64nvme(data):
    return _crc_reflected(data, 0x9A6C9329AC4BC9B5, 64, (1 << 64) - 1, (1 << 64) - 1)


def checksum_b64(algorithm, data):
    """Value of x-amz-checksum-<algorithm> for @data, computed here, independently of the
    client under test."""
    a = algorithm.upper()
    if a == "CRC32":
        raw = (binascii.crc32(data) & 0xFFFFFFFF).to_bytes(4, "big")
    elif a == "CRC32C":
        raw = crc32c(data).to_bytes(4, "big")
    elif a == "CRC64NVME":
        raw = crc64nvme(data).to_bytes(8, "big")
    elif a == "SHA1":
        raw = hashlib.sha1(data).digest()
    elif a == "SHA256":
        raw = hashlib.sha256(data).digest()
    else:
        raise ValueError(algorithm)
    return base64.b64encode(raw).decode()


# ----------------------------------------------------------------------------------------------
# misc


def unique_bucket(prefix="b"):
    return ("%s-%s" % (prefix, secrets.token_hex(4))).lower()


def run(argv, env=None, timeout=120, check=True, input=None, cwd=None):
    """Run a client command; on failure the assertion shows its output."""
    p = subprocess.run(argv, env=env, timeout=timeout, input=input, cwd=cwd,
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    if check:
        assert p.returncode == 0, "%s failed (%d)\nstdout:\n%s\nstderr:\n%s" % (
            " ".join(argv), p.returncode, p.stdout.decode(errors="replace")[-4000:],
            p.stderr.decode(errors="replace")[-4000:])
    return p


def write_random_file(path, size, seed=None):
    rnd = random.Random(seed if seed is not None else size)
    with open(path, "wb") as f:
        left = size
        while left:
            n = min(left, 1 << 20)
            f.write(rnd.randbytes(n))
            left -= n
    return file_md5(path)


def which(name, default=None):
    return shutil.which(name) or default


# ----------------------------------------------------------------------------------------------
# raw sockets


class RawConn:
    """A plain TCP connection with a tiny HTTP/1.1 response reader, for keep-alive, pipelining,
    100-continue and malformed-input tests."""

    def __init__(self, node, timeout=15):
        self.sock = socket.create_connection((node.addr, node.port), timeout=timeout)
        self.buf = b""

    def send(self, data):
        self.sock.sendall(data)

    def _fill(self):
        chunk = self.sock.recv(65536)
        if not chunk:
            raise ConnectionError("connection closed by server")
        self.buf += chunk

    def _line(self):
        for _ in range(100000):
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line, self.buf = self.buf[:i], self.buf[i + 2:]
                return line
            self._fill()
        raise AssertionError("header line too long")

    def _exact(self, n):
        for _ in range(1000000):
            if len(self.buf) >= n:
                out, self.buf = self.buf[:n], self.buf[n:]
                return out
            self._fill()
        raise AssertionError("body too long")

    def read_response(self, head=False):
        """(status, headers with lower-case names, body). 1xx responses are returned too."""
        line = self._line()
        parts = line.split(b" ", 2)
        assert parts[0].startswith(b"HTTP/1."), "bad status line %r" % line
        status = int(parts[1])
        headers = {}
        for _ in range(1000):
            line = self._line()
            if not line:
                break
            k, _, v = line.partition(b":")
            headers[k.decode().strip().lower()] = v.decode().strip()
        if head or status in (204, 304) or 100 <= status < 200:
            return status, headers, b""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            body = b""
            for _ in range(1000000):
                size = int(self._line().split(b";")[0], 16)
                if size == 0:
                    while self._line():
                        pass
                    break
                body += self._exact(size)
                self._line()
            return status, headers, body
        if "content-length" in headers:
            return status, headers, self._exact(int(headers["content-length"]))
        # read to close
        for _ in range(1000000):
            try:
                self._fill()
            except ConnectionError:
                break
        body, self.buf = self.buf, b""
        return status, headers, body

    def closed_by_peer(self, timeout):
        """True if the server closes the connection within @timeout seconds."""
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
            self.buf += data
            if not data:
                return True
            # a response (e.g. 408/400) followed by close also counts
            for _ in range(100):
                data = self.sock.recv(65536)
                if not data:
                    return True
            return False
        except socket.timeout:
            return False
        except ConnectionResetError:
            return True

    def close(self):
        self.sock.close()


def raw_request_bytes(cluster, method, path, query=None, headers=None, body=b"", sign=True,
                      payload_hash=None, node=0):
    """Serialize a (signed) request; @path verbatim on the wire."""
    n = cluster.nodes[node]
    headers = dict(headers or {})
    if sign:
        ph = payload_hash if payload_hash is not None else hashlib.sha256(body).hexdigest()
        headers = sigv4_headers(method, n.hostport, path, query, headers, ph,
                                cluster.access_key, cluster.secret_key)
    else:
        headers.setdefault("Host", n.hostport)
    if body and not any(k.lower() in ("content-length", "transfer-encoding") for k in headers):
        headers["Content-Length"] = str(len(body))
    qs = canonical_query(query) if query else ""
    out = "%s %s%s HTTP/1.1\r\n" % (method, path, "?" + qs if qs else "")
    out += "".join("%s: %s\r\n" % kv for kv in headers.items()) + "\r\n"
    return out.encode("utf-8") + body


# ----------------------------------------------------------------------------------------------
# Raft clusters: leader discovery through /metrics, kill -9, restart, partitions


def node_metrics(node, timeout=2):
    """GET /metrics of @node as {"name{labels}": float}; raises OSError when unreachable."""
    status, _, body = http_request(node.endpoint, "GET", "/metrics", timeout=timeout)
    if status != 200:
        raise OSError("node %d: /metrics answered %d" % (node.node_id, status))
    out = {}
    for line in body.decode("utf-8", "replace").splitlines():
        if not line or line.startswith("#"):
            continue
        name, _, value = line.rpartition(" ")
        try:
            out[name] = float(value)
        except ValueError:
            continue
    return out


def node_raft(node, timeout=2):
    """(state, term, commit index, applied index, leader known) of @node, or None when it
    does not answer."""
    try:
        m = node_metrics(node, timeout=timeout)
    except OSError:
        return None
    state = None
    for s in ("leader", "follower", "candidate", "unavailable"):
        if m.get('unigw_raft_state{state="%s"}' % s) == 1:
            state = s
    return (state, int(m.get("unigw_raft_term", -1)), int(m.get("unigw_raft_commit_index", -1)),
            int(m.get("unigw_raft_applied_index", -1)), m.get("unigw_raft_leader_known") == 1)


def node_alive(node):
    return node.proc is not None and node.proc.poll() is None


def leader_index(cluster, among=None):
    """Index of the node that reports itself leader (the one of the highest term when several
    do, e.g. a cut-off old leader), or None.  @among: the node indexes to ask."""
    best = None
    for i in (among if among is not None else range(len(cluster.nodes))):
        n = cluster.nodes[i]
        if not node_alive(n):
            continue
        r = node_raft(n)
        if r is not None and r[0] == "leader" and (best is None or r[1] > best[1]):
            best = (i, r[1])
    return None if best is None else best[0]


def wait_for(pred, timeout, what, interval=0.2):
    """Poll @pred until it holds; GatewayError naming @what after @timeout seconds."""
    deadline = time.time() + timeout
    while not pred():
        if time.time() > deadline:
            raise GatewayError("timed out after %.0f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def wait_leader(cluster, timeout=15.0, among=None, exclude=()):
    """Wait until one of @among (default: all) minus @exclude is leader and every other
    live node of @among knows a leader; returns its index."""
    idx = [i for i in (among if among is not None else range(len(cluster.nodes)))
           if i not in exclude]
    deadline = time.monotonic() + timeout
    while True:
        lead = leader_index(cluster, among=idx)
        if lead is not None:
            known = [node_raft(cluster.nodes[i]) for i in idx
                     if node_alive(cluster.nodes[i])]
            if all(k is not None and k[4] for k in known):
                return lead
        if time.monotonic() > deadline:
            states = {cluster.nodes[i].node_id: node_raft(cluster.nodes[i]) for i in idx}
            raise GatewayError("no leader among nodes %s after %.1f s: %r"
                               % ([cluster.nodes[i].node_id for i in idx], timeout, states))
        time.sleep(0.05)


def wait_applied(cluster, index, target, timeout=20.0):
    """Wait until node @index has applied at least @target; returns its applied index."""
    deadline = time.monotonic() + timeout
    last = None
    while True:
        r = node_raft(cluster.nodes[index])
        last = r
        if r is not None and r[3] >= target:
            return r[3]
        if time.monotonic() > deadline:
            raise GatewayError("node %d applied %r < %d after %.0f s"
                               % (cluster.nodes[index].node_id, last, target, timeout))
        time.sleep(0.1)


def kill9(node):
    """SIGKILL @node (an expected exit) and reap it."""
    node.expected_exit = True
    if node.proc is not None and node.proc.poll() is None:
        node.proc.kill()
        node.proc.wait(10)


def restart(node, timeout=READY_TIMEOUT):
    """Start @node again on its data directory and wait until it is ready."""
    node.start()
    node.wait_ready(timeout)


NFT = "/usr/sbin/nft"


class Partition:
    """nftables rules on the loopback that cut one node's Raft and RPC traffic off from the
    others, in both directions; its S3 port stays reachable.  The node must have been
    started with its own group id (Node.gid) so that its outgoing connections, whose source
    address is 127.0.0.1, can be told apart (`meta skgid`)."""

    def __init__(self, cluster, index):
        self.cluster = cluster
        self.node = cluster.nodes[index]
        self.table = "unigw_itest_%d_%d" % (os.getpid(), self.node.node_id)
        self.active = False

    @staticmethod
    def usable():
        """None when nft can add rules here, else the reason it cannot."""
        if not os.access(NFT, os.X_OK):
            return "%s is missing (deploy/deps.sh installs nftables)" % NFT
        t = "unigw_itest_probe_%d" % os.getpid()
        p = subprocess.run([NFT, "add", "table", "inet", t], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        if p.returncode != 0:
            return "nft not permitted: %s" % p.stderr.decode(errors="replace").strip()
        subprocess.run([NFT, "delete", "table", "inet", t], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE)
        Partition.remove_stale()
        return None

    @staticmethod
    def remove_stale():
        """Delete the tables a killed test run left (named after a pid that is gone)."""
        p = subprocess.run([NFT, "list", "tables"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE)
        for line in p.stdout.decode(errors="replace").splitlines():
            parts = line.split()
            if len(parts) != 3 or not parts[2].startswith("unigw_itest_"):
                continue
            pid = parts[2].split("_")[2]
            if pid.isdigit() and not os.path.exists("/proc/%s" % pid):
                subprocess.run([NFT, "delete", "table", parts[1], parts[2]],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)

    def rules(self):
        n = self.node
        assert n.gid is not None, "node %d has no group id of its own" % n.node_id
        own = "{ %d, %d }" % (n.raft_port, n.rpc_port)
        others = []
        for o in self.cluster.nodes:
            if o is not n:
                others += [o.raft_port, o.rpc_port]
        others = "{ %s }" % ", ".join(str(p) for p in others)
        return "\n".join([
            "table inet %s {" % self.table,
            "  chain out {",
            "    type filter hook output priority 0; policy accept;",
            # its own connections to the others' Raft and RPC listeners
            "    meta skgid %d tcp dport %s drop" % (n.gid, others),
            # the others' connections to its listeners, and its answers on them
            "    ip daddr %s tcp dport %s drop" % (n.addr, own),
            "    ip saddr %s tcp sport %s drop" % (n.addr, own),
            "  }",
            "}",
            ""])

    def cut(self):
        p = subprocess.run([NFT, "-f", "-"], input=self.rules().encode(),
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        if p.returncode != 0:
            raise GatewayError("nft -f failed: %s\n%s" % (p.stderr.decode(errors="replace"),
                                                           self.rules()))
        self.active = True

    def heal(self):
        if self.active:
            subprocess.run([NFT, "delete", "table", "inet", self.table],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            self.active = False


# ----------------------------------------------------------------------------------------------
# the whole lifecycle: a cluster a test owns, and the proof that a deleted bucket left nothing

MDB_DUMP = "/usr/bin/mdb_dump"
# Databases of the metadata store whose keys start with "bucket\0" (meta/env.c, tag.c,
# bucket_tag.c, mpu.c): a bucket's object and bucket tags, its uploads and their parts.
BUCKET_DBS = ("tags", "uploads", "parts")


@contextlib.contextmanager
def own_cluster(base, nodes=1, **kw):
    """A cluster that the test itself starts and stops, so that a node that dies (a known
    bug under xfail) fails the test's own call, with the node's error lines, and not the
    teardown of a fixture that other tests share."""
    c = Cluster(base, nodes=nodes, **kw)
    c.start()
    try:
        if nodes > 1:
            wait_leader(c)
        yield c
    except BaseException as e:
        problems = c.problems()
        c.stop(check=False)
        if problems:
            raise GatewayError("\n".join(problems + error_lines(c)) + "\n" + c.logs()) from e
        print(c.logs())  # pytest shows a failing test's stdout; the cluster is gone by then
        raise
    c.stop()


def restart_all(cluster):
    """SIGTERM every node (each must exit 0), start them again on their data directories
    (replaying their logs) and wait until they serve."""
    for n in cluster.nodes:
        rc = n.stop()
        if rc != 0:
            raise GatewayError("node %d: SIGTERM exit status %s\n%s" % (n.node_id, rc,
                                                                         n.log_tail()))
    for n in cluster.nodes:
        n.start()
    for n in cluster.nodes:
        n.wait_ready()
    if len(cluster.nodes) > 1:
        wait_leader(cluster)


def awscli(cluster, multipart_mb=None):
    """A runner of /usr/bin/aws against @cluster: aws(*args, node=0, check=True).  Its own
    config file: path style, json output, one attempt per request (as the boto3 clients: no
    retry hides an error, and a node that is gone fails at once), and multipart from
    @multipart_mb MiB on (never when None)."""
    env = cluster.client_env()
    mp = "%dMB" % multipart_mb if multipart_mb else "5GB"
    env["AWS_CONFIG_FILE"] = os.path.join(cluster.client_dir, "aws-config-%s" % mp)
    with open(env["AWS_CONFIG_FILE"], "w") as f:
        f.write("[default]\nregion = %s\noutput = json\nmax_attempts = 1\n"
                "s3 =\n    multipart_threshold = %s\n"
                "    multipart_chunksize = %s\n    addressing_style = path\n" % (REGION, mp, mp))

    def aws(*args, node=0, check=True):
        return run([AWS_CLI, "--endpoint-url", cluster.nodes[node].endpoint, "--no-cli-pager"]
                   + list(args), env=env, timeout=180, check=check)
    return aws


def error_lines(cluster):
    """The level=error lines of every node's log, prefixed by the node id."""
    out = []
    for n in cluster.nodes:
        out += ["node %d: %s" % (n.node_id, line) for line in n.log_text().splitlines()
                if "level=error" in line or "ERROR:" in line]
    return out


def _mdb_unescape(text):
    """Bytes of one mdb_dump -p line (printable bytes as is, others as \\xx)."""
    out = bytearray()
    i = 0
    while i < len(text):
        if text[i] == "\\" and text[i + 1:i + 2] == "\\":
            out.append(0x5C)
            i += 2
        elif text[i] == "\\":
            out.append(int(text[i + 1:i + 3], 16))
            i += 3
        else:
            out += text[i].encode("latin-1")
            i += 1
    return bytes(out)


def store_keys(node, db):
    """Keys of database @db in @node's metadata store, read with mdb_dump (a read-only
    LMDB transaction beside the running node; lmdb-utils comes from deploy/deps.sh)."""
    if not os.access(MDB_DUMP, os.X_OK):
        raise GatewayError("%s is missing (deploy/deps.sh installs lmdb-utils)" % MDB_DUMP)
    p = run([MDB_DUMP, "-p", "-s", db, os.path.join(node.data, "meta")], timeout=30)
    lines = p.stdout.decode("latin-1").splitlines()
    body = lines[lines.index("HEADER=END") + 1:lines.index("DATA=END")]
    return [_mdb_unescape(line[1:]) for line in body[0::2]]


def wait_all_applied(cluster, timeout=20.0):
    """Wait until every live node has applied what the leader has committed."""
    if len(cluster.nodes) == 1:
        return
    lead = cluster.nodes[wait_leader(cluster, timeout=timeout)]
    target = node_raft(lead)[2]
    for i, n in enumerate(cluster.nodes):
        if node_alive(n):
            wait_applied(cluster, i, target, timeout=timeout)


def bucket_records(cluster, bucket):
    """{node id: {db: [keys]}} of every store record of @bucket (keys "bucket\0...") in
    BUCKET_DBS, once every node has applied all that was committed."""
    wait_all_applied(cluster)
    prefix = bucket.encode() + b"\0"
    out = {}
    for n in cluster.nodes:
        found = {db: [k for k in store_keys(n, db) if k.startswith(prefix)] for db in BUCKET_DBS}
        found = {db: keys for db, keys in found.items() if keys}
        if found:
            out[n.node_id] = found
    return out


def mount_leftovers(mount, bucket, timeout=5.0):
    """What a bucket that was deleted and created again (and holds nothing) may not have:
    entries in its directory, files in the mount's root, anything in .unigw/tmp or
    .unigw/multipart.  Temp files may go just after a response: a bounded grace period."""
    deadline = time.monotonic() + timeout
    while True:
        left = []
        bdir = os.path.join(mount, bucket)
        if not os.path.isdir(bdir):
            left.append("%s is not a directory" % bdir)
        else:
            left += [os.path.join(bucket, e) for e in sorted(os.listdir(bdir))]
        left += [e for e in sorted(os.listdir(mount))
                 if not os.path.isdir(os.path.join(mount, e))
                 or (e.startswith(".") and e != ".unigw")]
        for sub in ("tmp", "multipart"):
            root = os.path.join(mount, ".unigw", sub)
            for d, dirs, files in os.walk(root):
                left += [os.path.relpath(os.path.join(d, f), mount) for f in dirs + files]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.1)


def assert_nothing_left(mount, bucket, cluster=None):
    """@bucket, deleted and created again, holds nothing: on the mount (mount_leftovers) and,
    with @cluster, in any node's metadata store (no tag, bucket-tag, upload or part record
    of the bucket)."""
    left = mount_leftovers(mount, bucket)
    assert left == [], "left on the mount after the bucket's deletion: %r" % left
    if cluster is not None:
        recs = bucket_records(cluster, bucket)
        assert recs == {}, "store records of %s outlived the bucket: %r" % (bucket, recs)


def assert_s3_empty(s3, bucket, keys=()):
    """Through the S3 API (boto3 @s3): @bucket lists no object and no upload, has no bucket
    tags, and each of @keys, written again, has no tags."""
    from botocore.exceptions import ClientError
    assert s3.list_objects_v2(Bucket=bucket).get("KeyCount") == 0
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    try:
        got = s3.get_bucket_tagging(Bucket=bucket)
        raise AssertionError("a new bucket has tags: %r" % got.get("TagSet"))
    except ClientError as e:
        assert client_error(e) == ("NoSuchTagSet", 404), e.response
    for k in keys:
        s3.put_object(Bucket=bucket, Key=k, Body=b"again")
        assert s3.get_object_tagging(Bucket=bucket, Key=k)["TagSet"] == [], k
    if keys:
        s3.delete_objects(Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys]})

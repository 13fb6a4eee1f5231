"""Stress: the failure paths of the write pipelines, many times and concurrently.

ctest label `stress` (`make test` runs it after the integration suites), meant for the
ASan+UBSan build.  Each test runs a mix of failing requests from several threads until its
time budget (UNIGW_STRESS_SECONDS, default 40 s per test) is spent:

  * the client disconnects at every phase of PutObject, UploadPart and
    CompleteMultipartUpload (after the head, inside the body, after the whole body without
    reading the answer, after 100 Continue, right after the Complete document, after the
    200 of a Complete started streaming);
  * digest mismatches (Content-MD5, x-amz-content-sha256, x-amz-checksum-crc32, an
    aws-chunked trailer checksum) and aws-chunked streams cut off anywhere;
  * a full disk (a small tmpfs mount, as test_errors.py::test_disk_full): large PUTs,
    UploadParts and Completes that cannot fit, small writes that may or may not;
with well-formed writes mixed in whose bytes are checked.

It fails on any sanitizer report or unexpected exit of the node (conftest), on a second
response ("resp_start twice" in the log, or bytes after an answer the node closed the
connection with), on any answer other than the expected ones, on a temp file left in
.unigw/tmp, on a staged part file that no committed part owns, and when an upload that
saw a failed Complete cannot be completed by a retry.
"""
import concurrent.futures
import hashlib
import os
import random
import socket
import threading
import time
import xml.etree.ElementTree as ET

import botocore.exceptions
import pytest

import util
from util import RawConn

GW_NODES = 1
BUDGET_S = float(os.environ.get("UNIGW_STRESS_SECONDS", "40"))
WORKERS = 8
DOUBLE_RESPONSE_MARKS = ("resp_start twice", "resp_end twice")
MIB = 1 << 20


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.counts = {}

    def add(self, name):
        with self.lock:
            self.counts[name] = self.counts.get(name, 0) + 1

    def total(self):
        return sum(self.counts.values())


def node_log_checks(c):
    for n in c.nodes:
        text = n.log_text()
        for mark in DOUBLE_RESPONSE_MARKS:
            assert mark not in text, "node %d: %s" % (n.node_id, mark)


def answer_then_close(conn):
    """Read one answer; when the node closes the connection after it, nothing may follow."""
    st, h, body = conn.read_response()
    while st == 100:
        st, h, body = conn.read_response()
    if h.get("connection", "").lower() == "close":
        conn.sock.settimeout(10)
        extra = b""
        try:
            while True:
                data = conn.sock.recv(65536)
                if not data:
                    break
                extra += data
        except (ConnectionResetError, socket.timeout):
            pass
        assert conn.buf + extra == b"", "bytes after the answer: %r" % (conn.buf + extra)[:200]
    return st, h, body


def send_quietly(conn, data):
    try:
        conn.send(data)
        return True
    except (BrokenPipeError, ConnectionResetError):
        return False  # the node answered and closed already


def raw_put(c, path, body, headers=None, payload_hash=None, query=None, cut=None,
            read=True, expect_continue=False):
    """A PUT on its own connection.  @cut: bytes of the body to send before closing
    without reading (None: all, then read the answer unless not @read)."""
    h = dict(headers or {})
    h.setdefault("Content-Length", str(len(body)))
    if expect_continue:
        h["Expect"] = "100-continue"
    head = util.raw_request_bytes(c, "PUT", path, query=query, headers=h,
                                  payload_hash=payload_hash or util.UNSIGNED_PAYLOAD)
    conn = RawConn(c.node, timeout=60)
    try:
        conn.send(head)
        if expect_continue:
            st, _, _ = conn.read_response()
            if st != 100:
                return st  # refused before the body
        if cut is not None:
            send_quietly(conn, body[:cut])
            return None
        if not send_quietly(conn, body) or read:
            try:
                return answer_then_close(conn)[0]
            except (ConnectionError, OSError):
                return None if not read else "reset"
        return None
    finally:
        conn.close()


def aws_chunked(data, piece, checksum=None):
    """STREAMING-UNSIGNED-PAYLOAD-TRAILER framing with an x-amz-checksum-crc32 trailer."""
    out = b""
    for i in range(0, len(data), piece):
        part = data[i:i + piece]
        out += b"%x\r\n%s\r\n" % (len(part), part)
    ck = checksum or util.checksum_b64("CRC32", data)
    return out + b"0\r\nx-amz-checksum-crc32:%s\r\n\r\n" % ck.encode()


def chunked_headers(data, body):
    return {"Content-Encoding": "aws-chunked", "X-Amz-Decoded-Content-Length": str(len(data)),
            "X-Amz-Trailer": "x-amz-checksum-crc32", "Content-Length": str(len(body))}


class Workload:
    """The request mix of one test; every scenario returns what it checked."""

    def __init__(self, c, s3, bucket, rnd, stats):
        self.c, self.s3, self.bucket, self.rnd, self.stats = c, s3, bucket, rnd, stats
        self.uploads = []  # (key, upload id) for parts
        self.next_part = {}
        self.lock = threading.Lock()
        self.retry_completes = []

    def key(self, prefix, rnd):
        return "%s/%d-%d" % (prefix, threading.get_ident() % 1000, rnd.randrange(10 ** 9))

    def path(self, key):
        return util.key_path(self.bucket, key)

    def nothing_at(self, key):
        assert not os.path.lexists(os.path.join(self.c.mount, self.bucket, *key.split("/")))

    # --- PutObject ---
    def put_disconnect(self, rnd):
        key = self.key("gone", rnd)
        body = os.urandom(rnd.choice((1000, 300000, 3 * MIB)))
        phase = rnd.choice(("head", "inside", "all-unread", "continue"))
        if phase == "head":
            raw_put(self.c, self.path(key), body, cut=0)
        elif phase == "inside":
            raw_put(self.c, self.path(key), body, cut=rnd.randrange(1, len(body)))
        elif phase == "all-unread":
            raw_put(self.c, self.path(key), body, read=False)
        else:
            raw_put(self.c, self.path(key), body, cut=rnd.randrange(0, len(body)),
                    expect_continue=True)
        self.stats.add("put-gone-" + phase)

    def put_digest(self, rnd):
        key = self.key("bad", rnd)
        body = os.urandom(rnd.choice((10, 200000, 2 * MIB)))
        kind = rnd.choice(("md5", "sha256", "crc32"))
        if kind == "md5":
            st = raw_put(self.c, self.path(key), body,
                         headers={"Content-MD5": util.md5_b64(body + b"x")})
            want = 400
        elif kind == "sha256":
            st = raw_put(self.c, self.path(key), body,
                         payload_hash=hashlib.sha256(body + b"x").hexdigest())
            want = 400
        else:
            st = raw_put(self.c, self.path(key), body,
                         headers={"x-amz-checksum-crc32": util.checksum_b64("CRC32", b"x")})
            want = 400
        assert st == want, (kind, st)
        self.nothing_at(key)
        self.stats.add("put-digest-" + kind)

    def put_chunked(self, rnd):
        key = self.key("chunked", rnd)
        data = os.urandom(rnd.choice((100, 70000, MIB + 17)))
        kind = rnd.choice(("ok", "bad-trailer", "cut"))
        body = aws_chunked(data, rnd.choice((64 * 1024, 8192)),
                           checksum=util.checksum_b64("CRC32", b"no") if kind == "bad-trailer"
                           else None)
        h = chunked_headers(data, body)
        ph = "STREAMING-UNSIGNED-PAYLOAD-TRAILER"
        if kind == "cut":
            raw_put(self.c, self.path(key), body, headers=h, payload_hash=ph,
                    cut=rnd.randrange(0, len(body) - 5))
            self.stats.add("chunked-cut")
            return
        st = raw_put(self.c, self.path(key), body, headers=h, payload_hash=ph)
        if kind == "ok":
            assert st == 200, st
            with open(os.path.join(self.c.mount, self.bucket, *key.split("/")), "rb") as f:
                assert f.read() == data
        else:
            assert st == 400, st
            self.nothing_at(key)
        self.stats.add("chunked-" + kind)

    def put_ok(self, rnd):
        key = self.key("ok", rnd)
        body = os.urandom(rnd.choice((0, 5000, MIB)))
        st = raw_put(self.c, self.path(key), body, headers={"Content-MD5": util.md5_b64(body)})
        assert st == 200, st
        with open(os.path.join(self.c.mount, self.bucket, *key.split("/")), "rb") as f:
            assert f.read() == body
        self.stats.add("put-ok")

    # --- UploadPart ---
    def part_failures(self, rnd):
        with self.lock:
            if not self.uploads or rnd.random() < 0.1:
                key = self.key("mp", rnd)
                up = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
                self.uploads.append((key, up))
                self.next_part[up] = 1
            key, up = rnd.choice(self.uploads)
            # One request per part number: two concurrent uploads of one number may both
            # commit, and the file of the first then stays staged until the upload ends
            # (the part record does not say what it replaced); here every file left that
            # no part owns is a failed request's.
            number = self.next_part[up]
            self.next_part[up] += 1
        q = [("partNumber", str(number)), ("uploadId", up)]
        body = os.urandom(rnd.choice((1000, 400000)))
        kind = rnd.choice(("gone-inside", "gone-unread", "bad-md5", "ok"))
        if kind == "gone-inside":
            raw_put(self.c, self.path(key), body, query=q, cut=rnd.randrange(1, len(body)))
        elif kind == "gone-unread":
            raw_put(self.c, self.path(key), body, query=q, read=False)
        elif kind == "bad-md5":
            st = raw_put(self.c, self.path(key), body, query=q,
                         headers={"Content-MD5": util.md5_b64(b"x")})
            assert st in (400, 409), st  # 409: a Complete claimed the upload meanwhile
        else:
            st = raw_put(self.c, self.path(key), body, query=q)
            assert st in (200, 404, 409), st
        self.stats.add("part-" + kind)

    # --- CompleteMultipartUpload ---
    def complete_disconnect(self, rnd):
        key = self.key("cmpl", rnd)
        up = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        data = os.urandom(rnd.choice((100, 100000)))
        e = self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=up, PartNumber=1,
                                Body=data)["ETag"]
        doc = ("<CompleteMultipartUpload><Part><PartNumber>1</PartNumber><ETag>%s</ETag>"
               "</Part></CompleteMultipartUpload>" % e).encode()
        head = util.raw_request_bytes(self.c, "POST", self.path(key), query=[("uploadId", up)],
                                      body=doc)
        conn = RawConn(self.c.node, timeout=60)
        phase = rnd.choice(("sent", "inside", "status"))
        try:
            if phase == "inside":
                conn.send(head[:len(head) - rnd.randrange(1, len(doc))])
            else:
                conn.send(head)
            if phase == "status":
                conn._line()
        except (ConnectionError, OSError):
            pass
        finally:
            conn.close()
        with self.lock:
            self.retry_completes.append((key, up, e, data))
        self.stats.add("complete-gone-" + phase)

    def finish_completes(self):
        """Every upload whose Complete lost its client completes on a retry."""
        for key, up, e, data in self.retry_completes:
            r = self.s3.complete_multipart_upload(
                Bucket=self.bucket, Key=key, UploadId=up,
                MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": e}]})
            assert r["ETag"].endswith('-1"'), r
            assert self.s3.get_object(Bucket=self.bucket, Key=key)["Body"].read() == data

    def check_staged(self):
        """Each upload's staged directory holds one file per committed part."""
        for key, up in self.uploads:
            try:
                parts = self.s3.list_parts(Bucket=self.bucket, Key=key, UploadId=up).get("Parts", [])
            except botocore.exceptions.ClientError:
                continue
            d = os.path.join(self.c.mount, ".unigw", "multipart", up)
            files = os.listdir(d) if os.path.isdir(d) else []
            deadline = time.monotonic() + 5  # a replaced part's file goes just after
            while len(files) != len(parts) and time.monotonic() < deadline:
                time.sleep(0.1)
                files = os.listdir(d) if os.path.isdir(d) else []
            assert len(files) == len(parts), (up, files, parts)


def run_mix(work, scenarios, seed):
    deadline = time.monotonic() + BUDGET_S
    errors = []

    def worker(i):
        rnd = random.Random(seed * 1000 + i)
        while time.monotonic() < deadline and not errors:
            fn = rnd.choice(scenarios)
            try:
                fn(rnd)
            except Exception as e:  # noqa: BLE001 - reported below, with the seed
                errors.append("%s: %r" % (fn.__name__, e))
    with concurrent.futures.ThreadPoolExecutor(WORKERS) as ex:
        list(ex.map(worker, range(WORKERS)))
    assert not errors, "seed %d: %s" % (seed, errors[:5])


def final_checks(c, work):
    left = c.wait_tmp_empty(timeout=10)
    assert left == [], "temp files left in .unigw/tmp: %r" % left[:10]
    node_log_checks(c)
    st, _, _ = util.http_request(c.endpoint, "GET", "/health/live")
    assert st == 200
    print("requests: %d %r" % (work.stats.total(), sorted(work.stats.counts.items())))


def test_disconnects_digests_chunked(gw_factory):
    c = gw_factory()
    s3 = c.boto3()
    bucket = util.unique_bucket("stress")
    s3.create_bucket(Bucket=bucket)
    seed = int(os.environ.get("UNIGW_STRESS_SEED", random.randrange(1 << 30)))
    work = Workload(c, s3, bucket, random.Random(seed), Stats())
    run_mix(work, [work.put_disconnect, work.put_digest, work.put_chunked, work.put_ok,
                   work.part_failures, work.complete_disconnect], seed)
    work.finish_completes()
    work.check_staged()
    final_checks(c, work)


# ---------------------------------------------------------------------------------------------
# a full disk


class FullDisk(Workload):
    def big_put(self, rnd):
        key = self.key("big", rnd)
        body = os.urandom(rnd.choice((9 * MIB, 16 * MIB)))
        st = raw_put(self.c, self.path(key), body)
        assert st in (507, "reset", None), st
        self.stats.add("big-put-%s" % st)

    def small_put(self, rnd):
        key = self.key("small", rnd)
        body = os.urandom(rnd.choice((100, 200000)))
        st = raw_put(self.c, self.path(key), body)
        assert st in (200, 507), st  # the big writes may hold the space for a moment
        if st == 200:
            with open(os.path.join(self.c.mount, self.bucket, *key.split("/")), "rb") as f:
                assert f.read() == body
            os.unlink(os.path.join(self.c.mount, self.bucket, *key.split("/")))
        self.stats.add("small-put-%d" % st)

    def big_part(self, rnd):
        with self.lock:
            if not self.uploads:
                key = self.key("mp", rnd)
                up = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
                self.uploads.append((key, up))
                self.next_part[up] = 1
            key, up = self.uploads[0]
            number = self.next_part[up]
            self.next_part[up] += 1
        body = os.urandom(9 * MIB)
        st = raw_put(self.c, self.path(key), body,
                     query=[("partNumber", str(number)), ("uploadId", up)])
        assert st in (507, "reset", None), st
        self.stats.add("big-part-%s" % st)

    def full_complete(self, rnd):
        """A Complete while the big writes fill the disk: 200 with its result, or 507 (in
        the 200's body once it streams, or for the part)."""
        key = self.key("cmpl", rnd)
        up = self.s3.create_multipart_upload(Bucket=self.bucket, Key=key)["UploadId"]
        try:
            e = self.s3.upload_part(Bucket=self.bucket, Key=key, UploadId=up, PartNumber=1,
                                    Body=b"q" * 3000)["ETag"]
            r = util.http_request(self.c.endpoint, "POST", self.path(key),
                                  query=[("uploadId", up)], creds=(self.c.access_key,
                                                                   self.c.secret_key),
                                  body=("<CompleteMultipartUpload><Part><PartNumber>1"
                                        "</PartNumber><ETag>%s</ETag></Part>"
                                        "</CompleteMultipartUpload>" % e).encode())
            if r[0] == 200 and b"<Error>" not in r[2]:
                ET.fromstring(r[2])
                os.unlink(os.path.join(self.c.mount, self.bucket, *key.split("/")))
                self.stats.add("complete-ok")
            else:
                assert r[0] in (200, 507) and b"InsufficientStorage" in r[2], r
                self.stats.add("complete-507")
        except botocore.exceptions.ClientError as e:
            assert util.client_error(e)[1] == 507, e
            self.stats.add("complete-part-507")
        finally:
            try:
                self.s3.abort_multipart_upload(Bucket=self.bucket, Key=key, UploadId=up)
            except botocore.exceptions.ClientError:
                pass


def test_disk_full_concurrent(small_tmpfs, gw_factory):
    c = gw_factory(mount=small_tmpfs)
    s3 = c.boto3()
    s3.create_bucket(Bucket="full")
    s3.put_object(Bucket="full", Key="keep", Body=b"fits")
    seed = int(os.environ.get("UNIGW_STRESS_SEED", random.randrange(1 << 30)))
    work = FullDisk(c, s3, "full", random.Random(seed), Stats())
    run_mix(work, [work.big_put, work.big_put, work.small_put, work.big_part,
                   work.full_complete, work.put_disconnect], seed)
    work.check_staged()
    for key, up in work.uploads:
        s3.abort_multipart_upload(Bucket="full", Key=key, UploadId=up)
    final_checks(c, work)
    assert s3.get_object(Bucket="full", Key="keep")["Body"].read() == b"fits"
    # Requests whose client left after sending everything may have stored their object:
    # those go, and then every byte of the failed ones must be free again (no open fd of
    # an unlinked temp file holds any).
    for top in ("gone", "small"):
        for root, _, files in os.walk(os.path.join(small_tmpfs, "full", top)):
            for f in files:
                os.unlink(os.path.join(root, f))
    st = os.statvfs(small_tmpfs)
    assert st.f_bfree * st.f_frsize > 7 * MIB, "the space of the failed writes is not back"

"""unigw-bench (tests/bench) against a real node, briefly (1 s runs, 127.0.0.1 only): its
JSON has the documented fields and its counts agree with what the node stored, a wrong
secret shows up as errors with the S3 code, and the multipart and mixed workloads run
clean.  The binary is found next to UNIGW_BIN (or at UNIGW_BENCH_BIN)."""
import json
import os
import subprocess

import util


def bench_bin():
    path = os.environ.get("UNIGW_BENCH_BIN")
    if not path:
        path = os.path.join(os.path.dirname(util.unigw_bin()), "unigw-bench")
    if not os.access(path, os.X_OK):
        raise util.GatewayError("unigw-bench not found at %s (set UNIGW_BENCH_BIN)" % path)
    return path


def bench(gw, *args, secret=None, expect=0, targets=None):
    """Run unigw-bench with --json against @gw's first node (or @targets); the parsed JSON
    (None when the run printed none) and stderr."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"),
           "UNIGW_BENCH_ACCESS_KEY": gw.access_key,
           "UNIGW_BENCH_SECRET_KEY": secret or gw.secret_key,
           "ASAN_OPTIONS": "detect_leaks=1"}
    argv = [bench_bin(), "--target", targets or gw.node.hostport, "--json", "--threads", "2"]
    argv += list(args)
    p = subprocess.run(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                       timeout=120)
    err = p.stderr.decode(errors="replace")
    assert p.returncode == expect, "%s: exit %d\n%s" % (" ".join(argv), p.returncode, err)
    assert "AddressSanitizer" not in err and "runtime error:" not in err, err
    return (json.loads(p.stdout) if p.stdout.strip() else None), err


def op(doc, name):
    rows = [o for o in doc["ops"] if o["op"] == name]
    assert len(rows) == 1, doc["ops"]
    return rows[0]


def check_row(row, size=None):
    lat = row["latency_ms"]
    assert row["ops"] > 0 and row["errors"] == 0, row
    assert row["ops_per_s"] > 0
    assert lat["min"] <= lat["p50"] <= lat["p90"] <= lat["p99"] <= lat["p99.9"] <= lat["max"]
    assert 0 < lat["min"] and lat["max"] < 60000, lat
    if size is not None:
        assert row["bytes"] == row["ops"] * size, row
        assert row["bytes_per_s"] > 0


def keys(gw, bucket, prefix=""):
    out = {}
    for page in gw.boto3().get_paginator("list_objects_v2").paginate(Bucket=bucket,
                                                                     Prefix=prefix):
        for o in page.get("Contents", []):
            out[o["Key"]] = o
    return out


def test_put_json_fields_and_counts(gw):
    """Every PUT that the JSON counts is a new key the node stored, with the given size."""
    bucket = util.unique_bucket("bench")
    doc, _ = bench(gw, "-w", "put", "-c", "4", "-d", "1s", "-s", "4KiB", "-b", bucket,
                   "--create-bucket", "--prefixes", "3", "--key-prefix", "p")
    assert doc["tool"] == "unigw-bench"
    cfg = doc["config"]
    assert cfg["workload"] == "put" and cfg["connections"] == 4 and cfg["threads"] == 2
    assert cfg["targets"] == [gw.node.hostport] and cfg["sign"] == "header"
    m = doc["machine"]
    assert m["cores"] >= 1 and len(m["loadavg_before"]) == 3 and len(m["loadavg_after"]) == 3
    assert isinstance(m["busy"], bool)
    assert 0.9 < doc["elapsed_s"] < 30 and doc["errors"] == 0
    row = op(doc, "PUT")
    check_row(row, 4096)
    stored = keys(gw, bucket)
    assert len(stored) == row["ops"]
    assert {k.split("/")[0] for k in stored} == {"p0", "p1", "p2"}
    assert all(o["Size"] == 4096 for o in stored.values())


def test_get_presigned_and_sha256_put(gw):
    """Presigned GETs read the prepared objects; header-signed PUTs with the body's SHA-256
    verify on the node."""
    bucket = util.unique_bucket("bench")
    doc, _ = bench(gw, "-w", "get", "-c", "4", "-d", "1s", "-s", "1KiB", "-b", bucket,
                   "--create-bucket", "--objects", "10", "--sign", "presign")
    check_row(op(doc, "GET"), 1024)
    assert doc["config"]["sign"] == "presign"
    assert len(keys(gw, bucket)) == 10
    doc, _ = bench(gw, "-w", "put", "-c", "2", "-n", "20", "-d", "0", "-s", "1KiB-8KiB",
                   "-b", bucket, "--payload", "sha256", "--key-prefix", "sha")
    row = op(doc, "PUT")
    check_row(row)
    assert row["ops"] == 20 and len(keys(gw, bucket, "sha")) == 20


def test_wrong_secret_is_reported(gw):
    """With a wrong secret every request fails with the node's SignatureDoesNotMatch: the
    run says so and exits 1; a prepare that fails stops the run (exit 2)."""
    bucket = util.unique_bucket("bench")
    gw.boto3().create_bucket(Bucket=bucket)
    doc, _ = bench(gw, "-w", "put", "-c", "2", "-n", "10", "-d", "0", "-b", bucket,
                   secret="not-the-secret", expect=1)
    row = op(doc, "PUT")
    assert row["ops"] == 0 and row["errors"] == 10 and doc["errors"] == 10
    assert row["first_error_status"] == 403
    assert "SignatureDoesNotMatch" in row["first_error"]
    assert keys(gw, bucket) == {}
    doc, err = bench(gw, "-w", "get", "-c", "2", "-d", "1s", "-b", bucket, "--objects", "3",
                     secret="not-the-secret", expect=2)
    assert doc is None and "prepare PUT" in err and "SignatureDoesNotMatch" in err


def test_multipart_and_mixed(gw):
    """Multipart uploads complete with their parts; a mixed run has no errors."""
    bucket = util.unique_bucket("bench")
    doc, _ = bench(gw, "-w", "multipart", "-c", "2", "-n", "2", "-d", "0", "-b", bucket,
                   "--create-bucket", "--part-size", "5MiB", "--parts", "2")
    for name in ("MPU_CREATE", "MPU_COMPLETE", "MULTIPART"):
        assert op(doc, name)["ops"] == 2 and op(doc, name)["errors"] == 0
    assert op(doc, "MPU_PART")["ops"] == 4
    assert op(doc, "MULTIPART")["bytes"] == 2 * 10 * 1048576
    stored = keys(gw, bucket)
    assert len(stored) == 2
    assert all(o["Size"] == 10 * 1048576 and o["ETag"].endswith('-2"')
               for o in stored.values())
    doc, _ = bench(gw, "-w", "mixed", "-c", "4", "-d", "1s", "-b", bucket, "--objects", "20",
                   "--key-prefix", "mix", "--mix", "get=4,stat=3,put=2,delete=1,list=1")
    assert doc["errors"] == 0
    for name in ("GET", "STAT", "PUT", "DELETE", "LIST"):
        check_row(op(doc, name))


def test_targets_spread_over_three_nodes(gw_factory):
    """With three targets every node serves a third of the connections: each node's access
    log has PUTs, and together they are exactly the PUTs the JSON counts."""
    c = gw_factory(nodes=3)
    bucket = util.unique_bucket("bench")
    targets = ",".join(n.hostport for n in c.nodes)
    doc, _ = bench(c, "-w", "put", "-c", "6", "-d", "1s", "-b", bucket, "--create-bucket",
                   targets=targets)
    assert doc["config"]["targets"] == [n.hostport for n in c.nodes]
    row = op(doc, "PUT")
    check_row(row, 4096)
    served = [sum(1 for line in n.log_text().splitlines()
                  if "op=PutObject" in line and "status=200" in line and bucket in line)
              for n in c.nodes]
    assert all(s > 0 for s in served), served
    assert sum(served) == row["ops"], (served, row["ops"])

#!/usr/bin/env bash
# unigw benchmark: `make bench` runs `bash tests/bench/run.sh BUILD_DIR`.
#
# Every figure is measured next to its reference on the same machine in the same run, on
# loopback, on the same disk, and printed as a ratio (workload | unigw | reference | ratio):
#   1. 1 GiB PUT on one connection (presigned UNSIGNED-PAYLOAD; header-signed with the hex
#      SHA-256 that unigw verifies; presigned on a second unigw with [storage] fsync = false)
#      versus nginx's dav module storing a PUT body (temp file, then rename, no fsync), and
#      the signed/unsigned rows also versus one core's MD5 throughput (`openssl speed md5`,
#      bytes per CPU second);
#   2. 1 GiB GET on one connection (presigned URL) versus nginx serving the same file
#      (sendfile on; nginx's root is unigw's mount, so it is the very same file);
#   3. 4 KiB GET, unigw-bench -c64 (presigned, so every request's signature is checked),
#      req/s and latency p50/p99/p99.9, versus nginx (plain HTTP) on the same file;
#   4. 4 KiB PUT of new keys, unigw-bench -c64 (header-signed, SHA-256 of the body
#      verified, fsync on), versus raw_put_rate: the best of 1, 8 and 64 threads doing
#      create + write + fsync + rename + fsync(dir) in one directory of the same file system
#      (measured right before and right after; the higher is the reference);
#   5. metadata writes on one node vs the three-node Raft cluster and kill -9 of the leader
#      (tests/bench/cluster_bench.py, a table of its own).
# Servers, ports, files and configs live in one temp dir; everything is stopped and removed
# on exit.  See tests/bench/README.md for the meaning of every number.
#
# Knobs (environment): UNIGW_BENCH_REPEAT (runs per 1 GiB transfer, median reported; 3),
# UNIGW_BENCH_SECONDS (each unigw-bench run; 10; UNIGW_BENCH_WRK_SECONDS is read too),
# UNIGW_BENCH_CONNS (64), UNIGW_BENCH_RAW_SECONDS (each raw_put_rate thread count; 2),
# UNIGW_BENCH_BIG_MIB (1024), UNIGW_BENCH_TMP (/tmp), UNIGW_BENCH_CLUSTER (1: run 5; 0: skip),
# UNIGW_BENCH_CONFIG (an extra unigw --config file for both unigw instances).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
BIN="$build/unigw"
PY=/usr/bin/python3
UB="$build/unigw-bench"
RAW="$build/raw_put_rate"
REPEAT=${UNIGW_BENCH_REPEAT:-3}
SECONDS_EACH=${UNIGW_BENCH_SECONDS:-${UNIGW_BENCH_WRK_SECONDS:-10}}
CONNS=${UNIGW_BENCH_CONNS:-64}
RAW_SECONDS=${UNIGW_BENCH_RAW_SECONDS:-2}
BIG_MIB=${UNIGW_BENCH_BIG_MIB:-1024}
BUCKET=bench

die() { echo "bench: $*" >&2; exit 1; }

for b in "$BIN" "$UB" "$RAW"; do
    [ -x "$b" ] || die "$b is not an executable (run \`make build\` first)"
done
for t in nginx curl openssl sha256sum "$PY"; do
    command -v "$t" >/dev/null || die "$t is missing (deploy/deps.sh installs it)"
done
"$PY" -c 'import boto3' 2>/dev/null || die "$PY has no boto3 (apt-get install python3-boto3)"
nginx -V 2>&1 | grep -q -- --with-http_dav_module || die "nginx lacks the dav module"

tmp=$(mktemp -d "${UNIGW_BENCH_TMP:-/tmp}/unigw-bench.XXXXXX")
unigw_pids=()
ngx_pid=""

cleanup() {
    local p
    for p in "${unigw_pids[@]}"; do
        kill -TERM "$p" 2>/dev/null || true
    done
    if [ -n "$ngx_pid" ]; then
        kill -TERM "$ngx_pid" 2>/dev/null || true
    fi
    for p in "${unigw_pids[@]}" $ngx_pid; do
        wait "$p" 2>/dev/null || true
    done
    rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export UNIGW_ROOT_ACCESS_KEY="AKIABENCH$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')"
export UNIGW_ROOT_SECRET_KEY="$(head -c 30 /dev/urandom | base64 | tr -d '/+=\n')"
export NO_PROXY='*' no_proxy='*'
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY ALL_PROXY all_proxy

s3req() { "$PY" "$here/s3req.py" "$@"; }

# ---- servers ------------------------------------------------------------------------------

wait_http() { # URL PID NAME LOG
    local i
    for i in $(seq 1 100); do
        if curl -s -o /dev/null -m 1 -w '%{http_code}' "$1" | grep -q '^200$'; then
            return 0
        fi
        kill -0 "$2" 2>/dev/null || { cat "$4" >&2; die "$3 exited during start-up"; }
        sleep 0.1
    done
    cat "$4" >&2
    die "$3 not ready after 10 s"
}

unigw_start() { # NAME EXTRA_ARGS... ; sets $endpoint
    local name=$1 port raft_port
    shift
    port=$(s3req - free-port)
    raft_port=$(s3req - free-port)
    mkdir -p "$tmp/$name/mount" "$tmp/$name/data"
    # Every node runs Raft (one voter here): each instance needs its own Raft port (and
    # the internal RPC takes the port after it).
    local argv=("$BIN" --listen "127.0.0.1:$port" --mount "$tmp/$name/mount"
                --data "$tmp/$name/data"
                --set "cluster.raft_listen=127.0.0.1:$raft_port")
    if [ -n "${UNIGW_BENCH_CONFIG:-}" ]; then
        argv+=(--config "$UNIGW_BENCH_CONFIG")
    fi
    argv+=("$@")
    "${argv[@]}" --print-config >"$tmp/$name/effective.conf"
    "${argv[@]}" </dev/null >"$tmp/$name/log" 2>&1 &
    unigw_pids+=($!)
    endpoint="http://127.0.0.1:$port"
    wait_http "$endpoint/health/ready" "$!" "unigw ($name)" "$tmp/$name/log"
}

nginx_start() { # ROOT ; sets $ngx_endpoint
    local port user_line="" d="$tmp/nginx"
    port=$(s3req - free-port)
    mkdir -p "$d/logs" "$d/client_body" "$d/put"
    [ "$(id -u)" = 0 ] && user_line="user root;"
    cat >"$d/nginx.conf" <<EOF
# Debian's stock settings (worker_processes auto, access log on, sendfile on) except
# tcp_nopush: TCP_CORK around sendfile halves nginx's single-connection GET on loopback
# here (~1.7 against ~3 GB/s), and unigw's sockets run with TCP_NODELAY and no cork.
# Plain HTTP on loopback; every path lives under this temp dir.
$user_line
daemon off;
worker_processes auto;
pid $d/nginx.pid;
error_log $d/logs/error.log warn;
events { worker_connections 1024; }
http {
    default_type application/octet-stream;
    access_log $d/logs/access.log;
    sendfile on;
    tcp_nopush off;
    keepalive_requests 1000000;
    client_max_body_size 0;
    client_body_temp_path $d/client_body;
    proxy_temp_path $d/proxy_temp;
    fastcgi_temp_path $d/fastcgi_temp;
    uwsgi_temp_path $d/uwsgi_temp;
    scgi_temp_path $d/scgi_temp;
    server {
        listen 127.0.0.1:$port;
        # PUT: the dav module streams the body into client_body_temp_path, then renames
        # the temp file onto $d/put/<name> (same file system, no fsync).
        location = /.bench-ready { return 200 "ready\n"; }
        location /put/ { root $d; dav_methods PUT; create_full_put_path on; }
        # GET: unigw's mount, so /BUCKET/KEY is the very file unigw serves.
        location / { root $1; }
    }
}
EOF
    nginx -p "$d" -c "$d/nginx.conf" -e "$d/logs/error.log" </dev/null >"$d/logs/stdout" 2>&1 &
    ngx_pid=$!
    ngx_endpoint="http://127.0.0.1:$port"
    wait_http "$ngx_endpoint/.bench-ready" "$ngx_pid" nginx "$d/logs/error.log"
}

# ---- measurements -------------------------------------------------------------------------

results="$tmp/results"
: >"$results"
busy=0 # unigw-bench runs that found the machine busy

median() { sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }

# curl_mibs WHAT_FOR_ERRORS CURL_ARGS... -> MiB/s of one transfer (upload or download)
curl_mibs() {
    local what=$1 out code bytes secs
    shift
    out=$(curl -s -S -o /dev/null -w '%{http_code} %{size_upload} %{size_download} %{time_total}' \
          "$@") || die "$what: curl failed"
    read -r code up down secs <<<"$out"
    case "$code" in 200 | 201 | 204) ;; *) die "$what: HTTP $code" ;; esac
    bytes=$((up > down ? up : down))
    [ "$bytes" -eq "$big_bytes" ] || die "$what: moved $bytes bytes, expected $big_bytes"
    awk -v b="$bytes" -v s="$secs" 'BEGIN { printf "%.1f\n", b / 1048576 / s }'
}

# Samples of one figure go to $tmp/samples.NAME, one per line; sample_median NAME.
sample() {
    local v
    v=$(curl_mibs "$@")
    echo "$v" >>"$tmp/samples.$1"
    printf '    %-8s %10s MiB/s\n' "$1" "$v" >&2
}
sample_median() { median <"$tmp/samples.$1"; }

# row LABEL UNIT BETTER(high|low) UNIGW REFERENCE REFERENCE_NAME GOAL
row() {
    printf '%s|%s|%s|%s|%s|%s|%s\n' "$@" >>"$results"
    printf '  %-46s unigw %10s  %s %10s %s\n' "$1" "$4" "$6" "$5" "$2" >&2
}

# ub NAME ARGS... : unigw-bench --json into $tmp/ub.NAME.json, its table on stderr; any
# failed request (a signature refused, a digest mismatch, a 5xx) fails the whole bench.
ub() {
    local name=$1
    shift
    if ! "$UB" --json "$@" >"$tmp/ub.$name.json" 2>"$tmp/ub.$name.err"; then
        cat "$tmp/ub.$name.err" >&2
        die "unigw-bench ($name) failed: $*"
    fi
    sed 's/^/    /' "$tmp/ub.$name.err" >&2
}

# ub_fields NAME OP -> "ops_per_s p50_ms p99_ms p99.9_ms busy(0|1)"
ub_fields() {
    "$PY" - "$tmp/ub.$1.json" "$2" <<'PYEOF'
import json, sys
d = json.load(open(sys.argv[1]))
o = [r for r in d["ops"] if r["op"] == sys.argv[2]][0]
l = o["latency_ms"]
print("%.0f %.3f %.3f %.3f %d" % (o["ops_per_s"], l["p50"], l["p99"], l["p99.9"],
                                  d["machine"]["busy"]))
PYEOF
}

# raw_rate LABEL -> best ops/s of raw_put_rate in $tmp/main/raw (the mount's file system)
raw_rate() {
    local out
    mkdir -p "$tmp/main/raw"
    out=$("$RAW" "$tmp/main/raw" --threads 1,8,64 --seconds "$RAW_SECONDS") ||
        die "raw_put_rate failed"
    sed "s/^/    raw ($1): /" <<<"$out" >&2
    sed -n 's/^best_threads=[0-9]* best_ops_per_s=//p' <<<"$out"
}

# md5_rate -> MiB/s one core hashes MD5 (openssl speed: bytes per CPU second, 1 MiB blocks)
md5_rate() {
    local out
    out=$(openssl speed -seconds 3 -bytes 1048576 -mr md5 2>/dev/null) || die "openssl speed failed"
    awk -F: '/^\+F:/ { printf "%.1f\n", $4 / 1048576 }' <<<"$out"
}

# ---- run ----------------------------------------------------------------------------------

echo "bench: $(nproc) cores, load average $(cut -d' ' -f1-3 /proc/loadavg), $(uname -r), $("$BIN" --version 2>&1 | head -1)," \
     "nginx $(nginx -v 2>&1 | sed 's/.*nginx\///'), work dir $tmp" >&2

load0=$(cut -d' ' -f1-3 /proc/loadavg)
if awk -v l="${load0%% *}" -v n="$(nproc)" 'BEGIN { exit !(l > n / 2) }'; then
    echo "bench: warning: load average $load0 on $(nproc) cores before the run;" \
         "other work shares the CPUs and the figures will be noisy" >&2
fi
unigw_start main
main_ep=$endpoint
unigw_start nofsync --set storage.fsync=false
nofsync_ep=$endpoint
s3req "$main_ep" mkbucket "$BUCKET"
s3req "$nofsync_ep" mkbucket "$BUCKET"
nginx_start "$tmp/main/mount"
echo "bench: unigw $main_ep (fsync on), unigw $nofsync_ep (fsync off), nginx $ngx_endpoint" >&2

big_bytes=$((BIG_MIB * 1048576))
src="$tmp/src.bin"
echo "bench: writing a ${BIG_MIB} MiB random source file" >&2
head -c "$big_bytes" /dev/urandom >"$src"
sha=$(sha256sum "$src" | cut -d' ' -f1)

echo "bench: 1: ${BIG_MIB} MiB PUT, one connection, $REPEAT runs each (median MiB/s)" >&2
put_url=$(s3req "$main_ep" presign PUT "$BUCKET" big)
nput_url=$(s3req "$nofsync_ep" presign PUT "$BUCKET" big)
signed_put() {
    local hdr=() line
    while IFS= read -r line; do hdr+=(-H "$line"); done \
        < <(s3req "$main_ep" signed-put "$BUCKET" big "$sha")
    sample u_sput "${hdr[@]}" -T "$src" "$main_ep/$BUCKET/big"
}
# The runs interleave so that a slow moment of the machine hits every figure alike.  Data
# left dirty by a server that does not fsync (nginx, unigw with fsync=false) is written back
# with sync(1) on that one file, outside the timed transfer, so that it does not slow the
# next run; nothing else is flushed and no cache is dropped.
for i in $(seq 1 "$REPEAT"); do
    sample u_put -T "$src" "$put_url"
    signed_put
    sample u_nput -T "$src" "$nput_url"
    sync "$tmp/nofsync/mount/$BUCKET/big"
    sample n_put -T "$src" "$ngx_endpoint/put/big"
    sync "$tmp/nginx/put/big"
    rm -f "$tmp/nginx/put/big"
done
u_put=$(sample_median u_put)
u_sput=$(sample_median u_sput)
u_nput=$(sample_median u_nput)
n_put=$(sample_median n_put)
echo "bench: one core's MD5 (openssl speed md5, 1 MiB blocks, 3 s)" >&2
md5=$(md5_rate)
echo "    MD5 $md5 MiB/s per CPU second" >&2
row "PUT ${BIG_MIB} MiB presigned (UNSIGNED-PAYLOAD)" "MiB/s" high "$u_put" "$md5" "one core's MD5 (openssl speed)" ">= 0.85"
row "PUT ${BIG_MIB} MiB presigned (UNSIGNED-PAYLOAD)" "MiB/s" high "$u_put" "$n_put" "nginx dav PUT (no fsync)" ">= 0.85"
row "PUT ${BIG_MIB} MiB signed, SHA-256 verified" "MiB/s" high "$u_sput" "$md5" "one core's MD5 (openssl speed)" ">= 0.8"
row "PUT ${BIG_MIB} MiB signed, SHA-256 verified" "MiB/s" high "$u_sput" "$n_put" "nginx dav PUT (no fsync)" ""
row "PUT ${BIG_MIB} MiB presigned, fsync=false" "MiB/s" high "$u_nput" "$n_put" "nginx dav PUT (no fsync)" ""

echo "bench: 2: ${BIG_MIB} MiB GET, one connection, $REPEAT runs each (median MiB/s)" >&2
get_url=$(s3req "$main_ep" presign GET "$BUCKET" big)
for i in $(seq 1 "$REPEAT"); do
    sample u_get "$get_url"
    sample n_get "$ngx_endpoint/$BUCKET/big"
done
u_get=$(sample_median u_get)
n_get=$(sample_median n_get)
row "GET ${BIG_MIB} MiB presigned" "MiB/s" high "$u_get" "$n_get" "nginx (sendfile)" ">= 0.9"

echo "bench: 3: 4 KiB GET, unigw-bench -c$CONNS -d${SECONDS_EACH}s (presigned / plain)" >&2
# unigw-bench puts the object (k0/000000000000 under --key-prefix small) through unigw;
# nginx reads the same file from unigw's mount.
ub u_get4k -t "${main_ep#http://}" -w get -c "$CONNS" -d "${SECONDS_EACH}s" -s 4KiB \
    -b "$BUCKET" --objects 1 --key-prefix small --sign presign
ub n_get4k -t "${ngx_endpoint#http://}" -w get -c "$CONNS" -d "${SECONDS_EACH}s" -s 4KiB \
    -b "$BUCKET" --objects 1 --key-prefix small --sign none --no-prepare
read -r u_rps u_p50 u_p99 u_p999 u_busy <<<"$(ub_fields u_get4k GET)"
read -r n_rps n_p50 n_p99 n_p999 n_busy <<<"$(ub_fields n_get4k GET)"
busy=$((busy + u_busy + n_busy))
row "GET 4 KiB presigned, $CONNS conns: throughput" "req/s" high "$u_rps" "$n_rps" nginx ">= 0.8"
row "GET 4 KiB presigned, $CONNS conns: latency p50" "ms" low "$u_p50" "$n_p50" nginx ""
row "GET 4 KiB presigned, $CONNS conns: latency p99" "ms" low "$u_p99" "$n_p99" nginx "<= 2"
row "GET 4 KiB presigned, $CONNS conns: latency p99.9" "ms" low "$u_p999" "$n_p999" nginx ""

echo "bench: 4: 4 KiB PUT of new keys, fsync on, unigw-bench -c$CONNS -d${SECONDS_EACH}s," \
     "raw_put_rate ${RAW_SECONDS}s per thread count before and after" >&2
raw_before=$(raw_rate before)
ub u_put4k -t "${main_ep#http://}" -w put -c "$CONNS" -d "${SECONDS_EACH}s" -s 4KiB \
    -b "$BUCKET" --key-prefix new --sign header --payload sha256
raw_after=$(raw_rate after)
raw_best=$(awk -v a="$raw_before" -v b="$raw_after" 'BEGIN { print (a > b ? a : b) }')
read -r p_ops p_p50 p_p99 p_p999 p_busy <<<"$(ub_fields u_put4k PUT)"
busy=$((busy + p_busy))
row "PUT 4 KiB new keys, fsync on, $CONNS conns" "ops/s" high "$p_ops" "$raw_best" \
    "raw_put_rate (best of 1/8/64 threads)" ">= 0.9"
echo "    PUT 4 KiB latency p50 / p99 / p99.9: $p_p50 / $p_p99 / $p_p999 ms;" \
     "raw rate before / after: $raw_before / $raw_after ops/s" >&2

echo
echo "$("$BIN" --version 2>&1 | head -1) vs nginx $(nginx -v 2>&1 | sed 's/.*nginx\///');" \
     "$(nproc) cores; load average before/after $load0 / $(cut -d' ' -f1-3 /proc/loadavg);" \
     "$(date -u '+%Y-%m-%d %H:%M UTC')"
echo "unigw config: defaults$( [ -n "${UNIGW_BENCH_CONFIG:-}" ] && echo " + $UNIGW_BENCH_CONFIG"):" \
     "$(grep -E '^(io_threads|io_chunk_size|fsync|log_level) ' "$tmp/main/effective.conf" |
        tr '\n' ',' | sed 's/,$//; s/,/, /g')"
# One table: every row against its reference, the ratio unigw/reference, the goal of
# issue 12 where it sets one (for latency rows lower is better, so the goal is a maximum).
awk -F'|' '
    BEGIN {
        printf "%-48s %10s %10s %6s %7s  %-6s %s\n", "workload", "unigw", "reference",
               "ratio", "goal", "unit", "reference is"
    }
    {
        r = ($5 + 0 > 0) ? sprintf("%.2f", $4 / $5) : "n/a"
        printf "%-48s %10s %10s %6s %7s  %-6s %s%s\n", $1, $4, $5, r, ($7 == "" ? "-" : $7),
               $2, $6, ($3 == "low" ? " (lower is better)" : "")
    }' "$results"
if [ "$busy" -gt 0 ]; then
    echo "warning: the machine was busy (load average above the core count) before $busy of" \
         "the unigw-bench runs: the figures are noisy"
fi

# 5. Metadata writes (PutObjectTagging, 32 clients) on one node vs the three-node Raft
#    cluster, and kill -9 of the leader to the first acknowledged write: its own table.
if [ "${UNIGW_BENCH_CLUSTER:-1}" != 0 ]; then
    echo
    "$PY" "$here/cluster_bench.py" "$BIN" || die "cluster_bench.py failed"
fi

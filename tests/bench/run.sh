#!/usr/bin/env bash
# unigw benchmark: `make bench` runs `bash tests/bench/run.sh BUILD_DIR`.
#
# Each figure is measured next to nginx on the same machine in the same run, on loopback,
# with the same bytes on the same disk, and printed as a ratio unigw/nginx:
#   1. 1 GiB PUT on one connection (presigned UNSIGNED-PAYLOAD; header-signed with the hex
#      SHA-256 that unigw verifies; presigned on a second unigw with [storage] fsync = false)
#      versus nginx's dav module storing a PUT body (temp file, then rename, no fsync);
#   2. 1 GiB GET on one connection (presigned URL) versus nginx serving the same file
#      (sendfile on; nginx's root is unigw's mount, so it is the very same file);
#   3. 4 KiB GET, wrk -c64 -t2, requests/s and latency p50/p99, versus nginx on the same file.
#   4. metadata writes on one node vs the three-node Raft cluster and kill -9 of the leader
#      (tests/bench/cluster_bench.py, a table of its own; no nginx counterpart).
# Servers, ports, files and configs live in one temp dir; everything is stopped and removed
# on exit.  See tests/bench/README.md for the meaning of every number.
#
# Knobs (environment): UNIGW_BENCH_REPEAT (runs per 1 GiB transfer, median reported; 3),
# UNIGW_BENCH_WRK_SECONDS (10), UNIGW_BENCH_BIG_MIB (1024), UNIGW_BENCH_TMP (/tmp),
# UNIGW_BENCH_CONFIG (an extra unigw --config file for both unigw instances).
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
build=${1:-build}
case "$build" in /*) ;; *) build="$top/$build" ;; esac
BIN="$build/unigw"
PY=/usr/bin/python3
REPEAT=${UNIGW_BENCH_REPEAT:-3}
WRK_SECONDS=${UNIGW_BENCH_WRK_SECONDS:-10}
BIG_MIB=${UNIGW_BENCH_BIG_MIB:-1024}
BUCKET=bench

die() { echo "bench: $*" >&2; exit 1; }

[ -x "$BIN" ] || die "$BIN is not an executable (run \`make build\` first)"
for t in nginx curl wrk sha256sum "$PY"; do
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

row() { # LABEL UNIT BETTER(high|low) UNIGW NGINX
    printf '%s|%s|%s|%s|%s\n' "$@" >>"$results"
    printf '  %-44s unigw %10s  nginx %10s %s\n' "$1" "$4" "$5" "$2" >&2
}

# wrk_run URL -> "req_per_s p50_ms p99_ms"
wrk_run() {
    local out
    out=$(wrk -c64 -t2 -d"${WRK_SECONDS}s" --latency "$1") || die "wrk failed on $1"
    if grep -q 'Non-2xx' <<<"$out"; then
        echo "$out" >&2
        die "wrk saw non-2xx answers from $1"
    fi
    awk '
        function ms(v) {
            if (v ~ /us$/) { sub(/us$/, "", v); return v / 1000 }
            if (v ~ /ms$/) { sub(/ms$/, "", v); return v + 0 }
            if (v ~ /s$/)  { sub(/s$/, "", v);  return v * 1000 }
            return v
        }
        /^ +50%/ { p50 = ms($2) }
        /^ +99%/ { p99 = ms($2) }
        /^Requests\/sec:/ { rps = $2 }
        END { printf "%.0f %.3f %.3f\n", rps, p50, p99 }' <<<"$out"
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
row "PUT ${BIG_MIB} MiB presigned (UNSIGNED-PAYLOAD)" "MiB/s" high "$u_put" "$n_put"
row "PUT ${BIG_MIB} MiB signed, SHA-256 verified" "MiB/s" high "$u_sput" "$n_put"
row "PUT ${BIG_MIB} MiB presigned, fsync=false" "MiB/s" high "$u_nput" "$n_put"

echo "bench: 2: ${BIG_MIB} MiB GET, one connection, $REPEAT runs each (median MiB/s)" >&2
get_url=$(s3req "$main_ep" presign GET "$BUCKET" big)
for i in $(seq 1 "$REPEAT"); do
    sample u_get "$get_url"
    sample n_get "$ngx_endpoint/$BUCKET/big"
done
u_get=$(sample_median u_get)
n_get=$(sample_median n_get)
row "GET ${BIG_MIB} MiB presigned" "MiB/s" high "$u_get" "$n_get"

echo "bench: 3: 4 KiB GET, wrk -c64 -t2 -d${WRK_SECONDS}s" >&2
head -c 4096 /dev/urandom >"$tmp/small.bin"
curl -s -S -f -o /dev/null -T "$tmp/small.bin" "$(s3req "$main_ep" presign PUT "$BUCKET" small)" ||
    die "PUT of the 4 KiB object failed"
small_url=$(s3req "$main_ep" presign GET "$BUCKET" small)
# nginx gets the same request line: it ignores the query string.
read -r u_rps u_p50 u_p99 <<<"$(wrk_run "$small_url")"
read -r n_rps n_p50 n_p99 <<<"$(wrk_run "$ngx_endpoint${small_url#"$main_ep"}")"
row "GET 4 KiB, 64 connections: throughput" "req/s" high "$u_rps" "$n_rps"
row "GET 4 KiB, 64 connections: latency p50" "ms" low "$u_p50" "$n_p50"
row "GET 4 KiB, 64 connections: latency p99" "ms" low "$u_p99" "$n_p99"

echo
echo "$("$BIN" --version 2>&1 | head -1) vs nginx $(nginx -v 2>&1 | sed 's/.*nginx\///');" \
     "$(nproc) cores; load average before/after $load0 / $(cut -d' ' -f1-3 /proc/loadavg);" \
     "$(date -u '+%Y-%m-%d %H:%M UTC')"
echo "unigw config: defaults$( [ -n "${UNIGW_BENCH_CONFIG:-}" ] && echo " + $UNIGW_BENCH_CONFIG"):" \
     "$(grep -E '^(io_threads|io_chunk_size|fsync|log_level) ' "$tmp/main/effective.conf" |
        tr '\n' ',' | sed 's/,$//; s/,/, /g')"
awk -F'|' '
    BEGIN {
        printf "%-44s %12s %12s %8s  %s\n", "operation", "unigw", "nginx", "ratio", "(unigw/nginx)"
    }
    {
        r = ($5 + 0 > 0) ? sprintf("%.2f", $4 / $5) : "n/a"
        printf "%-44s %12s %12s %8s  %s, %s is better\n", $1, $4, $5, r, $2,
               ($3 == "high" ? "higher" : "lower")
    }' "$results"

# 4. Metadata writes (PutObjectTagging, 32 clients) on one node vs the three-node Raft
#    cluster, and kill -9 of the leader to the first acknowledged write: its own table.
echo
"$PY" "$here/cluster_bench.py" "$BIN" || die "cluster_bench.py failed"

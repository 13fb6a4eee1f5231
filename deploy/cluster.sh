#!/usr/bin/env bash
# deploy/cluster.sh: a local three-node unigw cluster on 127.0.0.1, 127.0.0.2 and
# 127.0.0.3 (the same ports on each address) sharing one mount directory.
#
#   deploy/cluster.sh start       start every node that is not running, wait until all serve
#   deploy/cluster.sh stop        SIGTERM every node, SIGKILL after UNIGW_STOP_TIMEOUT
#   deploy/cluster.sh status      pid, alive state and /health/ready of each node
#   deploy/cluster.sh kill N      SIGKILL node N (a crash)
#   deploy/cluster.sh restart N   stop node N if running, start it with its data, wait ready
#   deploy/cluster.sh logs N      print node N's log
#
# Environment:
#   UNIGW_CLUSTER_DIR      state and the shared mount (default: data/cluster in the source tree)
#   UNIGW_S3_PORT          S3 port on every address (default 9000)
#   UNIGW_RAFT_PORT        Raft port on every address (default 9100); internal RPC on port + 1
#   UNIGW_BIN              the unigw binary (default: build/unigw in the source tree)
#   UNIGW_CLUSTER_TIMEOUT  seconds to wait for readiness (default 60)
#   UNIGW_STOP_TIMEOUT     seconds between SIGTERM and SIGKILL (default 15)
#   UNIGW_LOG_LEVEL        node log threshold (default info)
#
# Layout of the cluster directory: cluster.env (cluster key, root key, ports; mode 0600,
# created once so restarts reuse them), mount/ (the shared mount), node-N/ (node N's Raft log,
# snapshots and LMDB), node-N.conf (generated at each start), node-N.log, node-N.pid.
# Exit status: 0 done (status: every node serves), 1 failure (status: some node does not
# serve), 2 usage error.
set -euo pipefail

NODES=3
top=$(cd "$(dirname "$0")/.." && pwd)
prog=${0##*/}

die() {
    echo "$prog: $*" >&2
    exit 1
}

usage() {
    echo "usage: $prog start|stop|status|kill N|restart N|logs N" >&2
    exit 2
}

# $1 must be a decimal number in [$2, $3]; $4 names it in the message.
check_num() {
    case $1 in
    '' | *[!0-9]*) die "$4 must be a number, got '$1'" ;;
    esac
    if [ "${#1}" -gt 6 ] || [ "$1" -lt "$2" ] || [ "$1" -gt "$3" ]; then
        die "$4 must be in $2..$3, got '$1'"
    fi
}

# Absolute form of path $1 (which need not exist yet).
abs_path() {
    case $1 in
    /*) printf '%s\n' "$1" ;;
    *) printf '%s/%s\n' "$(pwd)" "$1" ;;
    esac
}

# ---------------------------------------------------------------------------------------------
# cluster state

# The value of key $1 in cluster.env (empty if absent).
state_get() {
    sed -n "s/^$1=//p" "$dir/cluster.env" | head -n 1
}

random_hex() {
    od -An -v -tx1 -N "$1" /dev/urandom | tr -d ' \n'
}

# Create cluster.env once: a fresh cluster key (it seals access-key secrets and keys the
# internal RPC, so every node gets the same one), the root user's key and the ports.
state_create() {
    local key access secret
    key=$(random_hex 32)
    access=UNIGW$(random_hex 8 | tr 'a-f' 'A-F')
    access=${access:0:20}
    secret=$(head -c 30 /dev/urandom | base64 | tr -d '\n')
    (
        umask 077
        printf 'cluster_key=%s\naccess_key=%s\nsecret_key=%s\ns3_port=%s\nraft_port=%s\n' \
            "$key" "$access" "$secret" "$s3_port" "$raft_port" >"$dir/cluster.env.new"
    )
    mv "$dir/cluster.env.new" "$dir/cluster.env"
}

# Ports: the Raft addresses are in every node's log, so a cluster keeps the ports it was
# created with.  An explicit UNIGW_*_PORT that disagrees is an error, not a silent change.
state_load() {
    local s r
    s=$(state_get s3_port)
    r=$(state_get raft_port)
    if [ -n "${UNIGW_S3_PORT:-}" ] && [ "$UNIGW_S3_PORT" != "$s" ]; then
        die "$dir was created with UNIGW_S3_PORT=$s (got $UNIGW_S3_PORT)"
    fi
    if [ -n "${UNIGW_RAFT_PORT:-}" ] && [ "$UNIGW_RAFT_PORT" != "$r" ]; then
        die "$dir was created with UNIGW_RAFT_PORT=$r (got $UNIGW_RAFT_PORT)"
    fi
    s3_port=$s
    raft_port=$r
    cluster_key=$(state_get cluster_key)
    access_key=$(state_get access_key)
    secret_key=$(state_get secret_key)
    check_num "$s3_port" 1 65535 "s3_port in $dir/cluster.env"
    check_num "$raft_port" 1 65534 "raft_port in $dir/cluster.env"
    [ ${#cluster_key} -eq 64 ] || die "$dir/cluster.env: bad cluster_key"
    if [ -z "$access_key" ] || [ -z "$secret_key" ]; then
        die "$dir/cluster.env: no root key"
    fi
}

# ---------------------------------------------------------------------------------------------
# nodes

node_addr() {
    echo "127.0.0.$1"
}

node_endpoint() {
    echo "http://$(node_addr "$1"):$s3_port"
}

peers_list() {
    local i out=""
    for i in $(seq 1 "$NODES"); do
        out="$out${out:+,}$i=$(node_addr "$i"):$raft_port"
    done
    echo "$out"
}

# The pid of node $1 if it is running (a live, non-zombie unigw started with this cluster's
# config file), else nothing.  Guards against stale pid files and reused pids.
node_pid() {
    local pidf="$dir/node-$1.pid" pid state cmd
    [ -f "$pidf" ] || return 0
    pid=$(head -c 20 "$pidf")
    case $pid in
    '' | *[!0-9]*) return 0 ;;
    esac
    state=$(sed -n 's/^State:[[:space:]]*\([A-Z]\).*/\1/p' "/proc/$pid/status" 2>/dev/null || true)
    if [ -z "$state" ] || [ "$state" = Z ] || [ "$state" = X ]; then
        return 0
    fi
    cmd=$(tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null || true)
    case $cmd in
    *"$dir/node-$1.conf"*) echo "$pid" ;;
    esac
}

# Generated at every start from cluster.env; holds the cluster key, hence mode 0600.
node_conf_write() {
    local n=$1 addr
    addr=$(node_addr "$n")
    (
        umask 077
        cat >"$dir/node-$n.conf.new" <<EOF
# Generated by deploy/cluster.sh for node $n; rewritten at every start.
[node]
id = node$n
data_dir = $dir/node-$n
log_level = ${UNIGW_LOG_LEVEL:-info}

[server]
listen = $addr:$s3_port

[storage]
mount = $dir/mount

[cluster]
cluster_key = $cluster_key
raft_id = $n
raft_listen = $addr:$raft_port
rpc_listen = $addr:$((raft_port + 1))
peers = $(peers_list)
EOF
    )
    mv "$dir/node-$n.conf.new" "$dir/node-$n.conf"
}

# Start node $1 unless it runs.  setsid: a Ctrl-C in the calling terminal does not reach it.
# The root key in the environment matters only on a cluster's first start.
node_start() {
    local n=$1
    if [ -n "$(node_pid "$n")" ]; then
        return 0
    fi
    mkdir -p "$dir/node-$n"
    node_conf_write "$n"
    echo "=== $(date -u '+%Y-%m-%dT%H:%M:%SZ') cluster.sh: starting node $n" >>"$dir/node-$n.log"
    UNIGW_ROOT_ACCESS_KEY=$access_key UNIGW_ROOT_SECRET_KEY=$secret_key \
        setsid "$bin" --config "$dir/node-$n.conf" </dev/null >>"$dir/node-$n.log" 2>&1 9>&- &
    echo $! >"$dir/node-$n.pid"
}

# HTTP status of node $1's /health/ready (000 when it does not answer).
node_ready_code() {
    curl -s -o /dev/null -m 2 -w '%{http_code}' "$(node_endpoint "$1")/health/ready" || true
}

# Wait until every node in "$@" answers /health/ready with 200; fail early if one exits.
nodes_wait_ready() {
    local deadline=$((SECONDS + ready_timeout)) n pending
    while :; do
        pending=""
        for n in "$@"; do
            if [ -z "$(node_pid "$n")" ]; then
                echo "$prog: node $n exited during start-up; end of $dir/node-$n.log:" >&2
                tail -n 20 "$dir/node-$n.log" >&2
                exit 1
            fi
            if [ "$(node_ready_code "$n")" != 200 ]; then
                pending="$pending $n"
            fi
        done
        [ -n "$pending" ] || return 0
        if [ "$SECONDS" -ge "$deadline" ]; then
            die "node(s)$pending not ready after ${ready_timeout}s; see $dir/node-N.log"
        fi
        sleep 0.2
    done
}

# Send signal $1 to node $2 and wait until it is gone; with SIGTERM, SIGKILL after the stop
# timeout.  Fails if the node survives even SIGKILL for 10 s.
node_signal_wait() {
    local sig=$1 n=$2 pid deadline
    pid=$(node_pid "$n")
    [ -n "$pid" ] || return 0
    kill "-$sig" "$pid" 2>/dev/null || true
    deadline=$((SECONDS + stop_timeout))
    while [ -n "$(node_pid "$n")" ]; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            if [ "$sig" = KILL ]; then
                die "node $n (pid $pid) survives SIGKILL"
            fi
            echo "$prog: node $n (pid $pid) still runs after ${stop_timeout}s: SIGKILL" >&2
            sig=KILL
            kill -KILL "$pid" 2>/dev/null || true
            deadline=$((SECONDS + 10))
        fi
        sleep 0.1
    done
    rm -f "$dir/node-$n.pid"
}

print_endpoints() {
    local n
    for n in $(seq 1 "$NODES"); do
        echo "S3 endpoint: $(node_endpoint "$n")"
    done
    echo "Access key: $access_key"
    echo "Secret key: $secret_key"
}

# ---------------------------------------------------------------------------------------------
# commands

cmd_start() {
    local n
    mkdir -p "$dir/mount"
    for n in $(seq 1 "$NODES"); do
        node_start "$n"
    done
    nodes_wait_ready $(seq 1 "$NODES")
    print_endpoints
    echo "Mount: $dir/mount    Logs: $dir/node-N.log    Stop: $0 stop"
}

cmd_stop() {
    local n pid
    for n in $(seq 1 "$NODES"); do
        pid=$(node_pid "$n")
        if [ -n "$pid" ]; then
            kill -TERM "$pid" 2>/dev/null || true
        fi
    done
    # All nodes got SIGTERM at once; each wait below is bounded by the stop timeout.
    for n in $(seq 1 "$NODES"); do
        node_signal_wait TERM "$n"
        echo "node $n stopped"
    done
}

cmd_status() {
    local n pid code body all=0
    for n in $(seq 1 "$NODES"); do
        pid=$(node_pid "$n")
        if [ -z "$pid" ]; then
            printf 'node %s  %s:%s  pid -  dead\n' "$n" "$(node_addr "$n")" "$s3_port"
            all=1
            continue
        fi
        body=$(curl -s -m 2 "$(node_endpoint "$n")/health/ready" | tr -d '\n' || true)
        code=$(node_ready_code "$n")
        [ "$code" = 200 ] || all=1
        printf 'node %s  %s:%s  pid %s  alive  ready %s %s\n' "$n" "$(node_addr "$n")" \
            "$s3_port" "$pid" "$code" "${body:-(no answer)}"
    done
    return $all
}

cmd_kill() {
    local pid
    pid=$(node_pid "$1")
    [ -n "$pid" ] || die "node $1 is not running"
    node_signal_wait KILL "$1"
    echo "node $1 (pid $pid) killed"
}

cmd_restart() {
    node_signal_wait TERM "$1"
    node_start "$1"
    nodes_wait_ready "$1"
    echo "node $1 ready: S3 endpoint: $(node_endpoint "$1")"
}

cmd_logs() {
    [ -f "$dir/node-$1.log" ] || die "no log for node $1 in $dir"
    cat "$dir/node-$1.log"
}

# ---------------------------------------------------------------------------------------------
# main

[ $# -ge 1 ] || usage
cmd=$1
case $cmd in
start | stop | status)
    [ $# -eq 1 ] || usage
    ;;
kill | restart | logs)
    [ $# -eq 2 ] || usage
    case $2 in
    [1-9]) [ "$2" -le "$NODES" ] || usage ;;
    *) usage ;;
    esac
    ;;
*) usage ;;
esac

command -v curl >/dev/null || die "curl is needed (make deps)"
command -v setsid >/dev/null || die "setsid (util-linux) is needed (make deps)"
command -v flock >/dev/null || die "flock (util-linux) is needed (make deps)"

dir=$(abs_path "${UNIGW_CLUSTER_DIR:-$top/data/cluster}")
bin=$(abs_path "${UNIGW_BIN:-$top/build/unigw}")
s3_port=${UNIGW_S3_PORT:-9000}
raft_port=${UNIGW_RAFT_PORT:-9100}
ready_timeout=${UNIGW_CLUSTER_TIMEOUT:-60}
stop_timeout=${UNIGW_STOP_TIMEOUT:-15}
check_num "$s3_port" 1 65535 UNIGW_S3_PORT
check_num "$raft_port" 1 65534 UNIGW_RAFT_PORT
check_num "$ready_timeout" 1 3600 UNIGW_CLUSTER_TIMEOUT
check_num "$stop_timeout" 1 3600 UNIGW_STOP_TIMEOUT
if [ "$s3_port" = "$raft_port" ] || [ "$s3_port" = $((raft_port + 1)) ]; then
    die "UNIGW_S3_PORT must differ from UNIGW_RAFT_PORT and UNIGW_RAFT_PORT + 1"
fi

if [ "$cmd" = start ] || [ "$cmd" = restart ]; then
    [ -x "$bin" ] || die "$bin is missing or not executable (make build, or set UNIGW_BIN)"
fi
if [ "$cmd" != start ] && [ ! -f "$dir/cluster.env" ]; then
    die "no cluster in $dir (run '$prog start' first)"
fi
mkdir -p "$dir"
dir=$(cd "$dir" && pwd -P)

# One command at a time per cluster directory; node processes do not inherit the lock (9>&-).
exec 9>>"$dir/.lock"
flock -w 120 9 || die "another $prog holds $dir/.lock"

[ -f "$dir/cluster.env" ] || state_create
state_load

case $cmd in
start) cmd_start ;;
stop) cmd_stop ;;
status) cmd_status ;;
kill) cmd_kill "$2" ;;
restart) cmd_restart "$2" ;;
logs) cmd_logs "$2" ;;
esac

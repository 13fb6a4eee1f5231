#!/usr/bin/env bash
# `make run`: one gateway on 127.0.0.1:9000 with its state under ./data/
# (data/node for the metadata store, data/mount for buckets and objects),
# created on first run.  Prints the endpoint and the root user's keys, then
# stays in the foreground until Ctrl-C (SIGINT drains and stops the node).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
build=${BUILD:-build}
bin="$top/$build/unigw"
data=${UNIGW_RUN_DIR:-$top/data}
listen=${UNIGW_LISTEN:-127.0.0.1:9000}

mkdir -p "$data/node" "$data/mount"
[ -x "$bin" ] || { echo "run: $bin is missing (make build)" >&2; exit 1; }

"$bin" --listen "$listen" --mount "$data/mount" --data "$data/node" --node-id local \
    2>>"$data/unigw.log" &
pid=$!
trap 'kill -INT $pid 2>/dev/null; wait $pid' INT TERM

for _ in $(seq 1 100); do
    if curl -fs "http://$listen/health/ready" >/dev/null 2>&1; then
        break
    fi
    if ! kill -0 $pid 2>/dev/null; then
        echo "run: unigw exited; see $data/unigw.log" >&2
        tail -5 "$data/unigw.log" >&2
        exit 1
    fi
    sleep 0.1
done

creds="$data/node/root.credentials"
echo "S3 endpoint: http://$listen"
echo "Access key: $(sed -n 's/^access_key=//p' "$creds")"
echo "Secret key: $(sed -n 's/^secret_key=//p' "$creds")"
echo "Mount: $data/mount    Log: $data/unigw.log    (Ctrl-C stops)"
wait $pid

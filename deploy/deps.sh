#!/usr/bin/env bash
# Installs every build, test, benchmark and client dependency of unigw from
# Debian's archive (and npm for the JavaScript S3 clients used by the tests).
# Idempotent: packages already present are skipped; safe to run on every build.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/.." && pwd)

DEB_PKGS=(
    build-essential cmake pkg-config clang libclang-rt-14-dev
    libuv1-dev libraft-dev liblmdb-dev lmdb-utils libssl-dev libxml2-dev
    libcmocka-dev node-llhttp libjansson-dev libinih-dev libisal-dev
    python3 python3-pytest python3-boto3 python3-botocore awscli s3cmd rclone
    s3fs fuse3 curl nginx-light openssl iproute2 util-linux xxd nftables dnsmasq-base
    systemd
)

missing=()
for p in "${DEB_PKGS[@]}"; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$p")
    fi
done

if [ ${#missing[@]} -gt 0 ]; then
    echo "deps: installing ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# The JavaScript clients live in tests/integration/js/node_modules.
js="$top/tests/integration/js"
if [ -f "$js/package.json" ] && [ ! -d "$js/node_modules/@aws-sdk/client-s3" ] ||
   [ -f "$js/package.json" ] && [ ! -d "$js/node_modules/minio" ]; then
    echo "deps: npm install in tests/integration/js"
    (cd "$js" && npm install --no-audit --no-fund --silent)
fi
command -v node >/dev/null && command -v npm >/dev/null ||
    { echo "deps: node and npm are needed (the machine image ships Node.js 20)"; exit 1; }
echo "deps: ok"

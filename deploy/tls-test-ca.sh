#!/usr/bin/env bash
# Make a throwaway test CA and a server certificate signed by it, for trying
# unigw's HTTPS listener ([server] tls_cert / tls_key).  Not for production.
#
#   deploy/tls-test-ca.sh DIR [NAME...]
#
# NAMEs (default: 127.0.0.1 localhost) go into the certificate's
# subjectAltName: IPv4 addresses as IP entries, anything else as DNS entries.
# Writes DIR/ca.pem (give it to clients: curl --cacert, aws --ca-bundle,
# boto3 verify=), DIR/ca.key, DIR/server.pem (the chain, leaf first) and
# DIR/server.key.  Needs the openssl command.
set -euo pipefail

dir=${1:?usage: $0 DIR [NAME...]}
shift
names=("$@")
[ ${#names[@]} -gt 0 ] || names=(127.0.0.1 localhost)

san=""
for n in "${names[@]}"; do
    if [[ $n =~ ^[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+$ || $n == *:* ]]; then
        san+="${san:+,}IP:$n"
    else
        san+="${san:+,}DNS:$n"
    fi
done

mkdir -p "$dir"
cd "$dir"
umask 077
openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout ca.key -out ca.pem -days 30 -subj "/CN=unigw test CA" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes \
    -keyout server.key -out server.csr -subj "/CN=${names[0]}" 2>/dev/null
printf 'subjectAltName=%s\nbasicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=serverAuth\n' \
    "$san" > server.ext
openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -CAcreateserial \
    -out server.pem -days 30 -extfile server.ext 2>/dev/null
rm -f server.csr server.ext ca.srl
chmod 644 ca.pem server.pem
echo "$dir/ca.pem $dir/server.pem $dir/server.key"

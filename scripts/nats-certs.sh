#!/usr/bin/env bash
# A local CA and a NATS server certificate for docker compose (docs/operations.md, "TLS"), with openssl.
#   scripts/nats-certs.sh [DIR]          # default DIR: infra/certs (git-ignored)
#   scripts/nats-certs.sh --renew [DIR]  # a new server certificate from the same CA
# Makes only what is missing or no longer good, so running it again changes nothing:
#   DIR/ca.crt, DIR/ca.key        the CA: ca.crt is what clients trust (NATS_TLS_CA, nats --tlsca); ca.key
#                                 never leaves this directory
#   DIR/nats/tls.crt, tls.key     the server's certificate and key (what infra/nats/tls.conf reads, mounted
#                                 at /etc/nats-tls; the names cert-manager gives a Secret's keys)
# The server certificate names every address clients use: nats (compose), the Kubernetes Service
# (nats.vigil, nats.vigil.svc, nats.vigil.svc.cluster.local), localhost and 127.0.0.1 (a port-forward).
# It is made again when missing, not signed by this CA, missing a name, or expiring within 30 days.
set -euo pipefail

renew=false
if [ "${1:-}" = "--renew" ]; then
  renew=true
  shift
fi
if [ "$#" -gt 1 ] || [[ "${1:-}" == -* ]]; then
  echo "usage: $0 [--renew] [DIR]" >&2
  exit 2
fi
root=$(cd "$(dirname "$0")/.." && pwd)
dir=${1:-$root/infra/certs}
command -v openssl >/dev/null || { echo "nats-certs: openssl is required (apt-get install openssl)" >&2; exit 1; }

# nats-1..3: the nodes of compose's `--profile ha` cluster, which clients reach by name (NATS_URL).
DNS_NAMES=(nats nats-1 nats-2 nats-3 nats.vigil nats.vigil.svc nats.vigil.svc.cluster.local localhost)
IP_ADDRESSES=(127.0.0.1)
CA_DAYS=3650
SERVER_DAYS=${NATS_CERT_DAYS:-825}

mkdir -p "$dir/nats"
chmod 755 "$dir" "$dir/nats"
ca_crt=$dir/ca.crt ca_key=$dir/ca.key
srv_crt=$dir/nats/tls.crt srv_key=$dir/nats/tls.key
say() { printf 'nats-certs: %s\n' "$*"; }

# The public key of a certificate or a private key, to check that the two belong together.
cert_pub() { openssl x509 -in "$1" -noout -pubkey 2>/dev/null; }
key_pub() { openssl pkey -in "$1" -pubout 2>/dev/null; }

new_key() { (umask 077 && openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -out "$1" 2>/dev/null); }

made_ca=false
if [ -s "$ca_crt" ] && [ -s "$ca_key" ] && [ "$(cert_pub "$ca_crt")" = "$(key_pub "$ca_key")" ] &&
  openssl x509 -in "$ca_crt" -noout -checkend 0 >/dev/null; then
  say "kept the CA           $ca_crt"
else
  new_key "$ca_key"
  openssl req -x509 -new -key "$ca_key" -sha256 -days "$CA_DAYS" -subj "/O=Vigil/CN=Vigil NATS local CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -out "$ca_crt" 2>/dev/null
  chmod 644 "$ca_crt"
  made_ca=true
  say "made a CA             $ca_crt (key: $ca_key, valid $CA_DAYS days)"
fi

san=$(printf 'DNS:%s,' "${DNS_NAMES[@]}")$(printf 'IP:%s,' "${IP_ADDRESSES[@]}")
san=${san%,}

# Why the server certificate must be made again, or nothing when it is good.
server_problem() {
  if $renew; then echo "--renew"; return; fi
  if $made_ca; then echo "a new CA"; return; fi
  if [ ! -s "$srv_crt" ] || [ ! -s "$srv_key" ]; then echo "missing"; return; fi
  if [ "$(cert_pub "$srv_crt")" != "$(key_pub "$srv_key")" ]; then echo "the key does not match"; return; fi
  if ! openssl verify -CAfile "$ca_crt" "$srv_crt" >/dev/null 2>&1; then echo "not signed by $ca_crt"; return; fi
  if ! openssl x509 -in "$srv_crt" -noout -checkend $((30 * 86400)) >/dev/null; then echo "expires within 30 days"; return; fi
  local text name
  text=$(openssl x509 -in "$srv_crt" -noout -text)
  for name in "${DNS_NAMES[@]}"; do grep -q "DNS:$name\(,\|\$\)" <<<"$text" || { echo "no name $name"; return; }; done
  for name in "${IP_ADDRESSES[@]}"; do grep -q "IP Address:$name\(,\|\$\)" <<<"$text" || { echo "no address $name"; return; }; done
}

problem=$(server_problem)
if [ -z "$problem" ]; then
  say "kept the server cert  $srv_crt"
else
  csr=$(mktemp)
  ext=$(mktemp)
  trap 'rm -f "$csr" "$ext"' EXIT
  new_key "$srv_key"
  openssl req -new -key "$srv_key" -subj "/O=Vigil/CN=nats" -out "$csr" 2>/dev/null
  printf '%s\n' "subjectAltName=$san" "basicConstraints=critical,CA:FALSE" "keyUsage=critical,digitalSignature" \
    "extendedKeyUsage=serverAuth" "authorityKeyIdentifier=keyid" "subjectKeyIdentifier=hash" >"$ext"
  openssl x509 -req -in "$csr" -CA "$ca_crt" -CAkey "$ca_key" -set_serial "0x$(openssl rand -hex 16)" \
    -sha256 -days "$SERVER_DAYS" -extfile "$ext" -out "$srv_crt" 2>/dev/null
  chmod 644 "$srv_crt"
  chmod 600 "$srv_key"
  say "made a server cert    $srv_crt (key: $srv_key, valid $SERVER_DAYS days; why: $problem)"
fi
say "names: ${san//,/ }"
say "expires: $(openssl x509 -in "$srv_crt" -noout -enddate | cut -d= -f2)"
if $made_ca; then
  say "a new CA: restart NATS and every client that trusts the old one (docker compose up -d --force-recreate)"
elif [ -n "$problem" ]; then
  say "a new server certificate: restart NATS to serve it (docker compose restart nats)"
fi

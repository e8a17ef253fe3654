#!/usr/bin/env bash
# DEMO CERTIFICATES for deploy/docker-compose.yml: a throw-away CA and a server certificate for
# the compose service name `exporter` (and localhost), valid for ten years. Their private keys are
# committed on purpose, so that `docker compose up` works without a step: anyone can read them, so
# they protect nothing. Never use them outside the demo: for a real deployment make your own
# (README.md, "Securing the endpoint") or let cert-manager or your PKI issue them.
#
# Regenerate (needs openssl):  deploy/docker/tls/generate.sh
set -euo pipefail
cd "$(dirname "$0")"
days=3650
openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout ca.key -out ca.crt \
  -days "$days" -subj "/CN=partnercenter-exporter DEMO CA (do not trust)" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:P-256 -keyout server.key -out server.csr \
  -subj "/CN=exporter" 2>/dev/null
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt -days "$days" \
  -extfile <(printf '%s\n' "subjectAltName=DNS:exporter,DNS:localhost,IP:127.0.0.1" \
    "extendedKeyUsage=serverAuth" "keyUsage=critical,digitalSignature") 2>/dev/null
rm -f server.csr ca.srl ca.key  # the CA key is not needed again: regenerate both to renew
chmod 0644 server.key           # the exporter runs as uid 65532 and reads the bind-mounted key
echo "wrote ca.crt server.crt server.key in $(pwd)"

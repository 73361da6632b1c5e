#!/usr/bin/env bash
# Prepares docker/compose.yaml's secrets, once (idempotent: what exists is kept; the master key must never change):
#   docker/.env                          database and MinIO passwords, master key, admin and metrics tokens
#   docker/secrets/parley_metrics_token  the metrics token again, for Prometheus (a compose secret)
#   docker/nginx/certs/tls.{crt,key}     a self-signed certificate for localhost (365 days)
# All three are git-ignored. Back up docker/.env: without PARLEY_MASTER_KEY sealed plugin secrets are lost.
set -euo pipefail
cd "$(dirname "$0")"
umask 077

rand() { openssl rand -hex 24; }

if [ ! -f .env ]; then
  cat > .env <<ENV
PARLEY_VERSION=0.1.0
PARLEY_DB_PASSWORD=$(rand)
PARLEY_MASTER_KEY=k1:$(openssl rand -base64 32)
PARLEY_ADMIN_TOKEN=$(rand)
PARLEY_METRICS_TOKEN=$(rand)
PARLEY_REGISTRY_S3_ACCESS_KEY=parley
PARLEY_REGISTRY_S3_SECRET_KEY=$(rand)
GRAFANA_ADMIN_PASSWORD=$(rand)
ENV
  echo "wrote docker/.env"
fi

mkdir -p secrets
if [ ! -f secrets/parley_metrics_token ]; then
  grep '^PARLEY_METRICS_TOKEN=' .env | cut -d= -f2- | tr -d '\n' > secrets/parley_metrics_token
  # Read by Prometheus (another user) inside its container; the folder stays owner-only.
  chmod 0644 secrets/parley_metrics_token
  echo "wrote docker/secrets/parley_metrics_token"
fi

mkdir -p nginx/certs
if [ ! -f nginx/certs/tls.crt ] || [ ! -f nginx/certs/tls.key ]; then
  openssl req -x509 -newkey rsa:2048 -nodes -days 365 -subj "/CN=localhost" \
    -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" \
    -keyout nginx/certs/tls.key -out nginx/certs/tls.crt 2>/dev/null
  # nginx reads the key as root in its container before it drops privileges.
  chmod 0644 nginx/certs/tls.crt
  echo "wrote docker/nginx/certs/tls.crt and tls.key (self-signed, CN=localhost)"
fi

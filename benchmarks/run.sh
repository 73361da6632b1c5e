#!/usr/bin/env bash
# Runs the Parley benchmark: start to ready, idle RSS, and chat load direct vs through Parley (default, --mode load);
# the plugin lifecycle: install, upgrade, upgrade under load (--mode plugins); or both (--mode all);
# or the relay comparison: the upstream direct vs nginx vs Parley, CPU per request, capacity (--mode relay).
# Writes benchmarks/RESULTS.md and benchmarks/results.json / plugin-lifecycle.json / relay.json. Extra arguments go to
# the driver:
#   benchmarks/run.sh --token-delays-ms 0 --requests 500 --measure-seconds 5
#   benchmarks/run.sh --mode plugins
#   benchmarks/run.sh --mode relay            # ~21-25 min on 2 cores
#   benchmarks/run.sh --mode relay --quick    # ~4 min, for development
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

if [[ ! -f "$SERVER_JAR" ]]; then
  echo "[run.sh] $SERVER_JAR missing, building it"
  (cd "$ROOT" && mvn -q -pl distributions/parley-server install -DskipTests)
fi
# The example plugin, for --mode plugins|all (the plugin lifecycle benchmark publishes it as many versions).
ECHO_JAR="$(ls "$ROOT"/examples/echo-provider/target/echo-provider-*.jar 2>/dev/null | grep -v -- '-tests.jar$' | head -n 1 || true)"
if [[ -z "$ECHO_JAR" && ( " $* " == *" --mode plugins "* || " $* " == *" --mode all "* ) ]]; then
  echo "[run.sh] example plugin jar missing, building it"
  (cd "$ROOT" && mvn -q -pl examples/echo-provider install -DskipTests)
  ECHO_JAR="$(ls "$ROOT"/examples/echo-provider/target/echo-provider-*.jar | grep -v -- '-tests.jar$' | head -n 1)"
fi
# A copy, so a rebuild of the distribution during the run cannot swap the jar under the measured process.
cp "$SERVER_JAR" "$WORK/parley-server.jar"

echo "[run.sh] building the driver"
(cd "$HERE" && mvn -q clean package)  # clean: shade must not re-shade its own earlier output

# Relay mode holds thousands of sockets in each process: raise the open-file limit as far as the hard limit allows.
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
RELAY_ARGS=()
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
  "$@" &
DRIVER_PID=$!
wait "$DRIVER_PID"

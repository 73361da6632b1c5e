#!/usr/bin/env bash
# Start to ready and idle RSS of the server jar, as a process, on one data directory.
#
#   benchmarks/start-time.sh [-n STARTS] [-p PORT] [-j JAR] [-- JVM flags...]
#
# Start 0 runs on an empty data directory (the first start: empty framework cache, H2 database created);
# starts 1..N reuse that directory (an existing data dir). For each start it prints spawn -> first 200 from
# GET /health/ready in ms, and after the last start the idle RSS (VmRSS after 5 s idle), then p50 and max
# over the N starts. JVM flags after `--` go to `java` before `-jar`. Needs curl.
set -euo pipefail

HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
N=7
PORT=18480
JAR="$ROOT/distributions/parley-server/target/parley-server.jar"
IDLE_SECONDS=5
JAVA="${JAVA:-java}"
while [[ $# -gt 0 ]]; do
  case "$1" in
    -n) N="$2"; shift 2 ;;
    -p) PORT="$2"; shift 2 ;;
    -j) JAR="$2"; shift 2 ;;
    --) shift; break ;;
    *) echo "unknown argument $1" >&2; exit 2 ;;
  esac
done
JVM_FLAGS=("$@")

WORK="$(mktemp -d "${TMPDIR:-/tmp}/parley-start.XXXXXX")"
mkdir -p "$WORK/data" "$WORK/config"
cp "$JAR" "$WORK/parley-server.jar"   # a rebuild during the run cannot swap the jar under the process
PID=""
cleanup() {
  if [[ -n "$PID" ]] && kill -0 "$PID" 2>/dev/null; then
    kill "$PID" 2>/dev/null || true
    for _ in $(seq 1 100); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$PID" 2>/dev/null || true
  fi
  rm -rf "$WORK"
}
trap cleanup EXIT INT TERM

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

# One start: sets ELAPSED to the ms from spawn to the first 200 from /health/ready and CPU to the CPU time (user +
# system, all threads) the server had used by then; leaves the server running as $PID.
ELAPSED=0
CPU=0
TICK=$(getconf CLK_TCK)
cpu_ms() { awk -v t="$TICK" '{print int(($14 + $15) * 1000 / t)}' "/proc/$1/stat"; }
start_once() {
  local log="$1" t0 t
  t0=$(now_ms)
  PARLEY_HTTP_PORT="$PORT" PARLEY_DATA_DIR="$WORK/data" PARLEY_CONFIG_DIR="$WORK/config" \
    "$JAVA" "${JVM_FLAGS[@]}" -jar "$WORK/parley-server.jar" > "$log" 2>&1 &
  PID=$!
  while :; do
    if curl -fs -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/health/ready"; then
      t=$(now_ms); ELAPSED=$(( t - t0 )); CPU=$(cpu_ms "$PID"); return 0
    fi
    if ! kill -0 "$PID" 2>/dev/null; then echo "server exited; log:" >&2; cat "$log" >&2; return 1; fi
    if (( $(now_ms) - t0 > 120000 )); then echo "not ready after 120 s; log:" >&2; cat "$log" >&2; return 1; fi
    sleep 0.02
  done
}

stop_server() {
  kill "$PID"
  for _ in $(seq 1 600); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
  if kill -0 "$PID" 2>/dev/null; then echo "server did not stop in 60 s" >&2; kill -9 "$PID"; fi
  wait "$PID" 2>/dev/null || true
  PID=""
}

if curl -s -o /dev/null --max-time 1 "http://127.0.0.1:$PORT/"; then echo "port $PORT is in use; pick another with -p" >&2; exit 2; fi
echo "jvm flags: ${JVM_FLAGS[*]:-(none)}"
"$JAVA" -version 2>&1 | head -n 1
start_once "$WORK/start-0.log"
echo "first start (empty data dir): $ELAPSED ms (cpu $CPU ms)"
stop_server
times=()
cpus=()
for i in $(seq 1 "$N"); do
  start_once "$WORK/start-$i.log"
  times+=("$ELAPSED")
  cpus+=("$CPU")
  echo "start $i: $ELAPSED ms (cpu $CPU ms)"
  if (( i < N )); then stop_server; fi
done
sleep "$IDLE_SECONDS"
rss_kb=$(awk '/^VmRSS:/ {print $2}' "/proc/$PID/status")
echo "idle RSS after ${IDLE_SECONDS} s: $(( rss_kb / 1024 )) MB"
stop_server
sorted=($(printf '%s\n' "${times[@]}" | sort -n))
cpu_sorted=($(printf '%s\n' "${cpus[@]}" | sort -n))
echo "starts on an existing data dir: n=$N p50=${sorted[$(( (N - 1) / 2 ))]} ms max=${sorted[$(( N - 1 ))]} ms" \
  "(cpu p50=${cpu_sorted[$(( (N - 1) / 2 ))]} ms)"
echo "load average: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores (other processes skew the wall times)"

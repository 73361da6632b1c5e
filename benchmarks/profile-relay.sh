#!/usr/bin/env bash
# Profiles Parley relaying /v1/chat/completions (stream) with JFR: the relay benchmark's upstream, the server jar,
# wrk as the load. Prints the server's CPU while idle and per request under load (from /proc/<pid>/stat), and the
# hottest frames of the JFR execution samples (top of stack, and the Parley/Jetty/JDK package they sit in).
#   benchmarks/profile-relay.sh [clients=64] [seconds=20] [gap-ms=20] [words=64] [first-ms=0]
# PARLEY_JAR=<jar> measures another server jar (e.g. a copy of the previous build, to compare two side by side);
# JFR=0 skips the recording (CPU per request only); PARLEY_JAVA_OPTS adds JVM flags to the server.
# Needs wrk (apt-get install wrk), the server jar and benchmarks/target/parley-benchmarks.jar (benchmarks/run.sh builds it).
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
ROOT="$(dirname "$HERE")"
CLIENTS=${1:-64}; SECONDS_=${2:-20}; GAP=${3:-20}; WORDS=${4:-64}; FIRST=${5:-0}
JAR="${PARLEY_JAR:-$ROOT/distributions/parley-server/target/parley-server.jar}"
BENCH="$HERE/target/parley-benchmarks.jar"
command -v wrk >/dev/null || { echo "wrk is missing: apt-get install wrk" >&2; exit 1; }
[[ -f "$JAR" && -f "$BENCH" ]] || { echo "build first: mvn -DskipTests install && (cd benchmarks && mvn package)" >&2; exit 1; }
WORK="$(mktemp -d "${TMPDIR:-/tmp}/parley-profile.XXXXXX")"
pids=()
trap 'for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true' EXIT
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
ticks() { awk '{print $14+$15}' "/proc/$1/stat"; }
HZ=$(getconf CLK_TCK)

UP=$(free_port); PP=$(free_port)
java -XX:+UseSerialGC -Xmx256m -cp "$BENCH" dev.parley.benchmarks.RelayUpstream --port "$UP" >"$WORK/upstream.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$UP/v1/models" >/dev/null 2>&1 && break; sleep 0.1; done
curl -fsS -X POST "http://127.0.0.1:$UP/bench/shape?first=$FIRST&gap=$GAP&words=$WORDS" >/dev/null

PARLEY_HTTP_PORT=$PP PARLEY_DATA_DIR="$WORK/data" PARLEY_CONFIG_DIR="$WORK/config" \
  OPENAI_BASE_URL="http://127.0.0.1:$UP/v1" OPENAI_MODELS=fake-model OPENAI_API_KEY=bench \
  java ${PARLEY_JAVA_OPTS:-} $([[ "${JFR:-1}" == 0 ]] || echo "-XX:StartFlightRecording=filename=$WORK/parley.jfr,settings=profile,dumponexit=true") \
  -jar "$JAR" >"$WORK/server.log" 2>&1 &
SERVER=$!; pids+=($SERVER)
for _ in $(seq 1 300); do curl -fsS "http://127.0.0.1:$PP/health/ready" >/dev/null 2>&1 && break; sleep 0.1; done

cat >"$WORK/post.lua" <<'EOF'
wrk.method = "POST"
wrk.body = '{"model":"fake-model","stream":true,"messages":[{"role":"user","content":"Hello there"}]}'
wrk.headers["Content-Type"] = "application/json"
EOF
# Warm up, then idle, then measure.
wrk -t1 -c"$CLIENTS" -d5s -s "$WORK/post.lua" "http://127.0.0.1:$PP/v1/chat/completions" >/dev/null
sleep 2
t0=$(ticks $SERVER); sleep 10; t1=$(ticks $SERVER)
echo "idle: $(awk -v d=$((t1-t0)) -v hz=$HZ 'BEGIN{printf "%.1f", d*1000/hz/10}') ms CPU per second"
t0=$(ticks $SERVER)
wrk -t1 -c"$CLIENTS" -d"${SECONDS_}s" --timeout 30s -s "$WORK/post.lua" "http://127.0.0.1:$PP/v1/chat/completions" | tee "$WORK/wrk.txt"
t1=$(ticks $SERVER)
reqs=$(awk '/requests in/{print $1}' "$WORK/wrk.txt")
echo "load: $reqs requests, $(awk -v d=$((t1-t0)) -v hz=$HZ -v n="$reqs" 'BEGIN{printf "%.3f", d*1000/hz/n}') ms CPU per request, load $(cut -d' ' -f1-3 /proc/loadavg)"
kill "$SERVER"; wait "$SERVER" 2>/dev/null || true
[[ "${JFR:-1}" == 0 ]] && exit 0
jfr print --events jdk.ExecutionSample "$WORK/parley.jfr" > "$WORK/samples.txt"
echo "hottest top frames:"
awk '/stackTrace = \[/{getline; sub(/^[ \t]+/,""); sub(/line:.*/,""); print}' "$WORK/samples.txt" | sort | uniq -c | sort -rn | head -25
echo "samples by first frame outside the JDK (java.*, sun.*, jdk.*):"
awk '/stackTrace = \[/{f=1; next} f && /^[ \t]+[a-z]/{ l=$0; sub(/^[ \t]+/,"",l); if (l !~ /^(java|sun|jdk)\./) { sub(/\(.*/,"",l); n=split(l,p,"."); print p[1]"."p[2]"."p[3]; f=0 } } /^\]/{f=0}' "$WORK/samples.txt" | sort | uniq -c | sort -rn | head -15
echo "JFR recording and logs: $WORK"

#!/usr/bin/env bash
# JMH micro-benchmarks of core's internals (benchmarks/jmh): today the plugin call guard's overhead
# (GuardOverheadBenchmark: a provider call direct vs through the guard). Builds against this checkout (never
# `install`), runs JMH, writes benchmarks/jmh-guard.json (JMH's JSON), prints time and CPU per call and renders
# the "Plugin call guard" section of benchmarks/RESULTS.md from it.
# Extra arguments go to JMH (e.g. `-f 1 -wi 2 -i 3` for a quick look). About 2 minutes on 2 cores.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE"
mvn -B -q -f jmh/build/pom.xml package -DskipTests
OUT="$HERE/jmh-guard.json"
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
java -jar jmh/target/parley-jmh.jar GuardOverheadBenchmark -rf json -rff "$OUT" "$@" | tee "$LOG"
echo
echo "CPU per call (whole process, all threads; totals over the measured iterations):"
awk '$1 ~ /:cpuNanos$/ { split($1, a, ":"); cpu[a[1]] = $4 }
     $1 ~ /:calls$/    { split($1, a, ":"); calls[a[1]] = $4 }
     END { for (b in cpu) if (calls[b] > 0) printf "  %-45s %10.2f us\n", b, cpu[b] / calls[b] / 1000 }' \
  <(tr -d ',' < "$LOG")
echo "JSON: $OUT"
# RESULTS.md's "Plugin call guard" section is rendered from the JSON (by the load driver, built if missing).
if [[ ! -f target/parley-benchmarks.jar ]]; then
  mvn -B -q -f with-test-support/pom.xml package -DskipTests
fi
java -jar target/parley-benchmarks.jar --report-only "$HERE/results.json" jmh-guard.json
echo "Rendered: $HERE/RESULTS.md"

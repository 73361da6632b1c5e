#!/usr/bin/env bash
# JMH micro-benchmarks of a call into a provider plugin (benchmarks/jmh): direct vs through the plugin call guard
# (GuardOverheadBenchmark), and direct, guarded and out of process, in a real plugin-host JVM (OutOfProcessBenchmark).
# Builds against this checkout (never `install`), runs JMH, writes benchmarks/jmh-guard.json (JMH's JSON), prints
# time and CPU per call and renders the "Plugin call guard" section of benchmarks/RESULTS.md from it.
# Extra arguments go to JMH (e.g. `-f 1 -wi 2 -i 3` for a quick look). About 5 minutes on 2 cores.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
cd "$HERE"
mvn -B -q -f jmh/build/pom.xml package -DskipTests
OUT="$HERE/jmh-guard.json"
LOG="$(mktemp)"
trap 'rm -f "$LOG"' EXIT
java -jar jmh/target/parley-jmh.jar 'GuardOverheadBenchmark|OutOfProcessBenchmark' -rf json -rff "$OUT" "$@" | tee "$LOG"
echo
echo "CPU per call (benchmark process, all threads; plugin host; totals over the measured iterations):"
# JMH's summary lines: name[:counter] [param] mode count score [error] unit; the score is the field before the unit.
awk '$1 ~ /:(cpuNanos|hostCpuNanos|calls)$/ {
       split($1, a, ":"); key = a[1] ($2 != "avgt" && $2 != "N/A" ? " " $2 : ""); v[key, a[2]] = $(NF - 1); keys[key] = 1 }
     END { for (b in keys) if (v[b, "calls"] > 0)
             printf "  %-55s %10.2f us  host %10.2f us\n", b, v[b, "cpuNanos"] / v[b, "calls"] / 1000,
                    v[b, "hostCpuNanos"] / v[b, "calls"] / 1000 }' \
  <(tr -d ',' < "$LOG")
echo "JSON: $OUT"
# RESULTS.md's "Plugin call guard" section is rendered from the JSON (by the load driver, built if missing).
if [[ ! -f target/parley-benchmarks.jar ]]; then
  mvn -B -q -f with-test-support/pom.xml package -DskipTests
fi
java -jar target/parley-benchmarks.jar --report-only "$HERE/results.json" jmh-guard.json
echo "Rendered: $HERE/RESULTS.md"

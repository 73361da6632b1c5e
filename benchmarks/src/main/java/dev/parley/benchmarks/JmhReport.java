package dev.parley.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;

/**
 * Renders jmh-guard.json (JMH's own JSON, written by benchmarks/jmh.sh) as the "Plugin call guard" section of
 * RESULTS.md: time per call and, where the benchmark counts them ({@code cpuNanos}, {@code hostCpuNanos},
 * {@code calls}), the CPU time of the benchmark's process and of the plugin host per call.
 */
final class JmhReport {

    static final String SECTION = "## Plugin call guard";
    static final String RESULTS = "jmh-guard.json";

    private JmhReport() {
    }

    static String markdown(JsonNode runs) {
        StringBuilder md = new StringBuilder();
        md.append(SECTION).append(" and out-of-process round trip (JMH, `benchmarks/jmh.sh`)\n\n");
        md.append("Generated from `").append(RESULTS).append("`, which `benchmarks/jmh.sh` overwrites. One call into "
                + "a provider plugin whose answer is produced at once on the calling thread, the caller waiting for "
                + "it. "
                + "`GuardOverheadBenchmark`: a one-token `stream`, direct (as core called plugins before the guard) vs "
                + "through the plugin call guard (ADR 28). `OutOfProcessBenchmark`: a 32-word answer, `answer=whole` "
                + "(a non-stream call: `complete`, the answer in one callback) or `answer=stream` (32 tokens, then the "
                + "answer), direct, guarded, `outOfProcess` (the plugin in a plugin-host JVM started by the server's "
                + "`dev.parley.pluginhost` bundle in a Felix framework inside the benchmark's JVM, called through the "
                + "proxy its stand-in registers: request, tokens and answer as frames over loopback, ADR 31) and "
                + "`outOfProcessGuarded` (the same through the guard: how the server calls such a plugin). "
                + "\"CPU per call\" is the benchmark process's CPU time (every thread) over the measured iterations "
                + "divided by the calls made; \"host CPU per call\" the plugin host's (`/proc/<pid>/stat`, user + "
                + "system); \"total\" their sum, the CPU the machine spends per call.\n\n");
        md.append("- JMH ").append(runs.path(0).path("jmhVersion").asText()).append(", ")
                .append(runs.path(0).path("vmName").asText()).append(' ')
                .append(runs.path(0).path("jdkVersion").asText()).append('\n');
        String shape = null;
        for (JsonNode run : runs) {
            String s = run.path("forks").asInt() + " fork(s) × " + run.path("measurementIterations").asInt() + " × "
                    + run.path("measurementTime").asText() + " (warm-up " + run.path("warmupIterations").asInt()
                    + " × " + run.path("warmupTime").asText() + ")";
            if (!s.equals(shape)) {
                md.append("- ").append(simpleName(run).split("\\.")[0]).append(": ").append(s).append('\n');
                shape = s;
            }
        }
        md.append("\n| Benchmark | Mode | Time per call | ± (99.9 %) | CPU per call | host CPU per call | "
                + "total CPU per call |\n|---|---|---|---|---|---|---|\n");
        for (JsonNode run : runs) {
            JsonNode p = run.path("primaryMetric");
            JsonNode s = run.path("secondaryMetrics");
            double calls = s.path("calls").path("score").asDouble();
            double cpu = s.path("cpuNanos").path("score").asDouble();
            boolean host = s.has("hostCpuNanos");
            double hostCpu = s.path("hostCpuNanos").path("score").asDouble();
            md.append("| ").append(simpleName(run)).append(" | ").append(run.path("mode").asText()).append(" | ")
                    .append(String.format(Locale.ROOT, "%.3f %s", p.path("score").asDouble(),
                            p.path("scoreUnit").asText()))
                    .append(" | ").append(String.format(Locale.ROOT, "%.3f", p.path("scoreError").asDouble()))
                    .append(" | ").append(calls > 0 ? micros(cpu / calls) : "–")
                    .append(" | ").append(calls > 0 && host ? micros(hostCpu / calls) : "–")
                    .append(" | ").append(calls > 0 ? micros((cpu + hostCpu) / calls) : "–")
                    .append(" |\n");
        }
        return md.toString();
    }

    /** {@code Class.method}, with its parameters ({@code answer=stream}) if any. */
    private static String simpleName(JsonNode run) {
        String name = run.path("benchmark").asText();
        name = name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1);
        StringBuilder params = new StringBuilder();
        run.path("params").fields().forEachRemaining(e -> params.append(params.isEmpty() ? "" : ", ")
                .append(e.getKey()).append('=').append(e.getValue().asText()));
        return params.isEmpty() ? name : name + " (" + params + ")";
    }

    private static String micros(double nanos) {
        return String.format(Locale.ROOT, "%.2f µs", nanos / 1000);
    }
}

package dev.parley.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.Locale;

/**
 * Renders jmh-guard.json (JMH's own JSON, written by benchmarks/jmh.sh) as the "Plugin call guard" section of
 * RESULTS.md: time per call and, where the benchmark counts them ({@code cpuNanos}, {@code calls}), the CPU time of
 * the whole process per call.
 */
final class JmhReport {

    static final String SECTION = "## Plugin call guard";
    static final String RESULTS = "jmh-guard.json";

    private JmhReport() {
    }

    static String markdown(JsonNode runs) {
        StringBuilder md = new StringBuilder();
        md.append(SECTION).append(" (JMH, `benchmarks/jmh.sh`)\n\n");
        md.append("Generated from `").append(RESULTS).append("`, which `benchmarks/jmh.sh` overwrites. A call into a "
                + "provider plugin whose `stream` answers at once on the calling thread: direct, as core called "
                + "plugins before the guard, vs through the plugin call guard (ADR 28). CPU per call is the whole "
                + "process's CPU time (every thread) over the measured iterations divided by the calls made.\n\n");
        JsonNode first = runs.path(0);
        md.append("- JMH ").append(first.path("jmhVersion").asText()).append(", ")
                .append(first.path("vmName").asText()).append(' ').append(first.path("jdkVersion").asText())
                .append(", ").append(first.path("forks").asInt()).append(" forks × ")
                .append(first.path("measurementIterations").asInt()).append(" × ")
                .append(first.path("measurementTime").asText()).append(" (warm-up ")
                .append(first.path("warmupIterations").asInt()).append(" × ")
                .append(first.path("warmupTime").asText()).append(")\n\n");
        md.append("| Benchmark | Mode | Time per call | ± (99.9 %) | CPU per call |\n|---|---|---|---|---|\n");
        for (JsonNode run : runs) {
            String name = run.path("benchmark").asText();
            name = name.substring(name.lastIndexOf('.', name.lastIndexOf('.') - 1) + 1);
            JsonNode p = run.path("primaryMetric");
            JsonNode s = run.path("secondaryMetrics");
            double calls = s.path("calls").path("score").asDouble();
            double cpu = s.path("cpuNanos").path("score").asDouble();
            md.append("| ").append(name).append(" | ").append(run.path("mode").asText()).append(" | ")
                    .append(String.format(Locale.ROOT, "%.3f %s", p.path("score").asDouble(),
                            p.path("scoreUnit").asText()))
                    .append(" | ").append(String.format(Locale.ROOT, "%.3f", p.path("scoreError").asDouble()))
                    .append(" | ").append(calls > 0 ? String.format(Locale.ROOT, "%.2f µs", cpu / calls / 1000) : "–")
                    .append(" |\n");
        }
        return md.toString();
    }
}

package dev.parley.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * What the reports of the interleaved modes (telemetry, router) share: the measured runs of a load and variant, paired
 * ratios by round with a sign-test verdict, CPU per request by thread group, the machine's state, number formats.
 */
final class RoundsReport {

    private RoundsReport() {
    }

    /** CPU ms per request by thread group, median over rounds: where one variant spends more than another. */
    static void threadTable(StringBuilder md, JsonNode root, String load, List<String> variants) {
        Map<String, Map<String, Double>> byVariant = new LinkedHashMap<>();
        Map<String, Double> biggest = new LinkedHashMap<>();
        for (String v : variants) {
            List<JsonNode> rs = runs(root, load, v);
            Map<String, List<Double>> values = new LinkedHashMap<>();
            for (JsonNode r : rs) {
                r.at("/cpu/threadsMsPerRequest").fields().forEachRemaining(e ->
                        values.computeIfAbsent(e.getKey(), k -> new ArrayList<>()).add(e.getValue().asDouble()));
            }
            Map<String, Double> med = new LinkedHashMap<>();
            values.forEach((g, l) -> {
                while (l.size() < rs.size()) {
                    l.add(0.0); // a round where the group used no CPU
                }
                double m = median(toArray(l));
                med.put(g, m);
                biggest.merge(g, m, Math::max);
            });
            byVariant.put(v, med);
        }
        if (biggest.isEmpty()) {
            return;
        }
        List<String> groups = new ArrayList<>(biggest.entrySet().stream()
                .sorted(Map.Entry.<String, Double>comparingByValue().reversed()).limit(8).map(Map.Entry::getKey).toList());
        // The exporter's own threads always get a column when they used any CPU.
        for (String g : biggest.keySet()) {
            if ((g.startsWith("BatchSpanProces") || g.startsWith("jdkhttp-executo")) && !groups.contains(g)) {
                groups.add(g);
            }
        }
        md.append("CPU ms per request by thread group (`/proc/<pid>/task`, names as the kernel keeps them, numbers as #; "
                + "median over rounds):\n\n| variant | ").append(String.join(" | ", groups.stream().map(g -> "`" + g + "`")
                .toList())).append(" | rest |\n|---|").append("---:|".repeat(groups.size() + 1)).append('\n');
        for (String v : variants) {
            Map<String, Double> med = byVariant.get(v);
            if (med == null || med.isEmpty()) {
                continue;
            }
            md.append("| ").append(v);
            double rest = 0;
            for (Map.Entry<String, Double> e : med.entrySet()) {
                if (!groups.contains(e.getKey())) {
                    rest += e.getValue();
                }
            }
            for (String g : groups) {
                md.append(String.format(Locale.ROOT, " | %.3f", med.getOrDefault(g, 0.0)));
            }
            md.append(String.format(Locale.ROOT, " | %.3f |%n", rest));
        }
        md.append('\n');
    }

    /** The measured rounds' runs of one load and variant (warm-up rounds are in the JSON, not in the figures). */
    static List<JsonNode> runs(JsonNode root, String load, String variant) {
        List<JsonNode> out = new ArrayList<>();
        for (JsonNode r : root.path("runs")) {
            if (r.path("load").asText().equals(load) && r.path("variant").asText().equals(variant)
                    && !r.path("warmupRound").asBoolean()) {
                out.add(r);
            }
        }
        return out;
    }

    static Map<Integer, JsonNode> byRound(JsonNode root, String load, String variant) {
        Map<Integer, JsonNode> m = new LinkedHashMap<>();
        for (JsonNode r : runs(root, load, variant)) {
            m.put(r.path("round").asInt(), r);
        }
        return m;
    }

    /**
     * The rank k (1-based) such that [x(k), x(n-k+1)] of n sorted values covers the median with ≥ 95 % confidence
     * (two-sided sign test); 0 when n is too small for any interval.
     */
    static int signTestRank(int n) {
        double tail = 0;
        double p = Math.pow(0.5, n);
        int k = 0;
        double c = 1; // C(n, i)
        for (int i = 0; i < n; i++) {
            tail += c * p;
            if (tail > 0.025) {
                break;
            }
            k = i + 1;
            c = c * (n - i) / (i + 1);
        }
        return k;
    }

    static double cpu(JsonNode r) {
        return r.at("/cpu/gatewayMsPerRequest").asDouble();
    }

    /** Without the JIT compiler threads: what a request costs once the code is compiled. */
    static double cpuExJit(JsonNode r) {
        return cpu(r) - r.at("/cpu/jitMsPerRequest").asDouble();
    }

    static double[] field(List<JsonNode> rs, String pointer) {
        return rs.stream().mapToDouble(r -> r.at(pointer).asDouble()).toArray();
    }

    static double[] toArray(List<Double> l) {
        return l.stream().mapToDouble(Double::doubleValue).toArray();
    }

    static double median(double[] v) {
        if (v.length == 0) {
            return Double.NaN;
        }
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    static String pct(double[] v) {
        if (v.length == 0) {
            return "–";
        }
        return String.format(Locale.ROOT, "%s [%s … %s]", signed(median(v)), signed(Arrays.stream(v).min().getAsDouble()),
                signed(Arrays.stream(v).max().getAsDouble()));
    }

    static String signed(double v) {
        return Double.isNaN(v) ? "–" : String.format(Locale.ROOT, "%+.1f %%", v);
    }

    static String num(double v) {
        if (Double.isNaN(v)) {
            return "–";
        }
        return v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.2f", v);
    }

    static String list(JsonNode n, int k) {
        List<String> out = new ArrayList<>();
        Iterator<Map.Entry<String, JsonNode>> it = n.fields();
        while (it.hasNext() && out.size() < k) {
            Map.Entry<String, JsonNode> e = it.next();
            out.add("`" + shorten(e.getKey()) + "` " + e.getValue().asText());
        }
        return out.isEmpty() ? "–" : String.join(", ", out);
    }

    /** {@code io.opentelemetry.sdk.metrics.internal.state.Foo.bar} → {@code o.s.m.i.s.Foo.bar}. */
    static String shorten(String frame) {
        String[] p = frame.split("\\.");
        if (p.length <= 3) {
            return frame;
        }
        StringBuilder b = new StringBuilder();
        for (int i = 0; i < p.length - 2; i++) {
            b.append(p[i].isEmpty() ? "" : p[i].substring(0, 1)).append('.');
        }
        return b.append(p[p.length - 2]).append('.').append(p[p.length - 1]).toString();
    }

    /**
     * The median of paired ratios (in %) with its 95 % confidence interval from their order statistics (sign test) and
     * the verdict against {@code target}: {estimate [lo … hi], verdict}. Met when the whole interval is ≤ the target,
     * missed when it is wholly above, otherwise the estimate decides, marked "not significant".
     */
    static String[] verdict(double[] ratios, double target) {
        double[] sorted = ratios.clone();
        Arrays.sort(sorted);
        double med = median(sorted);
        int k = signTestRank(sorted.length);
        double lo = k > 0 ? sorted[k - 1] : Double.NEGATIVE_INFINITY;
        double hi = k > 0 ? sorted[sorted.length - k] : Double.POSITIVE_INFINITY;
        String estimate = String.format(Locale.ROOT, "%s [%s … %s]", signed(med), signed(lo), signed(hi));
        String verdict;
        if (hi <= target) {
            verdict = "met";
        } else if (lo > target) {
            verdict = String.format(Locale.ROOT, "**MISSED** by %.1f points", med - target);
        } else if (med > target) {
            verdict = String.format(Locale.ROOT, "**MISSED** by %.1f points at the estimate (not significant)",
                    med - target);
        } else {
            verdict = "met at the estimate (not significant)";
        }
        return new String[] {estimate, verdict};
    }

    /** The load averages, the share of the machine busy and the other processes' cores of every run, per load and variant. */
    static void machineTable(StringBuilder md, JsonNode root, List<String> variants) {
        JsonNode o = root.path("options");
        int nproc = root.at("/machine/nproc").asInt(2);
        md.append("### Machine state during the runs\n\n");
        md.append("| load | variant | load average (1 min) min … max | machine busy median | other processes' cores median |\n"
                + "|---|---|---|---:|---:|\n");
        for (JsonNode l : o.path("loads")) {
            for (String v : variants) {
                List<Double> la = new ArrayList<>();
                List<Double> busy = new ArrayList<>();
                List<Double> other = new ArrayList<>();
                for (JsonNode r : runs(root, l.path("key").asText(), v)) {
                    la.add(Double.parseDouble(r.path("loadavg").asText("0").split(" ")[0]));
                    JsonNode c = r.path("cpu");
                    busy.add(c.path("machineBusy").asDouble());
                    other.add(c.path("machineBusy").asDouble() * nproc - c.path("gatewayCores").asDouble()
                            - c.path("upstreamCores").asDouble() - c.path("driverCores").asDouble());
                }
                if (la.isEmpty()) {
                    continue;
                }
                md.append(String.format(Locale.ROOT, "| %s | %s | %.2f … %.2f | %.0f %% | %.2f |%n", l.path("key").asText(), v,
                        la.stream().mapToDouble(x -> x).min().orElse(0), la.stream().mapToDouble(x -> x).max().orElse(0),
                        100 * median(busy.stream().mapToDouble(x -> x).toArray()),
                        median(other.stream().mapToDouble(x -> x).toArray())));
            }
        }
        md.append('\n');
    }

    /**
     * The JFR profile's tables (one per load: samples, the focus's share and entries, allocation) and, per variant,
     * the focus's owner frames, optionally the top leaf frames, and the CPU by thread group. {@code prefix} is the
     * focus's JSON prefix and the word the tables use ("telemetry", "router").
     */
    static void profileTables(StringBuilder md, JsonNode prof, String prefix, boolean leaves) {
        String cap = Character.toUpperCase(prefix.charAt(0)) + prefix.substring(1);
        prof.fields().forEachRemaining(le -> {
            md.append("**").append(le.getKey()).append("**\n\n");
            md.append("| variant | CPU ms/req | samples | ").append(prefix).append(" samples | alloc sampled MB | alloc in ")
                    .append(prefix).append(" | top ").append(prefix)
                    .append(" entries (samples) |\n|---|---:|---:|---:|---:|---:|---|\n");
            le.getValue().fields().forEachRemaining(ve -> {
                JsonNode j = ve.getValue().path("jfr");
                md.append(String.format(Locale.ROOT, "| %s | %.3f | %d | %d (%.1f %%) | %.1f | %.1f %% | %s |%n",
                        ve.getKey(), ve.getValue().path("cpuMsPerRequest").asDouble(), j.path("samples").asLong(),
                        j.path(prefix + "Samples").asLong(), j.path(prefix + "Percent").asDouble(),
                        j.path("allocSampledMb").asDouble(), j.path("alloc" + cap + "Percent").asDouble(),
                        list(j.path(prefix + "ByEntry"), 6)));
            });
            md.append('\n');
            le.getValue().fields().forEachRemaining(ve -> {
                JsonNode j = ve.getValue().path("jfr");
                if (j.path(prefix + "Samples").asLong() > 0) {
                    md.append("- ").append(ve.getKey()).append(", ").append(prefix).append(" samples by owner frame: ")
                            .append(list(j.path(prefix + "ByOwner"), 8)).append('\n');
                }
                if (leaves) {
                    md.append("- ").append(ve.getKey()).append(", top leaf frames: ")
                            .append(list(j.path("topLeafFrames"), 6)).append('\n');
                }
                md.append("- ").append(ve.getKey()).append(", CPU ms per request by thread group (/proc): ")
                        .append(list(ve.getValue().path("threadsMsPerRequest"), 8)).append('\n');
            });
            md.append('\n');
        });
    }

    /** The line that says how the rounds were run (the same in every interleaved mode). */
    static String roundsLine(JsonNode o) {
        return String.format(Locale.ROOT,
                "- %d rounds (after %d warm-up round(s) run the same way and left out of the figures); in each round every "
                        + "load is sent to every variant in turn (the order rotates by one each round); each run: %d "
                        + "closed-loop clients started over ≤ 1 s, %.1f s warm-up, %.1f s measured. "
                        + "Before the rounds every variant was primed on every load (runs of %.0f s until %d requests "
                        + "were answered, at most two).%s%n",
                o.path("rounds").asInt(), o.path("warmupRounds").asInt(), o.path("clients").asInt(),
                o.path("warmupSeconds").asDouble(), o.path("measureSeconds").asDouble(), o.path("primeSeconds").asDouble(),
                o.path("primeRequests").asInt(), o.path("quick").asBoolean() ? " **--quick preset: short, noisy runs.**" : "");
    }

    /** "**key**: label; ..." of the mode's loads. */
    static String loadList(JsonNode o) {
        List<String> ls = new ArrayList<>();
        for (JsonNode l : o.path("loads")) {
            ls.add("**" + l.path("key").asText() + "**: " + l.path("label").asText());
        }
        return String.join("; ", ls);
    }
}

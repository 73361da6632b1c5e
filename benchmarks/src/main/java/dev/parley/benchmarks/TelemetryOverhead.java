package dev.parley.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.benchmarks.Interleaved.Load;
import dev.parley.benchmarks.Interleaved.Variant;
import java.net.URI;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Telemetry mode: what Parley's observability costs in CPU per request. Several Parley processes run side by side
 * ({@link Interleaved}),
 * one per telemetry setting (SDK disabled; metrics on, the default; metrics on and every span exported over OTLP to a
 * receiver process; optionally the server jar from before the observability work), all relaying to the relay mode's
 * cheap NIO upstream. The same closed-loop loads are sent to each in turn, interleaved over several rounds with the
 * order rotated each round, so that noise from the shared machine hits every variant alike. CPU per request is the
 * Parley process's utime+stime from /proc over the measured window. Writes telemetry.json and re-renders RESULTS.md.
 * See benchmarks/README.md ("Telemetry mode").
 */
final class TelemetryOverhead {

    static final String RESULTS = "telemetry.json";
    /** Every run's JSON, kept so that runs of one build can be pooled (see {@link TelemetryReport}). */
    static final String RUNS_DIR = "telemetry-runs";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final String SINK_MAIN = "dev.parley.benchmarks.OtlpSink";

    private final Benchmark bench;
    private final Benchmark.Options o;
    private final Processes processes;
    private final Path java;
    private final Map<String, String> a;
    private final boolean quick;
    private final Interleaved runs;
    private final Relay relay;

    private Process sink;
    private int otlpPort;
    private int sinkStatsPort;

    /** Telemetry's share of a profile: the SDK and API, the Prometheus client, Parley's own; the exporter's threads. */
    static final Interleaved.Focus FOCUS = new Interleaved.Focus("telemetry", TelemetryOverhead::telemetryClass,
            TelemetryOverhead::neutralClass, t -> t.startsWith("jdkhttp-executor") || t.startsWith("BatchSpanProcessor"));

    TelemetryOverhead(Benchmark bench, Benchmark.Options o, Processes processes, Path java) {
        this.bench = bench;
        this.o = o;
        this.processes = processes;
        this.java = java;
        this.a = o.raw();
        this.quick = a.containsKey("quick");
        this.runs = new Interleaved(bench, o, processes, java);
        this.relay = runs.relay();
    }

    private String opt(String key, String full, String quickValue) {
        return a.getOrDefault(key, quick ? quickValue : full);
    }

    private Duration seconds(String key, String full, String quickValue) {
        return Duration.ofMillis(Math.round(Double.parseDouble(opt(key, full, quickValue)) * 1000));
    }

    void run() throws Exception {
        long t0 = System.nanoTime();
        int rounds = Integer.parseInt(opt("telemetry-rounds", "10", "2"));
        int warmupRounds = Integer.parseInt(opt("telemetry-warmup-rounds", "1", "0"));
        int clients = Integer.parseInt(opt("telemetry-clients", "64", "64"));
        Duration warm = seconds("telemetry-warmup-seconds", "1.5", "1");
        Duration measure = seconds("telemetry-measure-seconds", "3", "3");
        Duration prime = seconds("telemetry-prime-seconds", "4", "2");
        int primeRequests = Integer.parseInt(opt("telemetry-prime-requests", "2000", "200"));
        Duration scrapeEvery = seconds("telemetry-scrape-seconds", "3", "1");
        Duration profileFor = seconds("telemetry-profile-seconds", "15", "3");
        int scrapeCostScrapes = Integer.parseInt(opt("telemetry-scrape-cost-scrapes", "60", "10"));
        List<String> wanted = Arrays.stream(opt("telemetry-variants", "off,metrics,traces,baseline",
                "off,metrics,traces,baseline").split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
        List<String> loadKeys = Arrays.stream(opt("telemetry-loads", "stream-paced,stream-instant,nonstream-instant",
                "stream-paced,stream-instant,nonstream-instant").split(",")).map(String::trim).toList();
        List<Load> loads = Interleaved.LOADS.stream().filter(l -> loadKeys.contains(l.key())).toList();

        ObjectNode root = runs.header(a);
        ObjectNode opts = root.putObject("options");
        opts.put("quick", quick).put("rounds", rounds).put("warmupRounds", warmupRounds).put("clients", clients)
                .put("warmupSeconds", warm.toMillis() / 1000.0).put("measureSeconds", measure.toMillis() / 1000.0)
                .put("primeSeconds", prime.toMillis() / 1000.0).put("primeRequests", primeRequests)
                .put("scrapeEverySeconds", scrapeEvery.toMillis() / 1000.0)
                .put("profileSeconds", profileFor.toMillis() / 1000.0).put("scrapeCostScrapes", scrapeCostScrapes);

        List<Variant> variants = new ArrayList<>();
        Path baselineJar = a.containsKey("baseline-jar") ? Path.of(a.get("baseline-jar")) : null;
        for (String key : wanted) {
            switch (key) {
                case "off" -> variants.add(new Variant("off", "SDK disabled (OTEL_SDK_DISABLED=true): the HTTP filter and "
                        + "the instrumentation run and record into no-ops; not scraped", o.serverJar(),
                        Map.of("OTEL_SDK_DISABLED", "true"), false));
                case "metrics" -> variants.add(new Variant("metrics", "the default: metrics recorded, traces not exported "
                        + "(sampler always_off); GET /metrics scraped", o.serverJar(), Map.of(), true));
                case "traces" -> variants.add(new Variant("traces", "metrics on and every span exported: "
                        + "OTEL_EXPORTER_OTLP_ENDPOINT at the receiver process, default sampler and batch processor; "
                        + "GET /metrics scraped", o.serverJar(), Map.of(), true)); // endpoint added once the sink is up
                case "baseline" -> {
                    if (baselineJar != null && Files.isRegularFile(baselineJar)) {
                        variants.add(new Variant("baseline", "the server jar of commit "
                                + a.getOrDefault("baseline-commit", "?") + ", before the observability work; not scraped "
                                + "(it has no /metrics)", baselineJar, Map.of(), false));
                    } else {
                        Benchmark.log("no --baseline-jar: the baseline variant is skipped");
                        root.put("baselineNote", "skipped: no baseline jar was given");
                    }
                }
                default -> throw new IllegalArgumentException("unknown telemetry variant " + key
                        + " (off, metrics, traces, baseline)");
            }
        }
        root.put("baselineCommit", variants.stream().anyMatch(v -> v.key().equals("baseline"))
                ? a.getOrDefault("baseline-commit", "?") : "");
        Interleaved.describeLoads(opts.putArray("loads"), loads);

        ArrayNode measuredRuns = root.putArray("runs");
        try {
            relay.openUpstream();
            if (variants.stream().anyMatch(v -> v.key().equals("traces"))) {
                startSink();
            }
            ArrayNode vs = root.putArray("variants");
            for (int i = 0; i < variants.size(); i++) {
                Variant v = variants.get(i);
                if (v.key().equals("traces")) {
                    v = v.withEnv(Map.of("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:" + otlpPort));
                    variants.set(i, v);
                }
                vs.add(start(v));
            }
            runs.initJfr();
            runs.prime(variants, loads, clients, prime, primeRequests);
            runs.rounds(variants, loads, clients, warmupRounds, rounds, warm, measure, scrapeEvery, measuredRuns);

            if (sink != null) {
                spansPerRequest(measuredRuns);
            }
            root.set("scrapeCost", scrapeCost(variants, scrapeCostScrapes));
            if (profileFor.toMillis() > 0) {
                root.set("profile", runs.profile(variants.stream().filter(v -> !v.key().equals("baseline")).toList(),
                        loads, clients, profileFor, scrapeEvery, FOCUS));
            }
            ObjectNode rss = root.putObject("rssAtEndMb");
            for (Variant v : variants) {
                rss.put(v.key(), Math.round(Processes.rssKb(runs.pid(v.key())) / 102.4) / 10.0);
            }
        } finally {
            runs.close();
            if (sink != null) {
                root.put("sinkCpuMs", Math.round(bench.procCpuMs(sink.pid())));
                Processes.stop(sink, 10);
            }
        }
        root.put("loadavgAtEnd", Interleaved.loadavg());
        root.put("wallSeconds", Math.round((System.nanoTime() - t0) / 1e9));
        Files.writeString(o.out().resolve(RESULTS), JSON.writeValueAsString(root) + "\n");
        // A copy per run: RESULTS.md pools the rounds of every kept run of the same server build for the verdict
        // (on a shared machine one run's rounds are rarely enough to tell +5 % from noise).
        Path kept = o.out().resolve(RUNS_DIR);
        Files.createDirectories(kept);
        Files.writeString(kept.resolve(root.path("date").asText().substring(0, 19).replace(":", "") + ".json"),
                JSON.writeValueAsString(root) + "\n");
        Benchmark.writeReport(o.out(), RESULTS);
        Benchmark.log("wrote " + o.out().resolve("RESULTS.md") + " and " + RESULTS + " after "
                + root.path("wallSeconds").asLong() + " s");
    }

    // ---- processes ------------------------------------------------------------------------------------------------

    private void startSink() throws Exception {
        Path log = o.work().resolve("otlp-sink.log");
        sink = processes.spawn(List.of(java.toString(), "-XX:+UseSerialGC", "-Xmx1g", "-cp", o.benchJar().toString(),
                SINK_MAIN, "--port", "0", "--stats-port", "0"), Map.of(), log);
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        Pattern otlp = Pattern.compile("otlp-port (\\d+)");
        Pattern stats = Pattern.compile("stats-port (\\d+)");
        while (System.nanoTime() < deadline) {
            if (!sink.isAlive()) {
                throw new IllegalStateException("the OTLP receiver exited with " + sink.exitValue() + "; see " + log);
            }
            String text = Files.exists(log) ? Files.readString(log) : "";
            Matcher m1 = otlp.matcher(text);
            Matcher m2 = stats.matcher(text);
            if (m1.find() && m2.find()) {
                otlpPort = Integer.parseInt(m1.group(1));
                sinkStatsPort = Integer.parseInt(m2.group(1));
                Benchmark.log("OTLP receiver (pid " + sink.pid() + ") on port " + otlpPort + ", stats on " + sinkStatsPort);
                return;
            }
            Thread.sleep(50);
        }
        throw new IllegalStateException("the OTLP receiver did not say its ports within 30 s; see " + log);
    }

    private ObjectNode start(Variant v) throws Exception {
        ObjectNode n = runs.start(v, "telemetry");
        ObjectNode env = n.putObject("env");
        new java.util.TreeMap<>(v.env()).forEach((k, x) -> env.put(k, x.replace(Integer.toString(otlpPort), "<port>")));
        String log = Files.readString(runs.serverLog(v, "telemetry"));
        Matcher m = Pattern.compile("telemetry started traces=(\\S+) endpoint=(\\S+)").matcher(log);
        String telemetryLine = m.find() ? m.group() : "(no telemetry line in the log)";
        Benchmark.Started s = runs.started(v.key());
        Benchmark.log(String.format(Locale.ROOT, "%s: pid %d, port %d, ready %.0f ms; %s", v.key(), s.process().pid(),
                s.port(), s.readyMs(), telemetryLine));
        n.put("telemetryLogLine", telemetryLine);
        if (v.key().equals("traces") && !telemetryLine.contains("traces=exported")) {
            throw new IllegalStateException("the traced variant does not export traces: " + telemetryLine);
        }
        return n;
    }

    /** For the traced variant's runs: spans that ended inside the window, per request completed inside it. */
    private void spansPerRequest(ArrayNode measuredRuns) throws Exception {
        // The batch processor exports every 5 s (or every 512 spans): wait for the last window's spans.
        Thread.sleep(7000);
        for (JsonNode run : measuredRuns) {
            if (!run.path("variant").asText().equals("traces")) {
                continue;
            }
            String json = relay.client().http().GET(URI.create("http://127.0.0.1:" + sinkStatsPort + "/count?from="
                    + run.path("windowFromEpochNs").asLong() + "&to=" + run.path("windowToEpochNs").asLong()))
                    .getContentAsString();
            JsonNode c = JSON.readTree(json);
            ObjectNode s = ((ObjectNode) run).putObject("spans");
            long n = c.path("spans").asLong();
            // The scrapes are traced requests too: count them apart from the chat requests' spans.
            long scrapeSpans = c.path("byName").path("GET /metrics").asLong();
            long chatServer = c.path("byName").path("POST /v1/chat/completions").asLong();
            long done = Math.max(1, run.path("completedInWindow").asLong());
            s.put("endedInWindow", n).put("scrapeSpans", scrapeSpans)
                    .put("perRequest", Relay.round3((double) (n - scrapeSpans) / done))
                    .put("perChatServerSpan", Relay.round3((double) (n - scrapeSpans) / Math.max(1, chatServer)));
            s.set("byName", c.path("byName"));
        }
        String all = relay.client().http().GET(URI.create("http://127.0.0.1:" + sinkStatsPort + "/count"))
                .getContentAsString();
        JsonNode c = JSON.readTree(all);
        Benchmark.log("OTLP receiver: " + c.path("received").asLong() + " spans in " + c.path("exports").asLong()
                + " exports, " + c.path("refused").asLong() + " refused");
        for (JsonNode run : measuredRuns) {
            if (run.path("variant").asText().equals("traces")) {
                ((ObjectNode) run.path("spans")).put("receiverExports", c.path("exports").asLong())
                        .put("receiverRefused", c.path("refused").asLong())
                        .put("receiverSpansTotal", c.path("received").asLong());
                break;
            }
        }
    }

    // ---- what one scrape costs ------------------------------------------------------------------------------------

    /** Per variant, on an idle server: CPU of {@code n} back-to-back scrapes, less the idle CPU of the same time. */
    private ObjectNode scrapeCost(List<Variant> variants, int n) throws Exception {
        ObjectNode out = JSON.createObjectNode();
        for (Variant v : variants) {
            if (v.key().equals("baseline")) {
                continue;
            }
            long pid = runs.pid(v.key());
            URI metrics = runs.gateway(v.key()).base().resolve("/metrics");
            Thread.sleep(1000);
            double c0 = bench.procCpuMs(pid);
            long i0 = System.nanoTime();
            Thread.sleep(3000);
            double idleMsPerS = (bench.procCpuMs(pid) - c0) / ((System.nanoTime() - i0) / 1e9);
            for (int i = 0; i < n; i++) {
                runs.scrape(metrics, System.nanoTime()); // warm-up: the unscraped "off" never ran this code before
            }
            double s0 = bench.procCpuMs(pid);
            long t0 = System.nanoTime();
            long bytes = 0;
            int ok = 0;
            for (int i = 0; i < n; i++) {
                long[] x = runs.scrape(metrics, t0);
                bytes = Math.max(bytes, x[2]);
                ok += x[1] == 200 ? 1 : 0;
            }
            double secs = (System.nanoTime() - t0) / 1e9;
            double used = bench.procCpuMs(pid) - s0 - idleMsPerS * secs;
            ObjectNode m = out.putObject(v.key());
            m.put("scrapes", n).put("ok", ok).put("bodyBytes", bytes).put("idleCpuMsPerSecond", Relay.round3(idleMsPerS))
                    .put("cpuMsPerScrape", Relay.round3(used / n)).put("wallMsPerScrape", Relay.round3(secs * 1000 / n));
            Benchmark.log(String.format(Locale.ROOT, "scrape cost %s: %.2f ms CPU per scrape, %d bytes, %d/%d ok (idle %.1f"
                    + " ms CPU/s)", v.key(), used / n, bytes, ok, n, idleMsPerS));
        }
        return out;
    }

    // ---- profile --------------------------------------------------------------------------------------------------

    /** Classes whose frames are the observability work: the SDK and API, the Prometheus client, Parley's own. */
    static boolean telemetryClass(String c) {
        return c.startsWith("io.opentelemetry.") || c.startsWith("io.prometheus.")
                || c.startsWith("dev.parley.observability.") || c.startsWith("dev.parley.core.internal.ChatTelemetry");
    }

    /** Frames that do not decide whose a sample is: the JDK, and the logging context (MDC) the filter fills. */
    static boolean neutralClass(String c) {
        return Interleaved.jdkClass(c) || c.startsWith("org.slf4j.MDC")
                || c.startsWith("ch.qos.logback.classic.util.LogbackMDCAdapter");
    }
}

package dev.parley.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.benchmarks.Relay.Gateway;
import dev.parley.benchmarks.Relay.Shape;
import dev.parley.benchmarks.RelayClient.Kind;
import java.io.IOException;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * Telemetry mode: what Parley's observability costs in CPU per request. Several Parley processes run side by side,
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

    /** One Parley process: its key, what it is, its jar, the environment that sets it up, and whether it is scraped. */
    record Variant(String key, String label, Path jar, Map<String, String> env, boolean scraped) {
    }

    /** One load: an upstream shape and a request kind. */
    record Load(String key, String label, Shape shape, Kind kind) {
    }

    static final Shape PACED = new Shape("paced", "32 deltas 20 ms apart (first after 20 ms)", 20, 20, 32);
    static final Shape INSTANT = new Shape("instant", "32 deltas at once", 0, 0, 32);
    static final List<Load> LOADS = List.of(
            new Load("stream-paced", "streamed, paced upstream (32 chunks 20 ms apart)", PACED, Kind.OPENAI_STREAM),
            new Load("stream-instant", "streamed, instant upstream (32 chunks at once)", INSTANT, Kind.OPENAI_STREAM),
            new Load("nonstream-instant", "non-streamed, instant upstream (32 words)", INSTANT, Kind.OPENAI_COMPLETE));

    private final Benchmark bench;
    private final Benchmark.Options o;
    private final Processes processes;
    private final Path java;
    private final Map<String, String> a;
    private final boolean quick;
    private final Relay relay;
    private final ScheduledExecutorService scraper = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "metrics-scraper");
        t.setDaemon(true);
        return t;
    });

    private Process sink;
    private int otlpPort;
    private int sinkStatsPort;
    private final Map<String, Benchmark.Started> started = new LinkedHashMap<>();
    private final Map<String, Gateway> gateways = new LinkedHashMap<>();

    TelemetryOverhead(Benchmark bench, Benchmark.Options o, Processes processes, Path java) {
        this.bench = bench;
        this.o = o;
        this.processes = processes;
        this.java = java;
        this.a = o.raw();
        this.quick = a.containsKey("quick");
        this.relay = new Relay(bench, o, processes, java);
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
        List<Load> loads = LOADS.stream().filter(l -> loadKeys.contains(l.key())).toList();

        ObjectNode root = JSON.createObjectNode();
        root.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        ObjectNode machine = bench.machine();
        machine.remove("java");
        machine.put("serverJar", Path.of(machine.path("serverJar").asText()).getFileName().toString());
        root.set("machine", machine);
        root.put("command", o.command());
        root.put("commit", a.getOrDefault("commit", "unknown"));
        root.put("productCommit", a.getOrDefault("product-commit", "unknown"));
        root.put("loadavgAtStart", loadavg());
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
        ArrayNode loadsJson = opts.putArray("loads");
        for (Load l : loads) {
            loadsJson.addObject().put("key", l.key()).put("label", l.label()).put("kind", Relay.kindName(l.kind()))
                    .put("firstMs", l.shape().firstMs()).put("gapMs", l.shape().gapMs())
                    .put("words", l.shape().words());
        }

        ArrayNode runs = root.putArray("runs");
        try {
            relay.openUpstream();
            if (variants.stream().anyMatch(v -> v.key().equals("traces"))) {
                startSink();
            }
            ArrayNode vs = root.putArray("variants");
            for (int i = 0; i < variants.size(); i++) {
                Variant v = variants.get(i);
                if (v.key().equals("traces")) {
                    Map<String, String> env = new HashMap<>(v.env());
                    env.put("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:" + otlpPort);
                    v = new Variant(v.key(), v.label(), v.jar(), Map.copyOf(env), v.scraped());
                    variants.set(i, v);
                }
                vs.add(start(v));
            }
            // JFR's first start in a JVM loads and compiles its own code (and may re-instrument JDK classes): do it
            // now, before the priming, in every process alike, so that the profile at the end measures only sampling.
            writeJfc();
            for (Benchmark.Started s : started.values()) {
                jfr(s.process().pid(), "JFR.start", "name=init", "settings=" + jfc());
                jfr(s.process().pid(), "JFR.stop", "name=init");
            }

            // JIT-compile every process on every load before anything counts: runs of `prime` until `primeRequests`
            // were answered (on a busy machine a few seconds may be a few hundred requests), at most two runs. The
            // warm-up rounds after it are the rest of the priming: going from one load to the next recompiles (C2
            // deoptimises what the previous load's profile made it assume), so the first round is not yet steady.
            for (Load l : loads) {
                relay.setShape(l.shape());
                for (Variant v : variants) {
                    long done = 0;
                    for (int i = 0; i < 2 && done < primeRequests; i++) {
                        done += relay.closedLoop(gateways.get(v.key()), l.kind(), l.shape(), clients, Duration.ZERO,
                                prime, 1000, null).path("completedInWindow").asLong();
                    }
                    Benchmark.log("primed " + v.key() + " on " + l.key() + ": " + done + " requests");
                }
            }

            for (int round = 0; round < warmupRounds + rounds; round++) {
                boolean warmupRound = round < warmupRounds;
                for (Load l : loads) {
                    relay.setShape(l.shape());
                    for (int k = 0; k < variants.size(); k++) {
                        // The order rotates each round: whatever the previous run leaves behind (an exporter flushing,
                        // a GC) falls on every variant in turn.
                        Variant v = variants.get((k + round) % variants.size());
                        ObjectNode r = measured(v, l, clients, warm, measure, scrapeEvery);
                        r.put("round", round + 1 - warmupRounds).put("order", k + 1).put("load", l.key())
                                .put("variant", v.key());
                        if (warmupRound) {
                            r.put("warmupRound", true);
                        }
                        runs.add(r);
                    }
                }
                Benchmark.log((warmupRound ? "warm-up round " + (round + 1) : "round " + (round + 1 - warmupRounds) + " of "
                        + rounds) + " done, load " + loadavg());
            }

            if (sink != null) {
                spansPerRequest(runs);
            }
            root.set("scrapeCost", scrapeCost(variants, scrapeCostScrapes));
            if (profileFor.toMillis() > 0) {
                root.set("profile", profile(variants, loads, clients, profileFor, scrapeEvery));
            }
            ObjectNode rss = root.putObject("rssAtEndMb");
            for (Variant v : variants) {
                rss.put(v.key(), Math.round(Processes.rssKb(started.get(v.key()).process().pid()) / 102.4) / 10.0);
            }
        } finally {
            for (Benchmark.Started s : started.values()) {
                Processes.stop(s.process(), 30);
            }
            if (sink != null) {
                root.put("sinkCpuMs", Math.round(bench.procCpuMs(sink.pid())));
                Processes.stop(sink, 10);
            }
            relay.closeUpstream();
            scraper.shutdownNow();
        }
        root.put("loadavgAtEnd", loadavg());
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
        Path dir = o.work().resolve("telemetry-" + v.key());
        Benchmark.Started s = bench.startParley(v.jar(), new Benchmark.JvmFlags("default", List.of()),
                relay.upstreamBaseUrl(), dir, Duration.ofSeconds(30), v.env());
        if (s.chatMs() < 0) {
            throw new IllegalStateException("no chat went through Parley (" + v.key() + ") to the upstream; see " + dir);
        }
        started.put(v.key(), s);
        gateways.put(v.key(), new Gateway("parley-" + v.key(), URI.create("http://127.0.0.1:" + s.port()),
                List.of(s.process().pid())));
        String log = Files.readString(dir.resolve("server.log"));
        Matcher m = Pattern.compile("telemetry started traces=(\\S+) endpoint=(\\S+)").matcher(log);
        String telemetryLine = m.find() ? m.group() : "(no telemetry line in the log)";
        Benchmark.log(String.format(Locale.ROOT, "%s: pid %d, port %d, ready %.0f ms; %s", v.key(), s.process().pid(),
                s.port(), s.readyMs(), telemetryLine));
        ObjectNode n = JSON.createObjectNode();
        n.put("key", v.key()).put("label", v.label()).put("jar", v.jar().getFileName().toString())
                .put("jarBytes", Files.size(v.jar()));
        ObjectNode env = n.putObject("env");
        new java.util.TreeMap<>(v.env()).forEach((k, x) -> env.put(k, x.replace(Integer.toString(otlpPort), "<port>")));
        n.put("scraped", v.scraped()).put("readyMs", s.readyMs()).put("telemetryLogLine", telemetryLine);
        if (v.key().equals("traces") && !telemetryLine.contains("traces=exported")) {
            throw new IllegalStateException("the traced variant does not export traces: " + telemetryLine);
        }
        return n;
    }

    // ---- measured runs --------------------------------------------------------------------------------------------

    private ObjectNode measured(Variant v, Load l, int clients, Duration warm, Duration measure, Duration every)
            throws Exception {
        Gateway gw = gateways.get(v.key());
        List<long[]> scrapes = Collections.synchronizedList(new ArrayList<>()); // {at ms, status, bytes, µs}
        ScheduledFuture<?> job = null;
        long startNs = System.nanoTime();
        long stopNs = startNs + warm.toNanos() + measure.toNanos();
        if (v.scraped()) {
            URI metrics = gw.base().resolve("/metrics");
            long offset = Math.min(1000, warm.toMillis() / 2);
            job = scraper.scheduleAtFixedRate(() -> {
                if (System.nanoTime() < stopNs) {
                    scrapes.add(scrape(metrics, startNs));
                }
            }, offset, every.toMillis(), TimeUnit.MILLISECONDS);
        }
        ObjectNode r;
        try {
            r = relay.closedLoop(gw, l.kind(), l.shape(), clients, warm, measure, 1000, null);
        } finally {
            if (job != null) {
                job.cancel(false);
            }
        }
        if (v.scraped()) {
            ObjectNode s = r.putObject("scrapes");
            long warmMs = warm.toMillis();
            long endMs = warmMs + measure.toMillis();
            List<long[]> all;
            synchronized (scrapes) {
                all = List.copyOf(scrapes);
            }
            s.put("count", all.size()).put("inWindow", all.stream().filter(x -> x[0] >= warmMs && x[0] < endMs).count())
                    .put("failed", all.stream().filter(x -> x[1] != 200).count())
                    .put("bytesMax", all.stream().mapToLong(x -> x[2]).max().orElse(0))
                    .put("msMax", Relay.round3(all.stream().mapToLong(x -> x[3]).max().orElse(0) / 1000.0));
        }
        return r;
    }

    /** One Prometheus-like scrape: {at ms since the run's start, status, body bytes, µs}. */
    private long[] scrape(URI metrics, long startNs) {
        long t = System.nanoTime();
        try {
            var resp = relay.client().http().newRequest(metrics).headers(h -> h.put("Accept", "text/plain;version=0.0.4"))
                    .timeout(10, TimeUnit.SECONDS).send();
            return new long[] {(t - startNs) / 1_000_000, resp.getStatus(), resp.getContent().length,
                    (System.nanoTime() - t) / 1000};
        } catch (Exception e) {
            return new long[] {(t - startNs) / 1_000_000, -1, 0, (System.nanoTime() - t) / 1000};
        }
    }

    /** For the traced variant's runs: spans that ended inside the window, per request completed inside it. */
    private void spansPerRequest(ArrayNode runs) throws Exception {
        // The batch processor exports every 5 s (or every 512 spans): wait for the last window's spans.
        Thread.sleep(7000);
        for (JsonNode run : runs) {
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
        for (JsonNode run : runs) {
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
            long pid = started.get(v.key()).process().pid();
            URI metrics = gateways.get(v.key()).base().resolve("/metrics");
            Thread.sleep(1000);
            double c0 = bench.procCpuMs(pid);
            long i0 = System.nanoTime();
            Thread.sleep(3000);
            double idleMsPerS = (bench.procCpuMs(pid) - c0) / ((System.nanoTime() - i0) / 1e9);
            for (int i = 0; i < n; i++) {
                scrape(metrics, System.nanoTime()); // warm-up: the unscraped "off" never ran this code before
            }
            double s0 = bench.procCpuMs(pid);
            long t0 = System.nanoTime();
            long bytes = 0;
            int ok = 0;
            for (int i = 0; i < n; i++) {
                long[] x = scrape(metrics, t0);
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

    /**
     * The streamed loads once more per variant (baseline excluded) under JFR (CPU and allocation samples, started with
     * jcmd on the running process), with the CPU of every thread group from /proc: where the time goes.
     */
    private ObjectNode profile(List<Variant> variants, List<Load> loads, int clients, Duration measure,
            Duration every) throws Exception {
        ObjectNode out = JSON.createObjectNode();
        for (Load l : loads) {
            if (l.kind() != Kind.OPENAI_STREAM) {
                continue;
            }
            relay.setShape(l.shape());
            ObjectNode byVariant = out.putObject(l.key());
            for (Variant v : variants) {
                if (v.key().equals("baseline")) {
                    continue;
                }
                long pid = started.get(v.key()).process().pid();
                Path file = o.work().resolve("profile-" + l.key() + "-" + v.key() + ".jfr");
                jfr(pid, "JFR.start", "name=telemetry", "settings=" + jfc());
                ObjectNode r = measured(v, l, clients, Duration.ofSeconds(2), measure, every);
                jfr(pid, "JFR.stop", "name=telemetry", "filename=" + file);
                ObjectNode p = byVariant.putObject(v.key());
                p.put("cpuMsPerRequest", r.at("/cpu/gatewayMsPerRequest").asDouble())
                        .put("throughput", r.path("throughput").asDouble());
                p.set("jfr", analyze(file));
                p.set("threadsMsPerRequest", r.at("/cpu/threadsMsPerRequest"));
                Benchmark.log(String.format(Locale.ROOT, "profile %s %s: %d samples, %.1f %% in telemetry code",
                        l.key(), v.key(), p.at("/jfr/samples").asLong(), p.at("/jfr/telemetryPercent").asDouble()));
            }
        }
        return out;
    }

    private Path jfc() {
        return o.work().resolve("cpu-samples.jfc");
    }

    /** JFR settings with CPU (execution) samples every 10 ms and allocation samples, nothing else. */
    private void writeJfc() throws IOException {
        Files.writeString(jfc(), """
                <?xml version="1.0" encoding="UTF-8"?>
                <configuration version="2.0" label="cpu" description="CPU and allocation samples only"
                    provider="Parley benchmarks">
                  <event name="jdk.ExecutionSample">
                    <setting name="enabled">true</setting><setting name="period">10 ms</setting>
                  </event>
                  <event name="jdk.ObjectAllocationSample">
                    <setting name="enabled">true</setting><setting name="throttle">150/s</setting>
                    <setting name="stackTrace">true</setting>
                  </event>
                </configuration>
                """);
    }

    private void jfr(long pid, String... args) throws Exception {
        List<String> cmd = new ArrayList<>(List.of(java.getParent().resolve("jcmd").toString(), Long.toString(pid)));
        cmd.addAll(List.of(args));
        exec(cmd.toArray(String[]::new));
    }

    private static void exec(String... cmd) throws Exception {
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
        }
    }

    static String threadGroup(String name) {
        return Benchmark.threadGroup(name);
    }

    // ---- JFR ------------------------------------------------------------------------------------------------------

    /** Classes whose frames are the observability work: the SDK and API, the Prometheus client, Parley's own. */
    static boolean telemetryClass(String c) {
        return c.startsWith("io.opentelemetry.") || c.startsWith("io.prometheus.")
                || c.startsWith("dev.parley.observability.") || c.startsWith("dev.parley.core.internal.ChatTelemetry");
    }

    /** Frames that do not decide whose a sample is: the JDK, and the logging context (MDC) the filter fills. */
    static boolean neutralClass(String c) {
        return c.startsWith("java.") || c.startsWith("javax.") || c.startsWith("jdk.") || c.startsWith("sun.")
                || c.startsWith("com.sun.") || c.startsWith("org.slf4j.MDC") || c.startsWith("ch.qos.logback.classic.util.LogbackMDCAdapter");
    }

    /**
     * Execution samples (CPU) and allocation samples by owner: walking from the leaf, the first frame that is not
     * JDK code decides; a sample in telemetry code is also counted by its entry point, the outermost telemetry frame
     * before the caller's own code. JDK-only stacks on the exporter's threads count as telemetry.
     */
    static ObjectNode analyze(Path jfr) throws IOException {
        long samples = 0;
        long tel = 0;
        long jdkOnly = 0;
        double allocTotal = 0;
        double allocTel = 0;
        Map<String, Long> owners = new HashMap<>();
        Map<String, Long> entries = new HashMap<>();
        Map<String, Long> leaves = new HashMap<>();
        Map<String, Long> threads = new HashMap<>();
        Map<String, Double> allocEntries = new HashMap<>();
        try (RecordingFile f = new RecordingFile(jfr)) {
            while (f.hasMoreEvents()) {
                RecordedEvent e = f.readEvent();
                String type = e.getEventType().getName();
                boolean exec = type.equals("jdk.ExecutionSample");
                boolean alloc = type.equals("jdk.ObjectAllocationSample");
                if (!exec && !alloc) {
                    continue;
                }
                RecordedStackTrace st = e.getStackTrace();
                List<RecordedFrame> frames = st == null ? List.of() : st.getFrames();
                String thread = "?";
                try {
                    var t = e.getThread(exec ? "sampledThread" : "eventThread");
                    if (t != null && t.getJavaName() != null) {
                        thread = t.getJavaName();
                    }
                } catch (RuntimeException x) {
                    // no thread field
                }
                String owner = null;
                String entry = null;
                boolean isTel = false;
                for (RecordedFrame fr : frames) {
                    String c = fr.getMethod().getType().getName();
                    String m = c + "." + fr.getMethod().getName();
                    if (owner == null) {
                        if (neutralClass(c)) {
                            continue;
                        }
                        owner = m;
                        isTel = telemetryClass(c);
                        if (!isTel) {
                            break;
                        }
                        entry = m;
                    } else if (telemetryClass(c)) {
                        entry = m;
                    } else if (!neutralClass(c)) {
                        break;
                    }
                }
                if (owner == null && (thread.startsWith("jdkhttp-executor") || thread.startsWith("BatchSpanProcessor"))) {
                    isTel = true;
                    owner = "(JDK code on " + threadGroup(thread) + ")";
                    entry = owner;
                }
                if (exec) {
                    samples++;
                    threads.merge(threadGroup(thread), 1L, Long::sum);
                    if (!frames.isEmpty()) {
                        RecordedFrame leaf = frames.get(0);
                        leaves.merge(leaf.getMethod().getType().getName() + "." + leaf.getMethod().getName(), 1L,
                                Long::sum);
                    }
                    if (owner == null) {
                        jdkOnly++;
                    }
                    if (isTel) {
                        tel++;
                        owners.merge(owner, 1L, Long::sum);
                        entries.merge(entry, 1L, Long::sum);
                    }
                } else {
                    double w = e.getLong("weight");
                    allocTotal += w;
                    if (isTel) {
                        allocTel += w;
                        allocEntries.merge(entry, w, Double::sum);
                    }
                }
            }
        }
        ObjectNode n = JSON.createObjectNode();
        n.put("samples", samples).put("telemetrySamples", tel)
                .put("telemetryPercent", samples == 0 ? 0 : Math.round(1000.0 * tel / samples) / 10.0)
                .put("jdkOnlySamples", jdkOnly);
        n.set("telemetryByOwner", top(owners, 12));
        n.set("telemetryByEntry", top(entries, 12));
        n.set("topLeafFrames", top(leaves, 12));
        n.set("samplesByThread", top(threads, 10));
        n.put("allocSampledMb", Math.round(allocTotal / 1e5) / 10.0)
                .put("allocTelemetryPercent", allocTotal == 0 ? 0 : Math.round(1000.0 * allocTel / allocTotal) / 10.0);
        ObjectNode ae = n.putObject("allocTelemetryByEntryMb");
        allocEntries.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed()).limit(8)
                .forEach(x -> ae.put(x.getKey(), Math.round(x.getValue() / 1e5) / 10.0));
        return n;
    }

    private static ObjectNode top(Map<String, Long> m, int k) {
        ObjectNode n = JSON.createObjectNode();
        m.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(k)
                .forEach(e -> n.put(e.getKey(), e.getValue()));
        return n;
    }

    private static String loadavg() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "?";
        }
    }
}

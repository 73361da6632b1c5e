package dev.parley.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;

/**
 * Measures what Parley costs on top of its upstream: start to ready, idle RSS, and the latency and throughput of
 * the same chat load sent to the fake OpenAI upstream directly and through a Parley server process.
 * Writes RESULTS.md and results.json. Only ever talks to 127.0.0.1.
 */
public final class Benchmark {

    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final String FAKE_MAIN = "dev.parley.testsupport.FakeOpenAiServer";
    private static final Duration READY_TIMEOUT = Duration.ofSeconds(90);
    private static final Duration CHAT_WAIT = Duration.ofSeconds(20);

    // Targets the results are judged against.
    private static final double TARGET_ADDED_P50_MS = 2;
    private static final double TARGET_ADDED_P99_MS = 10;
    private static final double TARGET_THROUGHPUT_RATIO = 0.80;
    private static final double TARGET_READY_MS = 3000;
    private static final double TARGET_IDLE_RSS_MB = 300;
    private static final double TARGET_INSTALL_P95_MS = 500;
    private static final double TARGET_UPGRADE_P95_MS = 1000;
    static final String PLUGIN_RESULTS = "plugin-lifecycle.json";

    record Options(Path serverJar, Path benchJar, Path work, Path out, int restarts, int idleSeconds,
            List<Long> delays, int words, int warmupRequests, Duration warmupMax, int requests, Duration measureMax,
            int concurrency, String command, String mode, Path echoJar, PluginLifecycle.Options lifecycle,
            Map<String, String> raw) {
    }

    record JvmFlags(String name, List<String> flags) {
    }

    /** {@code chatMs} is spawn → first successful chat through Parley, -1 when none succeeded within the wait. */
    /**
     * The credential every benchmark request carries: the server under test runs with it as its break-glass admin
     * token (every route but health needs one); jars from before authentication ignore the header.
     */
    static final String CREDENTIAL = "benchmark-credential";

    record Started(Process process, int port, double firstHttpMs, double readyMs, double chatMs) {
        URI uri(String path) {
            return URI.create("http://127.0.0.1:" + port + path);
        }
    }

    record Scenario(String name, boolean stream, int clients) {
    }

    record Cpu(double fakeMs, double parleyMs, double driverMs) {
    }

    private final Options o;
    private final Processes processes;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final HttpClient probe = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(2)).build();
    private final Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    private final long clockTicks;

    private Benchmark(Options o, Processes processes) {
        this.o = o;
        this.processes = processes;
        this.clockTicks = clockTicks();
    }

    public static void main(String[] args) throws Exception {
        if ((args.length == 2 || args.length == 3) && args[0].equals("--report-only")) {
            // Re-renders RESULTS.md next to an existing results.json without measuring anything again; a third
            // argument names a results file just rewritten outside the driver (jmh.sh: jmh-guard.json), whose
            // section's hand-written block no longer describes its figures and is dropped.
            Path results = Path.of(args[1]).toAbsolutePath();
            writeReport(results.getParent(), args.length == 3 ? args[2] : null);
            return;
        }
        Options o = parse(args);
        Files.createDirectories(o.work());
        Processes processes = new Processes(o.work().resolve("pids"));
        Runtime.getRuntime().addShutdownHook(new Thread(processes::close, "benchmark-cleanup"));
        try (processes) {
            new Benchmark(o, processes).run();
        }
    }

    private void run() throws Exception {
        if (o.mode().equals("plugins") || o.mode().equals("all")) {
            if (o.mode().equals("all")) {
                runLoad();
            }
            runPlugins();
        } else if (o.mode().equals("load")) {
            runLoad();
        } else if (o.mode().equals("relay")) {
            new Relay(this, o, processes, java).run();
        } else if (o.mode().equals("telemetry")) {
            new TelemetryOverhead(this, o, processes, java).run();
        } else if (o.mode().equals("router")) {
            new RouterOverhead(this, o, processes, java).run();
        } else if (o.mode().equals("auth")) {
            new AuthOverhead(this, o, processes, java).run();
        } else if (o.mode().equals("cluster")) {
            new Cluster(this, o, processes, java).run();
        } else {
            throw new IllegalArgumentException("--mode must be load, plugins, relay, telemetry, router, auth, cluster or all, not "
                    + o.mode());
        }
    }

    /** Re-renders RESULTS.md after {@code --report-only}: every hand-written block is kept. */
    static void writeReport(Path dir) throws IOException {
        writeReport(dir, null);
    }

    /**
     * RESULTS.md is rendered from results.json (chat load) and, when present, plugin-lifecycle.json, relay.json,
     * telemetry.json, router.json, auth.json, cluster.json and jmh-guard.json, so that running one mode keeps the others' sections. A hand-written block (a heading that says
     * "hand-written", up to the next section) belongs to the section it sits in and is kept where it was, unless that
     * section's JSON file is {@code rewritten} (its figures are new, so the text no longer describes them).
     */
    static void writeReport(Path dir, String rewritten) throws IOException {
        Path out = dir.resolve("RESULTS.md");
        Map<String, String> handWritten = Files.exists(out) ? handWritten(Files.readString(out)) : Map.of();
        Path load = dir.resolve("results.json");
        Path plugins = dir.resolve(PLUGIN_RESULTS);
        StringBuilder md = new StringBuilder();
        if (Files.exists(load)) {
            md.append(Report.markdown(JSON.readTree(load.toFile()), targets()));
        } else {
            md.append("# Parley benchmark results\n\nNo chat-load results yet: run `benchmarks/run.sh`.\n");
        }
        if (Files.exists(plugins)) {
            md.append('\n').append(PluginReport.markdown(JSON.readTree(plugins.toFile()), pluginTargets()));
        }
        Path relay = dir.resolve(Relay.RESULTS);
        if (Files.exists(relay)) {
            md.append('\n').append(RelayReport.markdown(JSON.readTree(relay.toFile())));
            keep(md, handWritten, RELAY_SECTION, Relay.RESULTS, rewritten);
        }
        Path telemetry = dir.resolve(TelemetryOverhead.RESULTS);
        if (Files.exists(telemetry)) {
            List<com.fasterxml.jackson.databind.JsonNode> kept = new ArrayList<>();
            Path runs = dir.resolve(TelemetryOverhead.RUNS_DIR);
            if (Files.isDirectory(runs)) {
                try (var files = Files.list(runs)) {
                    for (Path f : files.filter(x -> x.toString().endsWith(".json")).sorted().toList()) {
                        kept.add(JSON.readTree(f.toFile()));
                    }
                }
            }
            md.append('\n').append(TelemetryReport.markdown(JSON.readTree(telemetry.toFile()), kept));
            keep(md, handWritten, TelemetryReport.SECTION, TelemetryOverhead.RESULTS, rewritten);
        }
        Path router = dir.resolve(RouterOverhead.RESULTS);
        if (Files.exists(router)) {
            md.append('\n').append(RouterReport.markdown(JSON.readTree(router.toFile())));
            keep(md, handWritten, RouterReport.SECTION, RouterOverhead.RESULTS, rewritten);
        }
        Path auth = dir.resolve(AuthOverhead.RESULTS);
        if (Files.exists(auth)) {
            md.append('\n').append(AuthReport.markdown(JSON.readTree(auth.toFile())));
            keep(md, handWritten, AuthReport.SECTION, AuthOverhead.RESULTS, rewritten);
        }
        Path cluster = dir.resolve(Cluster.RESULTS);
        if (Files.exists(cluster)) {
            md.append('\n').append(ClusterReport.markdown(JSON.readTree(cluster.toFile())));
            keep(md, handWritten, ClusterReport.SECTION, Cluster.RESULTS, rewritten);
        }
        Path jmh = dir.resolve(JmhReport.RESULTS);
        if (Files.exists(jmh)) {
            md.append('\n').append(JmhReport.markdown(JSON.readTree(jmh.toFile())));
            keep(md, handWritten, JmhReport.SECTION, JmhReport.RESULTS, rewritten);
        }
        Files.writeString(out, md.toString());
    }

    private static final String RELAY_SECTION = "## Relay:";

    private static void keep(StringBuilder md, Map<String, String> handWritten, String section, String json,
            String rewritten) {
        String block = handWritten.get(section);
        if (block != null && !json.equals(rewritten)) {
            if (md.charAt(md.length() - 1) != '\n') {
                md.append('\n');
            }
            md.append('\n').append(block);
        }
    }

    /**
     * The hand-written blocks of a rendered RESULTS.md by the section ({@code ## } heading prefix) they sit in: from a
     * {@code ### } heading containing "hand-written" to the next {@code ## } heading or the end.
     */
    static Map<String, String> handWritten(String md) {
        Map<String, String> blocks = new HashMap<>();
        String[] lines = md.split("\n", -1);
        String section = null;
        StringBuilder block = null;
        for (String line : lines) {
            if (line.startsWith("## ")) {
                if (block != null && section != null) {
                    blocks.put(section, block.toString().stripTrailing() + "\n");
                }
                block = null;
                section = line.startsWith(RELAY_SECTION) ? RELAY_SECTION
                        : line.startsWith(TelemetryReport.SECTION) ? TelemetryReport.SECTION
                        : line.startsWith(RouterReport.SECTION) ? RouterReport.SECTION
                        : line.startsWith(AuthReport.SECTION) ? AuthReport.SECTION
                        : line.startsWith(ClusterReport.SECTION) ? ClusterReport.SECTION
                        : line.startsWith(JmhReport.SECTION) ? JmhReport.SECTION : null;
                continue;
            }
            if (block == null && line.startsWith("### ") && line.contains("hand-written")) {
                block = new StringBuilder();
            }
            if (block != null) {
                block.append(line).append('\n');
            }
        }
        if (block != null && section != null) {
            blocks.put(section, block.toString().stripTrailing() + "\n");
        }
        return blocks;
    }

    private void runPlugins() throws Exception {
        if (o.echoJar() == null || !Files.isRegularFile(o.echoJar())) {
            throw new IllegalArgumentException("--echo-jar must name the example plugin jar (examples/echo-provider/"
                    + "target/echo-provider-<version>.jar), not " + o.echoJar());
        }
        ObjectNode root = JSON.createObjectNode();
        root.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        root.set("machine", machine());
        root.put("command", o.command());
        PluginLifecycle.Options lo = o.lifecycle();
        root.putObject("options").put("warmup", lo.warmup()).put("samples", lo.samples())
                .put("streamClients", lo.streamClients()).put("tokenDelayMs", lo.tokenDelayMs())
                .put("pollMs", PluginLifecycle.POLL.toMillis()).put("echoJar", o.echoJar().getFileName().toString())
                .put("echoJarBytes", Files.size(o.echoJar()));
        String token = CREDENTIAL;
        Path dir = o.work().resolve("plugins");
        Started parley = startParley(new JvmFlags("default", List.of()), null, dir, Duration.ZERO,
                Map.of("PARLEY_ADMIN_TOKEN", token));
        try {
            root.put("serverReadyMs", parley.readyMs());
            root.put("serverRssAtReadyMb", Math.round(Processes.rssKb(parley.process().pid()) / 102.4) / 10.0);
            PluginLifecycle lifecycle = new PluginLifecycle(JSON, http, parley.port(), token, parley.process().pid(),
                    Files.readAllBytes(o.echoJar()), lo);
            root.setAll(lifecycle.run());
            root.put("serverLog", "plugin_* events in the server log: " + countEvents(dir.resolve("server.log")));
        } finally {
            Processes.stop(parley.process(), 30);
        }
        Files.writeString(o.out().resolve(PLUGIN_RESULTS), JSON.writeValueAsString(root) + "\n");
        writeReport(o.out(), PLUGIN_RESULTS);
        log("wrote " + o.out().resolve("RESULTS.md") + " and " + PLUGIN_RESULTS);
    }

    private static String countEvents(Path log) throws IOException {
        Map<String, Long> counts = new TreeMap<>();
        for (String line : Files.readAllLines(log)) {
            var m = Pattern.compile("event=(plugin_\\w+)").matcher(line);
            if (m.find()) {
                counts.merge(m.group(1), 1L, Long::sum);
            }
        }
        return counts.toString();
    }

    private void runLoad() throws Exception {
        ObjectNode root = JSON.createObjectNode();
        root.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        root.set("machine", machine());
        root.put("command", o.command());
        ObjectNode opts = root.putObject("options");
        opts.put("restarts", o.restarts()).put("idleSeconds", o.idleSeconds()).put("words", o.words())
                .put("warmupRequests", o.warmupRequests()).put("warmupMaxSeconds", o.warmupMax().toSeconds())
                .put("requests", o.requests()).put("measureMaxSeconds", o.measureMax().toSeconds())
                .put("concurrency", o.concurrency());
        opts.set("tokenDelaysMs", JSON.valueToTree(o.delays()));

        root.set("startup", startup());
        ArrayNode load = root.putArray("load");
        for (long delay : o.delays()) {
            load.add(loadVariant(delay));
        }
        Files.writeString(o.out().resolve("results.json"), JSON.writeValueAsString(root) + "\n");
        writeReport(o.out(), "results.json");
        log("wrote " + o.out().resolve("RESULTS.md") + " and results.json");
    }

    static ObjectNode targets() {
        return JSON.createObjectNode().put("addedP50Ms", TARGET_ADDED_P50_MS).put("addedP99Ms", TARGET_ADDED_P99_MS)
                .put("throughputRatio", TARGET_THROUGHPUT_RATIO).put("readyMs", TARGET_READY_MS)
                .put("idleRssMb", TARGET_IDLE_RSS_MB);
    }

    static ObjectNode pluginTargets() {
        return JSON.createObjectNode().put("installP95Ms", TARGET_INSTALL_P95_MS)
                .put("upgradeP95Ms", TARGET_UPGRADE_P95_MS);
    }

    // ---- start to ready and idle RSS ------------------------------------------------------------------------

    private ArrayNode startup() throws Exception {
        ArrayNode out = JSON.createArrayNode();
        Process fake = startFake(0, "startup");
        try {
            String baseUrl = "http://127.0.0.1:" + fakePort + "/v1";
            List<JvmFlags> variants = List.of(new JvmFlags("default", List.of()),
                    new JvmFlags("C1+SerialGC", List.of("-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC")));
            boolean chatBroken = false;
            for (JvmFlags flags : variants) {
                Path dir = o.work().resolve("startup-" + flags.name().replaceAll("[^A-Za-z0-9]", ""));
                double[] ready = new double[o.restarts()];
                double[] firstHttp = new double[o.restarts()];
                double[] chat = new double[o.restarts()];
                long rss = -1;
                for (int i = 0; i < o.restarts(); i++) {
                    // Once chat is known not to work with this jar, waiting for it again only slows the run.
                    Started s = startParley(flags, baseUrl, dir, chatBroken ? Duration.ZERO : CHAT_WAIT);
                    chatBroken |= s.chatMs() < 0;
                    ready[i] = s.readyMs();
                    firstHttp[i] = s.firstHttpMs();
                    chat[i] = s.chatMs();
                    log(String.format(Locale.ROOT,
                            "start %s #%d: first HTTP answer %.0f ms, ready %.0f ms, first chat %.0f ms",
                            flags.name(), i + 1, s.firstHttpMs(), s.readyMs(), s.chatMs()));
                    if (i == o.restarts() - 1) {
                        Thread.sleep(o.idleSeconds() * 1000L); // idle on purpose: RSS once start-up churn settled
                        rss = Processes.rssKb(s.process().pid());
                        log(String.format(Locale.ROOT, "idle RSS %s: %.1f MB", flags.name(), rss / 1024.0));
                    }
                    Processes.stop(s.process(), 30);
                }
                ObjectNode n = out.addObject();
                n.put("jvm", flags.name());
                n.set("jvmFlags", JSON.valueToTree(flags.flags()));
                n.set("readyMs", JSON.valueToTree(round(ready)));
                n.set("firstHttpAnswerMs", JSON.valueToTree(round(firstHttp)));
                n.put("readyP50Ms", median(ready)).put("readyMaxMs", Arrays.stream(ready).max().orElse(-1));
                n.put("firstHttpAnswerP50Ms", median(firstHttp));
                n.set("firstChatMs", JSON.valueToTree(round(chat)));
                n.put("firstChatP50Ms", median(chat));
                n.put("idleRssMb", Math.round(rss / 1024.0 * 10) / 10.0);
                n.put("idleSeconds", o.idleSeconds());
            }
        } finally {
            Processes.stop(fake, 10);
        }
        return out;
    }

    // ---- chat load --------------------------------------------------------------------------------------------

    private ObjectNode loadVariant(long delayMs) throws Exception {
        ObjectNode variant = JSON.createObjectNode();
        variant.put("tokenDelayMs", delayMs).put("firstTokenDelayMs", delayMs).put("words", o.words());
        Process fake = startFake(delayMs, "load-" + delayMs);
        int upstreamPort = fakePort;
        Started parley = null;
        try {
            parley = startParley(new JvmFlags("default", List.of()), "http://127.0.0.1:" + upstreamPort + "/v1",
                    o.work().resolve("load-" + delayMs));
            if (parley.chatMs() < 0) {
                String why = "no chat succeeded through Parley within " + CHAT_WAIT.toSeconds()
                        + " s of ready (no model provider registered?); see the server log";
                log(why);
                variant.put("notMeasured", why);
                return variant;
            }
            URI direct = URI.create("http://127.0.0.1:" + upstreamPort + "/v1/chat/completions");
            URI via = parley.uri("/v1/chat/completions");
            Load load = new Load(http, o.words());

            // Both JVMs (and this one) get JIT-compiled on every path before anything is measured.
            log("priming token-delay " + delayMs + " ms");
            for (boolean stream : new boolean[] {false, true}) {
                for (URI target : List.of(direct, via)) {
                    check(load.run(target, stream, o.concurrency(), 4 * o.warmupRequests(), o.warmupMax()),
                            "priming " + target);
                }
            }

            ArrayNode scenarios = variant.putArray("scenarios");
            for (Scenario sc : List.of(new Scenario("non-stream, 1 client", false, 1),
                    new Scenario("non-stream, " + o.concurrency() + " clients", false, o.concurrency()),
                    new Scenario("stream, 1 client", true, 1),
                    new Scenario("stream, " + o.concurrency() + " clients", true, o.concurrency()))) {
                ObjectNode n = scenarios.addObject();
                n.put("name", sc.name()).put("stream", sc.stream()).put("clients", sc.clients());
                n.set("direct", measure(load, direct, sc, fake, null));
                n.set("parley", measure(load, via, sc, fake, parley.process()));
                addComparison(n, sc.stream());
            }
            variant.put("parleyRssAfterLoadMb", Math.round(Processes.rssKb(parley.process().pid()) / 102.4) / 10.0);
        } finally {
            if (parley != null) {
                Processes.stop(parley.process(), 30);
            }
            Processes.stop(fake, 10);
        }
        return variant;
    }

    private ObjectNode measure(Load load, URI target, Scenario sc, Process fake, Process parley) throws Exception {
        String label = (parley == null ? "direct" : "parley") + " " + sc.name();
        check(load.run(target, sc.stream(), sc.clients(), o.warmupRequests(), o.warmupMax()), "warm-up " + label);
        double[] before = cpuMs(fake, parley);
        Load.Result r = load.run(target, sc.stream(), sc.clients(), o.requests(), o.measureMax());
        double[] after = cpuMs(fake, parley);
        log(String.format(Locale.ROOT, "%-32s %5d ok %3d err  p50 %7.2f ms  p99 %7.2f ms  %8.1f req/s", label,
                r.ok(), r.errors(), r.latency().p50(), r.latency().p99(), r.throughput()));
        ObjectNode n = JSON.valueToTree(r);
        if (r.ok() > 0) {
            n.put("fakeCpuMsPerRequest", round((after[0] - before[0]) / r.ok()));
            n.put("driverCpuMsPerRequest", round((after[2] - before[2]) / r.ok()));
            if (parley != null) {
                n.put("parleyCpuMsPerRequest", round((after[1] - before[1]) / r.ok()));
            }
        }
        return n;
    }

    private static void addComparison(ObjectNode n, boolean stream) {
        ObjectNode d = (ObjectNode) n.get("direct");
        ObjectNode p = (ObjectNode) n.get("parley");
        ObjectNode c = n.putObject("added");
        c.put("latencyP50Ms", round(p.at("/latency/p50").asDouble() - d.at("/latency/p50").asDouble()));
        c.put("latencyP99Ms", round(p.at("/latency/p99").asDouble() - d.at("/latency/p99").asDouble()));
        if (stream) {
            c.put("ttftP50Ms", round(p.at("/ttft/p50").asDouble() - d.at("/ttft/p50").asDouble()));
            c.put("ttftP99Ms", round(p.at("/ttft/p99").asDouble() - d.at("/ttft/p99").asDouble()));
        }
        c.put("throughputRatio",
                Math.round(p.path("throughput").asDouble() / d.path("throughput").asDouble() * 10000) / 10000.0);
    }

    private static void check(Load.Result r, String what) {
        if (r.ok() == 0) {
            throw new IllegalStateException(what + ": no request succeeded; first error: " + r.firstError());
        }
    }

    // ---- processes --------------------------------------------------------------------------------------------

    private int fakePort;

    private Process startFake(long delayMs, String label) throws Exception {
        fakePort = Processes.freePort();
        // TCP_NODELAY: without it the JDK HttpServer's separate header and body writes meet the client's delayed
        // ACK and every direct answer takes ~40 ms, which would hide Parley's cost behind an artifact of the fake.
        Process p = processes.spawn(List.of(java.toString(), "-Dsun.net.httpserver.nodelay=true",
                "-cp", o.benchJar().toString(), FAKE_MAIN,
                "--port", Integer.toString(fakePort), "--token-delay-ms", Long.toString(delayMs),
                "--first-token-delay-ms", Long.toString(delayMs), "--words", Integer.toString(o.words())),
                Map.of(), o.work().resolve("fake-" + label + ".log"));
        URI models = URI.create("http://127.0.0.1:" + fakePort + "/v1/models");
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IllegalStateException("fake upstream exited with " + p.exitValue());
            }
            if (status(models) == 200) {
                return p;
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException("fake upstream not up within 30 s");
    }

    private Started startParley(JvmFlags flags, String upstreamBaseUrl, Path dir) throws Exception {
        return startParley(flags, upstreamBaseUrl, dir, CHAT_WAIT);
    }

    Started startParley(JvmFlags flags, String upstreamBaseUrl, Path dir, Duration chatWait)
            throws Exception {
        return startParley(flags, upstreamBaseUrl, dir, chatWait, Map.of());
    }

    /** {@code upstreamBaseUrl} null: no OpenAI upstream configured at all. */
    Started startParley(JvmFlags flags, String upstreamBaseUrl, Path dir, Duration chatWait,
            Map<String, String> extraEnv) throws Exception {
        return startParley(o.serverJar(), flags, upstreamBaseUrl, dir, chatWait, extraEnv);
    }

    /** The same with another server jar (the telemetry mode's baseline build). */
    Started startParley(Path serverJar, JvmFlags flags, String upstreamBaseUrl, Path dir, Duration chatWait,
            Map<String, String> extraEnv) throws Exception {
        int port = Processes.freePort();
        Files.createDirectories(dir);
        List<String> cmd = new ArrayList<>();
        cmd.add(java.toString());
        cmd.addAll(flags.flags());
        cmd.add("-jar");
        cmd.add(serverJar.toString());
        Map<String, String> env = new HashMap<>();
        env.put("PARLEY_HTTP_PORT", Integer.toString(port));
        env.put("PARLEY_DATA_DIR", dir.resolve("data").toString());
        env.put("PARLEY_CONFIG_DIR", dir.resolve("config").toString());
        // Of the provider plugins the jar ships (ADR 11), only the one measured: the OpenAI-compatible provider when
        // there is an upstream, none otherwise. The others' install at start and idle cost would be in the start and
        // RSS figures and differ from a baseline build that ships fewer; a mode may still override it (extraEnv).
        env.put("PARLEY_SHIPPED_PLUGINS", upstreamBaseUrl != null ? "openai" : "none");
        if (upstreamBaseUrl != null) {
            env.put("OPENAI_BASE_URL", upstreamBaseUrl);
            env.put("OPENAI_API_KEY", "sk-benchmark");
            env.put("OPENAI_MODELS", "fake-model");
        }
        env.put("PARLEY_ADMIN_TOKEN", CREDENTIAL);
        env.putAll(extraEnv);
        URI ready = URI.create("http://127.0.0.1:" + port + "/health/ready");
        long t0 = System.nanoTime();
        Process p = processes.spawn(cmd, env, dir.resolve("server.log"));
        double firstHttp = -1;
        long deadline = t0 + READY_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IllegalStateException("Parley exited with " + p.exitValue() + "; log: "
                        + dir.resolve("server.log"));
            }
            int status = status(ready);
            long now = System.nanoTime();
            if (status > 0 && firstHttp < 0) {
                firstHttp = (now - t0) / 1e6;
            }
            if (status == 200) {
                double readyMs = round((now - t0) / 1e6);
                return new Started(p, port, round(firstHttp), readyMs, waitForChat(port, t0, chatWait));
            }
            Thread.sleep(10); // polling interval: bounds the measurement error of start to ready
        }
        Processes.stop(p, 10);
        throw new IllegalStateException("Parley not ready within " + READY_TIMEOUT + "; log: "
                + dir.resolve("server.log"));
    }

    /**
     * Ready does not promise that a model provider is registered (it may still be activating, or missing from the
     * jar); load is only meaningful once a chat goes through, so that moment is measured too.
     */
    private double waitForChat(int port, long t0, Duration wait) throws InterruptedException {
        HttpRequest chat = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/chat/completions"))
                .timeout(Duration.ofSeconds(5)).header("Content-Type", "application/json")
                .header("Authorization", "Bearer " + CREDENTIAL)
                .POST(HttpRequest.BodyPublishers.ofString(Load.body(false))).build();
        long deadline = System.nanoTime() + wait.toNanos();
        do {
            try {
                if (probe.send(chat, HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return round((System.nanoTime() - t0) / 1e6);
                }
            } catch (IOException e) {
                // not answering yet
            }
            Thread.sleep(20);
        } while (System.nanoTime() < deadline);
        return -1;
    }

    int status(URI uri) {
        try {
            return probe.send(HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(2)).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode();
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /** CPU time used so far (user + system) by the fake, Parley (if any) and this driver JVM, in ms. */
    private double[] cpuMs(Process fake, Process parley) {
        double driver = ManagementFactory.getPlatformMXBean(com.sun.management.OperatingSystemMXBean.class)
                .getProcessCpuTime() / 1e6;
        return new double[] {procCpuMs(fake.pid()), parley == null ? 0 : procCpuMs(parley.pid()), driver};
    }

    /** The resolution of /proc/<pid>/stat CPU times, in ms (one clock tick). */
    double tickMs() {
        return 1000.0 / clockTicks;
    }

    /**
     * CPU ms of a JVM's threads by kind, from {@code /proc/<pid>/task/<tid>/stat}: {@code jit} (the C1/C2 compiler
     * threads), {@code gc} (G1, ZGC, Shenandoah and parallel GC workers) and {@code app} (every other thread), and by
     * thread group as {@code thread:<name with numbers as #>}. A thread
     * that ended between two readings takes its CPU with it, so differences are a slight underestimate.
     */
    Map<String, Double> threadCpuMs(long pid) {
        Map<String, Double> byKind = new java.util.HashMap<>(Map.of("jit", 0.0, "gc", 0.0, "app", 0.0));
        try (var tasks = Files.list(Path.of("/proc", Long.toString(pid), "task"))) {
            for (Path t : (Iterable<Path>) tasks::iterator) {
                try {
                    String stat = Files.readString(t.resolve("stat"));
                    String name = stat.substring(stat.indexOf('(') + 1, stat.lastIndexOf(')'));
                    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
                    double ms = (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 1000.0 / clockTicks;
                    byKind.merge(threadKind(name), ms, Double::sum);
                    // And by thread group: the kernel's 15-character name, numbers as '#' ("qtp123-45" → "qtp#-#"),
                    // except JDK HttpClient threads, whose number tells one client from another.
                    byKind.merge("thread:" + threadGroup(name), ms, Double::sum);
                } catch (IOException | RuntimeException e) {
                    // the thread ended while we looked
                }
            }
        } catch (IOException e) {
            return Map.of();
        }
        return byKind;
    }

    /** A pool's threads under one name: numbers as '#', except in JDK HttpClient names (one number per client). */
    static String threadGroup(String name) {
        return name.startsWith("HttpClient-") ? name : name.replaceAll("\\d+", "#");
    }

    static String threadKind(String name) {
        if (name.startsWith("C1 Compiler") || name.startsWith("C2 Compiler")) {
            return "jit";
        }
        if (name.startsWith("GC Thread") || name.startsWith("G1 ") || name.startsWith("Z")
                || name.startsWith("Shenandoah") || name.startsWith("VM Thread")) {
            return "gc";
        }
        return "app";
    }

    double procCpuMs(long pid) {
        try {
            String stat = Files.readString(Path.of("/proc", Long.toString(pid), "stat"));
            String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
            return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 1000.0 / clockTicks;
        } catch (IOException | RuntimeException e) {
            return Double.NaN;
        }
    }

    private static long clockTicks() {
        try {
            Process p = new ProcessBuilder("getconf", "CLK_TCK").redirectErrorStream(true).start();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
            p.waitFor();
            return Long.parseLong(out);
        } catch (Exception e) {
            return 100;
        }
    }

    ObjectNode machine() throws Exception {
        ObjectNode m = JSON.createObjectNode();
        m.put("nproc", Runtime.getRuntime().availableProcessors());
        for (String line : Files.readAllLines(Path.of("/proc/meminfo"))) {
            if (line.startsWith("MemTotal:")) {
                m.put("memTotalMb", Long.parseLong(line.replaceAll("[^0-9]", "")) / 1024);
            }
        }
        Path cpuinfo = Path.of("/proc/cpuinfo");
        if (Files.exists(cpuinfo)) {
            Files.readAllLines(cpuinfo).stream().filter(l -> l.startsWith("model name")).findFirst()
                    .ifPresent(l -> m.put("cpu", l.substring(l.indexOf(':') + 1).trim()));
        }
        m.put("os", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch"));
        Process p = new ProcessBuilder(java.toString(), "-version").redirectErrorStream(true).start();
        m.put("javaVersion", new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim());
        p.waitFor();
        m.put("java", java.toString());
        m.put("serverJar", o.serverJar().toString());
        m.put("serverJarBytes", Files.size(o.serverJar()));
        return m;
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    private static Options parse(String[] args) {
        Map<String, String> a = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i += 2) {
            if (args[i].equals("--quick")) { // a flag without a value (relay mode's development preset)
                a.put("quick", "true");
                i--;
                continue;
            }
            if (i + 1 >= args.length) {
                throw new IllegalArgumentException("option " + args[i] + " needs a value");
            }
            if (!args[i].startsWith("--")) {
                throw new IllegalArgumentException("expected --option value, got " + args[i]);
            }
            a.put(args[i].substring(2), args[i + 1]);
        }
        List<Long> delays = Arrays.stream(a.getOrDefault("token-delays-ms", "0,20").split(","))
                .map(String::trim).map(Long::parseLong).toList();
        return new Options(
                Path.of(required(a, "server-jar")).toAbsolutePath(),
                Path.of(required(a, "bench-jar")).toAbsolutePath(),
                Path.of(required(a, "work")).toAbsolutePath(),
                Path.of(a.getOrDefault("out", ".")).toAbsolutePath(),
                Integer.parseInt(a.getOrDefault("restarts", "5")),
                Integer.parseInt(a.getOrDefault("idle-seconds", "5")),
                delays,
                Integer.parseInt(a.getOrDefault("words", "32")),
                Integer.parseInt(a.getOrDefault("warmup-requests", "200")),
                Duration.ofSeconds(Long.parseLong(a.getOrDefault("warmup-seconds", "5"))),
                Integer.parseInt(a.getOrDefault("requests", "5000")),
                Duration.ofSeconds(Long.parseLong(a.getOrDefault("measure-seconds", "15"))),
                Integer.parseInt(a.getOrDefault("concurrency", "64")),
                a.getOrDefault("command", "java -jar parley-benchmarks.jar " + String.join(" ", args)),
                a.getOrDefault("mode", "load"),
                a.containsKey("echo-jar") ? Path.of(a.get("echo-jar")).toAbsolutePath() : null,
                new PluginLifecycle.Options(
                        Integer.parseInt(a.getOrDefault("lifecycle-warmup", "5")),
                        Integer.parseInt(a.getOrDefault("lifecycle-samples", "30")),
                        Integer.parseInt(a.getOrDefault("lifecycle-clients", "8")),
                        Long.parseLong(a.getOrDefault("lifecycle-token-delay-ms", "10"))),
                a);
    }

    private static String required(Map<String, String> a, String key) {
        String v = a.get(key);
        if (v == null) {
            throw new IllegalArgumentException("--" + key + " is required");
        }
        return v;
    }

    static double round(double v) {
        return Math.round(v * 100) / 100.0;
    }

    private static double[] round(double[] vs) {
        return Arrays.stream(vs).map(Benchmark::round).toArray();
    }

    static double median(double[] vs) {
        double[] s = vs.clone();
        Arrays.sort(s);
        return round(s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2);
    }

    static void log(String msg) {
        System.out.println("[bench] " + msg);
    }
}

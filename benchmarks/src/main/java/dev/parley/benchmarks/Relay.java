package dev.parley.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.benchmarks.RelayClient.Kind;
import dev.parley.benchmarks.RelayClient.Sample;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Relay mode: the same loads sent, interleaved, to the upstream directly, through nginx (a plain streaming relay,
 * the floor) and through Parley, with the CPU of every process read from /proc. Writes relay.json and re-renders
 * RESULTS.md. See benchmarks/README.md ("Relay mode") for what every figure means.
 */
final class Relay {

    static final String RESULTS = "relay.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final String UPSTREAM_MAIN = "dev.parley.benchmarks.RelayUpstream";

    /** An upstream answer shape. */
    record Shape(String key, String label, long firstMs, long gapMs, int words) {
    }

    static final List<Shape> SHAPES = List.of(
            new Shape("a", "instant (15 words at once)", 0, 0, 15),
            new Shape("b", "50 ms to first token, then 15 words 5 ms apart", 50, 5, 15),
            new Shape("c", "64 deltas 20 ms apart", 20, 20, 64));
    static final Shape PACED = SHAPES.get(2);
    static final Shape SLOW = new Shape("slow", "one delta a second, held open", 0, 1000, 3600);

    /**
     * A process (or two, for nginx) that requests go through; {@code pids} empty for direct. {@code endpoints}: every
     * address that serves it with the credential its clients send there as {@code Authorization: Bearer} (client
     * {@code i} uses endpoint {@code i % n}: several Parley nodes measured as one, their CPU summed over {@code pids}).
     */
    record Gateway(String name, URI base, List<Long> pids, List<Endpoint> endpoints) {
        Gateway(String name, URI base, List<Long> pids) {
            this(name, base, pids, List.of(new Endpoint(base, Benchmark.CREDENTIAL)));
        }
    }

    record Endpoint(URI base, String credential) {
    }

    record Cpu(double gatewayMs, double upstreamMs, double driverMs, long busyTicks, long totalTicks) {
    }

    private final Benchmark bench;
    private final Benchmark.Options o;
    private final Processes processes;
    private final Path java;
    private final Map<String, String> a;
    private final boolean quick;
    private final ScheduledExecutorService timer = Executors.newScheduledThreadPool(1, r -> {
        Thread t = new Thread(r, "relay-timer");
        t.setDaemon(true);
        return t;
    });

    private RelayClient client;
    private Process upstream;
    private int upstreamPort;
    private Process nginx;
    private Gateway direct;
    private Gateway viaNginx;
    private Gateway viaParley;
    private Benchmark.Started parley;

    Relay(Benchmark bench, Benchmark.Options o, Processes processes, Path java) {
        this.bench = bench;
        this.o = o;
        this.processes = processes;
        this.java = java;
        this.a = o.raw();
        this.quick = a.containsKey("quick");
    }

    // ---- options ------------------------------------------------------------------------------------------------

    private String opt(String key, String full, String quickValue) {
        return a.getOrDefault(key, quick ? quickValue : full);
    }

    private List<Integer> ints(String key, String full, String quickValue) {
        return Arrays.stream(opt(key, full, quickValue).split(",")).map(String::trim).map(Integer::parseInt).toList();
    }

    private Duration seconds(String key, String full, String quickValue) {
        return Duration.ofMillis(Math.round(Double.parseDouble(opt(key, full, quickValue)) * 1000));
    }

    // ---- the run ------------------------------------------------------------------------------------------------

    void run() throws Exception {
        long t0 = System.nanoTime();
        List<Integer> clients = ints("relay-clients", "1,64,256,1024", "1,64");
        Duration warm = seconds("relay-warmup-seconds", "2", "1");
        Duration measure = seconds("relay-measure-seconds", "7", "1");
        List<Integer> steps = ints("capacity-steps", "256,512,1024,1536,2048,3072,4096", "256");
        Duration capWarm = seconds("capacity-warmup-seconds", "2", "1");
        Duration capMeasure = seconds("capacity-measure-seconds", "6", "3");
        long stallAllowanceMs = Long.parseLong(opt("stall-allowance-ms", "40", "40"));
        long stallMs = 3 * PACED.gapMs() + stallAllowanceMs;
        int slowStreams = Integer.parseInt(opt("slow-streams", "4000", "500"));
        int idleSockets = Integer.parseInt(opt("idle-websockets", "8000", "1000"));
        int starts = Integer.parseInt(opt("starts", "5", "1"));
        String nginxBin = a.getOrDefault("nginx", "none");

        ObjectNode root = JSON.createObjectNode();
        root.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        ObjectNode machine = bench.machine();
        // No machine paths in the committed results: the JDK and jar are named by version and file name only.
        machine.remove("java");
        machine.put("serverJar", Path.of(machine.path("serverJar").asText()).getFileName().toString());
        root.set("machine", machine);
        root.put("command", o.command());
        ObjectNode opts = root.putObject("options");
        opts.put("quick", quick).put("warmupSeconds", warm.toMillis() / 1000.0)
                .put("measureSeconds", measure.toMillis() / 1000.0)
                .put("capacityWarmupSeconds", capWarm.toMillis() / 1000.0)
                .put("capacityMeasureSeconds", capMeasure.toMillis() / 1000.0).put("stallMs", stallMs)
                .put("stallAllowanceMs", stallAllowanceMs).put("slowStreams", slowStreams)
                .put("idleWebSockets", idleSockets).put("starts", starts)
                .put("fdLimit", a.getOrDefault("fd-limit", "unknown"));
        opts.set("clients", JSON.valueToTree(clients));
        opts.set("capacitySteps", JSON.valueToTree(steps));
        ArrayNode shapes = opts.putArray("shapes");
        for (Shape s : SHAPES) {
            shapes.addObject().put("key", s.key()).put("label", s.label()).put("firstMs", s.firstMs())
                    .put("gapMs", s.gapMs()).put("words", s.words());
        }

        client = new RelayClient();
        try {
            startUpstream();
            direct = new Gateway("direct", URI.create("http://127.0.0.1:" + upstreamPort), List.of());
            root.set("nginx", startNginx(nginxBin));
            root.set("startup", startParley(starts));
            viaParley = new Gateway("parley", URI.create("http://127.0.0.1:" + parley.port()),
                    List.of(parley.process().pid()));

            prime();
            ArrayNode matrix = root.putArray("matrix");
            List<String> only = Arrays.asList(opt("relay-shapes", "a,b,c", "a,b,c").split(","));
            for (Shape s : SHAPES) {
                if (!only.contains(s.key())) {
                    continue;
                }
                for (int c : clients) {
                    matrix.add(group(s, c, warm, measure, stallMs));
                }
            }
            root.set("capacity", capacity(steps, capWarm, capMeasure, stallMs));
            root.set("slowStreams", slowStreams(slowStreams));
            root.set("idleWebSockets", idleWebSockets(idleSockets));
            root.put("parleyRssAtEndMb", mb(Processes.rssKb(parley.process().pid())));
            List<String> gcs = Arrays.stream(opt("relay-gcs", "G1,ZGC,Shenandoah", "G1,ZGC,Shenandoah").split(","))
                    .map(String::trim).filter(x -> !x.isEmpty()).toList();
            if (!gcs.isEmpty()) {
                root.set("gc", gcComparison(gcs, warm, measure, stallMs));
            }
            root.put("upstreamStats", httpGet(direct.base().resolve("/bench/stats")));
        } finally {
            if (parley != null) {
                Processes.stop(parley.process(), 30);
            }
            if (nginx != null) {
                Processes.stop(nginx, 10);
            }
            if (upstream != null) {
                Processes.stop(upstream, 10);
            }
            client.close();
        }
        root.put("wallSeconds", Math.round((System.nanoTime() - t0) / 1e9));
        Files.writeString(o.out().resolve(RESULTS), JSON.writeValueAsString(root) + "\n");
        Benchmark.writeReport(o.out(), RESULTS);
        Benchmark.log("wrote " + o.out().resolve("RESULTS.md") + " and " + RESULTS + " after "
                + root.path("wallSeconds").asLong() + " s");
    }

    // ---- shared with other modes (telemetry): the upstream, the driver and the closed-loop runs ------------------

    /** Starts the driver's client and the upstream only (no nginx, no Parley); {@link #closeUpstream} stops them. */
    void openUpstream() throws Exception {
        client = new RelayClient();
        startUpstream();
        direct = new Gateway("direct", URI.create("http://127.0.0.1:" + upstreamPort), List.of());
    }

    void closeUpstream() throws Exception {
        if (upstream != null) {
            Processes.stop(upstream, 10);
        }
        if (client != null) {
            client.close();
        }
    }

    RelayClient client() {
        return client;
    }

    /** The upstream's OpenAI base URL, for {@code OPENAI_BASE_URL}. */
    String upstreamBaseUrl() {
        return "http://127.0.0.1:" + upstreamPort + "/v1";
    }

    long upstreamPid() {
        return upstream.pid();
    }

    /** Parley gateways (a JVM) get their CPU split by thread kind (JIT, GC). */
    /** CPU ms by thread group, summed over the gateway's processes. */
    private Map<String, Double> threadCpuMs(Gateway g) throws IOException {
        Map<String, Double> sum = new java.util.HashMap<>();
        for (long pid : g.pids()) {
            bench.threadCpuMs(pid).forEach((k, v) -> sum.merge(k, v, Double::sum));
        }
        return sum;
    }

    private static boolean isJvm(Gateway g) {
        return g.name().startsWith("parley") && !g.pids().isEmpty();
    }

    // ---- processes ------------------------------------------------------------------------------------------------

    private void startUpstream() throws Exception {
        upstreamPort = Processes.freePort();
        // Serial GC and a small heap: its garbage is a few buffers per request; a cheap upstream is the point.
        upstream = processes.spawn(List.of(java.toString(), "-XX:+UseSerialGC", "-Xmx256m", "-cp",
                o.benchJar().toString(), UPSTREAM_MAIN, "--port", Integer.toString(upstreamPort)), Map.of(),
                o.work().resolve("relay-upstream.log"));
        waitFor200(URI.create("http://127.0.0.1:" + upstreamPort + "/v1/models"), upstream, "relay upstream");
    }

    private ObjectNode startNginx(String bin) throws Exception {
        ObjectNode n = JSON.createObjectNode();
        Path template = a.containsKey("nginx-conf") ? Path.of(a.get("nginx-conf")) : null;
        if (bin.equals("none") || !Files.isExecutable(Path.of(bin)) || template == null) {
            String why = "nginx not found: the nginx column is skipped (install it with `apt-get install nginx-light`)";
            Benchmark.log(why);
            n.put("available", false).put("note", why);
            return n;
        }
        int port = Processes.freePort();
        Path dir = o.work().resolve("nginx");
        Files.createDirectories(dir.resolve("logs"));
        String conf = Files.readString(template).replace("@LISTEN_PORT@", Integer.toString(port))
                .replace("@UPSTREAM_PORT@", Integer.toString(upstreamPort));
        Files.writeString(dir.resolve("nginx.conf"), conf);
        Process v = new ProcessBuilder(bin, "-v").redirectErrorStream(true).start();
        String version = new String(v.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim();
        v.waitFor();
        nginx = processes.spawn(List.of(bin, "-p", dir.toString(), "-c", dir.resolve("nginx.conf").toString()),
                Map.of(), o.work().resolve("nginx.log"));
        waitFor200(URI.create("http://127.0.0.1:" + port + "/v1/models"), nginx, "nginx");
        List<Long> pids = new ArrayList<>();
        pids.add(nginx.pid());
        pids.addAll(children(nginx.pid()));
        viaNginx = new Gateway("nginx", URI.create("http://127.0.0.1:" + port), pids);
        n.put("available", true).put("version", version).put("processes", pids.size())
                .put("config", "benchmarks/nginx/relay.conf");
        Benchmark.log("nginx " + version + " on port " + port + ", pids " + pids);
        return n;
    }

    private ObjectNode startParley(int starts) throws Exception {
        ObjectNode n = JSON.createObjectNode();
        String base = "http://127.0.0.1:" + upstreamPort + "/v1";
        Path dir = o.work().resolve("relay-parley");
        Benchmark.JvmFlags flags = new Benchmark.JvmFlags("default", List.of());
        // Start 0 creates the data dir and is not counted: "start" is measured on an existing data dir.
        Benchmark.Started s = bench.startParley(flags, base, dir, Duration.ofSeconds(20), Map.of());
        Benchmark.log(String.format(Locale.ROOT, "start 0 (creates the data dir): ready %.0f ms", s.readyMs()));
        double[] ready = new double[starts];
        for (int i = 0; i < starts; i++) {
            Processes.stop(s.process(), 30);
            s = bench.startParley(flags, base, dir, i == starts - 1 ? Duration.ofSeconds(20) : Duration.ZERO,
                    Map.of());
            ready[i] = s.readyMs();
            Benchmark.log(String.format(Locale.ROOT, "start %d: ready %.0f ms", i + 1, s.readyMs()));
        }
        if (s.chatMs() < 0) {
            throw new IllegalStateException("no chat went through Parley to the relay upstream; see " + dir);
        }
        int idle = o.idleSeconds();
        Thread.sleep(idle * 1000L);
        double rss = mb(Processes.rssKb(s.process().pid()));
        Benchmark.log("idle RSS " + rss + " MB");
        parley = s;
        n.set("readyMs", JSON.valueToTree(ready));
        n.put("readyP50Ms", Benchmark.median(ready)).put("readyMaxMs", Arrays.stream(ready).max().orElse(-1));
        n.put("idleRssMb", rss).put("idleSeconds", idle);
        n.put("heapAfterStartMb", mbKb(heapKb(s.process().pid())));
        return n;
    }

    // ---- closed-loop runs -----------------------------------------------------------------------------------------

    void setShape(Shape s) throws Exception {
        String r = httpGet(direct.base().resolve("/bench/shape?first=" + s.firstMs() + "&gap=" + s.gapMs()
                + "&words=" + s.words()));
        if (!r.startsWith("ok")) {
            throw new IllegalStateException("upstream did not take the shape: " + r);
        }
    }

    /** JIT-compiles every process on every path before anything is measured. */
    private void prime() throws Exception {
        setShape(SHAPES.get(0));
        Duration d = Duration.ofSeconds(quick ? 1 : 5);
        Benchmark.log("priming every path for " + d.toSeconds() + " s at 64 clients");
        List<String> conversations = client.createConversations(viaParley.base(), 256);
        for (Gateway g : gateways()) {
            for (Kind k : List.of(Kind.OPENAI_STREAM, Kind.OPENAI_COMPLETE)) {
                closedLoop(g, k, SHAPES.get(0), 64, Duration.ZERO, d, 1000, null);
            }
        }
        closedLoop(viaParley, Kind.NATIVE_SSE, SHAPES.get(0), 64, Duration.ZERO, d, 1000, conversations);
        closedLoop(viaParley, Kind.WS, SHAPES.get(0), 64, Duration.ZERO, d, 1000, conversations);
    }

    private List<Gateway> gateways() {
        List<Gateway> gs = new ArrayList<>();
        gs.add(direct);
        if (viaNginx != null) {
            gs.add(viaNginx);
        }
        gs.add(viaParley);
        return gs;
    }

    /** One shape at one concurrency: every gateway and kind back to back, so all see the same machine state. */
    private ObjectNode group(Shape s, int clients, Duration warm, Duration measure, long stallMs) throws Exception {
        setShape(s);
        ObjectNode g = JSON.createObjectNode();
        g.put("shape", s.key()).put("clients", clients);
        ArrayNode runs = g.putArray("runs");
        double parleyStreamRps = 0;
        for (Kind k : List.of(Kind.OPENAI_STREAM, Kind.OPENAI_COMPLETE)) {
            for (Gateway gw : gateways()) {
                ObjectNode r = closedLoop(gw, k, s, clients, warm, measure, stallMs, null);
                runs.add(r);
                if (gw == viaParley && k == Kind.OPENAI_STREAM) {
                    parleyStreamRps = r.path("throughput").asDouble();
                }
            }
        }
        // Native turns grow a conversation's history: spread them over enough conversations that none gets more
        // than ~10 turns in this group (SSE + WebSocket), estimated from the /v1 stream throughput just measured.
        double seconds = (warm.toMillis() + measure.toMillis()) / 1000.0;
        int pool = (int) Math.min(2000, Math.max(clients, Math.ceil(parleyStreamRps * seconds * 2 / 10)));
        List<String> conversations = client.createConversations(viaParley.base(), pool);
        g.put("conversations", pool);
        runs.add(closedLoop(viaParley, Kind.NATIVE_SSE, s, clients, warm, measure, stallMs, conversations));
        runs.add(closedLoop(viaParley, Kind.WS, s, clients, warm, measure, stallMs, conversations));
        return g;
    }

    /**
     * {@code clients} virtual clients, each sending its next request when its answer is complete, for
     * {@code warm + measure}. Latency samples: requests started inside the measured window. Throughput and CPU per
     * request: requests completed inside it.
     */
    ObjectNode closedLoop(Gateway gw, Kind kind, Shape s, int clients, Duration warm, Duration measure,
            long stallMs, List<String> conversations) throws Exception {
        return closedLoop(gw, kind, s, RelayClient.MODEL, clients, warm, measure, stallMs, conversations);
    }

    /** The same with the model the {@code /v1} requests name (an alias, say). */
    ObjectNode closedLoop(Gateway gw, Kind kind, Shape s, String model, int clients, Duration warm, Duration measure,
            long stallMs, List<String> conversations) throws Exception {
        String label = gw.name() + " " + kindName(kind);
        List<RelayClient.Socket> sockets = kind == Kind.WS
                ? client.openSockets(URI.create("ws" + gw.base().toString().substring(4) + "/api/v1/chat/ws"),
                        clients, 128)
                : List.of();
        java.net.InetSocketAddress addr = RelayClient.address(gw.base());
        List<java.net.InetSocketAddress> addrs = gw.endpoints().stream().map(e -> RelayClient.address(e.base()))
                .toList();
        List<byte[]> requests = gw.endpoints().stream().map(e -> NioHttp.post(e.base().resolve("/v1/chat/completions"),
                RelayClient.openAiBody(model, kind == Kind.OPENAI_STREAM),
                kind == Kind.OPENAI_COMPLETE ? "application/json" : "text/event-stream", e.credential())).toList();
        AtomicLong conv = new AtomicLong();
        long start = System.nanoTime();
        long warmEnd = start + warm.toNanos();
        long end = warmEnd + measure.toNanos();
        List<Sample> samples = Collections.synchronizedList(new ArrayList<>());
        AtomicInteger completedInWindow = new AtomicInteger();
        // Every answer of the run, the warm-up's and the stragglers' included: what clients saw (the fallback scenario).
        AtomicInteger answeredAll = new AtomicInteger();
        AtomicInteger failedAll = new AtomicInteger();
        java.util.concurrent.atomic.AtomicReference<String> firstErrorAll = new java.util.concurrent.atomic.AtomicReference<>();
        CountDownLatch finished = new CountDownLatch(clients);
        long ramp = Math.min(TimeUnit.SECONDS.toNanos(1), warm.toNanos() / 2);
        for (int c = 0; c < clients; c++) {
            int id = c;
            Runnable[] loop = new Runnable[1];
            loop[0] = () -> {
                java.util.function.Consumer<Sample> done = sample -> {
                    (sample.error() == null ? answeredAll : failedAll).incrementAndGet();
                    if (sample.error() != null) {
                        firstErrorAll.compareAndSet(null, sample.error());
                    }
                    if (sample.start() >= warmEnd && sample.start() < end) {
                        samples.add(sample);
                    }
                    if (sample.error() == null && sample.end() >= warmEnd && sample.end() < end) {
                        completedInWindow.incrementAndGet();
                    }
                    if (System.nanoTime() >= end) {
                        finished.countDown();
                    } else if (sample.error() != null) {
                        timer.schedule(loop[0], 20, TimeUnit.MILLISECONDS); // no hot loop on a failing gateway
                    } else {
                        loop[0].run();
                    }
                };
                switch (kind) {
                    case OPENAI_STREAM, OPENAI_COMPLETE -> client.send(kind, addrs.get(id % addrs.size()),
                            requests.get(id % requests.size()), s.words(), null, done);
                    case NATIVE_SSE -> client.send(kind, addr, NioHttp.post(gw.base().resolve("/api/v1/conversations/"
                            + conversations.get((int) (conv.getAndIncrement() % conversations.size())) + "/messages"),
                            "{\"content\":\"Tell me something.\"}", "text/event-stream"), s.words(), null, done);
                    case WS -> sockets.get(id).turn(
                            conversations.get((int) (conv.getAndIncrement() % conversations.size())),
                            "r" + RelayClient.TURN_IDS.incrementAndGet(), s.words(), done);
                }
            };
            long delay = clients == 1 ? 0 : ramp * c / clients;
            timer.schedule(loop[0], delay, TimeUnit.NANOSECONDS);
        }
        long abortedBefore = upstreamAborted();
        sleepUntil(warmEnd);
        long windowFromEpochNs = epochNanos();
        Cpu before = cpu(gw);
        Map<String, Double> extraBefore = extraCpuMs();
        Map<String, Double> threadsBefore = isJvm(gw) ? threadCpuMs(gw) : Map.of();
        sleepUntil(end);
        Cpu after = cpu(gw);
        Map<String, Double> extraAfter = extraCpuMs();
        Map<String, Double> threadsAfter = isJvm(gw) ? threadCpuMs(gw) : Map.of();
        long windowToEpochNs = epochNanos();
        String load = Files.readString(Path.of("/proc/loadavg")).trim();
        boolean all = finished.await(RelayClient.TIMEOUT_S + 10, TimeUnit.SECONDS);
        sockets.forEach(RelayClient.Socket::close);
        long abortedDuring = upstreamAborted() - abortedBefore;

        ObjectNode r = JSON.createObjectNode();
        r.put("gateway", gw.name()).put("kind", kindName(kind)).put("shape", s.key()).put("clients", clients);
        r.put("windowFromEpochNs", windowFromEpochNs).put("windowToEpochNs", windowToEpochNs);
        List<Sample> ok;
        List<Sample> bad;
        synchronized (samples) {
            ok = samples.stream().filter(x -> x.error() == null).toList();
            bad = samples.stream().filter(x -> x.error() != null).toList();
        }
        double windowS = measure.toNanos() / 1e9;
        int done = completedInWindow.get();
        long stallNs = TimeUnit.MILLISECONDS.toNanos(stallMs);
        r.put("ok", ok.size()).put("errors", bad.size()).put("completedInWindow", done)
                .put("throughput", Benchmark.round(done / windowS));
        r.put("upstreamAnswersAbortedByClient", abortedDuring);
        r.put("answeredAll", answeredAll.get()).put("failedAll", failedAll.get());
        if (firstErrorAll.get() != null) {
            r.put("firstErrorAll", firstErrorAll.get());
        }
        r.put("dropped", bad.stream().filter(x -> x.error().startsWith("dropped")).count());
        r.put("stalls", ok.stream().filter(x -> x.maxGap() > stallNs).count());
        if (!bad.isEmpty()) {
            r.put("firstError", bad.get(0).error());
        }
        if (!all) {
            r.put("unfinished", "some clients had not finished " + (RelayClient.TIMEOUT_S + 10) + " s after the window");
        }
        r.set("latencyMs", stats(ok.stream().mapToLong(x -> x.end() - x.start()).toArray()));
        r.set("ttftMs", stats(ok.stream().mapToLong(Sample::ttft).toArray()));
        r.set("maxGapMs", stats(ok.stream().mapToLong(Sample::maxGap).toArray()));
        double wallMs = windowS * 1000;
        ObjectNode cpu = r.putObject("cpu");
        int n = Math.max(1, done);
        cpu.put("gatewayMsPerRequest", round3((after.gatewayMs() - before.gatewayMs()) / n))
                .put("gatewayMsPerChunk", round3((after.gatewayMs() - before.gatewayMs()) / n / s.words()))
                .put("gatewayTicks", Math.round((after.gatewayMs() - before.gatewayMs()) / bench.tickMs()))
                .put("upstreamMsPerRequest", round3((after.upstreamMs() - before.upstreamMs()) / n))
                .put("driverMsPerRequest", round3((after.driverMs() - before.driverMs()) / n))
                .put("gatewayCores", round3((after.gatewayMs() - before.gatewayMs()) / wallMs))
                .put("upstreamCores", round3((after.upstreamMs() - before.upstreamMs()) / wallMs))
                .put("driverCores", round3((after.driverMs() - before.driverMs()) / wallMs))
                .put("machineBusy", round3((double) (after.busyTicks() - before.busyTicks())
                        / Math.max(1, after.totalTicks() - before.totalTicks())));
        for (Map.Entry<String, Double> e : extraAfter.entrySet()) {
            cpu.put(e.getKey() + "MsPerRequest", round3((e.getValue() - extraBefore.get(e.getKey())) / n));
        }
        for (String kindOfThread : List.of("jit", "gc")) {
            if (threadsBefore.containsKey(kindOfThread) && threadsAfter.containsKey(kindOfThread)) {
                cpu.put(kindOfThread + "MsPerRequest",
                        round3((threadsAfter.get(kindOfThread) - threadsBefore.get(kindOfThread)) / n));
            }
        }
        // Where the gateway's CPU went, by thread group (JVM gateways), largest first.
        List<Map.Entry<String, Double>> groups = new ArrayList<>();
        for (Map.Entry<String, Double> e : threadsAfter.entrySet()) {
            if (e.getKey().startsWith("thread:")) {
                double d = e.getValue() - threadsBefore.getOrDefault(e.getKey(), 0.0);
                if (d > 0) {
                    groups.add(Map.entry(e.getKey().substring("thread:".length()), d));
                }
            }
        }
        if (!groups.isEmpty()) {
            groups.sort(Map.Entry.<String, Double>comparingByValue().reversed());
            ObjectNode byThread = cpu.putObject("threadsMsPerRequest");
            groups.forEach(e -> byThread.put(e.getKey(), round3(e.getValue() / n)));
        }
        r.put("loadavg", load);
        Benchmark.log(String.format(Locale.ROOT,
                "%s %-7s %-14s c=%-4d %6.1f req/s p50 %7.1f p99 %7.1f ttft99 %7.1f gap99 %6.1f ms err %d stalls %d"
                        + " | cpu ms/req gw %.3f up %.3f drv %.3f busy %.2f load %s",
                s.key(), gw.name(), kindName(kind), clients, done / windowS, r.at("/latencyMs/p50").asDouble(),
                r.at("/latencyMs/p99").asDouble(), r.at("/ttftMs/p99").asDouble(), r.at("/maxGapMs/p99").asDouble(),
                bad.size(), r.path("stalls").asLong(), cpu.path("gatewayMsPerRequest").asDouble(),
                cpu.path("upstreamMsPerRequest").asDouble(), cpu.path("driverMsPerRequest").asDouble(),
                cpu.path("machineBusy").asDouble(), load.split(" ")[0]));
        if (!bad.isEmpty()) {
            Benchmark.log("  first error: " + bad.get(0).error());
        }
        return r;
    }

    static String kindName(Kind k) {
        return switch (k) {
            case OPENAI_STREAM -> "v1-stream";
            case OPENAI_COMPLETE -> "v1-nonstream";
            case NATIVE_SSE -> "native-sse";
            case WS -> "websocket";
        };
    }

    // ---- garbage collectors --------------------------------------------------------------------------------------

    /**
     * Parley restarted under each collector (same data dir, otherwise default flags) and run against direct at 64
     * and 256 paced streams and 64 instant ones, with the collector's pauses read from its own log
     * ({@code -Xlog:gc,gc+phases}) for exactly the measured runs.
     */
    private ObjectNode gcComparison(List<String> gcs, Duration warm, Duration measure, long stallMs) throws Exception {
        ObjectNode n = JSON.createObjectNode();
        ArrayNode variants = n.putArray("variants");
        String base = "http://127.0.0.1:" + upstreamPort + "/v1";
        Path dir = o.work().resolve("relay-parley");
        Duration primeFor = Duration.ofSeconds(quick ? 2 : 10);
        for (String gc : gcs) {
            String flag = switch (gc) {
                case "G1" -> "-XX:+UseG1GC";
                case "ZGC" -> "-XX:+UseZGC";
                case "Shenandoah" -> "-XX:+UseShenandoahGC";
                case "Serial" -> "-XX:+UseSerialGC";
                case "Parallel" -> "-XX:+UseParallelGC";
                default -> throw new IllegalArgumentException("unknown collector " + gc
                        + " (G1, ZGC, Shenandoah, Serial, Parallel)");
            };
            Path gcLog = o.work().resolve("gc-" + gc + ".log");
            List<String> flags = List.of(flag, "-Xlog:gc,gc+phases:file=" + gcLog + ":uptime");
            Processes.stop(parley.process(), 30);
            ObjectNode v = variants.addObject();
            v.put("gc", gc).put("flag", flag);
            try {
                parley = bench.startParley(new Benchmark.JvmFlags(gc, flags), base, dir, Duration.ofSeconds(20),
                        Map.of());
            } catch (Exception e) {
                v.put("notMeasured", "did not start: " + e.getMessage());
                Benchmark.log("GC " + gc + ": Parley did not start: " + e.getMessage());
                continue;
            }
            viaParley = new Gateway("parley", URI.create("http://127.0.0.1:" + parley.port()),
                    List.of(parley.process().pid()));
            Benchmark.log("GC " + gc + ": priming " + primeFor.toSeconds() + " s");
            setShape(SHAPES.get(0));
            closedLoop(viaParley, Kind.OPENAI_STREAM, SHAPES.get(0), 64, Duration.ZERO, primeFor, 1000, null);
            setShape(PACED);
            closedLoop(viaParley, Kind.OPENAI_STREAM, PACED, 64, Duration.ZERO, primeFor, 1000, null);
            ArrayNode runs = v.putArray("runs");
            for (Object[] c : new Object[][] {{PACED, 64}, {PACED, 256}, {SHAPES.get(0), 64}}) {
                Shape s = (Shape) c[0];
                int clients = (Integer) c[1];
                setShape(s);
                ObjectNode d = closedLoop(direct, Kind.OPENAI_STREAM, s, clients, warm, measure, stallMs, null);
                long from = Files.exists(gcLog) ? Files.size(gcLog) : 0;
                ObjectNode p = closedLoop(viaParley, Kind.OPENAI_STREAM, s, clients, warm, measure, stallMs, null);
                ObjectNode row = runs.addObject();
                row.put("shape", s.key()).put("clients", clients);
                row.set("direct", d);
                row.set("parley", p);
                row.set("pauses", pauses(gcLog, from));
            }
            v.put("rssMb", mb(Processes.rssKb(parley.process().pid())));
        }
        return n;
    }

    private static final Pattern PAUSE = Pattern.compile("\\bPause\\b.*?([0-9]+(?:\\.[0-9]+)?)ms\\s*$");

    /** Stop-the-world pauses logged after byte {@code from} of the collector's log: count, p50, p99, max, total. */
    private static ObjectNode pauses(Path log, long from) throws IOException {
        ObjectNode n = JSON.createObjectNode();
        List<Double> ms = new ArrayList<>();
        if (Files.exists(log)) {
            byte[] all = Files.readAllBytes(log);
            String text = new String(all, (int) Math.min(from, all.length), (int) (all.length - Math.min(from, all.length)),
                    StandardCharsets.UTF_8);
            for (String line : text.split("\n")) {
                Matcher m = PAUSE.matcher(line);
                if (m.find()) {
                    ms.add(Double.parseDouble(m.group(1)));
                }
            }
        }
        Collections.sort(ms);
        n.put("count", ms.size());
        n.put("p50Ms", ms.isEmpty() ? 0 : ms.get((int) Math.ceil(ms.size() * 0.50) - 1));
        n.put("p99Ms", ms.isEmpty() ? 0 : ms.get((int) Math.ceil(ms.size() * 0.99) - 1));
        n.put("maxMs", ms.isEmpty() ? 0 : ms.get(ms.size() - 1));
        n.put("totalMs", Benchmark.round(ms.stream().mapToDouble(Double::doubleValue).sum()));
        return n;
    }

    // ---- capacity -------------------------------------------------------------------------------------------------

    private ObjectNode capacity(List<Integer> steps, Duration warm, Duration measure, long stallMs) throws Exception {
        setShape(PACED);
        ObjectNode n = JSON.createObjectNode();
        n.put("stallMs", stallMs);
        ArrayNode runs = n.putArray("runs");
        Map<String, Integer> held = new java.util.LinkedHashMap<>();
        Map<String, Integer> failedAt = new java.util.LinkedHashMap<>();
        for (Gateway g : gateways()) {
            held.put(g.name(), 0);
        }
        Integer directLimit = null;
        for (int step : steps) {
            if (directLimit != null) {
                break;
            }
            for (Gateway g : gateways()) {
                if (failedAt.containsKey(g.name())) {
                    continue;
                }
                ObjectNode r = closedLoop(g, Kind.OPENAI_STREAM, PACED, step, warm, measure, stallMs, null);
                boolean pass = held(r);
                r.put("held", pass);
                runs.add(r);
                if (!pass) {
                    // One retry: on a shared machine a single hiccup stalls every stream at once; a real limit fails
                    // again. The step counts as failed only if both attempts fail.
                    ObjectNode again = closedLoop(g, Kind.OPENAI_STREAM, PACED, step, warm, measure, stallMs, null);
                    pass = held(again);
                    again.put("held", pass).put("retry", true);
                    runs.add(again);
                }
                if (pass) {
                    held.put(g.name(), step);
                } else {
                    failedAt.put(g.name(), step);
                    if (g == direct) {
                        directLimit = step;
                    }
                }
            }
            if (failedAt.size() == gateways().size()) {
                break;
            }
        }
        ObjectNode h = n.putObject("held");
        held.forEach(h::put);
        ObjectNode f = n.putObject("failedAt");
        failedAt.forEach(f::put);
        if (directLimit != null) {
            n.put("directLimit", directLimit);
        }
        n.put("lastStep", steps.get(steps.size() - 1));
        return n;
    }

    private static boolean held(ObjectNode r) {
        return r.path("errors").asLong() == 0 && r.path("stalls").asLong() == 0 && r.path("dropped").asLong() == 0
                && r.path("ok").asLong() > 0;
    }

    // ---- memory per held stream and per idle socket ---------------------------------------------------------------

    private ObjectNode slowStreams(int count) throws Exception {
        setShape(SLOW);
        ObjectNode out = JSON.createObjectNode();
        out.put("streams", count);
        List<Gateway> targets = new ArrayList<>();
        if (viaNginx != null) {
            targets.add(viaNginx);
        }
        targets.add(viaParley);
        for (Gateway g : targets) {
            out.set(g.name(), holdStreams(g, count));
        }
        return out;
    }

    /** Seconds without a new stream getting its first delta after which the gateway is taken as full. */
    private long quietS() {
        return quick ? 4 : 8;
    }

    private ObjectNode holdStreams(Gateway g, int count) throws Exception {
        ObjectNode n = JSON.createObjectNode();
        boolean jvm = g == viaParley;
        double heap0 = jvm ? heapKb(g.pids().get(0)) : 0;
        double rss0 = rssKb(g);
        java.net.InetSocketAddress addr = RelayClient.address(g.base());
        byte[] request = NioHttp.post(g.base().resolve("/v1/chat/completions"), RelayClient.openAiBody(true),
                "text/event-stream");
        Semaphore opening = new Semaphore(256);
        AtomicInteger gotFirst = new AtomicInteger();
        AtomicInteger failedBeforeFirst = new AtomicInteger();
        AtomicInteger endedWhileHeld = new AtomicInteger();
        java.util.concurrent.atomic.AtomicReference<String> firstError = new java.util.concurrent.atomic.AtomicReference<>();
        java.util.concurrent.atomic.AtomicBoolean holding = new java.util.concurrent.atomic.AtomicBoolean(true);
        List<NioHttp.Call> requests = Collections.synchronizedList(new ArrayList<>());
        long t0 = System.nanoTime();
        int attempted = 0;
        for (int i = 0; i < count; i++) {
            // A gateway that stops starting streams (e.g. out of threads) stops the opening after a quiet spell.
            if (!opening.tryAcquire(quietS(), TimeUnit.SECONDS)) {
                break;
            }
            attempted++;
            java.util.concurrent.atomic.AtomicBoolean got = new java.util.concurrent.atomic.AtomicBoolean();
            requests.add(client.send(Kind.OPENAI_STREAM, addr, request, SLOW.words(), () -> {
                got.set(true);
                gotFirst.incrementAndGet();
                opening.release();
            }, sample -> {
                if (!holding.get()) {
                    return; // aborted by us at the end
                }
                if (!got.get()) {
                    failedBeforeFirst.incrementAndGet();
                    opening.release();
                } else {
                    endedWhileHeld.incrementAndGet();
                }
                if (sample.error() != null) {
                    firstError.compareAndSet(null, sample.error());
                }
            }));
        }
        // Wait for every started stream's first delta, or until no new one arrived for a quiet spell.
        int seen = -1;
        long lastProgress = System.nanoTime();
        while (gotFirst.get() + failedBeforeFirst.get() < attempted
                && System.nanoTime() - lastProgress < TimeUnit.SECONDS.toNanos(quietS())) {
            Thread.sleep(250);
            int now = gotFirst.get() + failedBeforeFirst.get();
            if (now != seen) {
                seen = now;
                lastProgress = System.nanoTime();
            }
        }
        double openS = (System.nanoTime() - t0) / 1e9;
        Thread.sleep(3000); // every stream gets ~3 more deltas while held
        double heap1 = jvm ? heapKb(g.pids().get(0)) : 0;
        double rss1 = rssKb(g);
        int first = gotFirst.get();
        int failed = failedBeforeFirst.get();
        int ended = endedWhileHeld.get();
        int held = first - ended;
        holding.set(false);
        synchronized (requests) {
            requests.forEach(NioHttp.Call::abort);
        }
        n.put("attempted", attempted).put("withFirstDelta", first).put("waitingForFirstDelta", attempted - first - failed)
                .put("failedToOpen", failed).put("endedWhileHeld", ended).put("heldAtMeasure", held)
                .put("openSeconds", Benchmark.round(openS));
        if (firstError.get() != null) {
            n.put("firstError", firstError.get());
        }
        perUnit(n, jvm, heap0, heap1, rss0, rss1, held);
        Benchmark.log(String.format(Locale.ROOT,
                "slow streams via %s: %d held (%d requested, %d without a first delta), heap %+.1f KB/stream,"
                        + " RSS %+.1f KB/stream", g.name(), held, attempted, attempted - first - failed,
                n.path("heapKbPerUnit").asDouble(), n.path("rssKbPerUnit").asDouble()));
        Thread.sleep(3000); // let the aborts settle before the next step
        return n;
    }

    private ObjectNode idleWebSockets(int count) throws Exception {
        ObjectNode n = JSON.createObjectNode();
        long pid = parley.process().pid();
        double heap0 = heapKb(pid);
        double rss0 = rssKb(viaParley);
        long t0 = System.nanoTime();
        URI uri = URI.create("ws://127.0.0.1:" + parley.port() + "/api/v1/chat/ws");
        List<RelayClient.Socket> sockets = client.openSockets(uri, count, 128);
        double openS = (System.nanoTime() - t0) / 1e9;
        Thread.sleep(2000);
        double heap1 = heapKb(pid);
        double rss1 = rssKb(viaParley);
        int pongs = 0;
        for (int i = 0; i < Math.min(20, count); i++) {
            RelayClient.Socket s = sockets.get(i * (count / Math.min(20, count)));
            try {
                s.ping().get(5, TimeUnit.SECONDS);
                pongs++;
            } catch (Exception e) {
                // counted as not answering
            }
        }
        long closed = sockets.stream().filter(s -> s.closed.get() != null).count();
        sockets.forEach(RelayClient.Socket::close);
        n.put("handshakesFailed", client.lastHandshakeFailures);
        if (client.lastHandshakeError != null) {
            n.put("firstHandshakeError", client.lastHandshakeError.length() > 300
                    ? client.lastHandshakeError.substring(0, 300) : client.lastHandshakeError);
        }
        n.put("sockets", count).put("openSeconds", Benchmark.round(openS)).put("closedWhileIdle", closed)
                .put("pingsAnswered", pongs).put("pingsSent", Math.min(20, count));
        int failedHandshakes = client.lastHandshakeFailures;
        perUnit(n, true, heap0, heap1, rss0, rss1, (int) (count - closed - failedHandshakes));
        Benchmark.log(String.format(Locale.ROOT,
                "idle WebSockets: %d open, %d handshakes failed, heap %+.1f KB/socket, RSS %+.1f KB/socket",
                count - closed - failedHandshakes, failedHandshakes, n.path("heapKbPerUnit").asDouble(),
                n.path("rssKbPerUnit").asDouble()));
        Thread.sleep(2000);
        return n;
    }

    private static void perUnit(ObjectNode n, boolean jvm, double heap0, double heap1, double rss0, double rss1,
            int units) {
        int u = Math.max(1, units);
        if (jvm) {
            n.put("heapBeforeMb", mbKb(heap0)).put("heapAfterMb", mbKb(heap1));
            double per = (heap1 - heap0) / u;
            n.put("heapKbPerUnit", Benchmark.round(per));
            n.put("unitsPerGibHeap", per > 0 ? Math.round(1024.0 * 1024 / per) : -1);
        }
        n.put("rssBeforeMb", mbKb(rss0)).put("rssAfterMb", mbKb(rss1));
        double perRss = (rss1 - rss0) / u;
        n.put("rssKbPerUnit", Benchmark.round(perRss));
        n.put("unitsPerGibRss", perRss > 0 ? Math.round(1024.0 * 1024 / perRss) : -1);
    }

    // ---- measurements ---------------------------------------------------------------------------------------------

    private static final Pattern HEAP_USED = Pattern.compile("used (\\d+)K");

    /** Heap used after a full GC, in KB ({@code jcmd GC.run}, then {@code jcmd GC.heap_info}). */
    private double heapKb(long pid) throws Exception {
        jcmd(pid, "GC.run");
        String info = jcmd(pid, "GC.heap_info");
        Matcher m = HEAP_USED.matcher(info);
        if (!m.find()) {
            throw new IllegalStateException("no heap figure in jcmd GC.heap_info: " + info);
        }
        return Double.parseDouble(m.group(1));
    }

    private String jcmd(long pid, String command) throws Exception {
        Path jcmd = java.getParent().resolve("jcmd");
        Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), command).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        p.waitFor(60, TimeUnit.SECONDS);
        return out;
    }

    private double rssKb(Gateway g) throws IOException {
        double kb = 0;
        for (long pid : g.pids()) {
            kb += Processes.rssKb(pid);
        }
        return kb;
    }

    /**
     * Processes besides the gateway whose CPU {@link #closedLoop} also reports per request, by name (cluster mode:
     * nginx and the Redis server in front of and behind the Parley nodes); their CPU is summed over the pids.
     */
    private volatile Map<String, List<Long>> extraCpu = Map.of();

    void extraCpu(Map<String, List<Long>> groups) {
        this.extraCpu = Map.copyOf(groups);
    }

    private Map<String, Double> extraCpuMs() {
        Map<String, Double> ms = new java.util.HashMap<>();
        extraCpu.forEach((name, pids) -> ms.put(name, pids.stream().mapToDouble(bench::procCpuMs).sum()));
        return ms;
    }

    private Cpu cpu(Gateway g) throws IOException {
        double gw = 0;
        for (long pid : g.pids()) {
            gw += bench.procCpuMs(pid);
        }
        double driver = ManagementFactory.getPlatformMXBean(com.sun.management.OperatingSystemMXBean.class)
                .getProcessCpuTime() / 1e6;
        String[] f = Files.readAllLines(Path.of("/proc/stat")).get(0).trim().split("\\s+");
        long total = 0;
        for (int i = 1; i < f.length && i <= 8; i++) {
            total += Long.parseLong(f[i]);
        }
        long idle = Long.parseLong(f[4]) + Long.parseLong(f[5]);
        return new Cpu(gw, bench.procCpuMs(upstream.pid()), driver, total - idle, total);
    }

    static List<Long> children(long pid) throws IOException {
        Path p = Path.of("/proc", Long.toString(pid), "task", Long.toString(pid), "children");
        for (int i = 0; i < 50; i++) {
            if (Files.exists(p)) {
                String s = Files.readString(p).trim();
                if (!s.isEmpty()) {
                    return Arrays.stream(s.split("\\s+")).map(Long::parseLong).toList();
                }
            }
            try {
                Thread.sleep(100);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        throw new IOException("nginx master " + pid + " has no worker process");
    }

    private static final Pattern ABORTED = Pattern.compile("\"aborted\":(\\d+)");

    private long upstreamAborted() throws Exception {
        Matcher m = ABORTED.matcher(httpGet(direct.base().resolve("/bench/stats")));
        return m.find() ? Long.parseLong(m.group(1)) : 0;
    }

    private String httpGet(URI uri) throws Exception {
        return client.http().GET(uri).getContentAsString();
    }

    private void waitFor200(URI uri, Process p, String what) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            if (!p.isAlive()) {
                throw new IllegalStateException(what + " exited with " + p.exitValue() + "; see " + o.work());
            }
            if (bench.status(uri) == 200) {
                return;
            }
            Thread.sleep(20);
        }
        throw new IllegalStateException(what + " not up within 30 s");
    }

    private static long epochNanos() {
        Instant now = Instant.now();
        return now.getEpochSecond() * 1_000_000_000L + now.getNano();
    }

    private static void sleepUntil(long nanoTime) throws InterruptedException {
        long left;
        while ((left = nanoTime - System.nanoTime()) > 0) {
            TimeUnit.NANOSECONDS.sleep(left);
        }
    }

    private static ObjectNode stats(long[] nanos) {
        Stats s = Stats.of(Arrays.stream(nanos).filter(v -> v >= 0).toArray());
        return JSON.createObjectNode().put("count", s.count()).put("p50", Benchmark.round(s.p50()))
                .put("p90", Benchmark.round(s.p90())).put("p99", Benchmark.round(s.p99()))
                .put("max", Benchmark.round(s.max())).put("mean", Benchmark.round(s.mean()));
    }

    private static double mb(long kb) {
        return Math.round(kb / 102.4) / 10.0;
    }

    private static double mbKb(double kb) {
        return Math.round(kb / 102.4) / 10.0;
    }

    static double round3(double v) {
        return Math.round(v * 1000) / 1000.0;
    }
}

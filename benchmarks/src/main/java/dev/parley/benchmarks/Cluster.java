package dev.parley.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.benchmarks.Relay.Gateway;
import dev.parley.benchmarks.Relay.Shape;
import dev.parley.benchmarks.RelayClient.Kind;
import dev.parley.testsupport.s3.S3ProxyServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.sql.DriverManager;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Predicate;
import java.util.stream.Collectors;

/**
 * {@code --mode cluster}: what scaling out costs and what resuming after a node's death takes. Four ways to one
 * Parley, side by side in one run and against one upstream ({@link RelayUpstream}): one node direct with the stream
 * log in process (the default), one node direct with the log in Redis, one node behind nginx, and three nodes behind
 * nginx (log in Redis); streamed native chats, closed loop, through {@link Relay#closedLoop}. Then SIGKILL trials
 * on three nodes behind nginx: of the node producing a stream (the client resumes through nginx and gets
 * {@code interrupted}) and of a node that only relays one (the client resumes through nginx and gets the next token).
 * All nodes share a PostgreSQL schema of their own, a plugin registry in S3 (S3Proxy in this JVM) and the Redis on
 * 127.0.0.1:6379, as in the server's StreamResumeClusterIT.
 */
final class Cluster {

    static final String RESULTS = "cluster.json";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    static final String REDIS_URI = "redis://127.0.0.1:6379";
    static final String PG_URL = "jdbc:postgresql://127.0.0.1:5432/test";
    static final Shape PACED = new Shape("paced", "32 words 20 ms apart (first after 20 ms)", 20, 20, 32);
    static final Shape INSTANT = new Shape("instant", "32 words at once", 0, 0, 32);
    /** The resume trials' answer: about 3 s, long enough to kill a node in the middle of it. */
    static final Shape LONG = new Shape("resume", "100 words 30 ms apart", 30, 30, 100);

    /** One Parley process of the run. */
    record Node(String id, Benchmark.Started started) {
        int port() {
            return started.port();
        }

        long pid() {
            return started.process().pid();
        }

        URI base() {
            return URI.create("http://127.0.0.1:" + port());
        }
    }

    private final Benchmark bench;
    private final Benchmark.Options o;
    private final Processes processes;
    private final Map<String, String> a;
    private final boolean quick;
    private final Relay relay;
    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1)
            .connectTimeout(Duration.ofSeconds(5)).build();

    private String schema;
    private S3ProxyServer s3;
    private final Map<String, String> env = new HashMap<>();
    private final List<Node> cluster = new CopyOnWriteArrayList<>();
    private Node local;
    private int started;
    private String nginxBin;
    private Path nginxDir;
    private Process nginx;
    private int reloads;
    private int port1;
    private int port3;

    Cluster(Benchmark bench, Benchmark.Options o, Processes processes, Path java) {
        this.bench = bench;
        this.o = o;
        this.processes = processes;
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

    // ---- the run ------------------------------------------------------------------------------------------------

    void run() throws Exception {
        long t0 = System.nanoTime();
        int clients = Integer.parseInt(opt("cluster-clients", "32", "32"));
        Duration warm = seconds("cluster-warmup-seconds", "3", "1.5");
        Duration measure = seconds("cluster-measure-seconds", "10", "4");
        Duration prime = seconds("cluster-prime-seconds", "5", "2");
        int trials = Integer.parseInt(opt("cluster-trials", "20", "5"));
        int rounds = Integer.parseInt(opt("cluster-rounds", "3", "1"));
        nginxBin = a.getOrDefault("nginx", "/usr/sbin/nginx");
        if (nginxBin.equals("none") || !Files.isExecutable(Path.of(nginxBin))) {
            throw new IllegalStateException("--mode cluster needs nginx (apt-get install nginx-light); got " + nginxBin);
        }
        if (clients < 1 || trials < 0 || rounds < 1) {
            throw new IllegalArgumentException("--cluster-clients and --cluster-rounds must be ≥ 1, --cluster-trials ≥ 0");
        }

        ObjectNode root = JSON.createObjectNode();
        root.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        root.set("machine", bench.machine());
        root.put("command", o.command());
        root.put("commit", a.getOrDefault("commit", "")).put("productCommit", a.getOrDefault("product-commit", ""));
        root.put("quick", quick);
        ObjectNode opts = root.putObject("options");
        opts.put("clients", clients).put("warmupSeconds", warm.toMillis() / 1000.0)
                .put("measureSeconds", measure.toMillis() / 1000.0).put("primeSeconds", prime.toMillis() / 1000.0)
                .put("trials", trials).put("rounds", rounds);
        ArrayNode shapes = opts.putArray("shapes");
        for (Shape s : List.of(PACED, INSTANT, LONG)) {
            shapes.addObject().put("key", s.key()).put("label", s.label()).put("firstMs", s.firstMs())
                    .put("gapMs", s.gapMs()).put("words", s.words());
        }
        ArrayNode failures = root.putArray("failures");
        try {
            root.set("setup", setUp());
            root.set("load", load(clients, rounds, warm, measure, prime, failures));
            if (trials > 0) {
                root.set("resume", resume(trials, failures));
            }
        } finally {
            tearDown();
        }
        root.put("wallSeconds", Math.round((System.nanoTime() - t0) / 1e9));
        Files.writeString(o.out().resolve(RESULTS), JSON.writeValueAsString(root) + "\n");
        Benchmark.writeReport(o.out(), RESULTS);
        Benchmark.log("wrote " + o.out().resolve("RESULTS.md") + " and " + RESULTS);
    }

    // ---- set-up -------------------------------------------------------------------------------------------------

    private ObjectNode setUp() throws Exception {
        ObjectNode n = JSON.createObjectNode();
        relay.openUpstream();
        relay.setShape(INSTANT);
        schema = "parley_bench_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        try (var c = DriverManager.getConnection(PG_URL, "postgres", "x"); var s = c.createStatement()) {
            s.execute("CREATE SCHEMA " + schema);
        }
        s3 = new S3ProxyServer();
        s3.createBucket("parley-plugins");
        byte[] key = new byte[32];
        new SecureRandom().nextBytes(key);
        env.put("PARLEY_DB_URL", PG_URL + "?currentSchema=" + schema);
        env.put("PARLEY_DB_USER", "postgres");
        env.put("PARLEY_DB_PASSWORD", "x");
        env.put("PARLEY_MASTER_KEY", "k1:" + Base64.getEncoder().encodeToString(key));
        env.put("PARLEY_REDIS_URI", REDIS_URI);
        env.put("PARLEY_REGISTRY_STORAGE", "s3");
        env.put("PARLEY_REGISTRY_S3_ENDPOINT", s3.endpoint().toString());
        env.put("PARLEY_REGISTRY_S3_BUCKET", "parley-plugins");
        env.put("PARLEY_REGISTRY_S3_ACCESS_KEY", S3ProxyServer.ACCESS_KEY);
        env.put("PARLEY_REGISTRY_S3_SECRET_KEY", S3ProxyServer.SECRET_KEY);
        env.put("PARLEY_REGISTRY_S3_REGION", "us-east-1");
        // The first node migrates the schema alone; then the others.
        ArrayNode starts = n.putArray("nodeStarts");
        for (int i = 0; i < 3; i++) {
            Node node = startNode(true);
            cluster.add(node);
            starts.addObject().put("node", node.id()).put("streamsStore", "redis")
                    .put("readyMs", node.started().readyMs());
        }
        local = startNode(false);
        starts.addObject().put("node", local.id()).put("streamsStore", "local").put("readyMs", local.started().readyMs());
        startNginx();
        Process v = new ProcessBuilder(nginxBin, "-v").redirectErrorStream(true).start();
        n.put("nginx", new String(v.getInputStream().readAllBytes(), StandardCharsets.UTF_8).trim());
        v.waitFor();
        long redis = redisPid();
        n.put("redisPid", redis).put("redisCpuMeasured", redis > 0);
        n.put("postgresSchema", "created and dropped by the run (the schema's name has a random suffix)");
        n.put("producerTimeoutMs", 3000).put("heartbeatMs", 1000)
                .put("streamsSettings", "defaults of dev.parley.streams (ADR 34)");
        Benchmark.log("cluster up: nodes " + cluster.stream().map(x -> x.id() + ":" + x.port()).toList() + ", local "
                + local.port() + ", nginx " + port1 + " (one node) / " + port3 + " (three), redis pid " + redis);
        return n;
    }

    private Node startNode(boolean redisLog) throws Exception {
        String id = "bench-node-" + (++started);
        Map<String, String> nodeEnv = new HashMap<>(env);
        nodeEnv.put("PARLEY_NODE_ID", id);
        nodeEnv.put("PARLEY_STREAMS_STORE", redisLog ? "redis" : "local");
        Benchmark.Started s = bench.startParley(new Benchmark.JvmFlags("default", List.of()), relay.upstreamBaseUrl(),
                o.work().resolve("cluster-" + id), Duration.ofSeconds(30), nodeEnv);
        if (s.chatMs() < 0) {
            throw new IllegalStateException("no chat went through " + id + " within 30 s of ready; see "
                    + o.work().resolve("cluster-" + id));
        }
        return new Node(id, s);
    }

    private void tearDown() throws Exception {
        if (nginx != null) {
            Processes.stop(nginx, 10);
        }
        for (Node n : cluster) {
            Processes.stop(n.started().process(), 30);
        }
        if (local != null) {
            Processes.stop(local.started().process(), 30);
        }
        relay.closeUpstream();
        if (s3 != null) {
            s3.close();
        }
        if (schema != null) {
            try (var c = DriverManager.getConnection(PG_URL, "postgres", "x"); var s = c.createStatement()) {
                s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
            }
        }
    }

    // ---- nginx ----------------------------------------------------------------------------------------------------

    private void startNginx() throws Exception {
        nginxDir = o.work().resolve("cluster-nginx");
        Files.createDirectories(nginxDir.resolve("logs"));
        Files.createDirectories(nginxDir.resolve("temp"));
        port1 = Processes.freePort();
        port3 = Processes.freePort();
        writeNginxConfig();
        nginx = processes.spawn(List.of(nginxBin, "-p", nginxDir.toString(), "-c",
                nginxDir.resolve("nginx.conf").toString()), Map.of(), o.work().resolve("cluster-nginx.log"));
        for (int port : List.of(port1, port3)) {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (bench.status(URI.create("http://127.0.0.1:" + port + "/health/ready")) != 200) {
                if (!nginx.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("nginx did not come up; see " + nginxDir.resolve("logs"));
                }
                Thread.sleep(20);
            }
        }
    }

    /**
     * The settings of {@code docker/nginx/nginx.conf} that matter to streams (HTTP/1.1 and keep-alive to the nodes,
     * no buffering, long reads, WebSocket upgrade) and the answering node in {@code X-Upstream}, as the server's
     * StreamResumeClusterIT has them; one worker, no access log. Two listeners: one in front of the first node only,
     * one in front of all three.
     */
    private String nginxConfig() {
        String three = cluster.stream().map(n -> "        server 127.0.0.1:" + n.port() + " max_fails=1 fail_timeout=5s;")
                .collect(Collectors.joining("\n"));
        return """
                daemon off;
                worker_processes 1;
                pid %1$s/nginx.pid;
                error_log %1$s/logs/error.log notice;
                events { worker_connections 4096; }
                http {
                    access_log off;
                    client_body_temp_path %1$s/temp/body;
                    proxy_temp_path %1$s/temp/proxy;
                    fastcgi_temp_path %1$s/temp/fastcgi;
                    uwsgi_temp_path %1$s/temp/uwsgi;
                    scgi_temp_path %1$s/temp/scgi;
                    map $http_upgrade $connection_upgrade { default upgrade; '' ''; }
                    upstream one {
                        server 127.0.0.1:%2$d;
                        keepalive 32;
                    }
                    upstream three {
                %3$s
                        keepalive 32;
                    }
                    server {
                        listen 127.0.0.1:%4$d;
                        location / { proxy_pass http://one; include %1$s/proxy.conf; }
                    }
                    server {
                        listen 127.0.0.1:%5$d;
                        location / { proxy_pass http://three; include %1$s/proxy.conf; }
                    }
                }
                """.formatted(nginxDir, cluster.get(0).port(), three, port1, port3);
    }

    private static final String PROXY_CONF = """
            proxy_http_version 1.1;
            proxy_set_header Host $host;
            proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_buffering off;
            proxy_request_buffering off;
            proxy_read_timeout 3600s;
            proxy_send_timeout 3600s;
            client_max_body_size 1m;
            add_header X-Upstream $upstream_addr always;
            """;

    private void writeNginxConfig() throws IOException {
        Files.writeString(nginxDir.resolve("proxy.conf"), PROXY_CONF);
        Files.writeString(nginxDir.resolve("nginx.conf"), nginxConfig());
    }

    /** Rewrites the node list and reloads nginx gracefully; returns once the new workers run. */
    private void reloadNginx() throws Exception {
        writeNginxConfig();
        Process r = new ProcessBuilder(nginxBin, "-p", nginxDir.toString(), "-c",
                nginxDir.resolve("nginx.conf").toString(), "-s", "reload").redirectErrorStream(true).start();
        String out = new String(r.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!r.waitFor(20, TimeUnit.SECONDS) || r.exitValue() != 0) {
            throw new IllegalStateException("nginx reload failed: " + out);
        }
        reloads++;
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (Files.readString(nginxDir.resolve("logs/error.log")).split("reconfiguring", -1).length - 1 < reloads) {
            if (System.nanoTime() > deadline) {
                throw new IllegalStateException("nginx did not reconfigure within 20 s");
            }
            Thread.sleep(20);
        }
    }

    private List<Long> nginxPids() throws IOException {
        List<Long> pids = new ArrayList<>();
        pids.add(nginx.pid());
        pids.addAll(Relay.children(nginx.pid()));
        return pids;
    }

    /** The pid of the Redis server on 6379 (a process named redis-server), or -1 when none can be seen. */
    static long redisPid() throws IOException {
        long fallback = -1;
        try (var procs = Files.list(Path.of("/proc"))) {
            for (Path p : (Iterable<Path>) procs::iterator) {
                String name = p.getFileName().toString();
                if (!name.chars().allMatch(Character::isDigit)) {
                    continue;
                }
                try {
                    if (!Files.readString(p.resolve("comm")).trim().equals("redis-server")) {
                        continue;
                    }
                    String cmd = Files.readString(p.resolve("cmdline")).replace('\0', ' ');
                    if (cmd.contains(":6379")) {
                        return Long.parseLong(name);
                    }
                    fallback = Long.parseLong(name);
                } catch (IOException e) {
                    // gone, or not ours to read
                }
            }
        }
        return fallback;
    }

    // ---- 1. chats per second and latency ---------------------------------------------------------------------------

    private ObjectNode load(int clients, int rounds, Duration warm, Duration measure, Duration prime,
            ArrayNode failures)
            throws Exception {
        List<Long> nginxPids = nginxPids();
        long redis = redisPid();
        Map<String, List<Long>> extra = new LinkedHashMap<>();
        extra.put("nginx", nginxPids);
        if (redis > 0) {
            extra.put("redis", List.of(redis));
        }
        relay.extraCpu(extra);
        Node a1 = cluster.get(0);
        List<Gateway> rows = List.of(
                new Gateway("a-one-local", local.base(), List.of(local.pid())),
                new Gateway("b-one-redis", a1.base(), List.of(a1.pid())),
                new Gateway("c-nginx-one", URI.create("http://127.0.0.1:" + port1), List.of(a1.pid())),
                new Gateway("d-nginx-three", URI.create("http://127.0.0.1:" + port3),
                        cluster.stream().map(Node::pid).toList()));
        ObjectNode n = JSON.createObjectNode();
        ObjectNode labels = n.putObject("rows");
        labels.put("a-one-local", "(a) one node direct, stream log in process (PARLEY_STREAMS_STORE=local, the default)");
        labels.put("b-one-redis", "(b) one node direct, stream log in Redis (PARLEY_STREAMS_STORE=redis)");
        labels.put("c-nginx-one", "(c) nginx + one node (log in Redis)");
        labels.put("d-nginx-three", "(d) nginx + three nodes, round robin (log in Redis)");

        // Every process JIT-compiled on every path first; the priming runs' rates size the conversation pools.
        relay.setShape(INSTANT);
        Map<String, Double> rate = new HashMap<>();
        for (Gateway g : rows) {
            Benchmark.log("priming " + g.name() + " for " + prime.toMillis() + " ms");
            ObjectNode r = relay.closedLoop(g, Kind.NATIVE_SSE, INSTANT, clients, Duration.ZERO, prime, 1000,
                    relay.client().createConversations(g.base(), Math.max(clients, 200)));
            rate.put(g.name(), r.path("throughput").asDouble());
        }
        ArrayNode runs = n.putArray("runs");
        double seconds = (warm.toMillis() + measure.toMillis()) / 1000.0;
        for (Shape s : List.of(PACED, INSTANT)) {
            relay.setShape(s);
            long stallMs = 3 * Math.max(20, s.gapMs()) + 40;
            // Chats per second to expect: a paced answer bounds it by its length; instant ones by the machine.
            double estimate = s.gapMs() > 0 ? clients * 1000.0 / (s.firstMs() + s.gapMs() * (s.words() - 1))
                    : Math.max(400, 2 * rate.values().stream().mapToDouble(Double::doubleValue).max().orElse(0));
            for (int round = 1; round <= rounds; round++) {
                // The rows take turns, each round starting one further on, so that none is always first or last.
                for (int i = 0; i < rows.size(); i++) {
                    Gateway g = rows.get((i + round - 1) % rows.size());
                    // A conversation per client at least, and enough that none gets more than ~10 turns of history
                    // (the same estimate for every row, so that all rows carry the same history).
                    int pool = (int) Math.min(2000, Math.max(clients, Math.ceil(estimate * seconds / 10)));
                    List<String> conversations = relay.client().createConversations(g.base(), pool);
                    ObjectNode r = relay.closedLoop(g, Kind.NATIVE_SSE, s, clients, warm, measure, stallMs,
                            conversations);
                    r.put("row", g.name()).put("round", round).put("conversations", pool);
                    runs.add(r);
                    if (r.path("errors").asLong() > 0 || r.has("unfinished")) {
                        failures.addObject().put("what", "load " + s.key() + " " + g.name() + " round " + round)
                                .put("firstError", r.path("firstError").asText(r.path("unfinished").asText()));
                    }
                }
            }
        }
        relay.extraCpu(Map.of());
        // Per shape and row: the median over the rounds of each figure.
        ArrayNode medians = n.putArray("medians");
        for (Shape s : List.of(PACED, INSTANT)) {
            for (Gateway g : rows) {
                List<JsonNode> of = new ArrayList<>();
                runs.forEach(r -> {
                    if (r.path("shape").asText().equals(s.key()) && r.path("row").asText().equals(g.name())) {
                        of.add(r);
                    }
                });
                ObjectNode m = medians.addObject();
                m.put("shape", s.key()).put("row", g.name()).put("rounds", of.size());
                m.put("errors", of.stream().mapToLong(r -> r.path("errors").asLong()).sum());
                m.put("stalls", of.stream().mapToLong(r -> r.path("stalls").asLong()).sum());
                for (String f : List.of("/throughput", "/latencyMs/p50", "/latencyMs/p99", "/ttftMs/p50", "/ttftMs/p99",
                        "/cpu/gatewayMsPerRequest", "/cpu/nginxMsPerRequest", "/cpu/redisMsPerRequest",
                        "/cpu/upstreamMsPerRequest", "/cpu/driverMsPerRequest", "/cpu/machineBusy")) {
                    double[] v = of.stream().map(r -> r.at(f)).filter(x -> !x.isMissingNode())
                            .mapToDouble(JsonNode::asDouble).toArray();
                    if (v.length > 0) {
                        m.put(f.substring(f.lastIndexOf('/') + 1).replace("p50", f.contains("ttft") ? "ttftP50" : "p50")
                                .replace("p99", f.contains("ttft") ? "ttftP99" : "p99"), Relay.round3(median(v)));
                    }
                }
            }
        }
        ArrayNode cmp = n.putArray("comparisons");
        for (Shape s : List.of(PACED, INSTANT)) {
            JsonNode ra = find(medians, s, "a-one-local");
            JsonNode rb = find(medians, s, "b-one-redis");
            JsonNode rd = find(medians, s, "d-nginx-three");
            ObjectNode c = cmp.addObject();
            c.put("shape", s.key());
            c.put("addedP50MsThreeVsOne", Benchmark.round(rd.path("p50").asDouble() - ra.path("p50").asDouble()));
            c.put("addedP99MsThreeVsOne", Benchmark.round(rd.path("p99").asDouble() - ra.path("p99").asDouble()));
            c.put("addedTtftP99MsThreeVsOne", Benchmark.round(rd.path("ttftP99").asDouble()
                    - ra.path("ttftP99").asDouble()));
            c.put("throughputRatioThreeVsOne", Relay.round3(rd.path("throughput").asDouble()
                    / ra.path("throughput").asDouble()));
            double parley = rb.path("gatewayMsPerRequest").asDouble() - ra.path("gatewayMsPerRequest").asDouble();
            double redisCpu = rb.path("redisMsPerRequest").asDouble() - ra.path("redisMsPerRequest").asDouble();
            c.put("streamLogParleyCpuMsPerChat", Relay.round3(parley))
                    .put("streamLogRedisCpuMsPerChat", Relay.round3(redisCpu))
                    .put("streamLogCpuMsPerChat", Relay.round3(parley + redisCpu))
                    .put("streamLogCpuUsPerToken", Benchmark.round((parley + redisCpu) * 1000 / s.words()))
                    .put("tokensPerChat", s.words());
        }
        return n;
    }

    private static double median(double[] v) {
        double[] s = v.clone();
        Arrays.sort(s);
        return s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
    }

    private static JsonNode find(ArrayNode medians, Shape s, String row) {
        for (JsonNode r : medians) {
            if (r.path("shape").asText().equals(s.key()) && r.path("row").asText().equals(row)) {
                return r;
            }
        }
        throw new IllegalStateException("no run " + s.key() + " " + row);
    }

    // ---- 2. resuming after a node's death ----------------------------------------------------------------------

    private ObjectNode resume(int trials, ArrayNode failures) throws Exception {
        relay.setShape(LONG);
        ObjectNode n = JSON.createObjectNode();
        ArrayNode producer = n.putArray("producerKilled");
        ArrayNode relaying = n.putArray("relayKilled");
        boolean producerBroken = false;
        boolean relayBroken = false;
        for (int i = 0; i < trials; i++) {
            if (!producerBroken) {
                ObjectNode t = producerKilled(i + 1);
                producer.add(t);
                if (t.has("failure")) {
                    producerBroken = true;
                    failures.addObject().put("what", "resume after the producing node's SIGKILL, trial " + (i + 1))
                            .put("failure", t.path("failure").asText());
                }
            }
            if (!relayBroken) {
                ObjectNode t = relayKilled(i + 1);
                relaying.add(t);
                if (t.has("failure")) {
                    relayBroken = true;
                    failures.addObject().put("what", "resume after the relaying node's SIGKILL, trial " + (i + 1))
                            .put("failure", t.path("failure").asText());
                }
            }
        }
        ObjectNode summary = n.putObject("summary");
        ObjectNode p = summary.putObject("producerKilled");
        for (String k : List.of("cutMs", "reconnectToFirstByteMs", "firstByteToInterruptedMs", "killToInterruptedMs",
                "sinceLastTokenToInterruptedMs")) {
            p.set(k, stats(producer, k));
        }
        ObjectNode r = summary.putObject("relayKilled");
        for (String k : List.of("cutMs", "reconnectToFirstByteMs", "firstByteToTokenMs", "killToNextTokenMs")) {
            r.set(k, stats(relaying, k));
        }
        return n;
    }

    private static ObjectNode stats(ArrayNode trials, String key) {
        List<Long> v = new ArrayList<>();
        for (JsonNode t : trials) {
            if (!t.has("failure") && t.has(key)) {
                v.add(Math.round(t.path(key).asDouble() * 1e6));
            }
        }
        Stats s = Stats.of(v.stream().mapToLong(Long::longValue).toArray());
        return JSON.createObjectNode().put("count", s.count()).put("p50", Benchmark.round(s.p50()))
                .put("p99", Benchmark.round(s.p99())).put("max", Benchmark.round(s.max()))
                .put("mean", Benchmark.round(s.mean()));
    }

    /** SIGKILL of the node producing a stream; the client resumes through nginx and must get interrupted. */
    private ObjectNode producerKilled(int trial) throws Exception {
        ObjectNode t = JSON.createObjectNode();
        t.put("trial", trial);
        String conversation = createConversation(port3);
        Sse first = Sse.open(http, post(port3, conversation));
        t.put("status", first.status);
        if (first.status != 200 || first.await(e -> e.name().equals("token") && e.tokens >= 5, 20) == null) {
            return t.put("failure", "the first stream did not bring 5 tokens: status " + first.status + " "
                    + first.events);
        }
        Node victim = node(first.upstream);
        String answerId = answerId(first);
        t.put("producer", victim.id()).put("answerId", answerId);
        long kill = System.nanoTime();
        victim.started().process().destroyForcibly();
        Long cut = first.ended(20);
        victim.started().process().waitFor(30, TimeUnit.SECONDS);
        if (cut == null) {
            return t.put("failure", "the client's stream through nginx was not cut within 20 s of the SIGKILL");
        }
        long lastId = first.lastId();
        long lastTokenAt = first.events.isEmpty() ? kill : first.events.get(first.events.size() - 1).at();
        Sse resumed = Sse.open(http, resume(port3, conversation, answerId, lastId));
        Long end = resumed.ended(30);
        t.put("resumedOn", resumed.upstream).put("resumeStatus", resumed.status)
                .put("eventsBeforeCut", first.events.size()).put("eventsOnResume", resumed.events.size());
        if (end == null) {
            resumed.abort();
            t.put("failure", reproProducer(answerId) + " The resumed stream through nginx had not ended 30 s after"
                    + " it was opened; events so far: " + resumed.events);
        } else if (!"interrupted".equals(resumed.lastName())) {
            t.put("failure", "the resumed stream ended with " + resumed.lastName() + ", not interrupted: "
                    + resumed.events);
        } else if (!contiguous(first.events, resumed.events, lastId)) {
            t.put("failure", "event ids not each once in order: " + ids(first.events) + " then " + ids(resumed.events));
        } else {
            Sse.Event in = resumed.events.get(resumed.events.size() - 1);
            t.put("cutMs", ms(cut - kill)).put("reconnectToFirstByteMs", ms(resumed.headers - cut))
                    .put("firstByteToInterruptedMs", ms(in.at() - resumed.headers))
                    .put("killToInterruptedMs", ms(in.at() - kill))
                    .put("sinceLastTokenToInterruptedMs", ms(in.at() - lastTokenAt));
            Benchmark.log(String.format(Locale.ROOT, "producer kill #%d: cut %.1f ms, reconnect %.1f ms, "
                    + "first byte → interrupted %.1f ms, kill → interrupted %.1f ms (%s, resumed on %s)", trial,
                    t.path("cutMs").asDouble(), t.path("reconnectToFirstByteMs").asDouble(),
                    t.path("firstByteToInterruptedMs").asDouble(), t.path("killToInterruptedMs").asDouble(),
                    victim.id(), resumed.upstream));
        }
        replace(victim);
        return t;
    }

    /**
     * SIGKILL of a node that only relays a stream: the client resumed on node B while node A produces; B dies; the
     * client resumes through nginx and must get the next token, and then the rest once each.
     */
    private ObjectNode relayKilled(int trial) throws Exception {
        ObjectNode t = JSON.createObjectNode();
        t.put("trial", trial);
        String conversation = createConversation(port3);
        Sse first = Sse.open(http, post(port3, conversation));
        if (first.status != 200 || first.await(e -> e.name().equals("token") && e.tokens >= 3, 20) == null) {
            return t.put("failure", "the first stream did not bring 3 tokens: status " + first.status + " "
                    + first.events);
        }
        Node producer = node(first.upstream);
        String answerId = answerId(first);
        first.abort();
        first.ended(10);
        long afterFirst = first.lastId();
        Node victim = cluster.stream().filter(x -> x != producer).findFirst().orElseThrow();
        t.put("producer", producer.id()).put("relay", victim.id()).put("answerId", answerId);
        Sse second = Sse.open(http, HttpRequest.newBuilder(victim.base().resolve(streamPath(conversation, answerId)))
                .header("Authorization", "Bearer " + Benchmark.CREDENTIAL).header("Accept", "text/event-stream")
                .header("Last-Event-ID", Long.toString(afterFirst)).GET().build());
        if (second.status != 200 || second.await(e -> e.name().equals("token") && e.tokens >= 3, 20) == null) {
            second.abort();
            return t.put("failure", "resuming on " + victim.id() + " did not bring 3 tokens: status "
                    + second.status + " " + second.events);
        }
        long kill = System.nanoTime();
        victim.started().process().destroyForcibly();
        Long cut = second.ended(20);
        victim.started().process().waitFor(30, TimeUnit.SECONDS);
        if (cut == null) {
            return t.put("failure", "the relayed stream was not cut within 20 s of its node's SIGKILL");
        }
        long afterSecond = second.events.isEmpty() ? afterFirst : second.lastId();
        Sse third = Sse.open(http, resume(port3, conversation, answerId, afterSecond));
        Sse.Event next = third.await(e -> e.name().equals("token"), 20);
        t.put("resumedOn", third.upstream).put("resumeStatus", third.status);
        Long end = third.ended(30);
        if (next == null) {
            third.abort();
            t.put("failure", "no token within 20 s of resuming through nginx after the relay's SIGKILL: "
                    + third.events);
        } else if (end == null) {
            third.abort();
            t.put("failure", "the stream resumed through nginx had not ended 30 s after the relay's SIGKILL (answer "
                    + answerId + "): " + ids(third.events));
        } else if (!"done".equals(third.lastName())) {
            t.put("failure", "the resumed stream ended with " + third.lastName() + ", not done");
        } else if (!contiguous(first.events, second.events, afterFirst) || !contiguous(List.of(), third.events, afterSecond)) {
            t.put("failure", "event ids not each once in order: " + ids(first.events) + " / " + ids(second.events)
                    + " / " + ids(third.events));
        } else {
            t.put("cutMs", ms(cut - kill)).put("reconnectToFirstByteMs", ms(third.headers - cut))
                    .put("firstByteToTokenMs", ms(next.at() - third.headers))
                    .put("killToNextTokenMs", ms(next.at() - kill));
            Benchmark.log(String.format(Locale.ROOT, "relay kill #%d: cut %.1f ms, reconnect %.1f ms, first byte → "
                    + "token %.1f ms, kill → next token %.1f ms (producer %s, relay %s, resumed on %s)", trial,
                    t.path("cutMs").asDouble(), t.path("reconnectToFirstByteMs").asDouble(),
                    t.path("firstByteToTokenMs").asDouble(), t.path("killToNextTokenMs").asDouble(), producer.id(),
                    victim.id(), third.upstream));
        }
        replace(victim);
        return t;
    }

    private static String reproProducer(String answerId) {
        return "Three nodes (PARLEY_STREAMS_STORE=redis) behind nginx; a streamed native chat through nginx; SIGKILL "
                + "of the node named in X-Upstream after 5 tokens; GET .../messages/" + answerId + "/stream through "
                + "nginx with the last Last-Event-ID.";
    }

    /** A fresh node (a new node id) in place of a dead one, and nginx told. */
    private void replace(Node dead) throws Exception {
        Node fresh = startNode(true);
        cluster.set(cluster.indexOf(dead), fresh);
        reloadNginx();
    }

    private Node node(String upstream) {
        if (upstream == null) {
            throw new IllegalStateException("nginx sent no X-Upstream header");
        }
        int port = Integer.parseInt(upstream.substring(upstream.lastIndexOf(':') + 1).trim());
        return cluster.stream().filter(x -> x.port() == port).findFirst()
                .orElseThrow(() -> new IllegalStateException("no node on port " + port));
    }

    private static boolean contiguous(List<Sse.Event> before, List<Sse.Event> after, long lastBefore) {
        long expect = 1;
        for (Sse.Event e : before) {
            if (e.id() > lastBefore) {
                break;
            }
            if (e.id() != expect++) {
                return false;
            }
        }
        expect = lastBefore + 1;
        for (Sse.Event e : after) {
            if (e.id() != expect++) {
                return false;
            }
        }
        return true;
    }

    private static String ids(List<Sse.Event> events) {
        return events.stream().map(e -> e.id() + ":" + e.name()).collect(Collectors.joining(",", "[", "]"));
    }

    private static double ms(long nanos) {
        return Benchmark.round(nanos / 1e6);
    }

    private String createConversation(int port) throws Exception {
        var r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/conversations"))
                .header("Authorization", "Bearer " + Benchmark.CREDENTIAL).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{}")).build(), HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 201) {
            throw new IllegalStateException("creating a conversation failed: " + r.statusCode() + " " + r.body());
        }
        return JSON.readTree(r.body()).path("id").asText();
    }

    private static HttpRequest post(int port, String conversation) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/api/v1/conversations/" + conversation
                        + "/messages")).header("Authorization", "Bearer " + Benchmark.CREDENTIAL)
                .header("Content-Type", "application/json").header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString("{\"content\":\"Tell me something long.\"}")).build();
    }

    private static HttpRequest resume(int port, String conversation, String answerId, long lastEventId) {
        return HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + streamPath(conversation, answerId)))
                .header("Authorization", "Bearer " + Benchmark.CREDENTIAL).header("Accept", "text/event-stream")
                .header("Last-Event-ID", Long.toString(lastEventId)).GET().build();
    }

    private static String streamPath(String conversation, String answerId) {
        return "/api/v1/conversations/" + conversation + "/messages/" + answerId + "/stream";
    }

    private static String answerId(Sse s) throws IOException {
        return JSON.readTree(s.events.get(0).data()).path("answerId").asText();
    }

    /**
     * One SSE response read on a thread of its own, each event stamped with its arrival ({@code System.nanoTime});
     * {@link #headers} is when the status line and headers had arrived (the first byte of the answer).
     */
    static final class Sse {
        record Event(long id, String name, String data, long at, int tokens) {
        }

        final long opened = System.nanoTime();
        final long headers;
        final int status;
        final String upstream;
        final List<Event> events = new CopyOnWriteArrayList<>();
        private final CompletableFuture<Long> ended = new CompletableFuture<>();
        private final InputStream body;

        private Sse(HttpResponse<InputStream> r) {
            headers = System.nanoTime();
            status = r.statusCode();
            upstream = r.headers().firstValue("X-Upstream").orElse(null);
            body = r.body();
            Thread reader = new Thread(this::read, "cluster-sse");
            reader.setDaemon(true);
            reader.start();
        }

        static Sse open(HttpClient http, HttpRequest request) throws IOException, InterruptedException {
            return new Sse(http.send(request, HttpResponse.BodyHandlers.ofInputStream()));
        }

        private void read() {
            int tokens = 0;
            try (var lines = new BufferedReader(new InputStreamReader(body, StandardCharsets.UTF_8))) {
                long id = -1;
                String name = "message";
                StringBuilder data = new StringBuilder();
                String line;
                while ((line = lines.readLine()) != null) {
                    if (line.isEmpty()) {
                        if (data.length() > 0) {
                            if (name.equals("token")) {
                                tokens++;
                            }
                            events.add(new Event(id, name, data.toString(), System.nanoTime(), tokens));
                            synchronized (this) {
                                notifyAll();
                            }
                        }
                        id = -1;
                        name = "message";
                        data.setLength(0);
                    } else if (line.startsWith("id:")) {
                        id = Long.parseLong(line.substring(3).trim());
                    } else if (line.startsWith("event:")) {
                        name = line.substring(6).trim();
                    } else if (line.startsWith("data:")) {
                        data.append(line.substring(5).stripLeading());
                    }
                }
            } catch (IOException | RuntimeException e) {
                // cut: what arrived is in events
            }
            ended.complete(System.nanoTime());
            synchronized (this) {
                notifyAll();
            }
        }

        /** The first event that matches, waiting up to {@code seconds}; null when none came (or the stream ended). */
        synchronized Event await(Predicate<Event> match, long seconds) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
            while (true) {
                for (Event e : events) {
                    if (match.test(e)) {
                        return e;
                    }
                }
                long left = deadline - System.nanoTime();
                if (left <= 0 || ended.isDone()) {
                    return null;
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
        }

        /** When the response ended (cleanly or cut), or null when it had not within {@code seconds}. */
        Long ended(long seconds) throws Exception {
            try {
                return ended.get(seconds, TimeUnit.SECONDS);
            } catch (TimeoutException e) {
                return null;
            }
        }

        long lastId() {
            return events.isEmpty() ? 0 : events.get(events.size() - 1).id();
        }

        String lastName() {
            return events.isEmpty() ? null : events.get(events.size() - 1).name();
        }

        void abort() throws IOException {
            body.close();
        }
    }

}

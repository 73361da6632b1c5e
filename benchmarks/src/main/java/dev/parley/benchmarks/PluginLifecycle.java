package dev.parley.benchmarks;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.registry.Signatures;
import dev.parley.testsupport.plugins.TestPluginJars;
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
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The plugin lifecycle against a real server process: the example echo provider is published to the server's own
 * registry as many versions (signed with a publisher key registered over the admin API), then installed and
 * uninstalled, upgraded, and upgraded while streaming chats run, all through the admin API over loopback.
 * Each sample is one admin call plus polling {@code POST /v1/chat/completions} on {@code echo-1} until the answer
 * comes from the expected version.
 */
final class PluginLifecycle {

    static final String MODEL = "echo-1";
    static final String SETTINGS_PID = "dev.parley.example.echo";
    static final String PUBLISHER = "bench-publisher";
    static final String INSTALL_ID = "bench.echo.install";
    static final String UPGRADE_ID = "bench.echo.upgrade";
    static final String LOADED_ID = "bench.echo.loaded";
    /** How often the driver asks again whether the plugin serves; bounds the resolution of "until serving". */
    static final Duration POLL = Duration.ofMillis(2);
    static final Duration SERVE_TIMEOUT = Duration.ofSeconds(30);
    private static final Pattern CONTENT = Pattern.compile("\"content\"\\s*:\\s*\"((?:[^\"\\\\]|\\\\.)*)\"");

    record Options(int warmup, int samples, int streamClients, long tokenDelayMs) {
    }

    private final ObjectMapper json;
    private final HttpClient http;
    private final int port;
    private final String adminToken;
    private final long pid;
    private final Options o;
    private final byte[] echo;
    private final String privateKey;

    PluginLifecycle(ObjectMapper json, HttpClient http, int port, String adminToken, long pid, byte[] echoJar,
            Options o) {
        this.json = json;
        this.http = http;
        this.port = port;
        this.adminToken = adminToken;
        this.pid = pid;
        this.o = o;
        this.echo = echoJar;
        String[] keys = Signatures.generateKeyPair();
        this.privateKey = keys[1];
        register(keys[0]);
    }

    ObjectNode run() throws Exception {
        ObjectNode out = json.createObjectNode();
        int cycles = o.warmup() + o.samples();
        // Everything is published up front: publishing is not part of what is measured.
        long t0 = System.nanoTime();
        for (int i = 0; i < cycles; i++) {
            publish(INSTALL_ID, version(1, i));
        }
        publish(UPGRADE_ID, "1.0.0");
        publish(LOADED_ID, "1.0.0");
        for (int i = 0; i < cycles; i++) {
            publish(UPGRADE_ID, version(2, i));
            publish(LOADED_ID, version(2, i));
        }
        out.put("published", 3 * cycles + 2);
        out.put("publishWallMs", Benchmark.round((System.nanoTime() - t0) / 1e6));
        out.put("loadAverageBefore", loadAverage());
        out.set("memoryBefore", memory("after publishing, before any install"));

        out.set("install", install(cycles));
        out.set("upgrade", upgrade(UPGRADE_ID, cycles, null, null));
        out.set("upgradeUnderLoad", upgradeUnderLoad(cycles));
        out.put("loadAverageAfter", loadAverage());
        out.set("memoryAfter", memory("after every cycle, plugins uninstalled"));
        gc();
        out.set("memoryAfterGc", memory("after that and jcmd GC.run"));
        return out;
    }

    // ---- install --------------------------------------------------------------------------------------------------

    private ObjectNode install(int cycles) throws Exception {
        List<double[]> rows = new ArrayList<>();
        for (int i = 0; i < cycles; i++) {
            if (i == o.warmup()) {
                misses.clear();
                probes.clear();
            }
            String v = version(1, i);
            long t0 = System.nanoTime();
            Reply r = admin("POST", "/api/v1/admin/plugins", "{\"id\":\"" + INSTALL_ID + "\",\"version\":\"" + v + "\"}");
            long t1 = System.nanoTime();
            require(r, 201, "install " + v);
            long t2 = untilServedBy(v);
            long t3 = System.nanoTime();
            Reply d = admin("DELETE", "/api/v1/admin/plugins/" + INSTALL_ID, null);
            long t4 = System.nanoTime();
            require(d, 204, "uninstall " + v);
            long t5 = untilModelGone();
            if (i >= o.warmup()) {
                rows.add(new double[] {ms(t1 - t0), ms(t2 - t0), ms(t4 - t3), ms(t5 - t3)});
            }
            log(String.format(java.util.Locale.ROOT, "install %s: admin %.1f ms, serving %.1f ms, uninstall %.1f ms,"
                    + " model gone %.1f ms%s", v, ms(t1 - t0), ms(t2 - t0), ms(t4 - t3), ms(t5 - t3),
                    i < o.warmup() ? " (warm-up)" : ""));
        }
        ObjectNode n = json.createObjectNode();
        n.put("warmup", o.warmup());
        n.set("adminCallMs", stats(rows, 0));
        n.set("toServingMs", stats(rows, 1));
        n.set("uninstallCallMs", stats(rows, 2));
        n.set("uninstallToModelGoneMs", stats(rows, 3));
        probeSummary(n);
        n.set("samples", json.valueToTree(rows));
        return n;
    }

    // ---- upgrade --------------------------------------------------------------------------------------------------

    /** Installs {@code id} 1.0.0, then upgrades to 2.0.0, 2.0.1, ... one after another; uninstalls at the end. */
    private ObjectNode upgrade(String id, int cycles, Runnable afterInstall, Runnable beforeUninstall)
            throws Exception {
        require(admin("POST", "/api/v1/admin/plugins", "{\"id\":\"" + id + "\",\"version\":\"1.0.0\"}"), 201,
                "install " + id);
        untilServedBy("1.0.0");
        if (afterInstall != null) {
            afterInstall.run();
        }
        List<double[]> rows = new ArrayList<>();
        for (int i = 0; i < cycles; i++) {
            if (i == o.warmup()) {
                misses.clear();
                probes.clear();
            }
            String v = version(2, i);
            long t0 = System.nanoTime();
            Reply r = admin("POST", "/api/v1/admin/plugins/" + id + "/upgrade", "{\"version\":\"" + v + "\"}");
            long t1 = System.nanoTime();
            require(r, 200, "upgrade to " + v);
            long t2 = untilServedBy(v);
            if (i >= o.warmup()) {
                rows.add(new double[] {ms(t1 - t0), ms(t2 - t0)});
            }
            log(String.format(java.util.Locale.ROOT, "upgrade %s to %s: admin %.1f ms, served by it %.1f ms%s", id, v,
                    ms(t1 - t0), ms(t2 - t0), i < o.warmup() ? " (warm-up)" : ""));
        }
        ObjectNode n = json.createObjectNode();
        n.put("warmup", o.warmup());
        n.put("versions", "1.0.0 then always a new one: 2.0.0, 2.0.1, ...");
        n.set("adminCallMs", stats(rows, 0));
        n.set("toServedByNewMs", stats(rows, 1));
        probeSummary(n);
        n.set("samples", json.valueToTree(rows));
        if (beforeUninstall != null) {
            beforeUninstall.run();
        }
        require(admin("DELETE", "/api/v1/admin/plugins/" + id, null), 204, "uninstall " + id);
        untilModelGone();
        return n;
    }

    private ObjectNode upgradeUnderLoad(int cycles) throws Exception {
        ChatLoad load = new ChatLoad(o.streamClients());
        ObjectNode n;
        try {
            n = upgrade(LOADED_ID, cycles, () -> {
                Reply s = admin("PUT", "/api/v1/admin/plugins/" + LOADED_ID + "/settings",
                        "{\"settings\":{\"" + SETTINGS_PID + "\":{\"tokenDelayMs\":" + o.tokenDelayMs() + "}}}");
                require(s, 200, "settings");
                load.start();
                load.awaitCompleted(o.streamClients());
            }, load::stop); // the clients stop before the plugin is uninstalled: only upgrades happen under load
        } finally {
            load.stop();
        }
        n.put("streamClients", o.streamClients());
        n.put("tokenDelayMs", o.tokenDelayMs());
        n.put("chatsCompleted", load.completed.get());
        n.put("chatsFailed", load.failures.size());
        n.set("chatsPerVersion", json.valueToTree(load.perVersion));
        n.set("chatLatencyMs", stats(load.latencies()));
        n.set("firstFailures", json.valueToTree(load.failures.stream().limit(10).toList()));
        log("under load: " + load.completed.get() + " chats completed, " + load.failures.size() + " failed");
        return n;
    }

    /**
     * Streaming clients sending chats back to back until stopped. A chat counts as complete only if it ends with
     * {@code [DONE]}, carries no error frame and its deltas add up to exactly {@code "[echo <v>] <question>"}.
     */
    final class ChatLoad {
        final AtomicInteger completed = new AtomicInteger();
        final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        final Map<String, Integer> perVersion = new ConcurrentHashMap<>();
        final ConcurrentLinkedQueue<Long> nanos = new ConcurrentLinkedQueue<>();
        final AtomicBoolean running = new AtomicBoolean(true);
        final int clients;
        final ExecutorService pool;
        final List<Future<?>> workers = new ArrayList<>();

        ChatLoad(int clients) {
            this.clients = clients;
            this.pool = Executors.newFixedThreadPool(clients, r -> {
                Thread t = new Thread(r, "lifecycle-chat");
                t.setDaemon(true);
                return t;
            });
        }

        void start() {
            for (int c = 0; c < clients; c++) {
                int client = c;
                workers.add(pool.submit(() -> {
                    for (int i = 0; running.get(); i++) {
                        String q = "client " + client + " question " + i + " about plugins";
                        try {
                            long t0 = System.nanoTime();
                            String answer = streamChat(q);
                            Matcher m = Pattern.compile("\\[echo ([^\\]]+)\\] (.*)", Pattern.DOTALL).matcher(answer);
                            if (!m.matches() || !m.group(2).equals(q)) {
                                throw new IOException("truncated or wrong answer '" + answer + "' to '" + q + "'");
                            }
                            nanos.add(System.nanoTime() - t0);
                            perVersion.merge(m.group(1), 1, Integer::sum);
                            completed.incrementAndGet();
                        } catch (IOException e) {
                            failures.add(e.getMessage());
                        } catch (InterruptedException e) {
                            return;
                        }
                    }
                }));
            }
        }

        void awaitCompleted(int count) {
            long deadline = System.nanoTime() + SERVE_TIMEOUT.toNanos();
            while (completed.get() < count && System.nanoTime() < deadline) {
                sleep(POLL);
            }
            if (completed.get() < count) {
                throw new IllegalStateException("the streaming clients completed only " + completed.get()
                        + " chats in " + SERVE_TIMEOUT + "; failures: " + failures);
            }
        }

        /** Stops sending; waits for every chat in flight to finish. Idempotent. */
        void stop() {
            running.set(false);
            try {
                for (Future<?> w : workers) {
                    w.get(60, TimeUnit.SECONDS);
                }
            } catch (Exception e) {
                throw new IllegalStateException("a streaming client did not stop: " + e, e);
            } finally {
                pool.shutdownNow();
            }
        }

        long[] latencies() {
            return nanos.stream().mapToLong(Long::longValue).toArray();
        }
    }

    /** One streaming chat on echo-1; returns the content deltas joined, or throws if it did not end properly. */
    String streamChat(String question) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(uri("/v1/chat/completions")).timeout(Duration.ofSeconds(60))
                .header("Content-Type", "application/json").header("Accept", "text/event-stream")
                .header("Authorization", "Bearer " + adminToken)
                .POST(HttpRequest.BodyPublishers.ofString(chatBody(question, true))).build();
        HttpResponse<InputStream> response = http.send(request, HttpResponse.BodyHandlers.ofInputStream());
        try (BufferedReader reader = new BufferedReader(new InputStreamReader(response.body(), StandardCharsets.UTF_8))) {
            if (response.statusCode() != 200) {
                throw new IOException("status " + response.statusCode() + ": " + reader.readLine());
            }
            StringBuilder content = new StringBuilder();
            String line;
            while ((line = reader.readLine()) != null) {
                if (!line.startsWith("data:")) {
                    continue;
                }
                String data = line.substring(5).trim();
                if (data.equals("[DONE]")) {
                    return content.toString();
                }
                JsonNode frame = json.readTree(data);
                if (frame.has("error")) {
                    throw new IOException("error frame after '" + content + "': " + data);
                }
                JsonNode delta = frame.at("/choices/0/delta/content");
                if (delta.isTextual()) {
                    content.append(delta.asText());
                }
            }
            throw new IOException("stream closed without [DONE] after '" + content + "'");
        }
    }

    // ---- probes ---------------------------------------------------------------------------------------------------

    /** Why probes before the first right answer missed, over all measured samples: e.g. "503", "old version". */
    private final Map<String, Integer> misses = new java.util.TreeMap<>();
    /** Probes needed per sample of the current phase (1: the first chat after the admin call was right). */
    private final List<Integer> probes = new ArrayList<>();

    /** Polls a non-stream chat on echo-1 until the answer comes from {@code version}; returns that moment. */
    private long untilServedBy(String version) throws InterruptedException {
        int n = 0;
        String expected = "[echo " + version + "] ";
        long deadline = System.nanoTime() + SERVE_TIMEOUT.toNanos();
        String last = "nothing";
        HttpRequest chat = HttpRequest.newBuilder(uri("/v1/chat/completions")).timeout(Duration.ofSeconds(10))
                .header("Content-Type", "application/json").header("Authorization", "Bearer " + adminToken)
                .POST(HttpRequest.BodyPublishers.ofString(chatBody("are you there", false))).build();
        while (System.nanoTime() < deadline) {
            try {
                n++;
                HttpResponse<String> r = http.send(chat, HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200) {
                    Matcher m = CONTENT.matcher(r.body());
                    if (m.find() && m.group(1).startsWith(expected)) {
                        long now = System.nanoTime();
                        probes.add(n);
                        return now;
                    }
                    misses.merge("200 from another version", 1, Integer::sum);
                } else {
                    misses.merge(Integer.toString(r.statusCode()), 1, Integer::sum);
                }
                last = r.statusCode() + " " + r.body();
            } catch (IOException e) {
                misses.merge(e.getClass().getSimpleName(), 1, Integer::sum);
                last = e.toString();
            }
            sleep(POLL);
        }
        throw new IllegalStateException("echo-1 not served by " + version + " within " + SERVE_TIMEOUT + "; last: " + last);
    }

    private long untilModelGone() throws InterruptedException {
        long deadline = System.nanoTime() + SERVE_TIMEOUT.toNanos();
        while (System.nanoTime() < deadline) {
            try {
                HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri("/v1/models"))
                        .header("Authorization", "Bearer " + adminToken).build(),
                        HttpResponse.BodyHandlers.ofString());
                if (r.statusCode() == 200 && !r.body().contains("\"" + MODEL + "\"")) {
                    return System.nanoTime();
                }
            } catch (IOException e) {
                // try again
            }
            sleep(POLL);
        }
        throw new IllegalStateException(MODEL + " still listed " + SERVE_TIMEOUT + " after uninstall");
    }

    /** How many chats it took per sample until the expected version answered, and what the misses were. */
    private void probeSummary(ObjectNode n) {
        n.set("probesPerSample", json.valueToTree(probes));
        n.set("probeMisses", json.valueToTree(misses));
        misses.clear();
        probes.clear();
    }

    // ---- memory ---------------------------------------------------------------------------------------------------

    private ObjectNode memory(String when) throws Exception {
        ObjectNode n = json.createObjectNode();
        n.put("when", when);
        n.put("rssMb", Math.round(Processes.rssKb(pid) / 102.4) / 10.0);
        // jstat -class: Loaded Bytes Unloaded Bytes Time
        String[] jstat = tool("jstat", "-class", Long.toString(pid)).strip().split("\n");
        String[] f = jstat[jstat.length - 1].trim().split("\\s+");
        n.put("classesLoaded", Long.parseLong(f[0]));
        n.put("classesUnloaded", Long.parseLong(f[2]));
        n.put("classesLive", Long.parseLong(f[0]) - Long.parseLong(f[2]));
        // VM.classloader_stats: one row per loader "<addr> <parent> <cld> <classes> <chunk> <block> <type>", then
        // "Total = <loaders> <classes> <chunk sz> <block sz>".
        String stats = tool("jcmd", Long.toString(pid), "VM.classloader_stats");
        Matcher total = Pattern.compile("Total = (\\d+)\\s+(\\d+)\\s+(\\d+)\\s+(\\d+)").matcher(stats);
        if (total.find()) {
            n.put("classLoaders", Long.parseLong(total.group(1)));
            n.put("classLoaderStatsClasses", Long.parseLong(total.group(2)));
            n.put("metaspaceChunksMb", Math.round(Long.parseLong(total.group(3)) / 104857.6) / 10.0);
        }
        Map<String, Integer> types = new java.util.TreeMap<>();
        Pattern row = Pattern.compile("^0x\\p{XDigit}+\\s+0x\\p{XDigit}+\\s+0x\\p{XDigit}+\\s+\\d+\\s+\\d+\\s+\\d+\\s+(\\S+)");
        stats.lines().map(row::matcher).filter(Matcher::find).forEach(mm -> types.merge(mm.group(1), 1, Integer::sum));
        n.put("felixBundleClassLoaders", types.getOrDefault(
                "org.apache.felix.framework.BundleWiringImpl$BundleClassLoader", 0));
        n.set("classLoadersByType", json.valueToTree(types));
        log("memory " + when + ": " + n);
        return n;
    }

    /** 1, 5 and 15 minute load averages: anything above ~2 on this machine means other work shared the cores. */
    private static String loadAverage() throws IOException {
        String[] f = Files.readString(Path.of("/proc/loadavg")).trim().split("\\s+");
        return f[0] + " " + f[1] + " " + f[2];
    }

    private void gc() throws Exception {
        tool("jcmd", Long.toString(pid), "GC.run");
    }

    private static String tool(String... cmd) throws Exception {
        Path jdkTool = Path.of(System.getProperty("java.home"), "bin", cmd[0]);
        List<String> c = new ArrayList<>(List.of(cmd));
        if (Files.isExecutable(jdkTool)) {
            c.set(0, jdkTool.toString());
        }
        Process p = new ProcessBuilder(c).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
        }
        return out;
    }

    // ---- registry and admin calls ---------------------------------------------------------------------------------

    private void register(String publicKey) {
        Reply r = admin("POST", "/api/v1/admin/registry/publishers",
                "{\"id\":\"" + PUBLISHER + "\",\"publicKey\":\"" + publicKey + "\"}");
        if (r.status() != 200 && r.status() != 201) {
            throw new IllegalStateException("registering the publisher key failed: " + r);
        }
    }

    private void publish(String id, String version) throws Exception {
        byte[] jar = TestPluginJars.withHeaders(echo, Map.of("Bundle-Version", version, "Parley-Plugin",
                id + ";type=provider;name=\"Echo (benchmark)\";publisher=" + PUBLISHER));
        HttpRequest req = HttpRequest.newBuilder(uri("/api/v1/registry/plugins"))
                .header("Content-Type", "application/java-archive")
                .header("Authorization", "Bearer " + adminToken)
                .header("X-Parley-Signature", Base64.getEncoder().encodeToString(Signatures.sign(jar, privateKey)))
                .POST(HttpRequest.BodyPublishers.ofByteArray(jar)).build();
        HttpResponse<String> r = http.send(req, HttpResponse.BodyHandlers.ofString());
        if (r.statusCode() != 201) {
            throw new IllegalStateException("publishing " + id + " " + version + " failed: " + r.statusCode() + " "
                    + r.body());
        }
    }

    record Reply(int status, String body) {
    }

    private Reply admin(String method, String path, String body) {
        HttpRequest.Builder b = HttpRequest.newBuilder(uri(path)).timeout(Duration.ofSeconds(60))
                .header("Authorization", "Bearer " + adminToken);
        if (body != null) {
            b.header("Content-Type", "application/json");
        }
        b.method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        try {
            HttpResponse<String> r = http.send(b.build(), HttpResponse.BodyHandlers.ofString());
            return new Reply(r.statusCode(), r.body());
        } catch (IOException e) {
            throw new IllegalStateException(method + " " + path + " failed: " + e, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static void require(Reply r, int status, String what) {
        if (r.status() != status) {
            throw new IllegalStateException(what + ": expected " + status + ", got " + r.status() + " " + r.body());
        }
    }

    // ---- helpers --------------------------------------------------------------------------------------------------

    private URI uri(String path) {
        return URI.create("http://127.0.0.1:" + port + path);
    }

    private static String chatBody(String question, boolean stream) {
        return "{\"model\":\"" + MODEL + "\",\"messages\":[{\"role\":\"user\",\"content\":\"" + question + "\"}]"
                + (stream ? ",\"stream\":true" : "") + "}";
    }

    /** 1.0.0, 1.0.1, ... for installs; 2.0.0, 2.0.1, ... for upgrades (each sample gets a version never run before). */
    private static String version(int major, int i) {
        return major + ".0." + i;
    }

    private ObjectNode stats(List<double[]> rows, int col) {
        return stats(rows.stream().mapToLong(r -> Math.round(r[col] * 1e6)).toArray());
    }

    /** count, p50, p95, max, mean in ms; nearest rank, as {@link Stats}. */
    private ObjectNode stats(long[] nanos) {
        ObjectNode n = json.createObjectNode();
        n.put("count", nanos.length);
        if (nanos.length == 0) {
            return n;
        }
        long[] s = nanos.clone();
        java.util.Arrays.sort(s);
        n.put("p50", ms(s[rank(s.length, 0.50)]));
        n.put("p95", ms(s[rank(s.length, 0.95)]));
        n.put("max", ms(s[s.length - 1]));
        n.put("mean", Benchmark.round(java.util.Arrays.stream(s).average().orElse(0) / 1e6));
        return n;
    }

    private static int rank(int size, double q) {
        return Math.max(0, Math.min(size - 1, (int) Math.ceil(q * size) - 1));
    }

    private static double ms(long nanos) {
        return Benchmark.round(nanos / 1e6);
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        }
    }

    private static void log(String msg) {
        System.out.println("[bench] " + msg);
    }
}

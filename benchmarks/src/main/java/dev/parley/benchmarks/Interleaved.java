package dev.parley.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
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
import java.util.function.Predicate;
import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordedFrame;
import jdk.jfr.consumer.RecordedStackTrace;
import jdk.jfr.consumer.RecordingFile;

/**
 * What the telemetry and router modes share: several Parley processes ("variants") running side by side for the whole
 * mode, all relaying to the relay mode's cheap NIO upstream; every variant primed on every load; then rounds in which
 * every load is sent to every variant in turn, the order rotated by one each round, so that the shared machine's ups
 * and downs fall on every variant alike; CPU per request from /proc; and a JFR profile of one more run per variant,
 * with the samples attributed to the code a mode is about ({@link Focus}).
 */
final class Interleaved {

    private static final ObjectMapper JSON = new ObjectMapper();

    /**
     * One Parley process: its key, what it is, its jar, the environment that sets it up, whether its /metrics is
     * scraped during the runs, and the model its clients name.
     */
    record Variant(String key, String label, Path jar, Map<String, String> env, boolean scraped, String model) {
        Variant(String key, String label, Path jar, Map<String, String> env, boolean scraped) {
            this(key, label, jar, env, scraped, RelayClient.MODEL);
        }

        Variant withEnv(Map<String, String> more) {
            Map<String, String> all = new HashMap<>(env);
            all.putAll(more);
            return new Variant(key, label, jar, Map.copyOf(all), scraped, model);
        }
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

    /**
     * Whose CPU and allocation samples a profile is about: a sample belongs to the focus when the first frame from the
     * leaf whose class is not {@code neutralClass} (JDK code) is one of the focus's frames ({@code ownFrame} is given
     * {@code class.method}), or when it is JDK-only code on one of the focus's own threads. {@code prefix} names the JSON fields ({@code <prefix>Samples}, {@code <prefix>Percent},
     * {@code <prefix>ByOwner}, ...).
     */
    record Focus(String prefix, Predicate<String> ownFrame, Predicate<String> neutralClass, Predicate<String> ownThread) {
    }

    private final Benchmark bench;
    private final Benchmark.Options o;
    private final Processes processes;
    private final Path java;
    private final Relay relay;
    private final ScheduledExecutorService scraper = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "metrics-scraper");
        t.setDaemon(true);
        return t;
    });
    private final Map<String, Benchmark.Started> started = new LinkedHashMap<>();
    private final Map<String, Gateway> gateways = new LinkedHashMap<>();

    Interleaved(Benchmark bench, Benchmark.Options o, Processes processes, Path java) {
        this.bench = bench;
        this.o = o;
        this.processes = processes;
        this.java = java;
        this.relay = new Relay(bench, o, processes, java);
    }

    Relay relay() {
        return relay;
    }

    Benchmark.Started started(String key) {
        return started.get(key);
    }

    Gateway gateway(String key) {
        return gateways.get(key);
    }

    long pid(String key) {
        return started.get(key).process().pid();
    }

    /** What every mode's JSON starts with: when, where, what was run and measured, and the machine's load. */
    ObjectNode header(Map<String, String> a) throws Exception {
        ObjectNode root = JSON.createObjectNode();
        root.put("date", ZonedDateTime.now().format(DateTimeFormatter.ISO_OFFSET_DATE_TIME));
        ObjectNode machine = bench.machine();
        // No machine paths in the committed results: the JDK and jar are named by version and file name only.
        machine.remove("java");
        machine.put("serverJar", Path.of(machine.path("serverJar").asText()).getFileName().toString());
        root.set("machine", machine);
        root.put("command", o.command());
        root.put("commit", a.getOrDefault("commit", "unknown"));
        root.put("productCommit", a.getOrDefault("product-commit", "unknown"));
        root.put("loadavgAtStart", loadavg());
        return root;
    }

    static void describeLoads(ArrayNode into, List<Load> loads) {
        for (Load l : loads) {
            into.addObject().put("key", l.key()).put("label", l.label()).put("kind", Relay.kindName(l.kind()))
                    .put("firstMs", l.shape().firstMs()).put("gapMs", l.shape().gapMs())
                    .put("words", l.shape().words());
        }
    }

    // ---- processes ------------------------------------------------------------------------------------------------

    /**
     * Starts one variant (its own data dir under the work dir, named {@code <dirPrefix>-<key>}) and waits until a chat
     * went through it; returns what the JSON says of it.
     */
    ObjectNode start(Variant v, String dirPrefix) throws Exception {
        Path dir = o.work().resolve(dirPrefix + "-" + v.key());
        Benchmark.Started s = bench.startParley(v.jar(), new Benchmark.JvmFlags("default", List.of()),
                relay.upstreamBaseUrl(), dir, Duration.ofSeconds(30), v.env());
        if (s.chatMs() < 0) {
            throw new IllegalStateException("no chat went through Parley (" + v.key() + ") to the upstream; see " + dir);
        }
        started.put(v.key(), s);
        gateways.put(v.key(), new Gateway("parley-" + v.key(), URI.create("http://127.0.0.1:" + s.port()),
                List.of(s.process().pid())));
        ObjectNode n = JSON.createObjectNode();
        n.put("key", v.key()).put("label", v.label()).put("jar", v.jar().getFileName().toString())
                .put("jarBytes", Files.size(v.jar())).put("model", v.model());
        ObjectNode env = n.putObject("env");
        new java.util.TreeMap<>(v.env()).forEach(env::put);
        n.put("scraped", v.scraped()).put("readyMs", s.readyMs());
        return n;
    }

    /** Replaces what a variant's clients talk to: another credential, or several nodes measured as one. */
    void gateway(String key, Gateway g) {
        gateways.put(key, g);
    }

    Path serverLog(Variant v, String dirPrefix) {
        return o.work().resolve(dirPrefix + "-" + v.key()).resolve("server.log");
    }

    void stop(String key) throws InterruptedException {
        Benchmark.Started s = started.remove(key);
        gateways.remove(key);
        if (s != null) {
            Processes.stop(s.process(), 30);
        }
    }

    /** Stops every variant and the upstream; safe to call after a failure. */
    void close() throws Exception {
        for (String key : List.copyOf(started.keySet())) {
            stop(key);
        }
        relay.closeUpstream();
        scraper.shutdownNow();
    }

    // ---- priming and rounds ---------------------------------------------------------------------------------------

    /**
     * JIT-compiles every process on every load before anything counts: runs of {@code prime} until
     * {@code primeRequests} were answered (on a busy machine a few seconds may be a few hundred requests), at most two
     * runs. The warm-up rounds after it are the rest of the priming: going from one load to the next recompiles (C2
     * deoptimises what the previous load's profile made it assume), so the first round is not yet steady.
     */
    void prime(List<Variant> variants, List<Load> loads, int clients, Duration prime, int primeRequests)
            throws Exception {
        for (Load l : loads) {
            relay.setShape(l.shape());
            for (Variant v : variants) {
                long done = 0;
                for (int i = 0; i < 2 && done < primeRequests; i++) {
                    done += relay.closedLoop(gateways.get(v.key()), l.kind(), l.shape(), v.model(), clients,
                            Duration.ZERO, prime, 1000, null).path("completedInWindow").asLong();
                }
                Benchmark.log("primed " + v.key() + " on " + l.key() + ": " + done + " requests");
            }
        }
    }

    /**
     * {@code warmupRounds + rounds} rounds; in each, every load to every variant, the order rotated by one per round
     * (whatever the previous run leaves behind, an exporter flushing or a GC, falls on every variant in turn). Every
     * run is added to {@code runs} with its round (≤ 0 and {@code warmupRound} for the warm-up rounds), order, load and
     * variant.
     */
    void rounds(List<Variant> variants, List<Load> loads, int clients, int warmupRounds, int rounds, Duration warm,
            Duration measure, Duration scrapeEvery, ArrayNode runs) throws Exception {
        for (int round = 0; round < warmupRounds + rounds; round++) {
            boolean warmupRound = round < warmupRounds;
            for (Load l : loads) {
                relay.setShape(l.shape());
                for (int k = 0; k < variants.size(); k++) {
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
    }

    /** One closed-loop run of a load on a variant; a scraped variant's /metrics is fetched every {@code every}. */
    ObjectNode measured(Variant v, Load l, int clients, Duration warm, Duration measure, Duration every)
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
            r = relay.closedLoop(gw, l.kind(), l.shape(), v.model(), clients, warm, measure, 1000, null);
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

    /** One Prometheus-like scrape: {at ms since {@code startNs}, status, body bytes, µs}. */
    long[] scrape(URI metrics, long startNs) {
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

    /** The body of {@code GET <variant>/metrics}, or "" when it failed. */
    String metrics(String key) {
        try {
            return relay.client().http().newRequest(gateways.get(key).base().resolve("/metrics"))
                    .timeout(10, TimeUnit.SECONDS).send().getContentAsString();
        } catch (Exception e) {
            return "";
        }
    }

    // ---- profile --------------------------------------------------------------------------------------------------

    /**
     * The streamed loads once more per variant of {@code variants} under JFR (CPU and allocation samples, started with
     * jcmd on the running process), with the CPU of every thread group from /proc: where the time goes.
     */
    ObjectNode profile(List<Variant> variants, List<Load> loads, int clients, Duration measure, Duration every,
            Focus focus) throws Exception {
        ObjectNode out = JSON.createObjectNode();
        for (Load l : loads) {
            if (l.kind() != Kind.OPENAI_STREAM) {
                continue;
            }
            relay.setShape(l.shape());
            ObjectNode byVariant = out.putObject(l.key());
            for (Variant v : variants) {
                long pid = pid(v.key());
                Path file = o.work().resolve("profile-" + l.key() + "-" + v.key() + ".jfr");
                jfr(pid, "JFR.start", "name=" + focus.prefix(), "settings=" + jfc());
                ObjectNode r = measured(v, l, clients, Duration.ofSeconds(2), measure, every);
                jfr(pid, "JFR.stop", "name=" + focus.prefix(), "filename=" + file);
                ObjectNode p = byVariant.putObject(v.key());
                p.put("cpuMsPerRequest", r.at("/cpu/gatewayMsPerRequest").asDouble())
                        .put("throughput", r.path("throughput").asDouble());
                p.set("jfr", analyze(file, focus));
                p.set("threadsMsPerRequest", r.at("/cpu/threadsMsPerRequest"));
                Benchmark.log(String.format(Locale.ROOT, "profile %s %s: %d samples, %.1f %% in %s code",
                        l.key(), v.key(), p.at("/jfr/samples").asLong(),
                        p.at("/jfr/" + focus.prefix() + "Percent").asDouble(), focus.prefix()));
            }
        }
        return out;
    }

    /**
     * JFR's first start in a JVM loads and compiles its own code (and may re-instrument JDK classes): done in every
     * process alike before the priming, so that a profile at the end measures only sampling.
     */
    void initJfr() throws Exception {
        writeJfc();
        for (Benchmark.Started s : started.values()) {
            jfr(s.process().pid(), "JFR.start", "name=init", "settings=" + jfc());
            jfr(s.process().pid(), "JFR.stop", "name=init");
        }
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
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(60, TimeUnit.SECONDS) || p.exitValue() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed: " + out);
        }
    }

    /**
     * Execution samples (CPU) and allocation samples by owner: walking from the leaf, the first frame that is not
     * neutral (JDK) code decides; a sample in the focus's code is also counted by its entry point, the outermost focus
     * frame before the caller's own code. JDK-only stacks on the focus's own threads count as the focus's.
     */
    static ObjectNode analyze(Path jfr, Focus focus) throws IOException {
        long samples = 0;
        long mine = 0;
        long jdkOnly = 0;
        double allocTotal = 0;
        double allocMine = 0;
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
                boolean isMine = false;
                for (RecordedFrame fr : frames) {
                    String c = fr.getMethod().getType().getName();
                    String m = c + "." + fr.getMethod().getName();
                    if (owner == null) {
                        if (focus.neutralClass().test(c)) {
                            continue;
                        }
                        owner = m;
                        isMine = focus.ownFrame().test(m);
                        if (!isMine) {
                            break;
                        }
                        entry = m;
                    } else if (focus.ownFrame().test(m)) {
                        entry = m;
                    } else if (!focus.neutralClass().test(c)) {
                        break;
                    }
                }
                if (owner == null && focus.ownThread().test(thread)) {
                    isMine = true;
                    owner = "(JDK code on " + Benchmark.threadGroup(thread) + ")";
                    entry = owner;
                }
                if (exec) {
                    samples++;
                    threads.merge(Benchmark.threadGroup(thread), 1L, Long::sum);
                    if (!frames.isEmpty()) {
                        RecordedFrame leaf = frames.get(0);
                        leaves.merge(leaf.getMethod().getType().getName() + "." + leaf.getMethod().getName(), 1L,
                                Long::sum);
                    }
                    if (owner == null) {
                        jdkOnly++;
                    }
                    if (isMine) {
                        mine++;
                        owners.merge(owner, 1L, Long::sum);
                        entries.merge(entry, 1L, Long::sum);
                    }
                } else {
                    double w = e.getLong("weight");
                    allocTotal += w;
                    if (isMine) {
                        allocMine += w;
                        allocEntries.merge(entry, w, Double::sum);
                    }
                }
            }
        }
        String p = focus.prefix();
        String cap = Character.toUpperCase(p.charAt(0)) + p.substring(1);
        ObjectNode n = JSON.createObjectNode();
        n.put("samples", samples).put(p + "Samples", mine)
                .put(p + "Percent", samples == 0 ? 0 : Math.round(1000.0 * mine / samples) / 10.0)
                .put("jdkOnlySamples", jdkOnly);
        n.set(p + "ByOwner", top(owners, 12));
        n.set(p + "ByEntry", top(entries, 12));
        n.set("topLeafFrames", top(leaves, 12));
        n.set("samplesByThread", top(threads, 10));
        n.put("allocSampledMb", Math.round(allocTotal / 1e5) / 10.0)
                .put("alloc" + cap + "Percent", allocTotal == 0 ? 0 : Math.round(1000.0 * allocMine / allocTotal) / 10.0);
        ObjectNode ae = n.putObject("alloc" + cap + "ByEntryMb");
        allocEntries.entrySet().stream().sorted(Map.Entry.<String, Double>comparingByValue().reversed()).limit(8)
                .forEach(x -> ae.put(x.getKey(), Math.round(x.getValue() / 1e5) / 10.0));
        return n;
    }

    /** JDK frames: they never decide whose a sample is. */
    static boolean jdkClass(String c) {
        return c.startsWith("java.") || c.startsWith("javax.") || c.startsWith("jdk.") || c.startsWith("sun.")
                || c.startsWith("com.sun.");
    }

    private static ObjectNode top(Map<String, Long> m, int k) {
        ObjectNode n = JSON.createObjectNode();
        m.entrySet().stream().sorted(Map.Entry.<String, Long>comparingByValue().reversed()).limit(k)
                .forEach(e -> n.put(e.getKey(), e.getValue()));
        return n;
    }

    static String loadavg() {
        try {
            return Files.readString(Path.of("/proc/loadavg")).trim();
        } catch (IOException e) {
            return "?";
        }
    }
}

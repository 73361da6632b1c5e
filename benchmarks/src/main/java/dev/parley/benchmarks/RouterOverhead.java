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
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Router mode: what the model router costs in CPU per request, and what its fallback does when the first target is
 * rate limited. Three Parley processes side by side ({@link Interleaved}), all configured alike (two models upstream,
 * the alias {@value #ALIAS} over both): clients of one name the concrete model (the relay path), of another the alias
 * (alias resolution, a breaker per target, the usage record), and the third is the server jar of the relay-speed
 * work's last commit, before the router. Then the fallback scenario: the upstream answers 429 to every second request
 * for the alias's first target. Writes router.json and re-renders RESULTS.md. See benchmarks/README.md ("Router mode").
 */
final class RouterOverhead {

    static final String RESULTS = "router.json";
    static final String ALIAS = "pair";
    static final String SECOND_MODEL = "fake-model-2";
    static final String FIRST_TARGET = "openai/" + RelayClient.MODEL;
    static final String ALIASES = ALIAS + "=priority:" + FIRST_TARGET + ",openai/" + SECOND_MODEL;
    static final String ADMIN_TOKEN = Benchmark.CREDENTIAL;
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);

    /** The router's and the usage record's code: what the alias path adds to a request. */
    static final Interleaved.Focus FOCUS = new Interleaved.Focus("router", RouterOverhead::routerFrame,
            // The database bundle runs every store's transaction: its frames sit between H2 and the store calling it.
            c -> Interleaved.jdkClass(c) || c.startsWith("org.h2.") || c.startsWith("com.zaxxer.hikari.")
                    || c.startsWith("dev.parley.db."),
            t -> t.startsWith("parley-core-usage") || t.startsWith("parley-router-timer"));

    private static final List<String> ROUTER_FRAMES = List.of("dev.parley.core.internal.ModelRouter",
            "dev.parley.core.internal.RoutedCall", "dev.parley.core.internal.RouteOutcome",
            "dev.parley.core.internal.TargetState", "dev.parley.core.internal.RouterSettings",
            "dev.parley.core.internal.RouterTelemetry", "dev.parley.core.internal.Timers",
            "dev.parley.core.internal.AliasSyntax", "dev.parley.core.internal.UsageRecorder",
            "dev.parley.core.internal.ModelPrices", "dev.parley.core.internal.CoreChatService.usageRecord",
            "dev.parley.api.usage.", "dev.parley.api.routing.", "io.github.resilience4j.",
            "dev.parley.store.jdbc.internal.JdbcUsageStore", "dev.parley.store.jdbc.internal.JdbcRouterStateStore");

    static boolean routerFrame(String frame) {
        for (String p : ROUTER_FRAMES) {
            if (frame.startsWith(p)) {
                return true;
            }
        }
        return false;
    }

    private final Benchmark.Options o;
    private final Map<String, String> a;
    private final boolean quick;
    private final Interleaved runs;
    private final Relay relay;
    private final ScheduledExecutorService poller = Executors.newSingleThreadScheduledExecutor(r -> {
        Thread t = new Thread(r, "breaker-poller");
        t.setDaemon(true);
        return t;
    });

    RouterOverhead(Benchmark bench, Benchmark.Options o, Processes processes, Path java) {
        this.o = o;
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

    /** What every variant is started with: two models upstream, the alias over both, a known admin token. */
    static Map<String, String> env() {
        return Map.of("OPENAI_MODELS", RelayClient.MODEL + "," + SECOND_MODEL, "PARLEY_MODEL_ALIASES", ALIASES,
                "PARLEY_ADMIN_TOKEN", ADMIN_TOKEN);
    }

    void run() throws Exception {
        long t0 = System.nanoTime();
        int rounds = Integer.parseInt(opt("router-rounds", "10", "2"));
        int warmupRounds = Integer.parseInt(opt("router-warmup-rounds", "1", "0"));
        int clients = Integer.parseInt(opt("router-clients", "64", "64"));
        Duration warm = seconds("router-warmup-seconds", "1.5", "1");
        Duration measure = seconds("router-measure-seconds", "3", "3");
        Duration prime = seconds("router-prime-seconds", "4", "2");
        int primeRequests = Integer.parseInt(opt("router-prime-requests", "2000", "200"));
        Duration profileFor = seconds("router-profile-seconds", "15", "3");
        Duration fallbackFor = seconds("router-fallback-seconds", "40", "8");
        int fallbackRounds = Integer.parseInt(opt("router-fallback-rounds", "3", "1"));
        long pollMs = Long.parseLong(opt("router-breaker-poll-ms", "100", "100"));
        List<String> wanted = Arrays.stream(opt("router-variants", "relay,router,baseline", "relay,router,baseline")
                .split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
        List<String> loadKeys = Arrays.stream(opt("router-loads", "stream-paced,stream-instant,nonstream-instant",
                "stream-paced,stream-instant,nonstream-instant").split(",")).map(String::trim).toList();
        List<Load> loads = Interleaved.LOADS.stream().filter(l -> loadKeys.contains(l.key())).toList();

        ObjectNode root = runs.header(a);
        ObjectNode opts = root.putObject("options");
        opts.put("quick", quick).put("rounds", rounds).put("warmupRounds", warmupRounds).put("clients", clients)
                .put("warmupSeconds", warm.toMillis() / 1000.0).put("measureSeconds", measure.toMillis() / 1000.0)
                .put("primeSeconds", prime.toMillis() / 1000.0).put("primeRequests", primeRequests)
                .put("profileSeconds", profileFor.toMillis() / 1000.0)
                .put("fallbackSeconds", fallbackFor.toMillis() / 1000.0).put("fallbackRounds", fallbackRounds)
                .put("breakerPollMs", pollMs).put("aliases", ALIASES);
        Interleaved.describeLoads(opts.putArray("loads"), loads);

        List<Variant> variants = new ArrayList<>();
        Path baselineJar = a.containsKey("baseline-jar") ? Path.of(a.get("baseline-jar")) : null;
        for (String key : wanted) {
            switch (key) {
                case "relay" -> variants.add(new Variant("relay", "clients name the concrete model `"
                        + RelayClient.MODEL + "` (the relay path: the router resolves the bare id to the provider that "
                        + "claimed it; its breaker and the usage record still run)", o.serverJar(), env(), false));
                case "router" -> variants.add(new Variant("router", "clients name the alias `" + ALIAS + "` (two "
                        + "targets, priority: alias resolution, a breaker per target, fallback bookkeeping, the usage "
                        + "record)", o.serverJar(), env(), false, ALIAS));
                case "baseline" -> {
                    if (baselineJar != null && Files.isRegularFile(baselineJar)) {
                        variants.add(new Variant("baseline", "the server jar of commit "
                                + a.getOrDefault("baseline-commit", "?") + ", the relay-speed work's last commit (no "
                                + "router, no usage records, no observability); clients name `" + RelayClient.MODEL
                                + "`", baselineJar, env(), false));
                    } else {
                        Benchmark.log("no --baseline-jar: the baseline variant is skipped");
                        root.put("baselineNote", "skipped: no baseline jar was given (or building it failed)");
                    }
                }
                default -> throw new IllegalArgumentException("unknown router variant " + key
                        + " (relay, router, baseline)");
            }
        }
        root.put("baselineCommit", variants.stream().anyMatch(v -> v.key().equals("baseline"))
                ? a.getOrDefault("baseline-commit", "?") : "");

        ArrayNode measuredRuns = root.putArray("runs");
        try {
            relay.openUpstream();
            ArrayNode vs = root.putArray("variants");
            for (Variant v : variants) {
                vs.add(start(v));
            }
            runs.initJfr();
            runs.prime(variants, loads, clients, prime, primeRequests);
            runs.rounds(variants, loads, clients, warmupRounds, rounds, warm, measure, Duration.ofSeconds(1),
                    measuredRuns);
            if (profileFor.toMillis() > 0) {
                root.set("profile", runs.profile(variants.stream().filter(v -> !v.key().equals("baseline")).toList(),
                        loads, clients, profileFor, Duration.ofSeconds(1), FOCUS));
            }
            ObjectNode rss = root.putObject("rssAtEndMb");
            for (Variant v : variants) {
                rss.put(v.key(), Math.round(Processes.rssKb(runs.pid(v.key())) / 102.4) / 10.0);
            }
            if (fallbackFor.toMillis() > 0 && variants.stream().anyMatch(v -> v.key().equals("router"))) {
                ObjectNode fb = root.putObject("fallback");
                Variant router = variants.stream().filter(v -> v.key().equals("router")).findFirst().orElseThrow();
                // The interleaved variants are done: stop the others so that the fallback runs have the machine.
                for (Variant v : variants) {
                    if (v != router) {
                        runs.stop(v.key());
                    }
                }
                fb.set("defaults", fallbackWithDefaults(router, loads, clients, warm, measure, fallbackFor, pollMs));
                ((ObjectNode) fb.path("defaults")).set("streamFailuresLogged", streamFailures(router));
                runs.stop(router.key());
                // The default breaker opens (see RouterReport); to time the fallback itself this process's breaker
                // must stay closed: it opens only when all of its last 100 calls failed. 429s are recorded at once and
                // successes when their answer ends, so a burst of up to one 429 per client can precede the first
                // success: 100 is above the 64 clients.
                Variant heldClosed = new Variant("router-breaker-held", "clients name the alias `" + ALIAS + "`; "
                        + "`PARLEY_ROUTER_BREAKER_FAILURE_RATE=100 PARLEY_ROUTER_BREAKER_WINDOW=100`: a breaker opens "
                        + "only when all of its last 100 calls failed, so with every second call rate-limited it stays "
                        + "closed and every second request to the first target falls back", o.serverJar(),
                        withEnv(withEnv(env(), "PARLEY_ROUTER_BREAKER_FAILURE_RATE", "100"),
                                "PARLEY_ROUTER_BREAKER_WINDOW", "100"), false, ALIAS);
                fb.set("breakerHeldClosed", fallbackPaired(heldClosed, loads, clients, warm, measure, prime,
                        primeRequests, fallbackRounds, pollMs));
                ((ObjectNode) fb.path("breakerHeldClosed")).set("streamFailuresLogged", streamFailures(heldClosed));
            }
            root.put("upstreamStats", upstreamStats().toString());
        } finally {
            setRateLimit(0);
            runs.close();
            poller.shutdownNow();
        }
        root.put("loadavgAtEnd", Interleaved.loadavg());
        root.put("wallSeconds", Math.round((System.nanoTime() - t0) / 1e9));
        Files.writeString(o.out().resolve(RESULTS), JSON.writeValueAsString(root) + "\n");
        Benchmark.writeReport(o.out(), RESULTS);
        Benchmark.log("wrote " + o.out().resolve("RESULTS.md") + " and " + RESULTS + " after "
                + root.path("wallSeconds").asLong() + " s");
    }

    private static Map<String, String> withEnv(Map<String, String> env, String key, String value) {
        Map<String, String> m = new HashMap<>(env);
        m.put(key, value);
        return Map.copyOf(m);
    }

    /** Starts a variant and checks that a request naming its model is answered (an alias the jar does not know is not). */
    private ObjectNode start(Variant v) throws Exception {
        ObjectNode n = runs.start(v, "router");
        var resp = relay.client().http().POST(runs.gateway(v.key()).base().resolve("/v1/chat/completions"))
                .headers(h -> h.put("Content-Type", "application/json").put("Authorization", "Bearer " + ADMIN_TOKEN))
                .body(new org.eclipse.jetty.client.StringRequestContent(RelayClient.openAiBody(v.model(), false)))
                .timeout(30, TimeUnit.SECONDS).send();
        if (resp.getStatus() != 200) {
            throw new IllegalStateException(v.key() + " does not answer model " + v.model() + ": "
                    + resp.getStatus() + " " + resp.getContentAsString());
        }
        Benchmark.Started s = runs.started(v.key());
        Benchmark.log(String.format(Locale.ROOT, "%s: pid %d, port %d, ready %.0f ms, answers model %s", v.key(),
                s.process().pid(), s.port(), s.readyMs(), v.model()));
        return n;
    }

    // ---- fallback scenario ----------------------------------------------------------------------------------------

    /**
     * With the router's default settings (an admin's choice): per load, a run without rate limits, then one of
     * {@code fallbackFor} in which every second request for the first target gets a 429, with the first target's
     * breaker state polled from /metrics all along.
     */
    private ObjectNode fallbackWithDefaults(Variant v, List<Load> loads, int clients, Duration warm, Duration measure,
            Duration fallbackFor, long pollMs) throws Exception {
        ObjectNode out = JSON.createObjectNode();
        out.put("variant", v.key()).put("label", v.label() + "; the router's default settings");
        ArrayNode byLoad = out.putArray("loads");
        for (Load l : loads) {
            relay.setShape(l.shape());
            ObjectNode entry = byLoad.addObject();
            entry.put("load", l.key());
            entry.set("noFallback", observed(v, l, clients, warm, measure, false, pollMs));
            entry.set("fallback", observed(v, l, clients, Duration.ofMillis(Math.min(1000, warm.toMillis())),
                    fallbackFor, true, pollMs));
        }
        return out;
    }

    /**
     * The fallback path itself, on a process whose breaker stays closed: after priming, {@code rounds} rounds of one
     * run without and one with rate limits per load (the order alternating), compared per round.
     */
    private ObjectNode fallbackPaired(Variant v, List<Load> loads, int clients, Duration warm, Duration measure,
            Duration prime, int primeRequests, int rounds, long pollMs) throws Exception {
        ObjectNode out = JSON.createObjectNode();
        out.set("variant", start(v));
        out.put("label", v.label());
        runs.prime(List.of(v), loads, clients, prime, primeRequests);
        ArrayNode rs = out.putArray("runs");
        for (int round = 1; round <= rounds; round++) {
            for (Load l : loads) {
                relay.setShape(l.shape());
                for (int k = 0; k < 2; k++) {
                    boolean limited = (k + round) % 2 == 0;
                    ObjectNode r = observed(v, l, clients, warm, measure, limited, pollMs);
                    r.put("round", round).put("load", l.key());
                    rs.add(r);
                }
            }
            Benchmark.log("fallback round " + round + " of " + rounds + " done, load " + Interleaved.loadavg());
        }
        return out;
    }

    /**
     * One closed-loop run with ({@code limited}) or without rate limits on the first target, with what the upstream,
     * the router's metrics and its admin view counted during it, and the first target's breaker state polled every
     * {@code pollMs}.
     */
    private ObjectNode observed(Variant v, Load l, int clients, Duration warm, Duration measure, boolean limited,
            long pollMs) throws Exception {
        setRateLimit(limited ? 2 : 0);
        JsonNode up0 = upstreamStats();
        double fallbacks0 = fallbacksTotal(runs.metrics(v.key()));
        JsonNode target0 = targetHealth(v.key());
        List<long[]> states = java.util.Collections.synchronizedList(new ArrayList<>()); // {at ms, state}
        long startNs = System.nanoTime();
        int initial = breakerState(runs.metrics(v.key()));
        states.add(new long[] {0, initial});
        var job = poller.scheduleWithFixedDelay(() -> {
            int s = breakerState(runs.metrics(v.key()));
            synchronized (states) {
                if (s != states.get(states.size() - 1)[1]) {
                    states.add(new long[] {(System.nanoTime() - startNs) / 1_000_000, s});
                }
            }
        }, pollMs, pollMs, TimeUnit.MILLISECONDS);
        ObjectNode r;
        try {
            r = runs.measured(v, l, clients, warm, measure, Duration.ofSeconds(1));
        } finally {
            job.cancel(false);
            setRateLimit(0);
        }
        long endMs = (System.nanoTime() - startNs) / 1_000_000;
        JsonNode up1 = upstreamStats();
        double fallbacks1 = fallbacksTotal(runs.metrics(v.key()));
        JsonNode target1 = targetHealth(v.key());
        r.put("variant", v.key()).put("rateLimited", limited);
        ObjectNode f = r.putObject("router");
        long answered = r.path("answeredAll").asLong();
        long failed = r.path("failedAll").asLong();
        f.put("clientRequests", answered + failed).put("clientErrors", failed)
                .put("successPercent", answered + failed == 0 ? Double.NaN
                        : Math.round(100_000.0 * answered / (answered + failed)) / 1000.0)
                .put("upstream429s", up1.path("rateLimited").asLong() - up0.path("rateLimited").asLong())
                .put("upstreamRequests", up1.path("requests").asLong() - up0.path("requests").asLong())
                .put("fallbacksMetric", Math.round(fallbacks1 - fallbacks0));
        for (String k : List.of("successes", "failures", "rejected")) {
            f.put("firstTarget" + Character.toUpperCase(k.charAt(0)) + k.substring(1),
                    target1.path(k).asLong() - target0.path(k).asLong());
        }
        ArrayNode tr = f.putArray("breakerStates");
        synchronized (states) {
            for (long[] s : states) {
                tr.addObject().put("atMs", s[0]).put("state", stateName((int) s[1]));
            }
        }
        f.put("runMs", endMs);
        Benchmark.log(String.format(Locale.ROOT, "  %s %s %s: %d client requests, %d errors, %d upstream 429s, "
                        + "%d fallbacks (metric), first target rejected by its breaker %d; breaker %s", v.key(), l.key(),
                limited ? "rate-limited" : "no limits", answered + failed, failed, f.path("upstream429s").asLong(),
                f.path("fallbacksMetric").asLong(), f.path("firstTargetRejected").asLong(), transitions(tr)));
        return r;
    }

    private static final Pattern STREAM_FAILED = Pattern.compile(
            "event=stream_failed model=(\\S+) code=(\\S+) message=\"([^\"]*)\"");

    /**
     * The provider's failed upstream calls in a variant's log over its whole life, by model, error code and message
     * (the 429s among them): which target a failure hit tells a rate limit from something else.
     */
    private ObjectNode streamFailures(Variant v) throws Exception {
        Map<String, Long> counts = new java.util.TreeMap<>();
        for (String line : Files.readAllLines(runs.serverLog(v, "router"))) {
            Matcher m = STREAM_FAILED.matcher(line);
            if (m.find()) {
                String msg = m.group(3).length() > 90 ? m.group(3).substring(0, 90) + "…" : m.group(3);
                counts.merge(m.group(1) + " " + m.group(2) + ": " + msg, 1L, Long::sum);
            }
        }
        ObjectNode n = JSON.createObjectNode();
        counts.forEach(n::put);
        Benchmark.log(v.key() + " logged stream failures: " + counts);
        return n;
    }

    static String stateName(int s) {
        return switch (s) {
            case 0 -> "closed";
            case 1 -> "half-open";
            case 2 -> "open";
            default -> "absent";
        };
    }

    static String transitions(JsonNode states) {
        List<String> out = new ArrayList<>();
        for (JsonNode s : states) {
            out.add(s.path("state").asText() + (s.path("atMs").asLong() == 0 ? "" : " @" + s.path("atMs").asLong()
                    + " ms"));
        }
        return String.join(" → ", out);
    }

    private void setRateLimit(int every) throws Exception {
        if (relay.client() == null) {
            return;
        }
        String r = relay.client().http().GET(URI.create(relay.upstreamBaseUrl().replace("/v1", "")
                + "/bench/ratelimit?model=" + RelayClient.MODEL + "&every=" + every)).getContentAsString();
        if (!r.startsWith("ok")) {
            throw new IllegalStateException("upstream did not take the rate limit: " + r);
        }
    }

    private JsonNode upstreamStats() throws Exception {
        return JSON.readTree(relay.client().http().GET(URI.create(relay.upstreamBaseUrl().replace("/v1", "")
                + "/bench/stats")).getContentAsString());
    }

    private static final Pattern BREAKER = Pattern.compile("(?m)^parley_router_breaker_state\\{[^}]*target=\""
            + Pattern.quote(FIRST_TARGET) + "\"[^}]*\\}\\s+(\\S+)");
    private static final Pattern FALLBACKS = Pattern.compile("(?m)^parley_router_fallbacks_total\\{[^}]*\\}\\s+(\\S+)");

    /** The first target's breaker from /metrics: 0 closed, 1 half-open, 2 open, -1 not (yet) there. */
    static int breakerState(String metrics) {
        Matcher m = BREAKER.matcher(metrics);
        return m.find() ? (int) Double.parseDouble(m.group(1)) : -1;
    }

    static double fallbacksTotal(String metrics) {
        double sum = 0;
        Matcher m = FALLBACKS.matcher(metrics);
        while (m.find()) {
            sum += Double.parseDouble(m.group(1));
        }
        return sum;
    }

    /** The first target's entry of the admin view ({@code GET /api/v1/admin/models}): breaker, counts; empty if none. */
    private JsonNode targetHealth(String key) {
        try {
            String body = relay.client().http().newRequest(runs.gateway(key).base().resolve("/api/v1/admin/models"))
                    .headers(h -> h.put("Authorization", "Bearer " + ADMIN_TOKEN)).timeout(10, TimeUnit.SECONDS).send()
                    .getContentAsString();
            JsonNode found = find(JSON.readTree(body));
            return found == null ? JSON.createObjectNode() : found;
        } catch (Exception e) {
            return JSON.createObjectNode();
        }
    }

    private static JsonNode find(JsonNode n) {
        if (n.isObject() && FIRST_TARGET.equals(n.path("target").asText()) && n.has("rejected")) {
            return n;
        }
        for (JsonNode c : n) {
            JsonNode f = find(c);
            if (f != null) {
                return f;
            }
        }
        return null;
    }
}

package dev.parley.benchmarks;

import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.benchmarks.Interleaved.Load;
import dev.parley.benchmarks.Interleaved.Variant;
import dev.parley.benchmarks.Relay.Gateway;
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
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.eclipse.jetty.client.ContentResponse;
import org.eclipse.jetty.client.StringRequestContent;
import org.eclipse.jetty.http.HttpMethod;

/**
 * Auth mode: what authentication, authorization, rate limits and budgets cost on the hot path, in CPU per request.
 * Parley processes side by side ({@link Interleaved}): the relay-speed work's jar (no credential checked), optionally
 * the jar of the last commit before identity, and this build with an API key, with a signed access token (JWT), and
 * with an API key and Redis-backed rate limits, on one node and on two nodes sharing Redis. The limits are raised far
 * above the load so that every request is checked and admitted: what is measured is the checks, not refusals.
 * Writes auth.json and re-renders RESULTS.md. See benchmarks/README.md ("Auth mode").
 */
final class AuthOverhead {

    static final String RESULTS = "auth.json";
    /** The bootstrap admin's password in the benchmark's processes (a throwaway data dir each). */
    static final String ADMIN_PASSWORD = "benchmark-admin-password";
    static final String REDIS_URI = "redis://127.0.0.1:6379";
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private static final Pattern KEY = Pattern.compile("\"key\"\\s*:\\s*\"([^\"]+)\"");
    private static final Pattern ACCESS_TOKEN = Pattern.compile("\"access_?[tT]oken\"\\s*:\\s*\"([^\"]+)\"");
    private static final Pattern DECISIONS = Pattern.compile(
            "(?m)^parley_ratelimit_decisions_total\\{([^}]*)\\}\\s+(\\S+)");

    /** Authentication, access rules, rate limits, budgets and the caller checks in core. */
    static final Interleaved.Focus FOCUS = new Interleaved.Focus("auth", AuthOverhead::authFrame,
            c -> Interleaved.jdkClass(c) || c.startsWith("io.netty.") || c.startsWith("reactor."),
            t -> t.startsWith("lettuce-"));

    private static final List<String> AUTH_FRAMES = List.of("dev.parley.web.rest.internal.EdgeAuthFilter",
            "dev.parley.web.rest.internal.EdgeRefusals", "dev.parley.web.rest.internal.AccessPolicy",
            "dev.parley.web.rest.internal.RateLimitFilter", "dev.parley.web.rest.internal.RequestLimits",
            "dev.parley.web.rest.internal.AdminTokenAuthenticator", "dev.parley.web.rest.internal.Callers",
            "dev.parley.identity.", "dev.parley.ratelimit.", "dev.parley.budgets.", "dev.parley.api.identity.",
            "dev.parley.api.limits.", "dev.parley.core.internal.CallerChat", "com.nimbusds.", "io.lettuce.",
            "org.bouncycastle.");

    static boolean authFrame(String frame) {
        for (String p : AUTH_FRAMES) {
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

    AuthOverhead(Benchmark bench, Benchmark.Options o, Processes processes, Path java) {
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

    /**
     * What every variant is started with: the admin token (the older jars' only credential, this build's break-glass
     * one, used here only to set things up), a known bootstrap password, access tokens that outlive the run, and
     * request limits far above the load.
     */
    static Map<String, String> env() {
        Map<String, String> m = new HashMap<>();
        m.put("PARLEY_ADMIN_TOKEN", Benchmark.CREDENTIAL);
        m.put("PARLEY_BOOTSTRAP_ADMIN_PASSWORD", ADMIN_PASSWORD);
        m.put("PARLEY_AUTH_ACCESS_TOKEN_MINUTES", "1440");
        for (String level : List.of("KEY", "USER", "TENANT")) {
            m.put("PARLEY_RATELIMIT_" + level + "_RPM", "600000000");
            m.put("PARLEY_RATELIMIT_" + level + "_BURST", "1000000");
        }
        return Map.copyOf(m);
    }

    static Map<String, String> redisEnv() {
        Map<String, String> m = new HashMap<>(env());
        m.put("PARLEY_RATELIMIT_STORE", "redis");
        m.put("PARLEY_REDIS_URI", REDIS_URI);
        return Map.copyOf(m);
    }

    void run() throws Exception {
        long t0 = System.nanoTime();
        int rounds = Integer.parseInt(opt("auth-rounds", "10", "2"));
        int warmupRounds = Integer.parseInt(opt("auth-warmup-rounds", "1", "0"));
        int clients = Integer.parseInt(opt("auth-clients", "64", "64"));
        Duration warm = seconds("auth-warmup-seconds", "1.5", "1");
        Duration measure = seconds("auth-measure-seconds", "3", "3");
        Duration prime = seconds("auth-prime-seconds", "4", "2");
        int primeRequests = Integer.parseInt(opt("auth-prime-requests", "2000", "200"));
        Duration profileFor = seconds("auth-profile-seconds", "15", "3");
        List<String> wanted = Arrays.stream(opt("auth-variants", "baseline,before,api-key,jwt,api-key-redis,two-nodes",
                "baseline,api-key,jwt,two-nodes").split(",")).map(String::trim).filter(s -> !s.isEmpty()).toList();
        List<String> loadKeys = Arrays.stream(opt("auth-loads", "stream-paced,stream-instant,nonstream-instant",
                "stream-paced,stream-instant,nonstream-instant").split(",")).map(String::trim).toList();
        List<Load> loads = Interleaved.LOADS.stream().filter(l -> loadKeys.contains(l.key())).toList();

        ObjectNode root = runs.header(a);
        ObjectNode opts = root.putObject("options");
        opts.put("quick", quick).put("rounds", rounds).put("warmupRounds", warmupRounds).put("clients", clients)
                .put("warmupSeconds", warm.toMillis() / 1000.0).put("measureSeconds", measure.toMillis() / 1000.0)
                .put("primeSeconds", prime.toMillis() / 1000.0).put("primeRequests", primeRequests)
                .put("profileSeconds", profileFor.toMillis() / 1000.0);
        Interleaved.describeLoads(opts.putArray("loads"), loads);

        List<Variant> variants = new ArrayList<>();
        Variant secondNode = null;
        for (String key : wanted) {
            switch (key) {
                case "baseline" -> jar("baseline-jar").ifPresentOrElse(j -> variants.add(new Variant("baseline",
                        "the server jar of commit " + a.getOrDefault("baseline-commit", "?") + ", the relay-speed "
                                + "work's last commit: no credential is checked on `/v1` (any bearer is accepted), "
                                + "no router, no usage records, no observability", j, env(), false)),
                        () -> skipped(root, "baseline"));
                case "before" -> jar("before-jar").ifPresentOrElse(j -> variants.add(new Variant("before",
                        "the server jar of commit " + a.getOrDefault("before-commit", "?") + ", the last commit "
                                + "before identity: router, usage records and observability as today, but `/v1` "
                                + "accepts any bearer, no rate limits, no budgets", j, env(), false)),
                        () -> skipped(root, "before"));
                case "api-key" -> variants.add(new Variant("api-key", "this build; clients send an API key "
                        + "(`pk-parley-…`, made through `/api/v1/keys` at start); rate limits in process",
                        o.serverJar(), env(), false));
                case "jwt" -> variants.add(new Variant("jwt", "this build; clients send the bootstrap admin's access "
                        + "token (an ES256 JWT from `/api/v1/auth/login`); rate limits in process", o.serverJar(), env(),
                        false));
                case "api-key-redis" -> variants.add(new Variant("api-key-redis", "this build; an API key; rate limits "
                        + "in Redis (" + REDIS_URI + ", `PARLEY_RATELIMIT_STORE=redis`): one Lua script call per "
                        + "request deciding its three buckets together", o.serverJar(), redisEnv(), false));
                case "two-nodes" -> {
                    variants.add(new Variant("two-nodes", "this build, two processes sharing Redis for their rate "
                            + "limits, each with its own embedded database and its own API key (one tenant, one "
                            + "user: those buckets are shared); clients alternate between the nodes, CPU is summed "
                            + "over both", o.serverJar(), redisEnv(), false));
                    secondNode = new Variant("two-nodes-2", "the second node of two-nodes", o.serverJar(), redisEnv(),
                            false);
                }
                default -> throw new IllegalArgumentException("unknown auth variant " + key
                        + " (baseline, before, api-key, jwt, api-key-redis, two-nodes)");
            }
        }
        root.put("baselineCommit", a.getOrDefault("baseline-commit", ""));
        root.put("beforeCommit", a.getOrDefault("before-commit", ""));

        ArrayNode measuredRuns = root.putArray("runs");
        try {
            relay.openUpstream();
            ArrayNode vs = root.putArray("variants");
            for (Variant v : variants) {
                vs.add(start(v, v.key().equals("two-nodes") ? secondNode : null));
            }
            runs.initJfr();
            runs.prime(variants, loads, clients, prime, primeRequests);
            ObjectNode decisions0 = decisions(variants);
            runs.rounds(variants, loads, clients, warmupRounds, rounds, warm, measure, Duration.ofSeconds(1),
                    measuredRuns);
            ObjectNode decisions1 = decisions(variants);
            root.set("rateLimitDecisionsDuringRounds", delta(decisions0, decisions1));
            if (profileFor.toMillis() > 0) {
                root.set("profile", runs.profile(variants.stream().filter(v -> v.jar().equals(o.serverJar())
                        && !v.key().equals("two-nodes")).toList(), loads, clients, profileFor, Duration.ofSeconds(1),
                        FOCUS));
            }
            ObjectNode rss = root.putObject("rssAtEndMb");
            for (Variant v : variants) {
                double kb = 0;
                for (long pid : runs.gateway(v.key()).pids()) {
                    kb += Processes.rssKb(pid);
                }
                rss.put(v.key(), Math.round(kb / 102.4) / 10.0);
            }
        } finally {
            runs.close();
        }
        root.put("loadavgAtEnd", Interleaved.loadavg());
        root.put("wallSeconds", Math.round((System.nanoTime() - t0) / 1e9));
        Files.writeString(o.out().resolve(RESULTS), JSON.writeValueAsString(root) + "\n");
        Benchmark.writeReport(o.out(), RESULTS);
        Benchmark.log("wrote " + o.out().resolve("RESULTS.md") + " and " + RESULTS + " after "
                + root.path("wallSeconds").asLong() + " s");
    }

    private java.util.Optional<Path> jar(String option) {
        return java.util.Optional.ofNullable(a.get(option)).map(Path::of).filter(Files::isRegularFile);
    }

    private static void skipped(ObjectNode root, String key) {
        Benchmark.log("no jar for the " + key + " variant: skipped");
        root.put(key + "Note", "skipped: no jar was given (or building it failed)");
    }

    /**
     * Starts a variant (and its second node), gives its clients their credential, and checks that it is really
     * checked: a chat with it is answered, one with a wrong credential is refused (this build) or answered (the older
     * jars, which check none).
     */
    private ObjectNode start(Variant v, Variant second) throws Exception {
        ObjectNode n = runs.start(v, "auth");
        Gateway g = runs.gateway(v.key());
        boolean thisBuild = v.jar().equals(o.serverJar());
        String credential = switch (v.key()) {
            case "jwt" -> accessToken(g.base());
            case "baseline", "before" -> Benchmark.CREDENTIAL;
            default -> apiKey(g.base());
        };
        List<Long> pids = new ArrayList<>(g.pids());
        List<Relay.Endpoint> endpoints = new ArrayList<>(List.of(new Relay.Endpoint(g.base(), credential)));
        if (second != null) {
            n.set("secondNode", runs.start(second, "auth"));
            Gateway g2 = runs.gateway(second.key());
            pids.addAll(g2.pids());
            // Each node its own database, so each its own key.
            endpoints.add(new Relay.Endpoint(g2.base(), apiKey(g2.base())));
        }
        runs.gateway(v.key(), new Gateway(g.name(), g.base(), List.copyOf(pids), List.copyOf(endpoints)));
        for (int i = 0; i < endpoints.size(); i++) {
            Relay.Endpoint e = endpoints.get(i);
            int ok = chat(e.base(), e.credential());
            int wrong = chat(e.base(), "pk-parley-not-a-key");
            if (ok != 200 || (thisBuild && wrong != 401)) {
                throw new IllegalStateException(v.key() + " node " + (i + 1) + ": a chat with its credential got "
                        + ok + ", with a wrong one " + wrong + " (expected 200 and " + (thisBuild ? "401" : "any")
                        + ")");
            }
        }
        n.put("credential", credentialKind(v.key()));
        Benchmark.Started s = runs.started(v.key());
        Benchmark.log(String.format(Locale.ROOT, "%s: pid %s, port %d, ready %.0f ms, credential %s", v.key(), pids,
                s.port(), s.readyMs(), credentialKind(v.key())));
        return n;
    }

    private static String credentialKind(String key) {
        return switch (key) {
            case "jwt" -> "access token (JWT)";
            case "baseline", "before" -> "any bearer (not checked)";
            default -> "API key";
        };
    }

    private String apiKey(URI base) throws Exception {
        ContentResponse r = relay.client().http().newRequest(base.resolve("/api/v1/keys")).method(HttpMethod.POST)
                .headers(h -> h.put("Authorization", "Bearer " + Benchmark.CREDENTIAL))
                .body(new StringRequestContent("application/json", "{\"name\":\"benchmark\"}"))
                .timeout(30, TimeUnit.SECONDS).send();
        Matcher m = KEY.matcher(r.getContentAsString());
        if (r.getStatus() != 201 || !m.find()) {
            throw new IllegalStateException("creating an API key failed: " + r.getStatus() + " "
                    + r.getContentAsString());
        }
        return m.group(1);
    }

    private String accessToken(URI base) throws Exception {
        ContentResponse r = relay.client().http().newRequest(base.resolve("/api/v1/auth/login")).method(HttpMethod.POST)
                .body(new StringRequestContent("application/json", "{\"tenant\":\"default\",\"username\":\"admin\","
                        + "\"password\":\"" + ADMIN_PASSWORD + "\"}"))
                .timeout(30, TimeUnit.SECONDS).send();
        Matcher m = ACCESS_TOKEN.matcher(r.getContentAsString());
        if (r.getStatus() != 200 || !m.find()) {
            throw new IllegalStateException("signing in failed: " + r.getStatus() + " " + r.getContentAsString());
        }
        return m.group(1);
    }

    private int chat(URI base, String credential) throws Exception {
        return relay.client().http().POST(base.resolve("/v1/chat/completions"))
                .headers(h -> h.put("Content-Type", "application/json").put("Authorization", "Bearer " + credential))
                .body(new StringRequestContent(RelayClient.openAiBody(RelayClient.MODEL, false)))
                .timeout(30, TimeUnit.SECONDS).send().getStatus();
    }

    /** {@code parley_ratelimit_decisions_total} by variant and result: a timed-out Redis call shows as degraded. */
    private ObjectNode decisions(List<Variant> variants) {
        ObjectNode n = JSON.createObjectNode();
        for (Variant v : variants) {
            if (!v.jar().equals(o.serverJar())) {
                continue;
            }
            ObjectNode per = n.putObject(v.key());
            for (String key : v.key().equals("two-nodes") ? List.of(v.key(), "two-nodes-2") : List.of(v.key())) {
                Matcher m = DECISIONS.matcher(runs.metrics(key));
                while (m.find()) {
                    per.put(m.group(1), per.path(m.group(1)).asDouble() + Double.parseDouble(m.group(2)));
                }
            }
        }
        return n;
    }

    private static ObjectNode delta(ObjectNode before, ObjectNode after) {
        ObjectNode n = JSON.createObjectNode();
        after.fields().forEachRemaining(v -> {
            ObjectNode per = n.putObject(v.getKey());
            v.getValue().fields().forEachRemaining(e -> per.put(e.getKey(), Math.round(e.getValue().asDouble()
                    - before.path(v.getKey()).path(e.getKey()).asDouble())));
        });
        return n;
    }
}

package dev.parley.server;

import static dev.parley.server.PluginAdmin.ECHO_ID;
import static dev.parley.server.PluginAdmin.ECHO_MODEL;
import static dev.parley.server.PluginAdmin.ECHO_PUBLISHER;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.registry.Signatures;
import dev.parley.testsupport.FakeOpenAiServer;
import dev.parley.testsupport.plugins.TestPluginJars;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.UUID;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The dashboards and alert rules in observability/ against the real server: the exported jar is started with model
 * prices, driven so that every metric has a reason to appear (streamed, whole, failed and cut chat turns against the
 * fake OpenAI server, a WebSocket held open, /health/ready, a plugin installed and an upgrade refused by the health
 * gate), and every metric name any dashboard panel, dashboard variable or alert uses must be in its GET /metrics.
 */
class MetricsContractIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final String TOKEN = "metrics-admin-" + UUID.randomUUID();
    static final String MODEL = "fake-model";
    /** Series Prometheus writes itself for every target; no server exposes them. */
    static final Set<String> WRITTEN_BY_PROMETHEUS = Set.of("up");
    /** Labels Prometheus adds to every series it scrapes (the target's). */
    static final Set<String> ADDED_BY_PROMETHEUS = Set.of("job", "instance");
    /**
     * Labels only failed operations carry. The test drives failed chat turns and HTTP errors, not failed store queries,
     * so a query on {@code db_client_operation_duration_seconds{error_type!=""}} finds no such series here.
     */
    static final Set<String> ONLY_ON_FAILURES = Set.of("error_type");
    /** The Accept header Prometheus 2.x sends when it scrapes. */
    static final String PROMETHEUS_ACCEPT = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;"
            + "version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

    @Test
    void everyMetricTheDashboardsAndAlertsUseIsExposedByTheServer(@TempDir Path temp) throws Exception {
        Map<String, List<String>> referenced = ObservabilityFiles.referencedMetrics();
        assertThat(referenced).isNotEmpty();
        Path data = temp.resolve("data");
        Files.createDirectories(data.resolve("config"));
        // Reconcile every second so the reconciler's lag is measured soon after start.
        Files.writeString(data.resolve("config/plugins.json"),
                "{\"dev.parley.plugins\": {\"reconcileIntervalSeconds\": 1, \"retryFailedSeconds\": 1}}");
        var env = new HashMap<String, String>();
        try (var upstream = FakeOpenAiServer.start()) {
            env.put("OPENAI_BASE_URL", upstream.baseUrl());
            env.put("OPENAI_MODELS", MODEL);
            env.put("PARLEY_ADMIN_TOKEN", TOKEN);
            env.put("PARLEY_MODEL_PRICES", MODEL + "=0.15:0.60");
            try (var parley = ParleyProcess.start(data, env)) {
                driveTraffic(parley, upstream);
                try (var socket = openWebSocketWithOneTurn(parley)) {
                    assertThat(get(parley, "/health/ready").statusCode()).isEqualTo(200);
                    // Some series appear only once their callback or the reconciler has run: scrape until every
                    // name is there, and report what is still missing when the time is up.
                    // Both formats: Prometheus asks for OpenMetrics first, other scrapers get the text format.
                    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1)).ignoreExceptions()
                            .untilAsserted(() -> {
                                assertAllExposed(referenced, scrape(parley, null));
                                assertAllExposed(referenced, scrape(parley, PROMETHEUS_ACCEPT));
                            });
                }
            }
        }
    }

    /** Whole, streamed, failed and cut turns; a plugin installed, and an upgrade the health gate refuses. */
    static void driveTraffic(ParleyProcess parley, FakeOpenAiServer upstream) throws Exception {
        String id = createConversation(parley);
        String turns = "/api/v1/conversations/" + id + "/messages";
        var whole = post(parley, turns, "{\"content\":\"a whole answer\"}");
        assertThat(whole.statusCode()).as(whole.body()).isEqualTo(200);

        var streamed = HTTP.send(parley.request(turns).header("Content-Type", "application/json")
                .header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString("{\"content\":\"a streamed answer\"}")).build(),
                HttpResponse.BodyHandlers.ofLines());
        var events = Sse.read(streamed.body(), e -> { });
        assertThat(events.get(events.size() - 1).name()).isEqualTo("done");

        upstream.failWith(500);
        assertThat(post(parley, turns, "{\"content\":\"the provider fails\"}").statusCode()).isEqualTo(502);
        upstream.cutStreamAfter(2);
        var cut = HTTP.send(parley.request(turns + "?stream=true")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"content\":\"this stream is cut short\"}")).build(),
                HttpResponse.BodyHandlers.ofLines());
        var cutEvents = Sse.read(cut.body(), e -> { });
        assertThat(cutEvents.get(cutEvents.size() - 1).name()).isEqualTo("error");

        var admin = new PluginAdmin(parley, TOKEN);
        String[] keys = Signatures.generateKeyPair();
        assertThat(admin.addPublisher(ECHO_PUBLISHER, keys[0]).status()).isEqualTo(201);
        var published = admin.publish(TestPluginJars.withVersion(PluginAdmin.exampleJar(), "1.0.0"), keys[1]);
        assertThat(published.status()).as(published.body()).isEqualTo(201);
        var installed = admin.install(ECHO_ID, "1.0.0");
        assertThat(installed.status()).as(installed.body()).isEqualTo(201);
        assertThat(admin.answer(ECHO_MODEL, "hello plugin")).isEqualTo("[echo 1.0.0] hello plugin");
        // 2.0.0 throws when its component activates: the health gate refuses it and 1.0.0 keeps serving.
        published = admin.publish(TestPluginJars.throwingOnActivate(ECHO_ID, "2.0.0", ECHO_PUBLISHER), keys[1]);
        assertThat(published.status()).as(published.body()).isEqualTo(201);
        var refused = admin.upgrade(ECHO_ID, "2.0.0");
        assertThat(refused.status()).as(refused.body()).isEqualTo(422);
    }

    /** A WebSocket that has run one turn and stays open (the connection gauge counts it) until closed. */
    static AutoCloseable openWebSocketWithOneTurn(ParleyProcess parley) throws Exception {
        var done = new CountDownLatch(1);
        var listener = new WebSocket.Listener() {
            final StringBuilder partial = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
                partial.append(data);
                if (last) {
                    if (partial.indexOf("\"type\":\"done\"") >= 0) {
                        done.countDown();
                    }
                    partial.setLength(0);
                }
                ws.request(1);
                return null;
            }
        };
        WebSocket ws = HTTP.newWebSocketBuilder().header("Authorization", "Bearer " + parley.token())
                .buildAsync(URI.create("ws://127.0.0.1:" + parley.port + "/api/v1/chat/ws"), listener)
                .get(10, TimeUnit.SECONDS);
        ws.sendText("{\"type\":\"send\",\"id\":\"w1\",\"content\":\"over the socket\"}", true).get(5, TimeUnit.SECONDS);
        assertThat(done.await(20, TimeUnit.SECONDS)).as("the WebSocket turn ended").isTrue();
        return () -> ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
    }

    /**
     * Each referenced name the scrape lacks, with where it is used. A name is exposed when a sample has it, or when it
     * is a histogram's or summary's base name whose {@code _bucket}/{@code _sum}/{@code _count} series are there.
     */
    static Map<String, String> missing(Map<String, List<String>> referenced, Map<String, Set<String>> exposed) {
        var missing = new TreeMap<String, String>();
        referenced.forEach((name, where) -> {
            if (!exposed.containsKey(name) && !WRITTEN_BY_PROMETHEUS.contains(name)) {
                missing.put(name, String.join("; ", where));
            }
        });
        return missing;
    }

    /**
     * Each label a query matches on, groups by or shows in its legend that none of its metrics' series carries (a
     * typo there makes an empty panel or an alert that never fires, with every metric name right).
     */
    static List<String> missingLabels(List<ObservabilityFiles.Query> queries, Map<String, Set<String>> exposed) {
        var problems = new ArrayList<String>();
        for (var q : queries) {
            var metrics = q.names().metrics().stream().filter(exposed::containsKey).toList();
            if (metrics.isEmpty()) {
                continue; // reported as a missing name
            }
            Set<String> carried = new TreeSet<>();
            metrics.forEach(m -> carried.addAll(exposed.get(m)));
            for (String label : q.labels()) {
                if (!carried.contains(label) && !ADDED_BY_PROMETHEUS.contains(label) && !ONLY_ON_FAILURES.contains(label)) {
                    problems.add("  " + label + "\n    used by: " + q.where() + "\n    not on any series of "
                            + metrics + " (their labels: " + carried + ")");
                }
            }
        }
        return problems;
    }

    /**
     * Every series name in a scrape with the label names its samples carry; histogram and summary family names (from
     * their TYPE lines) carry the labels of their {@code _bucket}, {@code _sum} and {@code _count} series.
     */
    static Map<String, Set<String>> exposed(String scrape) {
        var series = new TreeMap<String, Set<String>>();
        var families = new ArrayList<String>();
        for (String line : scrape.split("\n")) {
            if (line.startsWith("# TYPE ")) {
                String[] parts = line.split(" ");
                if (parts.length >= 4 && (parts[3].equals("histogram") || parts[3].equals("summary"))) {
                    families.add(parts[2]);
                }
            } else if (!line.isBlank() && !line.startsWith("#")) {
                int end = 0;
                while (end < line.length() && line.charAt(end) != '{' && line.charAt(end) != ' ') {
                    end++;
                }
                series.computeIfAbsent(line.substring(0, end), n -> new TreeSet<>()).addAll(labelNames(line, end));
            }
        }
        for (String family : families) {
            Set<String> labels = new TreeSet<>();
            for (String suffix : List.of("", "_bucket", "_sum", "_count")) {
                labels.addAll(series.getOrDefault(family + suffix, Set.of()));
            }
            series.put(family, labels);
        }
        return series;
    }

    /** The label names of one sample line ({@code name{a="x",b="y"} 1.0}), from {@code at}, its opening brace. */
    static Set<String> labelNames(String line, int at) {
        var names = new TreeSet<String>();
        if (at >= line.length() || line.charAt(at) != '{') {
            return names;
        }
        int i = at + 1;
        while (i < line.length() && line.charAt(i) != '}') {
            int eq = line.indexOf('=', i);
            names.add(line.substring(i, eq).trim());
            i = eq + 2; // past ="
            while (line.charAt(i) != '"') {
                i += line.charAt(i) == '\\' ? 2 : 1;
            }
            i++; // past the closing quote
            if (line.charAt(i) == ',') {
                i++;
            }
        }
        return names;
    }

    static void assertAllExposed(Map<String, List<String>> referenced, String scrape) {
        Map<String, Set<String>> exposed = exposed(scrape);
        assertThat(exposed).as("a scrape with the HTTP server metrics").containsKeys(
                "http_server_request_duration_seconds_bucket", "http_server_request_duration_seconds");
        Map<String, String> missing = missing(referenced, exposed);
        List<String> labels = missingLabels(ObservabilityFiles.queries(), exposed);
        if (!missing.isEmpty() || !labels.isEmpty()) {
            var report = new StringBuilder();
            if (!missing.isEmpty()) {
                report.append("GET /metrics does not expose ").append(missing.size())
                        .append(" metric name(s) that observability/ uses:\n").append(missing.entrySet().stream()
                                .map(e -> "  " + e.getKey() + "\n    used by: "
                                        + e.getValue().replace("; ", "\n             "))
                                .collect(Collectors.joining("\n", "", "\n")));
            }
            if (!labels.isEmpty()) {
                report.append(labels.size()).append(" label(s) that queries in observability/ use are on none of ")
                        .append("their metrics' series:\n").append(String.join("\n", labels));
            }
            throw new AssertionError(report.toString());
        }
    }

    /**
     * GET /metrics with {@code accept} (null: none, the text format); the last scrape of each format is kept beside
     * the server's log, for reading after a failure.
     */
    static String scrape(ParleyProcess parley, String accept) throws Exception {
        var request = parley.request("/metrics");
        if (accept != null) {
            request.header("Accept", accept);
        }
        var r = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        String format = r.headers().firstValue("Content-Type").orElse("").startsWith("application/openmetrics-text")
                ? "openmetrics" : "text";
        assertThat(format).as("format answered to Accept: %s", accept).isEqualTo(accept == null ? "text" : "openmetrics");
        Files.writeString(parley.log.resolveSibling("metrics-contract-" + parley.port + "." + format + ".txt"), r.body());
        return r.body();
    }

    static String createConversation(ParleyProcess parley) throws Exception {
        var r = post(parley, "/api/v1/conversations", "{\"title\":\"metrics\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        JsonNode body = JSON.readTree(r.body());
        return body.get("id").asText();
    }

    static HttpResponse<String> post(ParleyProcess parley, String path, String body) throws Exception {
        return HTTP.send(parley.request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(ParleyProcess parley, String path) throws Exception {
        return HTTP.send(parley.request(path).build(), HttpResponse.BodyHandlers.ofString());
    }

}

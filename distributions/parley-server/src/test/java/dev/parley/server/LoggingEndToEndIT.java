package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.testsupport.FakeOpenAiServer;
import java.io.IOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exported server's log, as an operator's log pipeline sees it: with {@code PARLEY_LOG_FORMAT=json} every line on
 * stdout is one JSON object with the field names of logstash-logback-encoder; levels change at run time through the
 * admin API; and neither the upstream key, the admin token nor what a user wrote ever reaches the log at the default
 * levels.
 */
class LoggingEndToEndIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final Set<String> LEVELS = Set.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR");
    static final Pattern ISO_UTC = Pattern.compile("\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z");
    static final Pattern TEXT_LINE = Pattern.compile(
            "\\d{4}-\\d{2}-\\d{2}T\\d{2}:\\d{2}:\\d{2}\\.\\d{3}Z \\[[^\\]]+] (TRACE|DEBUG|INFO|WARN|ERROR) \\S+ - .*");
    static final String CORE = "dev.parley.core.internal.CoreChatService";

    /** Recognisable values that must never be logged: each test run has its own. */
    final String run = UUID.randomUUID().toString().replace("-", "").substring(0, 12);
    final String apiKey = "sk-logcheck-" + run + "-SECRET";
    final String adminToken = "admin-logcheck-" + run;
    final String promptCanary = "canary" + run;

    @TempDir
    Path temp;
    FakeOpenAiServer upstream;
    ParleyProcess parley;

    @BeforeEach
    void startUpstream() throws IOException {
        upstream = FakeOpenAiServer.start(apiKey);
    }

    @AfterEach
    void stop() throws Exception {
        if (parley != null) {
            parley.close();
        }
        upstream.close();
    }

    ParleyProcess start(Map<String, String> extra) throws IOException {
        var env = new HashMap<>(Map.of(
                "OPENAI_API_KEY", apiKey,
                "OPENAI_BASE_URL", upstream.baseUrl(),
                "OPENAI_MODELS", "fake-model",
                "PARLEY_ADMIN_TOKEN", adminToken));
        env.putAll(extra);
        return ParleyProcess.startWithSeparateStderr(temp.resolve("data"), env);
    }

    @Test
    void jsonLinesLevelsAtRunTimeAndNoSecrets() throws Exception {
        parley = start(Map.of("PARLEY_LOG_FORMAT", "json"));

        // A turn over the native API and one over the OpenAI-compatible API, both carrying the canary.
        String conversation = createConversation();
        var turn = post("/api/v1/conversations/" + conversation + "/messages",
                "{\"content\":\"" + promptCanary + " what is OSGi?\"}", adminToken);
        assertThat(turn.statusCode()).as(turn.body()).isEqualTo(200);
        assertThat(turn.body()).contains("echo: " + promptCanary);
        var completion = post("/v1/chat/completions", "{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"" + promptCanary + " again\"}]}", adminToken);
        assertThat(completion.statusCode()).as(completion.body()).isEqualTo(200);
        // Both turns have ended (their INFO line is written when the answer is stored): nothing logged DEBUG.
        await().atMost(Duration.ofSeconds(10)).until(() -> count(jsonLines(), "turn completed") >= 2);
        assertThat(jsonLines()).noneMatch(l -> l.path("level").asText().equals("DEBUG"));

        // Without the admin token: 401, nothing shown, nothing changed.
        assertProblem(send(HttpRequest.newBuilder(parley.uri("/api/v1/admin/loggers")).GET().build()), 401);
        assertProblem(put("/api/v1/admin/loggers/" + CORE, "{\"level\":\"DEBUG\"}", null), 401);
        assertProblem(put("/api/v1/admin/loggers/" + CORE, "{\"level\":\"DEBUG\"}", "wrong-" + adminToken), 401);

        // Bad input: 400 problems, nothing changed.
        assertProblem(put("/api/v1/admin/loggers/" + CORE, "{\"level\":\"LOUD\"}", adminToken), 400);
        assertProblem(put("/api/v1/admin/loggers/" + CORE, "{\"level\": \"DEBUG\"", adminToken), 400);
        assertProblem(put("/api/v1/admin/loggers/" + CORE, "{\"level\":7}", adminToken), 400);
        assertProblem(put("/api/v1/admin/loggers/not%20a%20logger", "{\"level\":\"DEBUG\"}", adminToken), 400);
        assertProblem(put("/api/v1/admin/loggers/dev..parley", "{\"level\":\"DEBUG\"}", adminToken), 400);
        JsonNode unchanged = json(get("/api/v1/admin/loggers/" + CORE, adminToken));
        assertThat(unchanged.get("level").isNull()).isTrue();
        assertThat(unchanged.get("effectiveLevel").asText()).isEqualTo("INFO");

        JsonNode all = json(get("/api/v1/admin/loggers", adminToken));
        assertThat(all.get("rootLevel").asText()).isEqualTo("INFO");
        assertThat(all.get("loggers")).noneMatch(l -> l.get("name").asText().equals(CORE));

        // DEBUG for one logger takes effect at once: the next turn logs a DEBUG line of that logger.
        var changed = put("/api/v1/admin/loggers/" + CORE, "{\"level\":\"debug\"}", adminToken);
        assertThat(changed.statusCode()).as(changed.body()).isEqualTo(200);
        assertThat(JSON.readTree(changed.body()).get("level").asText()).isEqualTo("DEBUG");
        assertThat(json(get("/api/v1/admin/loggers", adminToken)).get("loggers"))
                .anyMatch(l -> l.get("name").asText().equals(CORE) && l.get("level").asText().equals("DEBUG"));
        var third = post("/api/v1/conversations/" + conversation + "/messages",
                "{\"content\":\"" + promptCanary + " once more\"}", adminToken);
        assertThat(third.statusCode()).as(third.body()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10)).until(() -> jsonLines().stream()
                .anyMatch(l -> l.path("level").asText().equals("DEBUG") && l.path("logger_name").asText().equals(CORE)));
        // ... and only of that logger.
        assertThat(jsonLines()).filteredOn(l -> l.path("level").asText().equals("DEBUG"))
                .allMatch(l -> l.path("logger_name").asText().equals(CORE));

        // null: inherited again.
        var reset = put("/api/v1/admin/loggers/" + CORE, "{\"level\":null}", adminToken);
        assertThat(reset.statusCode()).as(reset.body()).isEqualTo(200);
        assertThat(JSON.readTree(reset.body()).get("level").isNull()).isTrue();
        assertThat(JSON.readTree(reset.body()).get("effectiveLevel").asText()).isEqualTo("INFO");

        assertThat(parley.stop()).isEqualTo(143);

        List<String> lines = Files.readAllLines(parley.log, StandardCharsets.UTF_8);
        assertThat(lines).hasSizeGreaterThan(10);
        for (String line : lines) {
            JsonNode event = JSON.readTree(line);
            assertThat(event.isObject()).as(line).isTrue();
            assertThat(event.path("@timestamp").asText()).as(line).matches(ISO_UTC);
            assertThat(LEVELS).as(line).contains(event.path("level").asText());
            assertThat(event.path("logger_name").asText()).as(line).isNotBlank();
            assertThat(event.path("thread_name").isTextual()).as(line).isTrue();
            assertThat(event.path("message").isTextual()).as(line).isTrue();
            assertThat(event.path("service").asText()).as(line).isEqualTo("parley");
            assertThat(event.has("stack_trace")).as(line).isEqualTo(event.path("stack_trace").isTextual());
            assertThat(event.has("mdc")).as(line).isFalse();
        }
        // java.util.logging is part of the same stream: the launcher's start line, the REST whiteboard's lines.
        assertThat(lines).anyMatch(l -> l.contains("\"logger_name\":\"dev.parley.launcher\"") && l.contains("framework started"));
        assertThat(count(lines.stream().map(LoggingEndToEndIT::parse).toList(), "turn completed")).isEqualTo(3);
        assertNoSecrets();
    }

    /**
     * The default text lines; and a logger's level from the environment ({@code PARLEY_LOG_LEVELS}, through
     * Configuration Admin to dev.parley.logging) holds without touching the rest.
     */
    @Test
    void textLinesAndLevelsFromTheEnvironmentWithoutSecrets() throws Exception {
        parley = start(Map.of("PARLEY_LOG_LEVELS", CORE + "=debug"));
        JsonNode levels = json(get("/api/v1/admin/loggers", adminToken));
        assertThat(levels.get("rootLevel").asText()).isEqualTo("INFO");
        assertThat(levels.get("loggers"))
                .anyMatch(l -> l.get("name").asText().equals(CORE) && l.get("level").asText().equals("DEBUG"));

        String conversation = createConversation();
        var turn = post("/api/v1/conversations/" + conversation + "/messages",
                "{\"content\":\"" + promptCanary + " in plain text\"}", adminToken);
        assertThat(turn.statusCode()).as(turn.body()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(10))
                .until(() -> Files.readString(parley.log).contains(CORE + " - turn completed"));
        assertThat(parley.stop()).isEqualTo(143);

        List<String> lines = Files.readAllLines(parley.log, StandardCharsets.UTF_8);
        assertThat(lines).noneMatch(l -> l.startsWith("{"));
        assertThat(lines).anyMatch(l -> TEXT_LINE.matcher(l).matches() && l.contains(" INFO dev.parley.launcher - framework started"));
        assertThat(lines).anyMatch(l -> TEXT_LINE.matcher(l).matches() && l.contains(" INFO " + CORE + " - turn completed"));
        assertThat(lines).anyMatch(l -> TEXT_LINE.matcher(l).matches() && l.contains(" DEBUG " + CORE + " - turn accepted"));
        assertThat(lines).filteredOn(l -> l.contains(" DEBUG ")).allMatch(l -> l.contains(" DEBUG " + CORE + " - "));
        assertNoSecrets();
    }

    private void assertNoSecrets() throws IOException {
        String out = Files.readString(parley.log) + Files.readString(parley.stderr);
        assertThat(out).doesNotContain(apiKey).doesNotContain(run + "-SECRET").doesNotContain(adminToken)
                .doesNotContain(promptCanary);
    }

    /** The complete JSON lines written so far (the last one may still be being written). */
    private List<JsonNode> jsonLines() throws IOException {
        String all = Files.readString(parley.log, StandardCharsets.UTF_8);
        int end = all.lastIndexOf('\n');
        var nodes = new ArrayList<JsonNode>();
        if (end >= 0) {
            all.substring(0, end).lines().map(LoggingEndToEndIT::parse).forEach(nodes::add);
        }
        return nodes;
    }

    private static JsonNode parse(String line) {
        try {
            return JSON.readTree(line);
        } catch (IOException e) {
            throw new AssertionError("not a JSON line: " + line, e);
        }
    }

    private static long count(List<JsonNode> lines, String messageStart) {
        return lines.stream().filter(l -> l.path("message").asText().startsWith(messageStart)).count();
    }

    private String createConversation() throws Exception {
        var created = post("/api/v1/conversations", "{\"title\":\"logs\"}", adminToken);
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        return JSON.readTree(created.body()).get("id").asText();
    }

    private static void assertProblem(HttpResponse<String> response, int status) throws IOException {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(status);
        assertThat(response.headers().firstValue("Content-Type").orElse("")).startsWith("application/problem+json");
        JsonNode problem = JSON.readTree(response.body());
        assertThat(problem.get("status").asInt()).isEqualTo(status);
        assertThat(problem.get("type").asText()).startsWith("https://parley.dev/problems/");
    }

    private JsonNode json(HttpResponse<String> response) throws IOException {
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return JSON.readTree(response.body());
    }

    private HttpResponse<String> get(String path, String token) throws Exception {
        return send(HttpRequest.newBuilder(parley.uri(path)).GET(), token);
    }

    private HttpResponse<String> post(String path, String body, String token) throws Exception {
        return send(HttpRequest.newBuilder(parley.uri(path)).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)), token);
    }

    private HttpResponse<String> put(String path, String body, String token) throws Exception {
        return send(HttpRequest.newBuilder(parley.uri(path)).header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(body)), token);
    }

    /** Sends {@code request}, with the admin token when one is given (null: without, to see the 401). */
    private static HttpResponse<String> send(HttpRequest.Builder request, String token) throws Exception {
        if (token != null) {
            request.header("Authorization", "Bearer " + token);
        }
        return send(request.build());
    }

    private static HttpResponse<String> send(HttpRequest request) throws Exception {
        return HTTP.send(request, HttpResponse.BodyHandlers.ofString());
    }
}

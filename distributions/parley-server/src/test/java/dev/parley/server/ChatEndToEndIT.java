package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.errors.RateLimitException;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import dev.parley.testsupport.FakeOpenAiServer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exported server, run as a process, pointed at a local server that speaks the OpenAI chat-completions
 * wire protocol; driven by the official OpenAI Java SDK, a plain HTTP client (JSON and SSE) and a WebSocket client.
 */
class ChatEndToEndIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @TempDir
    static Path temp;
    static FakeOpenAiServer upstream;
    static ParleyProcess parley;

    @BeforeAll
    static void start() throws Exception {
        upstream = FakeOpenAiServer.start("sk-upstream");
        parley = ParleyProcess.start(temp.resolve("data"), Map.of(
                "OPENAI_API_KEY", "sk-upstream",
                "OPENAI_BASE_URL", upstream.baseUrl(),
                "OPENAI_MODELS", "fake-model"));
    }

    @AfterAll
    static void stop() throws Exception {
        if (parley != null) {
            parley.close();
        }
        if (upstream != null) {
            upstream.close();
        }
    }

    @BeforeEach
    void resetUpstream() {
        upstream.firstTokenDelay(Duration.ZERO).tokenDelay(Duration.ZERO);
    }

    // ---- OpenAI-compatible API through the official SDK ---------------------------------------------------------

    OpenAIClient sdk() {
        return OpenAIOkHttpClient.builder().baseUrl(parley.uri("/v1").toString()).apiKey(parley.token()).maxRetries(0).build();
    }

    @Test
    void theOfficialOpenAiSdkGetsAnAnswer() {
        var completion = sdk().chat().completions().create(ChatCompletionCreateParams.builder()
                .model("fake-model").addUserMessage("what is parley").build());
        assertThat(completion.choices().get(0).message().content()).contains("echo: what is parley");
        assertThat(completion.usage()).isPresent();
        assertThat(completion.usage().get().completionTokens()).isPositive();
        // The SDK asked for no stream, so neither did Parley: one non-streamed upstream call.
        var sent = upstreamRequestFor("what is parley");
        assertThat(sent.path("stream").isBoolean()).isTrue();
        assertThat(sent.path("stream").asBoolean()).isFalse();
        assertThat(sent.has("stream_options")).isFalse();
    }

    @Test
    void theOfficialOpenAiSdkStreamsAnAnswer() {
        var text = new StringBuilder();
        int chunks = 0;
        try (var stream = sdk().chat().completions().createStreaming(ChatCompletionCreateParams.builder()
                .model("fake-model").addUserMessage("stream me three words").build())) {
            for (var chunk : (Iterable<com.openai.models.chat.completions.ChatCompletionChunk>) stream.stream()::iterator) {
                chunks++;
                chunk.choices().forEach(c -> c.delta().content().ifPresent(text::append));
            }
        }
        assertThat(text.toString()).isEqualTo("echo: stream me three words");
        assertThat(chunks).isGreaterThan(3);
        assertThat(upstreamRequestFor("stream me three words").path("stream").asBoolean()).isTrue();
    }

    @Test
    void theSdkSeesRateLimitsAsOpenAiWouldReportThem() {
        upstream.rateLimit(7);
        try {
            sdk().chat().completions().create(ChatCompletionCreateParams.builder().model("fake-model")
                    .addUserMessage("hi").build());
            throw new AssertionError("expected a rate limit error");
        } catch (RateLimitException e) {
            assertThat(e.statusCode()).isEqualTo(429);
            assertThat(e.headers().values("Retry-After")).containsExactly("7");
        }
    }

    // ---- native REST: JSON and SSE --------------------------------------------------------------------------------

    @Test
    void aTurnOverRestIsAnsweredAndStored() throws Exception {
        String id = createConversation();
        var reply = post("/api/v1/conversations/" + id + "/messages", "{\"content\":\"hello parley\"}");
        assertThat(reply.statusCode()).as(reply.body()).isEqualTo(200);
        var body = JSON.readTree(reply.body());
        assertThat(body.at("/answer/content").asText()).isEqualTo("echo: hello parley");
        assertThat(body.at("/answer/status").asText()).isEqualTo("complete");
        assertThat(body.at("/answer/usage/completionTokens").asInt()).isPositive();
        assertThat(body.at("/answer/timeToFirstTokenMs").isNumber()).isTrue();

        var messages = JSON.readTree(get("/api/v1/conversations/" + id + "/messages").body()).get("items");
        assertThat(messages).hasSize(2);
        assertThat(messages.get(0).get("content").asText()).isEqualTo("hello parley");
        assertThat(messages.get(1).get("content").asText()).isEqualTo("echo: hello parley");
        assertThat(upstreamRequestFor("hello parley").path("stream").asBoolean(true)).isFalse();
    }

    /** The body of the one upstream chat request whose last message is {@code text}. */
    static JsonNode upstreamRequestFor(String text) {
        var matching = upstream.chatRequests().stream().filter(r -> {
            var messages = r.body().path("messages");
            return messages.size() > 0 && text.equals(messages.get(messages.size() - 1).path("content").asText());
        }).toList();
        assertThat(matching).as("upstream requests for '%s'", text).hasSize(1);
        return matching.get(0).body();
    }

    @Test
    void sseDeliversTokensAsTheyArrive() throws Exception {
        upstream.tokenDelay(Duration.ofMillis(150));
        String id = createConversation();
        var request = parley.request("/api/v1/conversations/" + id + "/messages")
                .header("Content-Type", "application/json").header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString("{\"content\":\"one two three four\"}")).build();
        var firstTokenSeenAt = new long[1];
        var response = HTTP.send(request, HttpResponse.BodyHandlers.ofLines());
        assertThat(response.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        var events = Sse.read(response.body(), e -> {
            if (e.name().equals("token") && firstTokenSeenAt[0] == 0) {
                firstTokenSeenAt[0] = System.nanoTime();
            }
        });
        long endedAt = System.nanoTime();
        assertThat(events.get(0).name()).isEqualTo("accepted");
        assertThat(events.get(events.size() - 1).name()).isEqualTo("done");
        var tokens = events.stream().filter(e -> e.name().equals("token")).map(e -> json(e.data()).get("delta").asText()).toList();
        assertThat(String.join("", tokens)).isEqualTo("echo: one two three four");
        // Streaming, not buffering: the first token reached us well before the last one was produced.
        assertThat(Duration.ofNanos(endedAt - firstTokenSeenAt[0])).isGreaterThan(Duration.ofMillis(300));
    }

    @Test
    void aSlowFirstTokenIsAccountedAsTimeToFirstToken() throws Exception {
        upstream.firstTokenDelay(Duration.ofMillis(800));
        String id = createConversation();
        var reply = post("/api/v1/conversations/" + id + "/messages", "{\"content\":\"take your time\"}");
        assertThat(reply.statusCode()).as(reply.body()).isEqualTo(200);
        var answer = JSON.readTree(reply.body()).get("answer");
        assertThat(answer.get("content").asText()).isEqualTo("echo: take your time");
        assertThat(answer.get("timeToFirstTokenMs").asLong()).isGreaterThanOrEqualTo(800);
        assertThat(answer.get("latencyMs").asLong()).isGreaterThanOrEqualTo(answer.get("timeToFirstTokenMs").asLong());
    }

    @Test
    void aStreamCutUpstreamEndsWithAnErrorEventAndKeepsThePartialAnswer() throws Exception {
        upstream.cutStreamAfter(2);
        String id = createConversation();
        var request = parley.request("/api/v1/conversations/" + id + "/messages?stream=true")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"content\":\"this will be cut short\"}")).build();
        var events = Sse.read(HTTP.send(request, HttpResponse.BodyHandlers.ofLines()).body(), e -> { });
        var last = events.get(events.size() - 1);
        assertThat(last.name()).isEqualTo("error");
        assertThat(json(last.data()).get("code").asText()).startsWith("upstream-");

        var answer = JSON.readTree(get("/api/v1/conversations/" + id + "/messages").body()).get("items").get(1);
        assertThat(answer.get("status").asText()).isEqualTo("interrupted");
        assertThat(answer.get("content").asText()).isNotEmpty();
        assertThat("echo: this will be cut short").startsWith(answer.get("content").asText());
    }

    @Test
    void upstreamFailuresMapToClearProblems() throws Exception {
        String id = createConversation();
        upstream.failWith(401);
        assertProblem(post("/api/v1/conversations/" + id + "/messages", "{\"content\":\"a\"}"), 502, "provider-auth");
        upstream.failWith(500);
        assertProblem(post("/api/v1/conversations/" + id + "/messages", "{\"content\":\"b\"}"), 502, "upstream-failure");
        upstream.rateLimit(3);
        var limited = post("/api/v1/conversations/" + id + "/messages", "{\"content\":\"c\"}");
        assertProblem(limited, 429, "rate-limited");
        assertThat(limited.headers().firstValue("Retry-After")).contains("3");
        upstream.malformedChunkAfter(1);
        var malformed = post("/api/v1/conversations/" + id + "/messages", "{\"content\":\"d\"}");
        assertThat(malformed.statusCode()).isIn(502);
        // Every user message was kept, even though no answer came back.
        var messages = JSON.readTree(get("/api/v1/conversations/" + id + "/messages").body()).get("items");
        var userTexts = new ArrayList<String>();
        messages.forEach(m -> {
            if (m.get("role").asText().equals("user")) {
                userTexts.add(m.get("content").asText());
            }
        });
        assertThat(userTexts).containsExactly("a", "b", "c", "d");
    }

    // ---- bad input ----------------------------------------------------------------------------------------------

    @Test
    void badInputGetsClearProblemsNeverStackTraces() throws Exception {
        assertProblem(post("/api/v1/conversations", "{\"title\": "), 400, "invalid-request");
        assertProblem(post("/api/v1/conversations", "{\"title\": [1, 2]}"), 400, "invalid-request");
        String id = createConversation();
        assertProblem(post("/api/v1/conversations/" + id + "/messages", "{\"content\": 42, \"maxTokens\": \"many\"}"), 400, "invalid-request");
        assertProblem(post("/api/v1/conversations/" + id + "/messages", "{\"content\": \"   \"}"), 400, "invalid-request");
        // An oversize body is refused from its Content-Length, before the server reads it: the client gets the
        // 413 while it has sent only the start of the body (raw socket, so no client library hides the timing).
        try (var socket = new java.net.Socket("127.0.0.1", parley.port)) {
            socket.setSoTimeout(10_000);
            var out = socket.getOutputStream();
            out.write(("POST /api/v1/conversations/" + id + "/messages HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                    + "Authorization: Bearer " + parley.token() + "\r\n"
                    + "Content-Type: application/json\r\nContent-Length: " + (2 * 1024 * 1024) + "\r\n\r\n{\"content\": \"xxxx")
                    .getBytes(java.nio.charset.StandardCharsets.US_ASCII));
            out.flush();
            var in = socket.getInputStream();
            var received = new java.io.ByteArrayOutputStream();
            var buffer = new byte[1024];
            // Read the status, headers and the chunked body up to its last chunk (the connection may stay open).
            while (!received.toString(java.nio.charset.StandardCharsets.UTF_8).contains("\r\n0\r\n\r\n")) {
                int n = in.read(buffer);
                if (n < 0) {
                    break;
                }
                received.write(buffer, 0, n);
            }
            var reply = received.toString(java.nio.charset.StandardCharsets.UTF_8);
            assertThat(reply).startsWith("HTTP/1.1 413").contains("application/problem+json").contains("\"code\":\"too-large\"");
        }
        assertProblem(get("/api/v1/conversations/no-such-id"), 404, "not-found");
        assertProblem(post("/api/v1/conversations/no-such-id/messages", "{\"content\":\"hi\"}"), 404, "not-found");
        assertProblem(get("/api/v1/conversations?limit=100000"), 400, "invalid-request");
        assertProblem(get("/api/v1/no-such-endpoint"), 404, "not-found");

        var openAiError = post("/v1/chat/completions", "{\"model\": \"no-such-model\", \"messages\": [{\"role\":\"user\",\"content\":\"x\"}]}");
        assertThat(openAiError.statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(openAiError.body()).at("/error/code").asText()).isEqualTo("model_not_found");
        // The server is unharmed.
        assertThat(get("/health/ready").statusCode()).isEqualTo(200);
    }

    // ---- WebSocket -----------------------------------------------------------------------------------------------

    @Test
    void aWebSocketRunsTwoConversationsAtOnceAndSurvivesGarbage() throws Exception {
        var frames = new CopyOnWriteArrayList<JsonNode>();
        var done = new CountDownLatch(2);
        var listener = new WebSocket.Listener() {
            final StringBuilder partial = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
                partial.append(data);
                if (last) {
                    var frame = json(partial.toString());
                    partial.setLength(0);
                    frames.add(frame);
                    if (frame.get("type").asText().equals("done")) {
                        done.countDown();
                    }
                }
                ws.request(1);
                return null;
            }
        };
        var ws = HTTP.newWebSocketBuilder().header("Authorization", "Bearer " + parley.token())
                .buildAsync(java.net.URI.create("ws://127.0.0.1:" + parley.port + "/api/v1/chat/ws"), listener)
                .get(10, TimeUnit.SECONDS);
        ws.sendText("this is not json", true).get(5, TimeUnit.SECONDS);
        ws.sendText("{\"type\":\"send\",\"id\":\"a\",\"content\":\"first socket question\"}", true).get(5, TimeUnit.SECONDS);
        ws.sendText("{\"type\":\"send\",\"id\":\"b\",\"content\":\"second socket question\"}", true).get(5, TimeUnit.SECONDS);
        ws.sendText("{\"type\":\"ping\",\"id\":\"p\"}", true).get(5, TimeUnit.SECONDS);
        assertThat(done.await(20, TimeUnit.SECONDS)).as("both turns done: %s", frames).isTrue();

        assertThat(frames).anySatisfy(f -> {
            assertThat(f.get("type").asText()).isEqualTo("error");
            assertThat(f.get("code").asText()).isEqualTo("invalid-request");
        });
        assertThat(frames).anySatisfy(f -> assertThat(f.get("type").asText()).isEqualTo("pong"));
        for (String id : List.of("a", "b")) {
            var text = new StringBuilder();
            frames.stream().filter(f -> id.equals(f.path("id").asText()) && f.get("type").asText().equals("token"))
                    .forEach(f -> text.append(f.get("delta").asText()));
            String question = id.equals("a") ? "first socket question" : "second socket question";
            assertThat(text.toString()).isEqualTo("echo: " + question);
        }
        ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
    }

    // ---- helpers -------------------------------------------------------------------------------------------------

    static JsonNode json(String s) {
        try {
            return JSON.readTree(s);
        } catch (Exception e) {
            throw new AssertionError("not JSON: " + s, e);
        }
    }

    static String createConversation() throws Exception {
        var r = post("/api/v1/conversations", "{\"title\":\"e2e\"}");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return JSON.readTree(r.body()).get("id").asText();
    }

    static HttpResponse<String> post(String path, String body) throws Exception {
        return HTTP.send(parley.request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static HttpResponse<String> get(String path) throws Exception {
        return HTTP.send(parley.request(path).build(), HttpResponse.BodyHandlers.ofString());
    }

    static void assertProblem(HttpResponse<String> r, int status, String code) {
        assertThat(r.statusCode()).as(r.body().length() > 500 ? r.body().substring(0, 500) : r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type").orElse("")).startsWith("application/problem+json");
        var problem = json(r.body());
        assertThat(problem.get("code").asText()).isEqualTo(code);
        assertThat(problem.get("type").asText()).endsWith("/" + code);
        assertThat(r.body()).doesNotContain("\tat ").doesNotContain("Exception:");
    }
}

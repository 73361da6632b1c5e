package dev.parley.web.rest.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.chat.TurnListener;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class StreamingTest {
    private final ScriptedChatService chat = new ScriptedChatService();
    private RestServer server;
    private String conversationId;

    @BeforeEach
    void start() throws Exception {
        server = new RestServer(chat, new StubHealthChecks());
        conversationId = server.parse(server.postJson("api/v1/conversations", "{}")).get("id").asText();
    }

    @AfterEach
    void stop() {
        server.close();
        chat.close();
    }

    private HttpResponse<InputStream> openStream(String path, String body, boolean acceptHeader) throws Exception {
        HttpRequest.Builder b = server.request(path).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body));
        if (acceptHeader) {
            b.header("Accept", "text/event-stream");
        }
        return server.client.send(b.build(), HttpResponse.BodyHandlers.ofInputStream());
    }

    @Test
    void aResumedStreamAnswers200AtOnceThoughItsNextEventIsNotThereYet() throws Exception {
        chat.resumed = new java.util.concurrent.CompletableFuture<>();
        // The response's head must arrive before any event: a resume may wait seconds for its producer's timeout.
        HttpResponse<InputStream> response = server.client.sendAsync(server.request("api/v1/conversations/"
                + conversationId + "/messages/msg_1/stream").header("Last-Event-ID", "7").GET().build(),
                HttpResponse.BodyHandlers.ofInputStream()).get(10, java.util.concurrent.TimeUnit.SECONDS);
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        TurnListener listener = chat.resumed.get(10, java.util.concurrent.TimeUnit.SECONDS);
        listener.onToken("late");
        listener.onError(new dev.parley.api.error.ParleyException(dev.parley.api.error.ErrorCode.UNAVAILABLE, "gone"));
        String body = new String(response.body().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        assertThat(body).startsWith(": keep-alive\n\n").contains("id: 8\nevent: token\ndata: {\"delta\":\"late\"}")
                .contains("id: 9\nevent: error");
    }

    @Test
    void aResumeOfAnUnknownAnswerIsAProblemNotAStream() throws Exception {
        var r = server.client.send(server.request("api/v1/conversations/" + conversationId + "/messages/msg_1/stream")
                .header("Last-Event-ID", "x1").GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).isEqualTo(400);
        assertThat(r.body()).contains("Last-Event-ID");
        var notFound = server.client.send(server.request("api/v1/conversations/" + conversationId
                + "/messages/msg_1/stream").GET().build(), HttpResponse.BodyHandlers.ofString());
        assertThat(notFound.statusCode()).isEqualTo(404);
        assertThat(notFound.headers().firstValue("Content-Type").orElse("")).startsWith("application/problem+json");
    }

    @Test
    void sseDeliversEachTokenAsItArrives() {
        CountDownLatch gate = new CountDownLatch(1);
        chat.gateAfterFirstToken = gate;
        chat.tokens = List.of("One", " two", " three");
        assertTimeoutPreemptively(Duration.ofSeconds(15), () -> {
            HttpResponse<InputStream> r = openStream("api/v1/conversations/" + conversationId + "/messages",
                    "{\"content\":\"count\"}", true);
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/event-stream"));
            assertThat(r.headers().firstValue("Cache-Control")).contains("no-cache");
            assertThat(r.headers().firstValue("X-Accel-Buffering")).contains("no");
            try (SseReader sse = new SseReader(r.body())) {
                SseReader.Event accepted = sse.next();
                assertThat(accepted.name()).isEqualTo("accepted");
                JsonNode a = server.json.readTree(accepted.data());
                assertThat(a.at("/userMessage/content").asText()).isEqualTo("count");
                assertThat(a.get("answerId").asText()).isNotBlank();
                assertThat(a.get("model").asText()).isEqualTo(ScriptedChatService.DEFAULT_MODEL);

                // The provider is parked after its first token: this arrives only if it was flushed at once.
                SseReader.Event first = sse.next();
                assertThat(first.name()).isEqualTo("token");
                assertThat(server.json.readTree(first.data()).get("delta").asText()).isEqualTo("One");
                gate.countDown();

                List<String> rest = new ArrayList<>();
                SseReader.Event e;
                while ((e = sse.next()) != null && e.name().equals("token")) {
                    rest.add(server.json.readTree(e.data()).get("delta").asText());
                }
                assertThat(rest).containsExactly(" two", " three");
                assertThat(e).isNotNull();
                assertThat(e.name()).isEqualTo("done");
                JsonNode done = server.json.readTree(e.data());
                assertThat(done.at("/answer/content").asText()).isEqualTo("One two three");
                assertThat(done.at("/answer/status").asText()).isEqualTo("complete");
                assertThat(done.get("finishReason").asText()).isEqualTo("stop");
                assertThat(done.at("/route/provider").asText()).isEqualTo("scripted");
                assertThat(done.at("/route/model").asText()).isEqualTo(done.at("/answer/model").asText());
                assertThat(done.at("/route/attempts").asInt()).isEqualTo(1);
                assertThat(done.at("/route/costUsd").decimalValue()).isEqualByComparingTo("0.0125");
                assertThat(sse.next()).isNull();
            }
        });
    }

    @Test
    void stoppingLetsARunningStreamFinishAndRefusesNewTurns() {
        CountDownLatch gate = new CountDownLatch(1);
        chat.gateAfterFirstToken = gate;
        chat.tokens = List.of("One", " two");
        assertTimeoutPreemptively(Duration.ofSeconds(15), () -> {
            HttpResponse<InputStream> r = openStream("api/v1/conversations/" + conversationId + "/messages",
                    "{\"content\":\"count\"}", true);
            try (SseReader sse = new SseReader(r.body())) {
                assertThat(sse.next().name()).isEqualTo("accepted");
                assertThat(sse.next().name()).isEqualTo("token");

                var stopping = java.util.concurrent.CompletableFuture.runAsync(() -> {
                    try {
                        server.turns.deactivate();
                    } catch (InterruptedException e) {
                        Thread.currentThread().interrupt();
                    }
                });
                org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(5)).until(server.turns.inFlight()::draining);
                var refused = server.send(server.request("api/v1/conversations/" + conversationId + "/messages")
                        .header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString("{\"content\":\"too late\"}")).build());
                assertThat(refused.statusCode()).isEqualTo(503);
                assertThat(server.json.readTree(refused.body()).get("code").asText()).isEqualTo("unavailable");
                assertThat(stopping).isNotDone();

                gate.countDown();
                SseReader.Event e;
                while ((e = sse.next()) != null && e.name().equals("token")) {
                    // the rest of the answer
                }
                assertThat(e).isNotNull();
                assertThat(e.name()).isEqualTo("done");
                stopping.get(10, java.util.concurrent.TimeUnit.SECONDS);
                assertThat(server.turns.inFlight().running()).isZero();
            }
        });
    }

    @Test
    void streamQueryParameterAlsoSelectsSse() throws Exception {
        HttpResponse<InputStream> r = openStream("api/v1/conversations/" + conversationId + "/messages?stream=true",
                "{\"content\":\"hi\"}", false);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/event-stream"));
        List<String> names = new ArrayList<>();
        try (SseReader sse = new SseReader(r.body())) {
            for (SseReader.Event e = sse.next(); e != null; e = sse.next()) {
                names.add(e.name());
            }
        }
        assertThat(names).containsExactly("accepted", "token", "token", "token", "done");
        assertThat(chat.calls).containsExactly("send");
    }

    @Test
    void failureAfterAcceptanceIsAnErrorEvent() throws Exception {
        chat.failAfterTokens = new ParleyException(ErrorCode.RATE_LIMITED, "slow down", Duration.ofMillis(2500), null);
        HttpResponse<InputStream> r = openStream("api/v1/conversations/" + conversationId + "/messages",
                "{\"content\":\"hi\"}", true);
        assertThat(r.statusCode()).isEqualTo(200);
        List<SseReader.Event> events = new ArrayList<>();
        try (SseReader sse = new SseReader(r.body())) {
            for (SseReader.Event e = sse.next(); e != null; e = sse.next()) {
                events.add(e);
            }
        }
        assertThat(events).extracting(SseReader.Event::name).containsExactly("accepted", "token", "token", "token", "error");
        JsonNode problem = server.json.readTree(events.get(4).data());
        assertThat(problem.get("type").asText()).isEqualTo("https://parley.dev/problems/rate-limited");
        assertThat(problem.get("status").asInt()).isEqualTo(429);
        assertThat(problem.get("retryAfterSeconds").asInt()).isEqualTo(3);
        assertThat(problem.get("detail").asText()).isEqualTo("slow down");
    }

    @Test
    void validationFailureBeforeAcceptanceIsAPlainProblem() throws Exception {
        HttpResponse<InputStream> r = openStream("api/v1/conversations/unknown/messages", "{\"content\":\"hi\"}", true);
        assertThat(r.statusCode()).isEqualTo(404);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/problem+json"));
        try (InputStream in = r.body()) {
            assertThat(server.json.readTree(in).get("code").asText()).isEqualTo("not-found");
        }
    }

    @Test
    void clientLeavingMidStreamCancelsTheTurn() throws Exception {
        chat.endless = true;
        HttpResponse<InputStream> r = openStream("api/v1/conversations/" + conversationId + "/messages",
                "{\"content\":\"go on forever\"}", true);
        SseReader sse = new SseReader(r.body());
        assertThat(sse.next().name()).isEqualTo("accepted");
        assertThat(sse.next().name()).isEqualTo("token");
        assertThat(chat.cancels.get()).isZero();
        sse.close();

        await().atMost(Duration.ofSeconds(10)).until(() -> chat.cancels.get() == 1);
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(chat.messages(conversationId))
                .anySatisfy(m -> assertThat(m.status()).isEqualTo(dev.parley.api.chat.MessageStatus.INTERRUPTED)));
    }
}

package dev.parley.web.ws.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import dev.parley.api.limits.RateDecision;
import dev.parley.api.limits.RateLimit;
import dev.parley.api.limits.RateLimitedException;
import dev.parley.testsupport.ws.RawHandshake;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The chat WebSocket over real loopback: a standalone Jetty 12 serving the real servlet, a JDK client. */
class ChatWebSocketTest {
    private ScriptedChatService chat;
    private WsTestServer server;
    private HttpClient http;
    private final List<WsTestClient> clients = new ArrayList<>();

    @BeforeEach
    void start() throws Exception {
        chat = new ScriptedChatService();
        server = new WsTestServer(chat, SocketLimits.DEFAULTS);
        http = HttpClient.newHttpClient();
    }

    @AfterEach
    void stop() throws Exception {
        clients.forEach(WsTestClient::close);
        server.close();
        chat.close();
    }

    private WsTestClient connect() {
        var client = WsTestClient.connect(http, server.uri());
        clients.add(client);
        return client;
    }

    private static String send(String id, String content) {
        return "{\"type\":\"send\",\"id\":\"" + id + "\",\"content\":\"" + content + "\"}";
    }

    @Test
    void sendWithoutConversationCreatesOneAndStreamsAcceptedTokensAndDone() throws Exception {
        var client = connect();
        client.send(send("r1", "echo Hello brave new world"));

        JsonNode accepted = client.next();
        assertThat(accepted.get("type").asText()).isEqualTo("accepted");
        assertThat(accepted.get("id").asText()).isEqualTo("r1");
        assertThat(chat.created).hasSize(1);
        assertThat(accepted.get("conversationId").asText()).isEqualTo(chat.created.get(0).id());
        assertThat(accepted.get("userMessageId").asText()).startsWith("user-");
        assertThat(accepted.get("answerId").asText()).startsWith("answer-");
        assertThat(accepted.get("model").asText()).isEqualTo(ScriptedChatService.MODEL);

        List<String> deltas = new ArrayList<>();
        JsonNode frame;
        while ((frame = client.next()).get("type").asText().equals("token")) {
            assertThat(frame.get("id").asText()).isEqualTo("r1");
            deltas.add(frame.get("delta").asText());
        }
        assertThat(deltas).containsExactly("Hello", "brave", "new", "world");

        assertThat(frame.get("type").asText()).isEqualTo("done");
        assertThat(frame.get("id").asText()).isEqualTo("r1");
        assertThat(frame.get("finishReason").asText()).isEqualTo("stop");
        assertThat(frame.get("usage").get("promptTokens").asInt()).isEqualTo(5);
        assertThat(frame.get("usage").get("completionTokens").asInt()).isEqualTo(4);
        assertThat(frame.get("usage").get("totalTokens").asInt()).isEqualTo(9);
        assertThat(frame.get("latencyMs").asLong()).isEqualTo(12);
        assertThat(frame.get("timeToFirstTokenMs").asLong()).isEqualTo(3);
        assertThat(frame.at("/route/requested").asText()).isEqualTo("fast");
        assertThat(frame.at("/route/provider").asText()).isEqualTo("scripted");
        assertThat(frame.at("/route/model").asText()).isEqualTo(ScriptedChatService.MODEL);
        assertThat(frame.at("/route/attempts").asInt()).isEqualTo(2);
        assertThat(frame.at("/route/costUsd").decimalValue()).isEqualByComparingTo("0.00042");
        JsonNode answer = frame.get("answer");
        assertThat(answer.get("id").asText()).isEqualTo(accepted.get("answerId").asText());
        assertThat(answer.get("conversationId").asText()).isEqualTo(accepted.get("conversationId").asText());
        assertThat(answer.get("role").asText()).isEqualTo("assistant");
        assertThat(answer.get("status").asText()).isEqualTo("complete");
        assertThat(answer.get("content").asText()).isEqualTo("Hellobravenewworld");
        assertThat(answer.get("createdAt").asText()).isEqualTo("2026-01-02T03:04:05Z");
        assertThat(answer.get("usage").get("totalTokens").asInt()).isEqualTo(9);
        assertThat(answer.has("error")).isFalse();
    }

    @Test
    void theAnsweringModelAndToolCallPiecesComeAsFramesInOrder() throws Exception {
        var client = connect();
        client.send(send("r1", "tools"));

        assertThat(client.next().get("type").asText()).isEqualTo("accepted");
        List<String> frames = new ArrayList<>();
        JsonNode frame;
        while (!(frame = client.next()).get("type").asText().equals("done")) {
            assertThat(frame.get("id").asText()).isEqualTo("r1");
            ((com.fasterxml.jackson.databind.node.ObjectNode) frame).remove("id");
            frames.add(frame.toString());
        }
        assertThat(frames).containsExactly(
                "{\"type\":\"answering\",\"seq\":2,\"provider\":\"scripted\",\"model\":\"answering-model\"}",
                "{\"type\":\"token\",\"seq\":3,\"delta\":\"Let me \"}",
                "{\"type\":\"tool_call\",\"seq\":4,\"index\":0,\"callId\":\"call_a\",\"name\":\"weather\",\"argumentsDelta\":\"\"}",
                "{\"type\":\"tool_call\",\"seq\":5,\"index\":0,\"argumentsDelta\":\"{\\\"ci\"}",
                "{\"type\":\"tool_call\",\"seq\":6,\"index\":0,\"argumentsDelta\":\"ty\\\":\\\"Oslo\\\"}\"}",
                "{\"type\":\"tool_call\",\"seq\":7,\"index\":1,\"callId\":\"call_b\",\"name\":\"time\",\"argumentsDelta\":\"{\\\"tz\\\":\"}",
                "{\"type\":\"tool_call\",\"seq\":8,\"index\":1,\"argumentsDelta\":\"\\\"CET\\\"}\"}",
                "{\"type\":\"token\",\"seq\":9,\"delta\":\"Done.\"}");
        assertThat(frame.at("/answer/content").asText()).isEqualTo("Let me Done.");
    }

    @Test
    void sendToAGivenConversationUsesIt() throws Exception {
        var client = connect();
        client.send("{\"type\":\"send\",\"id\":\"r1\",\"conversationId\":\"conv-42\",\"content\":\"echo hi\"}");

        JsonNode accepted = client.next();
        assertThat(accepted.get("conversationId").asText()).isEqualTo("conv-42");
        assertThat(chat.created).isEmpty();
        assertThat(client.nextMatching(f -> f.get("type").asText().equals("done")).get("id").asText()).isEqualTo("r1");
    }

    @Test
    void twoRequestsOnOneSocketInterleaveAndBothComplete() throws Exception {
        var client = connect();
        client.send(send("a", "tick 40"));
        client.send(send("b", "tick 40"));

        List<String> order = new ArrayList<>();
        List<String> tokensA = new ArrayList<>();
        List<String> tokensB = new ArrayList<>();
        Set<String> done = new HashSet<>();
        while (done.size() < 2) {
            JsonNode f = client.next();
            String id = f.get("id").asText();
            switch (f.get("type").asText()) {
                case "token" -> {
                    order.add(id);
                    (id.equals("a") ? tokensA : tokensB).add(f.get("delta").asText());
                }
                case "done" -> done.add(id);
                case "accepted" -> { }
                default -> throw new AssertionError("unexpected frame " + f);
            }
        }
        List<String> expected = new ArrayList<>();
        for (int i = 0; i < 40; i++) {
            expected.add("t" + i);
        }
        assertThat(tokensA).isEqualTo(expected);
        assertThat(tokensB).isEqualTo(expected);
        // Interleaved: b's first token came before a's last one.
        assertThat(order.indexOf("b")).isLessThan(order.lastIndexOf("a"));
    }

    @Test
    void cancelEndsTheTurnWithACancelledError() throws Exception {
        var client = connect();
        client.send(send("r1", "hold"));
        assertThat(client.next().get("type").asText()).isEqualTo("accepted");
        assertThat(client.next().get("delta").asText()).isEqualTo("partial");

        client.send("{\"type\":\"cancel\",\"id\":\"r1\"}");

        JsonNode error = client.next();
        assertThat(error.get("type").asText()).isEqualTo("error");
        assertThat(error.get("id").asText()).isEqualTo("r1");
        assertThat(error.get("code").asText()).isEqualTo("cancelled");
        assertThat(chat.turnWithContent("hold").wasCancelled()).isTrue();
    }

    @Test
    void cancelOfAnUnknownRequestIsAnError() throws Exception {
        var client = connect();
        client.send("{\"type\":\"cancel\",\"id\":\"nope\"}");
        JsonNode error = client.next();
        assertThat(error.get("code").asText()).isEqualTo("invalid-request");
        assertThat(error.get("id").asText()).isEqualTo("nope");
    }

    @Test
    void pingGetsPong() throws Exception {
        var client = connect();
        client.send("{\"type\":\"ping\",\"id\":\"p1\"}");
        JsonNode pong = client.next();
        assertThat(pong.get("type").asText()).isEqualTo("pong");
        assertThat(pong.get("id").asText()).isEqualTo("p1");

        client.send("{\"type\":\"ping\"}");
        JsonNode bare = client.next();
        assertThat(bare.get("type").asText()).isEqualTo("pong");
        assertThat(bare.has("id")).isFalse();
    }

    @Test
    void garbageIsAnErrorAndTheSocketKeepsWorking() throws Exception {
        var client = connect();
        client.send("this is {not json");
        JsonNode error = client.next();
        assertThat(error.get("type").asText()).isEqualTo("error");
        assertThat(error.get("code").asText()).isEqualTo("invalid-request");
        assertThat(error.get("message").asText()).contains("not valid JSON");

        client.send("[1,2]");
        assertThat(client.next().get("code").asText()).isEqualTo("invalid-request");

        client.send(send("r1", "echo still here"));
        assertThat(client.nextMatching(f -> f.get("type").asText().equals("done")).get("answer").get("content")
                .asText()).isEqualTo("stillhere");
    }

    @Test
    void chatMessagesCountAgainstTheRequestLimitsAndARefusalIsAnErrorFrameNotAClose() throws Exception {
        // Two messages allowed, then a wait of 1.5 s (sent as 2): what the edge's limits answer for this caller.
        RateLimit limit = new RateLimit(40, Duration.ofMinutes(1), 2);
        var asked = new java.util.concurrent.atomic.AtomicInteger();
        dev.parley.api.limits.RequestRateLimits limits = caller -> {
            assertThat(caller).isNotNull();
            if (asked.incrementAndGet() > 2) {
                throw new RateLimitedException("key", new RateDecision(false, limit, 0, Duration.ofMillis(1500),
                        Duration.ofSeconds(3), false), "Too many requests for this credential.");
            }
        };
        server.servlet().setRequestLimits(limits);
        var client = connect();
        for (String id : List.of("r1", "r2")) {
            client.send(send(id, "echo ok"));
            assertThat(client.nextMatching(f -> f.get("type").asText().equals("done")).get("id").asText())
                    .isEqualTo(id);
        }
        int sentToCore = chat.turns.size();
        client.send(send("r3", "echo too many"));
        JsonNode error = client.next();
        assertThat(error.get("type").asText()).isEqualTo("error");
        assertThat(error.get("id").asText()).isEqualTo("r3");
        assertThat(error.get("code").asText()).isEqualTo("rate-limited");
        assertThat(error.get("retryAfterSeconds").asInt()).isEqualTo(2);
        assertThat(chat.turns.size()).as("the refused message never reached core").isEqualTo(sentToCore);
        // The socket stays open: pings are not chat messages and are not counted.
        client.send("{\"type\":\"ping\",\"id\":\"p1\"}");
        assertThat(client.next().get("type").asText()).isEqualTo("pong");
        assertThat(asked.get()).isEqualTo(3);

        // Without request limits (the edge's bundle gone), messages are not counted.
        server.servlet().unsetRequestLimits(limits);
        client.send(send("r4", "echo free"));
        assertThat(client.nextMatching(f -> f.get("type").asText().equals("done")).get("id").asText()).isEqualTo("r4");
        assertThat(asked.get()).isEqualTo(3);
    }

    @Test
    void unknownOrMissingTypeIsAnError() throws Exception {
        var client = connect();
        client.send("{\"type\":\"dance\",\"id\":\"d1\"}");
        JsonNode unknown = client.next();
        assertThat(unknown.get("code").asText()).isEqualTo("invalid-request");
        assertThat(unknown.get("id").asText()).isEqualTo("d1");
        assertThat(unknown.get("message").asText()).contains("dance");

        client.send("{\"id\":\"d2\"}");
        JsonNode missing = client.next();
        assertThat(missing.get("code").asText()).isEqualTo("invalid-request");
        assertThat(missing.get("message").asText()).contains("type");
    }

    @Test
    void sendWithoutIdOrContentIsAnError() throws Exception {
        var client = connect();
        client.send("{\"type\":\"send\",\"content\":\"echo x\"}");
        JsonNode noId = client.next();
        assertThat(noId.get("code").asText()).isEqualTo("invalid-request");
        assertThat(noId.get("message").asText()).contains("'id'");
        assertThat(noId.has("id")).isFalse();

        client.send("{\"type\":\"send\",\"id\":\"r2\"}");
        JsonNode noContent = client.next();
        assertThat(noContent.get("code").asText()).isEqualTo("invalid-request");
        assertThat(noContent.get("id").asText()).isEqualTo("r2");
        assertThat(noContent.get("message").asText()).contains("'content'");

        client.send("{\"type\":\"send\",\"id\":\"r3\",\"content\":42}");
        assertThat(client.next().get("message").asText()).contains("'content'");
        assertThat(chat.turns).isEmpty();
    }

    @Test
    void validationErrorsThrownBySendBecomeErrorFrames() throws Exception {
        var client = connect();
        client.send("{\"type\":\"send\",\"id\":\"r1\",\"conversationId\":\"unknown-1\",\"content\":\"echo x\"}");
        JsonNode notFound = client.next();
        assertThat(notFound.get("type").asText()).isEqualTo("error");
        assertThat(notFound.get("id").asText()).isEqualTo("r1");
        assertThat(notFound.get("code").asText()).isEqualTo("not-found");
        assertThat(notFound.get("message").asText()).isEqualTo("no conversation unknown-1");

        client.send(send("r2", "   "));
        assertThat(client.next().get("code").asText()).isEqualTo("invalid-request");

        // The failed requests do not count against the in-flight limit.
        client.send(send("r3", "echo ok"));
        assertThat(client.nextMatching(f -> f.get("type").asText().equals("done")).get("id").asText()).isEqualTo("r3");
    }

    @Test
    void listenerErrorsCarryCodeAndRetryAfter() throws Exception {
        var client = connect();
        client.send(send("r1", "fail-rate"));
        JsonNode error = client.nextMatching(f -> f.get("type").asText().equals("error"));
        assertThat(error.get("id").asText()).isEqualTo("r1");
        assertThat(error.get("code").asText()).isEqualTo("rate-limited");
        assertThat(error.get("message").asText()).isEqualTo("provider asks us to slow down");
        assertThat(error.get("retryAfterSeconds").asInt()).isEqualTo(7);
    }

    @Test
    void binaryFrameClosesWith1003() throws Exception {
        var client = connect();
        client.sendBinary(new byte[] {1, 2, 3});
        assertThat(client.awaitClose().code()).isEqualTo(1003);
    }

    @Test
    void frameUpTo256KiBIsReadAndALargerOneClosesWith1009() throws Exception {
        var client = connect();
        String big = "echo " + "y".repeat(200 * 1024);
        client.send(send("big", big));
        assertThat(client.nextMatching(f -> f.get("type").asText().equals("done")).get("id").asText()).isEqualTo("big");

        client.send(send("huge", "echo " + "z".repeat(257 * 1024)));
        assertThat(client.awaitClose().code()).isEqualTo(1009);
        assertThat(chat.turns).hasSize(1);
    }

    @Test
    void moreThanEightInFlightIsRefused() throws Exception {
        var client = connect();
        for (int i = 1; i <= 8; i++) {
            client.send(send("h" + i, "hold"));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> chat.turns.size() == 8);
        client.send(send("h9", "hold"));
        JsonNode refused = client.nextMatching(f -> f.get("type").asText().equals("error"));
        assertThat(refused.get("id").asText()).isEqualTo("h9");
        assertThat(refused.get("code").asText()).isEqualTo("invalid-request");
        assertThat(refused.get("message").asText()).contains("at most 8");
        assertThat(chat.turns).hasSize(8);

        // Finishing one frees a slot.
        client.send("{\"type\":\"cancel\",\"id\":\"h1\"}");
        client.nextMatching(f -> f.get("type").asText().equals("error") && f.get("id").asText().equals("h1"));
        client.send(send("h10", "echo fits"));
        assertThat(client.nextMatching(f -> f.get("type").asText().equals("done")).get("id").asText()).isEqualTo("h10");
    }

    @Test
    void duplicateRequestIdIsRefused() throws Exception {
        var client = connect();
        client.send(send("same", "hold"));
        await().atMost(Duration.ofSeconds(10)).until(() -> chat.turns.size() == 1);
        client.send(send("same", "echo again"));
        JsonNode error = client.nextMatching(f -> f.get("type").asText().equals("error"));
        assertThat(error.get("message").asText()).contains("already in flight");
        assertThat(chat.turns).hasSize(1);
    }

    @Test
    void closingTheSocketMidStreamCancelsTheTurn() throws Exception {
        var client = connect();
        client.send(send("r1", "hold"));
        client.nextMatching(f -> f.get("type").asText().equals("token"));
        var turn = chat.turnWithContent("hold");
        assertThat(turn.wasCancelled()).isFalse();

        client.closeNormally();

        await().atMost(Duration.ofSeconds(10)).until(turn::wasCancelled);
        assertThat(turn.ended.get(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("cancelled");
    }

    @Test
    void withAStreamLogClosingTheSocketLeavesTheTurnRunningForAResume() throws Exception {
        chat.resumable = true;
        var client = connect();
        client.send(send("r1", "hold"));
        client.nextMatching(f -> f.get("type").asText().equals("token"));
        var turn = chat.turnWithContent("hold");

        int asked = chat.resumableAsked.get();
        client.closeNormally();

        // The server handled the close (it asks whether turns outlive their socket then), and the turn still runs.
        await().atMost(Duration.ofSeconds(10)).until(() -> chat.resumableAsked.get() > asked);
        assertThat(turn.wasCancelled()).isFalse();
        assertThat(turn.ended).isNotDone();
    }

    @Test
    void aResumeFrameIsCheckedAndAResumeWithoutAStreamLogIsNotFound() throws Exception {
        var client = connect();
        client.send("{\"type\":\"resume\",\"id\":\"r1\",\"conversationId\":\"c1\"}");
        JsonNode noAnswer = client.next();
        assertThat(noAnswer.get("code").asText()).isEqualTo("invalid-request");
        assertThat(noAnswer.get("message").asText()).contains("'answerId'");

        client.send("{\"type\":\"resume\",\"id\":\"r2\",\"conversationId\":\"c1\",\"answerId\":\"a1\",\"after\":-1}");
        assertThat(client.next().get("message").asText()).contains("'after'");
        client.send("{\"type\":\"resume\",\"id\":\"r3\",\"conversationId\":\"c1\",\"answerId\":\"a1\",\"after\":1.5}");
        assertThat(client.next().get("message").asText()).contains("'after'");

        client.send("{\"type\":\"resume\",\"id\":\"r4\",\"conversationId\":\"c1\",\"answerId\":\"a1\",\"after\":3}");
        JsonNode notFound = client.next();
        assertThat(notFound.get("code").asText()).isEqualTo("not-found");
        assertThat(notFound.get("id").asText()).isEqualTo("r4");
        assertThat(notFound.has("seq")).isFalse();
    }

    @Test
    void aClientThatStopsReadingIsClosedWith1008WhileOthersKeepReceiving() throws Exception {
        var slow = WsTestClient.connectNotReading(http, server.uri());
        clients.add(slow);
        var good = connect();

        slow.send(send("flood", "flood 32768"));
        good.send(send("steady", "tick 300"));

        var flood = await().atMost(Duration.ofSeconds(10)).until(() -> chat.turnWithContent("flood 32768"),
                t -> t != null);
        await().atMost(Duration.ofSeconds(30)).until(flood::wasCancelled);
        assertThat(flood.ended.get(10, java.util.concurrent.TimeUnit.SECONDS)).isEqualTo("cancelled");
        // It was stopped by the bound, long before the script's own end.
        assertThat(flood.tokensSent.get()).isLessThan(20_000);

        // The well-behaved socket was not held up: its turn is still running or finished normally.
        JsonNode done = good.nextMatching(f -> f.get("type").asText().equals("done"));
        assertThat(done.get("id").asText()).isEqualTo("steady");
        assertThat(done.get("usage").get("completionTokens").asInt()).isEqualTo(300);

        // Once the slow client reads again it finds the close frame behind what was in flight.
        slow.startReading();
        WsTestClient.Close close = slow.awaitClose();
        assertThat(close.code()).isEqualTo(1008);
        assertThat(close.reason()).isEqualTo("client too slow: outbound buffer full");
    }

    @Test
    void aReactivatedComponentServesNewConnectionsWithItsNewChatService() throws Exception {
        var before = connect();
        before.send(send("r1", "hold"));
        await().atMost(Duration.ofSeconds(10)).until(() -> chat.turns.size() == 1);

        // What DS and the whiteboard do on reactivation: destroy + deactivate the old, activate + init a new one.
        server.servlet().destroy();
        server.servlet().deactivate();
        assertThat(before.awaitClose().code()).isEqualTo(1001);
        await().atMost(Duration.ofSeconds(10)).until(() -> chat.turnWithContent("hold").wasCancelled());

        // A handshake that still reaches the deactivated instance (the whiteboard unregisters it right after) is
        // refused before the upgrade.
        RawHandshake.Answer whileDown = RawHandshake.send(server.httpUri(), ChatEndpointConfig.PATH,
                Map.of("Authorization", "Bearer " + TestCredentials.MEMBER));
        assertThat(whileDown.status()).isEqualTo(503);
        assertThat(whileDown.body()).contains("\"code\":\"unavailable\"");

        try (var chat2 = new ScriptedChatService()) {
            var servlet2 = server.newServlet(chat2, WsTestServer.config(SocketLimits.DEFAULTS));
            try {
                servlet2.init(servletConfig(server.servletContext()));
                server.swap(servlet2);
                var after = connect();
                after.send(send("r2", "echo second life"));
                assertThat(after.nextMatching(f -> f.get("type").asText().equals("done")).get("answer")
                        .get("content").asText()).isEqualTo("secondlife");
                assertThat(chat2.turns).hasSize(1);
                assertThat(chat.turns).hasSize(1);
            } finally {
                servlet2.destroy();
                servlet2.deactivate();
            }
        }
    }

    @Test
    void onShutdownARunningTurnFinishesBeforeItsSocketIsClosed() throws Exception {
        server.servlet().destroy();
        server.servlet().deactivate();
        try (var chat2 = new ScriptedChatService()) {
            var servlet2 = server.newServlet(chat2, WsTestServer.config(SocketLimits.DEFAULTS, 10));
            servlet2.init(servletConfig(server.servletContext()));
            server.swap(servlet2);
            var client = connect();
            client.send(send("r1", "tick 150"));
            await().atMost(Duration.ofSeconds(10)).until(() -> chat2.turns.size() == 1);

            var stopping = java.util.concurrent.CompletableFuture.runAsync(() -> {
                servlet2.destroy();
                servlet2.deactivate();
            });
            var done = client.nextMatching(f -> f.get("type").asText().equals("done"));
            assertThat(done.get("id").asText()).isEqualTo("r1");
            stopping.get(15, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(client.awaitClose().code()).isEqualTo(1001);
            assertThat(chat2.turns.get(0).wasCancelled()).isFalse();
        }
    }

    private static jakarta.servlet.ServletConfig servletConfig(jakarta.servlet.ServletContext context) {
        return new jakarta.servlet.ServletConfig() {
            @Override
            public String getServletName() {
                return "parley-chat-websocket";
            }

            @Override
            public jakarta.servlet.ServletContext getServletContext() {
                return context;
            }

            @Override
            public String getInitParameter(String name) {
                return null;
            }

            @Override
            public java.util.Enumeration<String> getInitParameterNames() {
                return java.util.Collections.emptyEnumeration();
            }
        };
    }

    @Test
    void aPlainHttpRequestGets426() throws Exception {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(server.httpUri()).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(response.statusCode()).isEqualTo(426);
        assertThat(response.body()).contains("\"code\":\"invalid-request\"");
    }
}

package dev.parley.web.rest.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The chat-completions servlet at its edges: bad input, clients that leave, answers that never end. */
class ChatCompletionsServletTest {
    private static final String HI = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
    private final ScriptedChatService chat = new ScriptedChatService();
    private RestServer server;

    @BeforeEach
    void start() {
        server = new RestServer(chat, new StubHealthChecks());
    }

    @AfterEach
    void stop() {
        server.close();
        chat.close();
    }

    @Test
    void refusesWhatIsNotAJsonChatRequest() throws Exception {
        HttpResponse<String> wrongType = server.send(server.request("v1/chat/completions")
                .header("Content-Type", "text/plain").POST(HttpRequest.BodyPublishers.ofString(HI)).build());
        assertError(wrongType, 415);

        assertError(server.postJson("v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\""), 400);
        assertError(server.postJson("v1/chat/completions", "[1,2]"), 400);
        assertError(server.postJson("v1/chat/completions", ""), 400);
        assertError(server.postJson("v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":42}]}"), 400);
        assertError(server.send(server.request("v1/chat/completions").GET().build()), 405);
        assertThat(chat.completions).isEmpty();
    }

    @Test
    void refusesAHugeBodyFromItsContentLengthBeforeReadingIt() throws Exception {
        // A raw socket: the client has sent only the start of the body when the 413 comes, and no client library
        // hides the timing.
        try (var socket = new java.net.Socket("127.0.0.1", server.base.getPort())) {
            socket.setSoTimeout(10_000);
            var out = socket.getOutputStream();
            out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Authorization: Bearer " + RestServer.ADMIN_TOKEN + "\r\n"
                    + "Content-Length: " + (RestServer.LIMITS.maxBodyBytes() + 1) + "\r\n\r\n{\"messages\": [")
                    .getBytes(StandardCharsets.US_ASCII));
            out.flush();
            String reply = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(reply).startsWith("HTTP/1.1 413").contains("Connection: close").contains("\"code\":\"too_large\"");
        }
        assertThat(chat.completions).isEmpty();
        // The server is fine afterwards.
        assertThat(server.postJson("v1/chat/completions", HI).statusCode()).isEqualTo(200);
    }

    @Test
    void aBodyShorterThanItsContentLengthStartsNothing() throws Exception {
        try (var socket = new java.net.Socket("127.0.0.1", server.base.getPort())) {
            socket.setSoTimeout(10_000);
            var out = socket.getOutputStream();
            out.write(("POST /v1/chat/completions HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                    + "Authorization: Bearer " + RestServer.ADMIN_TOKEN + "\r\n"
                    + "Content-Length: " + (HI.length() + 10) + "\r\n\r\n" + HI).getBytes(StandardCharsets.US_ASCII));
            out.flush();
            socket.shutdownOutput();
            String reply = new String(socket.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertThat(reply).doesNotStartWith("HTTP/1.1 200");
        }
        assertThat(chat.completions).isEmpty();
        assertThat(server.postJson("v1/chat/completions", HI).statusCode()).isEqualTo(200);
    }

    @Test
    void aChunkedBodyWithoutContentLengthIsRead() throws Exception {
        HttpResponse<String> r = server.send(server.request("v1/chat/completions")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofInputStream(
                        () -> new java.io.ByteArrayInputStream(HI.getBytes(StandardCharsets.UTF_8))))
                .build());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        assertThat(chat.completions).hasSize(1);
    }

    @Test
    void aStreamRefusedBeforeItRunsIsAPlainHttpError() throws Exception {
        HttpResponse<String> r = server.postJson("v1/chat/completions",
                "{\"model\":\"gpt-17\",\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
        assertThat(assertError(r, 404).get("code").asText()).isEqualTo("model_not_found");
    }

    @Test
    void aClientThatLeavesMidStreamCancelsTheCompletion() throws Exception {
        chat.endless = true;
        HttpResponse<InputStream> r = server.client.send(server.request("v1/chat/completions")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        InputStream body = r.body();
        byte[] first = body.readNBytes(64);
        assertThat(new String(first, StandardCharsets.UTF_8)).startsWith("data: {");
        body.close();

        await().atMost(Duration.ofSeconds(10)).until(() -> chat.cancels.get() == 1);
    }

    @Test
    void streamedTokensAreEscapedJson() throws Exception {
        chat.tokens = java.util.List.of("a \"quote\"", " and\nnew line ", "\u00e9\u4e2d\ud83d\ude00", "\\");
        HttpResponse<String> r = server.send(server.request("v1/chat/completions")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build());
        StringBuilder text = new StringBuilder();
        for (String line : r.body().split("\n")) {
            if (line.startsWith("data: {")) {
                text.append(server.json.readTree(line.substring(6)).at("/choices/0/delta/content").asText(""));
            }
        }
        assertThat(text.toString()).isEqualTo("a \"quote\" and\nnew line \u00e9\u4e2d\ud83d\ude00\\");
    }

    @Test
    void onlyAClientThatAsksForAStreamIsAnsweredFromAStream() throws Exception {
        chat.toolCalls = java.util.List.of(new dev.parley.api.llm.ToolCall("call_1", "lookup", "{\"q\":\"x\"}"));
        HttpResponse<String> omitted = server.postJson("v1/chat/completions", HI);
        HttpResponse<String> off = server.postJson("v1/chat/completions",
                "{\"stream\":false,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        HttpResponse<String> on = server.postJson("v1/chat/completions",
                "{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");

        assertThat(chat.calls).containsExactly("completeWhole", "completeWhole", "complete");
        for (HttpResponse<String> r : java.util.List.of(omitted, off)) {
            // The whole answer arrived without a single token, and the client sees the same chat.completion as ever.
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
            JsonNode body = server.parse(r);
            assertThat(body.get("object").asText()).isEqualTo("chat.completion");
            assertThat(body.at("/choices/0/message/content").asText()).isEqualTo("Hello world");
            assertThat(body.at("/choices/0/message/tool_calls/0/function/name").asText()).isEqualTo("lookup");
            assertThat(body.at("/choices/0/message/tool_calls/0/function/arguments").asText()).isEqualTo("{\"q\":\"x\"}");
            assertThat(body.at("/choices/0/finish_reason").asText()).isEqualTo("tool_calls");
            assertThat(body.at("/usage/total_tokens").asInt()).isEqualTo(10);
        }
        assertThat(on.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/event-stream"));
        assertThat(on.body()).contains("\"delta\":{\"content\":\"Hel\"}").endsWith("data: [DONE]\n\n");
    }

    @Test
    void aWholeAnswerThatFailsIsAPlainHttpError() throws Exception {
        chat.failAfterTokens = new dev.parley.api.error.ParleyException(dev.parley.api.error.ErrorCode.RATE_LIMITED,
                "slow down", Duration.ofSeconds(7), null);
        HttpResponse<String> r = server.postJson("v1/chat/completions", HI);

        assertThat(chat.calls).containsExactly("completeWhole");
        assertThat(r.headers().firstValue("Retry-After")).hasValue("7");
        assertThat(assertError(r, 429).get("message").asText()).isEqualTo("slow down");
    }

    @Test
    void everyEndedExchangeIsForgotten() throws Exception {
        for (int i = 0; i < 5; i++) {
            assertThat(server.postJson("v1/chat/completions", HI).statusCode()).isEqualTo(200);
            assertThat(server.postJson("v1/chat/completions",
                    "{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").statusCode()).isEqualTo(200);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> server.completions.inFlight().running() == 0);
    }

    private JsonNode assertError(HttpResponse<String> r, int status) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        JsonNode error = server.parse(r).get("error");
        assertThat(error).as(r.body()).isNotNull();
        assertThat(error.get("message").asText()).isNotBlank();
        return error;
    }
}

package dev.parley.web.rest.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.chat.Role;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatRequest;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class OpenAiApiTest {
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
    void nonStreamingCompletionHasOpenAiShape() throws Exception {
        HttpResponse<String> r = server.postJson("v1/chat/completions", """
                {"model":"test-model","messages":[{"role":"system","content":"Be brief"},
                 {"role":"user","content":[{"type":"text","text":"Hi "},{"type":"text","text":"there"}]}],
                 "temperature":0.2,"top_p":0.9,"max_completion_tokens":64,"stop":["END"],"n":1,"user":"ignored"}""");
        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode body = server.parse(r);
        assertThat(body.get("id").asText()).startsWith("chatcmpl-");
        assertThat(body.get("object").asText()).isEqualTo("chat.completion");
        assertThat(body.get("created").asLong()).isGreaterThan(1_600_000_000L);
        assertThat(body.get("model").asText()).isEqualTo("test-model");
        assertThat(body.at("/choices/0/index").asInt()).isZero();
        assertThat(body.at("/choices/0/message/role").asText()).isEqualTo("assistant");
        assertThat(body.at("/choices/0/message/content").asText()).isEqualTo("Hello world");
        assertThat(body.at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        assertThat(body.at("/usage/prompt_tokens").asInt()).isEqualTo(7);
        assertThat(body.at("/usage/completion_tokens").asInt()).isEqualTo(3);
        assertThat(body.at("/usage/total_tokens").asInt()).isEqualTo(10);
        // Not streamed to the client, so asked of core as a whole answer (one upstream call where the provider can).
        assertThat(chat.calls).containsExactly("completeWhole");

        ChatRequest sent = chat.completions.get(0);
        assertThat(sent.messages()).extracting(m -> m.role()).containsExactly(Role.SYSTEM, Role.USER);
        assertThat(sent.messages().get(1).content()).isEqualTo("Hi there");
        assertThat(sent.options().temperature()).isEqualTo(0.2);
        assertThat(sent.options().topP()).isEqualTo(0.9);
        assertThat(sent.options().maxTokens()).isEqualTo(64);
        assertThat(sent.options().stop()).containsExactly("END");
    }

    @Test
    void omittedModelMeansTheServerDefault() throws Exception {
        HttpResponse<String> r = server.postJson("v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(chat.completions.get(0).model()).isEmpty();
        assertThat(server.parse(r).get("model").asText()).isEqualTo(ScriptedChatService.DEFAULT_MODEL);
    }

    @Test
    void streamingCompletionSendsChunksUsageAndDone() throws Exception {
        HttpResponse<InputStream> r = server.client.send(server.request("v1/chat/completions")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("""
                        {"model":"test-model","stream":true,"stream_options":{"include_usage":true},
                         "messages":[{"role":"user","content":"hi"}]}""")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/event-stream"));
        List<String> data = new ArrayList<>();
        try (SseReader sse = new SseReader(r.body())) {
            for (SseReader.Event e = sse.next(); e != null; e = sse.next()) {
                assertThat(e.name()).isNull();
                data.add(e.data());
            }
        }
        assertThat(data).last().isEqualTo("[DONE]");
        List<JsonNode> chunks = new ArrayList<>();
        for (String d : data.subList(0, data.size() - 1)) {
            chunks.add(server.json.readTree(d));
        }
        assertThat(chunks).allSatisfy(c -> {
            assertThat(c.get("object").asText()).isEqualTo("chat.completion.chunk");
            assertThat(c.get("id").asText()).isEqualTo(chunks.get(0).get("id").asText());
        });
        assertThat(chunks.get(0).at("/choices/0/delta/role").asText()).isEqualTo("assistant");
        assertThat(chunks.get(0).at("/choices/0/finish_reason").isNull()).isTrue();
        StringBuilder text = new StringBuilder();
        for (JsonNode c : chunks.subList(1, 4)) {
            text.append(c.at("/choices/0/delta/content").asText());
            assertThat(c.at("/choices/0").has("finish_reason")).isTrue();
            assertThat(c.has("usage")).isFalse();
        }
        assertThat(text.toString()).isEqualTo("Hello world");
        assertThat(chunks.get(4).at("/choices/0/finish_reason").asText()).isEqualTo("stop");
        JsonNode usage = chunks.get(5);
        assertThat(usage.get("choices")).isEmpty();
        assertThat(usage.at("/usage/total_tokens").asInt()).isEqualTo(10);
        assertThat(chunks).hasSize(6);
    }

    @Test
    void errorAfterStreamingBeganIsAnErrorObjectWithoutDone() throws Exception {
        chat.failAfterTokens = new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "provider too slow");
        HttpResponse<InputStream> r = server.client.send(server.request("v1/chat/completions")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(
                        "{\"stream\":true,\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}")).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        List<String> data = new ArrayList<>();
        try (SseReader sse = new SseReader(r.body())) {
            for (SseReader.Event e = sse.next(); e != null; e = sse.next()) {
                data.add(e.data());
            }
        }
        assertThat(data).doesNotContain("[DONE]");
        JsonNode error = server.json.readTree(data.get(data.size() - 1)).get("error");
        assertThat(error.get("type").asText()).isEqualTo("server_error");
        assertThat(error.get("code").asText()).isEqualTo("upstream_timeout");
        assertThat(error.get("message").asText()).isEqualTo("provider too slow");
    }

    @Test
    void errorsUseOpenAiErrorObjects() throws Exception {
        JsonNode bad = assertError(server.postJson("v1/chat/completions", "{\"model\":\"test-model\",\"messages\":[]}"),
                400, "invalid_request_error", "invalid_request");
        assertThat(bad.get("message").asText()).contains("messages");
        assertThat(bad.get("param").asText()).isEqualTo("messages");
        assertThat(assertError(server.postJson("v1/chat/completions",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}],\"n\":2}"), 400, "invalid_request_error",
                "invalid_request").get("param").asText()).isEqualTo("n");
        assertThat(assertError(server.postJson("v1/chat/completions", "{\"messages\": nope}"), 400,
                "invalid_request_error", "invalid_request").get("param").isNull()).isTrue();
        assertThat(assertError(server.postJson("v1/chat/completions",
                "{\"model\":\"gpt-17\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"), 404,
                "invalid_request_error", "model_not_found").get("param").isNull()).isTrue();
        assertThat(assertError(server.get("v1/unknown"), 404, "invalid_request_error", "not_found").get("param")
                .isNull()).isTrue();

        chat.failOnCall = new ParleyException(ErrorCode.RATE_LIMITED, "too many", Duration.ofSeconds(7), null);
        HttpResponse<String> limited = server.postJson("v1/chat/completions",
                "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertError(limited, 429, "rate_limit_error", "rate_limit_exceeded");
        assertThat(limited.headers().firstValue("Retry-After")).contains("7");

        chat.failOnCall = new ParleyException(ErrorCode.NO_PROVIDER, "no provider configured");
        assertError(server.postJson("v1/chat/completions", "{\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}"),
                503, "server_error", "no_provider");
    }

    @Test
    void listsModelsAsOpenAiDoes() throws Exception {
        JsonNode list = server.parse(server.get("v1/models"));
        assertThat(list.get("object").asText()).isEqualTo("list");
        assertThat(list.get("data")).extracting(n -> n.get("id").asText()).containsExactly("other-model", "test-model",
                ScriptedEmbeddingService.MODEL);
        assertThat(list.at("/data/1/object").asText()).isEqualTo("model");
        assertThat(list.at("/data/1/owned_by").asText()).isEqualTo("scripted");
        assertThat(list.at("/data/1/created").asInt()).isZero();
    }

    private JsonNode assertError(HttpResponse<String> r, int status, String type, String code) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
        JsonNode error = server.parse(r).get("error");
        assertThat(error.get("type").asText()).isEqualTo(type);
        assertThat(error.get("code").asText()).isEqualTo(code);
        // Always there, as OpenAI's clients expect; the field's name when one field is at fault, else null.
        assertThat(error.has("param")).isTrue();
        assertThat(error.get("message").asText()).isNotBlank();
        return error;
    }
}

package dev.parley.testsupport.mistral;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The fake speaks the wire format the way Mistral documents it; checked here with a plain HTTP client. */
class FakeMistralServerTest {

    static final ObjectMapper JSON = new ObjectMapper();
    final FakeMistralServer server = FakeMistralServer.start("k1");
    final HttpClient http = HttpClient.newHttpClient();

    @AfterEach
    void close() {
        server.close();
    }

    HttpResponse<String> post(String path, String key, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server.baseUrl() + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            b.header("Authorization", "Bearer " + key);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static final String CHAT = "{\"model\":\"mistral-small-latest\",\"stream\":true,"
            + "\"messages\":[{\"role\":\"user\",\"content\":\"a b\"}]}";

    @Test
    void streamsDataEventsEndingWithDoneAndUsageOnTheLastChunk() throws Exception {
        server.enqueue(MistralBehaviour.reply("Hi there").cachedTokens(1));
        HttpResponse<String> r = post("/chat/completions", "k1", CHAT);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/event-stream"));
        List<String> events = new ArrayList<>(List.of(r.body().split("\n\n")));
        assertThat(events).allSatisfy(e -> assertThat(e).startsWith("data: "));
        assertThat(events.get(events.size() - 1)).isEqualTo("data: [DONE]");
        JsonNode first = JSON.readTree(events.get(0).substring(6));
        assertThat(first.path("object").asText()).isEqualTo("chat.completion.chunk");
        assertThat(first.path("choices").get(0).path("delta").path("role").asText()).isEqualTo("assistant");
        JsonNode last = JSON.readTree(events.get(events.size() - 2).substring(6));
        assertThat(last.path("choices").get(0).path("finish_reason").asText()).isEqualTo("stop");
        assertThat(last.path("usage").path("prompt_tokens").asInt()).isEqualTo(2);
        assertThat(last.path("usage").path("completion_tokens").asInt()).isEqualTo(2);
        assertThat(last.path("usage").path("prompt_tokens_details").path("cached_tokens").asInt()).isEqualTo(1);
    }

    @Test
    void toolCallsComeWholeInOneDeltaWithNineCharacterIds() throws Exception {
        server.enqueue(MistralBehaviour.toolCalls(MistralBehaviour.call("f", "{\"a\":1}"),
                MistralBehaviour.call("g", "{}")));
        String body = post("/chat/completions", "k1", CHAT).body();
        String[] events = body.split("\n\n");
        JsonNode last = JSON.readTree(events[events.length - 2].substring(6));
        JsonNode calls = last.path("choices").get(0).path("delta").path("tool_calls");
        assertThat(calls).hasSize(2);
        assertThat(calls.get(0).path("id").asText()).matches("[A-Za-z0-9]{9}");
        assertThat(calls.get(0).path("function").path("arguments").asText()).isEqualTo("{\"a\":1}");
        assertThat(last.path("choices").get(0).path("finish_reason").asText()).isEqualTo("tool_calls");
    }

    @Test
    void errorsHaveMistralsShapes() throws Exception {
        HttpResponse<String> unauthorized = post("/chat/completions", "wrong", CHAT);
        assertThat(unauthorized.statusCode()).isEqualTo(401);
        assertThat(JSON.readTree(unauthorized.body()).path("message").asText()).isEqualTo("Unauthorized");

        server.enqueue(MistralBehaviour.rateLimited(3));
        HttpResponse<String> limited = post("/chat/completions", "k1", CHAT);
        assertThat(limited.statusCode()).isEqualTo(429);
        assertThat(limited.headers().firstValue("retry-after")).hasValue("3");
        assertThat(limited.headers().firstValue("x-ratelimit-remaining-req-minute")).hasValue("0");
        assertThat(JSON.readTree(limited.body()).path("type").asText()).isEqualTo("rate_limited");

        HttpResponse<String> invalid = post("/chat/completions", "k1", "{\"stream\":true}");
        assertThat(invalid.statusCode()).isEqualTo(422);
        assertThat(JSON.readTree(invalid.body()).path("message").path("detail").get(0).path("loc").toString())
                .isEqualTo("[\"body\",\"model\"]");

        HttpResponse<String> badId = post("/chat/completions", "k1", "{\"model\":\"m\",\"messages\":["
                + "{\"role\":\"assistant\",\"tool_calls\":[{\"id\":\"call_123\",\"function\":{\"name\":\"f\","
                + "\"arguments\":\"{}\"}}]},{\"role\":\"tool\",\"tool_call_id\":\"call_123\",\"content\":\"1\"}]}");
        assertThat(badId.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(badId.body()).path("message").asText()).contains("Tool call id was call_123");
    }

    @Test
    void embeddingsAndModels() throws Exception {
        HttpResponse<String> r = post("/embeddings", "k1", "{\"model\":\"mistral-embed\",\"input\":[\"a\",\"b c\"]}");
        JsonNode root = JSON.readTree(r.body());
        assertThat(root.path("data")).hasSize(2);
        assertThat(root.path("data").get(1).path("index").asInt()).isEqualTo(1);
        assertThat(root.path("data").get(0).path("embedding")).hasSize(1024);
        assertThat(root.path("usage").path("prompt_tokens").asInt()).isEqualTo(3);

        HttpResponse<String> models = http.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/models"))
                .header("Authorization", "Bearer k1").build(), HttpResponse.BodyHandlers.ofString());
        assertThat(JSON.readTree(models.body()).path("data").get(0).path("id").asText()).isEqualTo("mistral-small-latest");
    }
}

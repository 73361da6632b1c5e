package dev.parley.testsupport.ollama;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The fake speaks Ollama's framing and shapes, checked with a plain HTTP client. */
class FakeOllamaServerTest {

    static final ObjectMapper JSON = new ObjectMapper();
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    HttpResponse<String> post(FakeOllamaServer s, String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(s.baseUrl() + path))
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void chatStreamsNdjsonLinesEndingWithADoneLine() throws Exception {
        try (FakeOllamaServer s = FakeOllamaServer.start()) {
            s.enqueue(OllamaBehaviour.reply("Hi there"));
            var r = post(s, "/api/chat", "{\"model\":\"llama3.2\",\"messages\":[{\"role\":\"user\",\"content\":\"say hi\"}]}");
            assertThat(r.statusCode()).isEqualTo(200);
            assertThat(r.headers().firstValue("Content-Type")).contains("application/x-ndjson");
            List<String> lines = r.body().lines().toList();
            assertThat(lines).hasSize(3);
            assertThat(JSON.readTree(lines.get(0)).path("message").path("content").asText()).isEqualTo("Hi");
            assertThat(JSON.readTree(lines.get(1)).path("done").asBoolean()).isFalse();
            JsonNode done = JSON.readTree(lines.get(2));
            assertThat(done.path("done").asBoolean()).isTrue();
            assertThat(done.path("done_reason").asText()).isEqualTo("stop");
            assertThat(done.path("prompt_eval_count").asInt()).isEqualTo(2);
            assertThat(done.path("eval_count").asInt()).isEqualTo(2);
            assertThat(done.has("total_duration")).isTrue();
            assertThat(s.completedStreams()).isEqualTo(1);
        }
    }

    @Test
    void streamFalseIsOneObjectAndToolCallsAreObjectsWithIndexes() throws Exception {
        try (FakeOllamaServer s = FakeOllamaServer.start()) {
            s.enqueue(OllamaBehaviour.toolCalls(new OllamaBehaviour.Call("f", "{\"a\":1}"),
                    new OllamaBehaviour.Call("g", "{\"b\":2}")));
            var r = post(s, "/api/chat", "{\"model\":\"llama3.2\",\"stream\":false,\"messages\":[]}");
            JsonNode root = JSON.readTree(r.body());
            JsonNode calls = root.path("message").path("tool_calls");
            assertThat(calls).hasSize(2);
            assertThat(calls.get(1).path("function").path("index").asInt()).isEqualTo(1);
            assertThat(calls.get(1).path("function").path("arguments").path("b").asInt()).isEqualTo(2);
            assertThat(calls.get(0).has("id")).isFalse();
        }
    }

    @Test
    void errorsAreErrorObjectsWithOllamasStatuses() throws Exception {
        try (FakeOllamaServer s = FakeOllamaServer.start("tok")) {
            var unauthorized = post(s, "/api/chat", "{}");
            assertThat(unauthorized.statusCode()).isEqualTo(401);
            assertThat(JSON.readTree(unauthorized.body()).path("error").asText()).isEqualTo("unauthorized");
        }
        try (FakeOllamaServer s = FakeOllamaServer.start()) {
            var missing = post(s, "/api/chat", "{\"model\":\"nope\",\"messages\":[]}");
            assertThat(missing.statusCode()).isEqualTo(404);
            assertThat(JSON.readTree(missing.body()).path("error").asText())
                    .isEqualTo("model \"nope\" not found, try pulling it first");
            s.enqueue(OllamaBehaviour.reply("a b c").errorAfter(1, "boom"));
            var midStream = post(s, "/api/chat", "{\"model\":\"llama3.2\",\"messages\":[]}");
            assertThat(midStream.statusCode()).isEqualTo(200);
            assertThat(midStream.body().lines().toList()).hasSize(2).last()
                    .satisfies(l -> assertThat(JSON.readTree(l).path("error").asText()).isEqualTo("boom"));
        }
    }

    @Test
    void embedAndTagsHaveTheirDocumentedShapes() throws Exception {
        try (FakeOllamaServer s = FakeOllamaServer.start().embeddingDimensions(4)) {
            var r = post(s, "/api/embed", "{\"model\":\"nomic-embed-text\",\"input\":[\"a b\",\"c\"]}");
            JsonNode root = JSON.readTree(r.body());
            assertThat(root.path("embeddings")).hasSize(2);
            assertThat(root.path("embeddings").get(0)).hasSize(4);
            assertThat(root.path("prompt_eval_count").asInt()).isEqualTo(3);
            var tags = http.send(HttpRequest.newBuilder(URI.create(s.baseUrl() + "/api/tags")).build(),
                    HttpResponse.BodyHandlers.ofString());
            JsonNode models = JSON.readTree(tags.body()).path("models");
            assertThat(models).extracting(m -> m.path("name").asText())
                    .containsExactly("llama3.2:latest", "llava:latest", "nomic-embed-text:latest");
            assertThat(models.get(2).path("details").path("family").asText()).isEqualTo("nomic-bert");
        }
    }
}

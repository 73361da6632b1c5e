package dev.parley.testsupport.gemini;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The fake's wire format as a plain HTTP client sees it. */
class FakeGeminiServerTest {

    static final ObjectMapper JSON = new ObjectMapper();
    static final String KEY = "AIza-fake";
    final FakeGeminiServer server = FakeGeminiServer.start(KEY);
    final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();

    @AfterEach
    void close() {
        server.close();
    }

    HttpResponse<String> post(String path, String key, String body) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(server.baseUrl() + path))
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            b.header("x-goog-api-key", key);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static final String HELLO = "{\"contents\":[{\"role\":\"user\",\"parts\":[{\"text\":\"hello there\"}]}]}";

    @Test
    void streamsServerSentEventsOfWholeResponses() throws Exception {
        server.enqueue(GeminiBehaviour.reply("one two"));
        var r = post("/models/gemini-2.5-flash:streamGenerateContent?alt=sse", KEY, HELLO);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValue("text/event-stream");
        String[] events = r.body().split("\r\n\r\n");
        assertThat(events).hasSize(2);
        JsonNode first = JSON.readTree(events[0].substring("data: ".length()));
        JsonNode last = JSON.readTree(events[1].substring("data: ".length()));
        assertThat(first.at("/candidates/0/content/parts/0/text").asText()).isEqualTo("one");
        assertThat(first.at("/candidates/0/finishReason").isMissingNode()).isTrue();
        assertThat(last.at("/candidates/0/finishReason").asText()).isEqualTo("STOP");
        assertThat(last.at("/usageMetadata/promptTokenCount").asInt()).isEqualTo(2);
        assertThat(last.at("/usageMetadata/candidatesTokenCount").asInt()).isEqualTo(2);
        assertThat(last.path("modelVersion").asText()).isEqualTo("gemini-2.5-flash");
        assertThat(server.lastGenerateRequest().body().at("/contents/0/parts/0/text").asText()).isEqualTo("hello there");
    }

    @Test
    void checksTheKeyAsTheApiDoes() throws Exception {
        var wrong = post("/models/gemini-2.5-flash:generateContent", "AIza-wrong", HELLO);
        assertThat(wrong.statusCode()).isEqualTo(400);
        JsonNode error = JSON.readTree(wrong.body()).path("error");
        assertThat(error.path("status").asText()).isEqualTo("INVALID_ARGUMENT");
        assertThat(error.at("/details/0/reason").asText()).isEqualTo("API_KEY_INVALID");
        var none = post("/models/gemini-2.5-flash:generateContent", null, HELLO);
        assertThat(none.statusCode()).isEqualTo(403);
        assertThat(JSON.readTree(none.body()).at("/error/status").asText()).isEqualTo("PERMISSION_DENIED");
    }

    @Test
    void rateLimitsWithARetryInfoDetail() throws Exception {
        server.enqueue(GeminiBehaviour.rateLimited("20s"));
        var r = post("/models/gemini-2.5-flash:generateContent", KEY, HELLO);
        assertThat(r.statusCode()).isEqualTo(429);
        JsonNode details = JSON.readTree(r.body()).at("/error/details");
        assertThat(details.findValuesAsText("@type")).contains("type.googleapis.com/google.rpc.RetryInfo");
        assertThat(details.findValue("retryDelay").asText()).isEqualTo("20s");
    }

    @Test
    void anUnknownModelIsNotFound() throws Exception {
        var r = post("/models/nope:generateContent", KEY, HELLO);
        assertThat(r.statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(r.body()).at("/error/status").asText()).isEqualTo("NOT_FOUND");
    }

    @Test
    void listsModelsInPages() throws Exception {
        var r = http.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/models?pageSize=2"))
                .header("x-goog-api-key", KEY).build(), HttpResponse.BodyHandlers.ofString());
        JsonNode page = JSON.readTree(r.body());
        assertThat(page.path("models")).hasSize(2);
        assertThat(page.at("/models/0/name").asText()).isEqualTo("models/gemini-2.5-flash");
        assertThat(page.at("/models/0/inputTokenLimit").asInt()).isEqualTo(1_048_576);
        String token = page.path("nextPageToken").asText();
        var next = http.send(HttpRequest.newBuilder(URI.create(server.baseUrl() + "/models?pageSize=2&pageToken=" + token))
                .header("x-goog-api-key", KEY).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(JSON.readTree(next.body()).path("models").findValuesAsText("name"))
                .isEqualTo(List.of("models/gemini-embedding-001"));
    }
}

package dev.parley.testsupport.azure;

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

/** The fixtures speak the documented shapes, checked with a plain HTTP client (no SDK in between). */
class FakeAzureOpenAiServerTest {

    static final ObjectMapper JSON = new ObjectMapper();
    final HttpClient http = HttpClient.newHttpClient();
    final FakeAzureOpenAiServer azure = FakeAzureOpenAiServer.start("k").deployment("d1", "gpt-4o-2024-08-06");

    @AfterEach
    void stop() {
        azure.close();
    }

    HttpResponse<String> post(String pathAndQuery, String header, String value, String body) throws Exception {
        var b = HttpRequest.newBuilder(URI.create(azure.endpoint() + pathAndQuery))
                .POST(HttpRequest.BodyPublishers.ofString(body)).header("Content-Type", "application/json");
        if (header != null) {
            b.header(header, value);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    static final String CHAT = "{\"messages\":[{\"role\":\"user\",\"content\":\"hi there\"}],\"stream\":true,"
            + "\"stream_options\":{\"include_usage\":true}}";

    @Test
    void aStreamStartsWithThePromptFilterChunkAndEndsWithUsageAndDone() throws Exception {
        var r = post("/openai/deployments/d1/chat/completions?api-version=2024-10-21", "api-key", "k", CHAT);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("content-type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/event-stream"));
        List<String> frames = List.of(r.body().split("\n\n"));
        JsonNode first = JSON.readTree(frames.get(0).substring("data: ".length()));
        assertThat(first.path("choices").isEmpty()).isTrue();
        assertThat(first.path("prompt_filter_results").get(0).path("content_filter_results").has("hate")).isTrue();
        JsonNode usage = JSON.readTree(frames.get(frames.size() - 2).substring("data: ".length()));
        assertThat(usage.path("choices").isEmpty()).isTrue();
        assertThat(usage.path("usage").path("prompt_tokens").asInt()).isEqualTo(2);
        assertThat(usage.path("usage").path("prompt_tokens_details").has("cached_tokens")).isTrue();
        assertThat(frames.get(frames.size() - 1)).isEqualTo("data: [DONE]");
    }

    @Test
    void keysVersionsAndDeploymentsAreChecked() throws Exception {
        var noKey = post("/openai/deployments/d1/chat/completions?api-version=2024-10-21", null, null, CHAT);
        assertThat(noKey.statusCode()).isEqualTo(401);
        assertThat(JSON.readTree(noKey.body()).path("error").path("code").asText()).isEqualTo("401");
        var wrongKey = post("/openai/deployments/d1/chat/completions?api-version=2024-10-21", "api-key", "x", CHAT);
        assertThat(wrongKey.statusCode()).isEqualTo(401);
        var noVersion = post("/openai/deployments/d1/chat/completions", "api-key", "k", CHAT);
        assertThat(noVersion.statusCode()).isEqualTo(404);
        var badVersion = post("/openai/deployments/d1/chat/completions?api-version=2020-01-01", "api-key", "k", CHAT);
        assertThat(badVersion.statusCode()).isEqualTo(400);
        var noDeployment = post("/openai/deployments/d2/chat/completions?api-version=2024-10-21", "api-key", "k", CHAT);
        assertThat(noDeployment.statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(noDeployment.body()).path("error").path("code").asText()).isEqualTo("DeploymentNotFound");
        var v1 = post("/openai/v1/chat/completions", "api-key", "k", CHAT.replace("{", "{\"model\":\"d1\","));
        assertThat(v1.statusCode()).isEqualTo(200);
    }

    @Test
    void rateLimitsCarryBothRetryHeaders() throws Exception {
        azure.enqueue(AzureBehaviour.rateLimited(6, 5500));
        var r = post("/openai/deployments/d1/chat/completions?api-version=2024-10-21", "api-key", "k", CHAT);
        assertThat(r.statusCode()).isEqualTo(429);
        assertThat(r.headers().firstValue("retry-after")).contains("6");
        assertThat(r.headers().firstValue("retry-after-ms")).contains("5500");
    }

    @Test
    void theEntraTokenEndpointIssuesTokensForTheRightClientOnly() throws Exception {
        try (var entra = FakeEntraTokenServer.start("t1", "c1", "s1", "scope/.default")) {
            var ok = http.send(HttpRequest.newBuilder(URI.create(entra.authorityHost() + "/t1/oauth2/v2.0/token"))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString(
                            "grant_type=client_credentials&client_id=c1&client_secret=s1&scope=scope%2F.default"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(ok.statusCode()).isEqualTo(200);
            JsonNode token = JSON.readTree(ok.body());
            assertThat(token.path("token_type").asText()).isEqualTo("Bearer");
            assertThat(entra.isValid(token.path("access_token").asText())).isTrue();
            var bad = http.send(HttpRequest.newBuilder(URI.create(entra.authorityHost() + "/t1/oauth2/v2.0/token"))
                    .header("Content-Type", "application/x-www-form-urlencoded")
                    .POST(HttpRequest.BodyPublishers.ofString(
                            "grant_type=client_credentials&client_id=c1&client_secret=no&scope=scope%2F.default"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(bad.statusCode()).isEqualTo(401);
            assertThat(JSON.readTree(bad.body()).path("error").asText()).isEqualTo("invalid_client");
        }
    }
}

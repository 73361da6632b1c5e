package dev.parley.testsupport;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class FakeOpenAiServerTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final String KEY = "sk-test-123";

    private final FakeOpenAiServer server = FakeOpenAiServer.start(KEY);
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @AfterEach
    void stop() {
        server.close();
    }

    private HttpRequest chat(String body, String key) {
        return HttpRequest.newBuilder(server.chatCompletionsUri())
                .timeout(Duration.ofSeconds(10))
                .header("Authorization", "Bearer " + key)
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body))
                .build();
    }

    private static String streamBody(String userText) {
        return """
                {"model":"gpt-4o-mini","stream":true,"stream_options":{"include_usage":true},
                 "messages":[{"role":"system","content":"be brief"},{"role":"user","content":"%s"}]}
                """.formatted(userText);
    }

    @Test
    void streamsChunksAsServerSentEventsEndingWithDone() throws Exception {
        server.reply("Hello there, how can I help?");

        HttpResponse<String> response = http.send(chat(streamBody("hi you"), KEY), HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type")).hasValueSatisfying(
                v -> assertThat(v).startsWith("text/event-stream"));
        String raw = response.body();
        // Every frame is one data line followed by a blank line.
        List<String> frames = List.of(raw.split("\n\n"));
        assertThat(frames).allSatisfy(f -> assertThat(f).startsWith("data: ").doesNotContain("\n"));
        assertThat(raw).endsWith("data: [DONE]\n\n");

        List<JsonNode> chunks = new ArrayList<>();
        for (String f : frames.subList(0, frames.size() - 1)) {
            chunks.add(JSON.readTree(f.substring("data: ".length())));
        }
        assertThat(chunks).allSatisfy(c -> assertThat(c.path("object").asText()).isEqualTo("chat.completion.chunk"));
        assertThat(chunks.get(0).path("choices").get(0).path("delta").path("role").asText()).isEqualTo("assistant");
        String text = chunks.stream()
                .flatMap(c -> c.path("choices").size() == 0 ? Stream.empty()
                        : Stream.of(c.path("choices").get(0).path("delta").path("content").asText("")))
                .collect(Collectors.joining());
        assertThat(text).isEqualTo("Hello there, how can I help?");

        JsonNode finish = chunks.get(chunks.size() - 2);
        assertThat(finish.path("choices").get(0).path("finish_reason").asText()).isEqualTo("stop");
        JsonNode usage = chunks.get(chunks.size() - 1);
        assertThat(usage.path("choices").size()).isZero();
        // "be brief" + "hi you" = 4 words; six content chunks were sent.
        assertThat(usage.path("usage").path("prompt_tokens").asInt()).isEqualTo(4);
        assertThat(usage.path("usage").path("completion_tokens").asInt()).isEqualTo(6);
        assertThat(usage.path("usage").path("total_tokens").asInt()).isEqualTo(10);
        assertThat(server.completedStreams()).isEqualTo(1);
    }

    @Test
    void answersWithoutStreamingAndEchoesByDefault() throws Exception {
        String body = """
                {"model":"gpt-4o","messages":[{"role":"user","content":"ping pong"}],"temperature":0.2}""";

        HttpResponse<String> response = http.send(chat(body, KEY), HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(200);
        JsonNode json = JSON.readTree(response.body());
        assertThat(json.path("object").asText()).isEqualTo("chat.completion");
        assertThat(json.path("model").asText()).isEqualTo("gpt-4o");
        assertThat(json.path("choices").get(0).path("message").path("content").asText()).isEqualTo("echo: ping pong");
        assertThat(json.path("usage").path("prompt_tokens").asInt()).isEqualTo(2);
        assertThat(json.path("usage").path("completion_tokens").asInt()).isEqualTo(3);
        assertThat(server.lastChatRequest().body().path("temperature").asDouble()).isEqualTo(0.2);
        assertThat(server.lastChatRequest().header("authorization")).isEqualTo("Bearer " + KEY);
    }

    @Test
    void rejectsAWrongKeyWithOpenAiErrorObject() throws Exception {
        HttpResponse<String> response = http.send(chat(streamBody("hi"), "sk-wrong"), HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(401);
        JsonNode error = JSON.readTree(response.body()).path("error");
        assertThat(error.path("type").asText()).isEqualTo("invalid_request_error");
        assertThat(error.path("code").asText()).isEqualTo("invalid_api_key");
        assertThat(error.has("param")).isTrue();
        assertThat(error.path("message").asText()).isNotBlank();
    }

    @Test
    void rateLimitCarriesRetryAfterHeader() throws Exception {
        server.rateLimit(7);

        HttpResponse<String> response = http.send(chat(streamBody("hi"), KEY), HttpResponse.BodyHandlers.ofString());

        assertThat(response.statusCode()).isEqualTo(429);
        assertThat(response.headers().firstValue("Retry-After")).hasValue("7");
        assertThat(JSON.readTree(response.body()).path("error").path("code").asText()).isEqualTo("rate_limit_exceeded");
        // The queue is consumed: the next request gets the default behaviour.
        assertThat(http.send(chat(streamBody("hi"), KEY), HttpResponse.BodyHandlers.ofString()).statusCode())
                .isEqualTo(200);
    }

    @Test
    void cutStreamEndsWithoutDone() throws Exception {
        server.reply("one two three four five").cutStreamAfter(2);

        HttpResponse<Stream<String>> response =
                http.send(chat(streamBody("hi"), KEY), HttpResponse.BodyHandlers.ofLines());
        List<String> lines = new ArrayList<>();
        Throwable failure = catchThrowable(() -> response.body().forEach(lines::add));

        assertThat(lines.stream().filter(l -> l.startsWith("data: {")).count()).isEqualTo(3);
        assertThat(lines).doesNotContain("data: [DONE]");
        assertThat(failure).isInstanceOfAny(UncheckedIOException.class, IOException.class);
    }

    @Test
    void malformedChunkIsNotJson() throws Exception {
        server.reply("one two three").malformedChunkAfter(1);

        String raw = http.send(chat(streamBody("hi"), KEY), HttpResponse.BodyHandlers.ofString()).body();

        assertThat(raw).contains("data: {not json\n\n");
        assertThat(raw.indexOf("{not json")).isGreaterThan(raw.indexOf("\"one\""));
    }

    @Test
    void listsModels() throws Exception {
        server.models("m-1", "m-2");
        HttpRequest request = HttpRequest.newBuilder(java.net.URI.create(server.baseUrl() + "/models"))
                .header("Authorization", "Bearer " + KEY).GET().build();

        JsonNode json = JSON.readTree(http.send(request, HttpResponse.BodyHandlers.ofString()).body());

        assertThat(json.path("object").asText()).isEqualTo("list");
        assertThat(json.path("data").findValuesAsText("id")).containsExactly("m-1", "m-2");
        assertThat(json.path("data").get(0).path("object").asText()).isEqualTo("model");
    }
}

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

    private static List<JsonNode> events(String raw) {
        List<JsonNode> out = new ArrayList<>();
        for (String frame : raw.split("\n\n")) {
            if (frame.startsWith("data: {")) {
                try {
                    out.add(JSON.readTree(frame.substring(6)));
                } catch (IOException e) {
                    throw new UncheckedIOException(e);
                }
            }
        }
        return out;
    }

    @Test
    void parallelToolCallsStreamAsOpenAiStreamsThem() throws Exception {
        server.enqueue(Behaviour.toolCalls(new Behaviour.Call("call_a", "weather", "{\"city\":\"Oslo\"}"),
                new Behaviour.Call("call_b", "time", "{\"tz\":\"CET\"}")));

        HttpResponse<String> response = http.send(chat(streamBody("two tools"), KEY), HttpResponse.BodyHandlers.ofString());

        List<JsonNode> deltas = events(response.body()).stream()
                .filter(e -> e.path("choices").size() > 0)
                .map(e -> e.path("choices").get(0).path("delta").path("tool_calls"))
                .filter(JsonNode::isArray).toList();
        // Each call: a first fragment with index, id, type, name and empty arguments, then two argument fragments.
        assertThat(deltas).hasSize(6);
        assertThat(deltas.get(0).get(0).path("id").asText()).isEqualTo("call_a");
        assertThat(deltas.get(0).get(0).path("function").path("name").asText()).isEqualTo("weather");
        assertThat(deltas.get(1).get(0).has("id")).isFalse();
        assertThat(deltas.get(3).get(0).path("index").asInt()).isEqualTo(1);
        assertThat(deltas.get(3).get(0).path("id").asText()).isEqualTo("call_b");
        String first = deltas.get(1).get(0).path("function").path("arguments").asText()
                + deltas.get(2).get(0).path("function").path("arguments").asText();
        String second = deltas.get(4).get(0).path("function").path("arguments").asText()
                + deltas.get(5).get(0).path("function").path("arguments").asText();
        assertThat(first).isEqualTo("{\"city\":\"Oslo\"}");
        assertThat(second).isEqualTo("{\"tz\":\"CET\"}");
        List<JsonNode> all = events(response.body());
        JsonNode usage = all.get(all.size() - 1).path("usage");
        assertThat(usage.path("prompt_tokens_details").path("cached_tokens").asInt()).isZero();
    }

    @Test
    void textBeforeCallsAndArgumentsInSmallPieces() throws Exception {
        Behaviour.Call weather = new Behaviour.Call("call_a", "weather", "{\"city\":\"Oslo\"}");
        server.enqueue(Behaviour.toolCalls(weather).textBeforeCalls("Let me check.").argumentsInPiecesOf(4));

        HttpResponse<String> response = http.send(chat(streamBody("tool"), KEY), HttpResponse.BodyHandlers.ofString());

        StringBuilder text = new StringBuilder();
        List<String> arguments = new java.util.ArrayList<>();
        int headers = 0;
        for (JsonNode e : events(response.body())) {
            JsonNode d = e.path("choices").path(0).path("delta");
            if (d.path("tool_calls").isArray()) {
                assertThat(text.toString()).as("text comes before the call").isEqualTo("Let me check.");
                JsonNode call = d.path("tool_calls").get(0);
                if (call.has("id")) {
                    headers++;
                    assertThat(call.path("function").path("name").asText()).isEqualTo("weather");
                } else {
                    arguments.add(call.path("function").path("arguments").asText());
                }
            } else {
                text.append(d.path("content").asText(""));
            }
        }
        assertThat(headers).isEqualTo(1);
        assertThat(arguments).containsExactly("{\"ci", "ty\":", "\"Osl", "o\"}");

        server.enqueue(Behaviour.toolCalls(weather).textBeforeCalls("Let me check."));
        JsonNode whole = JSON.readTree(http.send(chat("{\"model\":\"gpt-4o-mini\",\"messages\":[{\"role\":\"user\","
                + "\"content\":\"tool\"}]}", KEY), HttpResponse.BodyHandlers.ofString()).body());
        JsonNode message = whole.path("choices").get(0).path("message");
        assertThat(message.path("content").asText()).isEqualTo("Let me check.");
        assertThat(message.path("tool_calls").get(0).path("function").path("arguments").asText())
                .isEqualTo("{\"city\":\"Oslo\"}");
    }

    @Test
    void cachedTokensAreReportedInUsageDetails() throws Exception {
        server.enqueue(Behaviour.reply("ok").cachedTokens(2));

        HttpResponse<String> response = http.send(chat("""
                {"model":"gpt-4o-mini","messages":[{"role":"user","content":"one two three"}]}
                """, KEY), HttpResponse.BodyHandlers.ofString());

        JsonNode usage = JSON.readTree(response.body()).path("usage");
        assertThat(usage.path("prompt_tokens").asInt()).isEqualTo(3);
        assertThat(usage.path("prompt_tokens_details").path("cached_tokens").asInt()).isEqualTo(2);
    }

    @Test
    void refusesWhatOpenAiRefusesWithItsParam() throws Exception {
        HttpResponse<String> orphan = http.send(chat("""
                {"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"},
                 {"role":"tool","tool_call_id":"call_x","content":"42"}]}
                """, KEY), HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> unanswered = http.send(chat("""
                {"model":"gpt-4o-mini","messages":[{"role":"user","content":"hi"},
                 {"role":"assistant","tool_calls":[{"id":"call_y","type":"function","function":{"name":"f","arguments":"{}"}}]},
                 {"role":"user","content":"and?"}]}
                """, KEY), HttpResponse.BodyHandlers.ofString());
        HttpResponse<String> badImage = http.send(chat("""
                {"model":"gpt-4o-mini","messages":[{"role":"user","content":[{"type":"image_url",
                 "image_url":{"url":"data:text/plain;base64,aGk="}}]}]}
                """, KEY), HttpResponse.BodyHandlers.ofString());

        assertThat(orphan.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(orphan.body()).path("error").path("param").asText()).isEqualTo("messages.[1].role");
        assertThat(unanswered.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(unanswered.body()).path("error").path("message").asText()).contains("call_y");
        assertThat(badImage.statusCode()).isEqualTo(400);
        assertThat(server.chatRequests()).hasSize(3);
    }

    @Test
    void embeddingsAreDeterministicInInputOrderAsFloatOrBase64() throws Exception {
        server.embeddingModel("tiny-embed", 4);
        HttpRequest.Builder post = HttpRequest.newBuilder(java.net.URI.create(server.baseUrl() + "/embeddings"))
                .header("Authorization", "Bearer " + KEY).header("Content-Type", "application/json");

        JsonNode floats = JSON.readTree(http.send(post.POST(HttpRequest.BodyPublishers.ofString(
                "{\"model\":\"tiny-embed\",\"input\":[\"a b\",\"c\"]}")).build(),
                HttpResponse.BodyHandlers.ofString()).body());
        JsonNode base64 = JSON.readTree(http.send(post.POST(HttpRequest.BodyPublishers.ofString(
                "{\"model\":\"tiny-embed\",\"input\":\"c\",\"encoding_format\":\"base64\"}")).build(),
                HttpResponse.BodyHandlers.ofString()).body());
        HttpResponse<String> empty = http.send(post.POST(HttpRequest.BodyPublishers.ofString(
                "{\"model\":\"tiny-embed\",\"input\":[]}")).build(), HttpResponse.BodyHandlers.ofString());

        float[] c = FakeOpenAiServer.embeddingOf("c", 4);
        assertThat(floats.path("data")).hasSize(2);
        assertThat(floats.path("data").get(1).path("index").asInt()).isEqualTo(1);
        assertThat((float) floats.path("data").get(1).path("embedding").get(0).asDouble()).isEqualTo(c[0]);
        assertThat(floats.path("usage").path("prompt_tokens").asInt()).isEqualTo(3);
        byte[] raw = java.util.Base64.getDecoder().decode(base64.path("data").get(0).path("embedding").asText());
        assertThat(java.nio.ByteBuffer.wrap(raw).order(java.nio.ByteOrder.LITTLE_ENDIAN).getFloat(0)).isEqualTo(c[0]);
        assertThat(empty.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(empty.body()).path("error").path("param").asText()).isEqualTo("input");
    }
}

package dev.parley.provider.bedrock.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ContentPart;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ResponseFormat;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.llm.ToolChoice;
import dev.parley.api.llm.ToolSpec;
import dev.parley.api.llm.Usage;
import dev.parley.testsupport.RecordedRequest;
import dev.parley.testsupport.bedrock.BedrockBehaviour;
import dev.parley.testsupport.bedrock.FakeBedrockServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The provider, with the real AWS SDK and Netty client, against the fake Bedrock Runtime server over loopback. */
class BedrockProviderTest {

    static final String MODEL = "anthropic.claude-3-5-haiku-20241022-v1:0";
    static final String WEATHER_SCHEMA = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
            + "\"required\":[\"city\"]}";

    FakeBedrockServer server;
    BedrockProvider provider;
    final List<BedrockProvider> others = new ArrayList<>();

    @BeforeEach
    void start() {
        server = FakeBedrockServer.start();
        provider = new BedrockProvider(TestConfigs.forServer(server));
    }

    @AfterEach
    void stop() {
        provider.deactivate();
        others.forEach(BedrockProvider::deactivate);
        server.close();
    }

    static ChatRequest ask(String text) {
        return new ChatRequest(MODEL, List.of(ChatMessage.user(text)), null, null);
    }

    RecordingHandler stream(ChatRequest request) throws InterruptedException {
        RecordingHandler h = new RecordingHandler();
        provider.stream(request, h);
        return h.await();
    }

    RecordingHandler complete(ChatRequest request) throws InterruptedException {
        RecordingHandler h = new RecordingHandler();
        provider.complete(request, h);
        return h.await();
    }

    @Test
    void streamsTokensInOrderAndEndsWithTheWholeAnswerAndUsage() throws Exception {
        server.enqueue(BedrockBehaviour.reply("Hello there, world").cacheReadTokens(5));

        RecordingHandler h = stream(ask("say hello please"));

        assertThat(h.error).isNull();
        assertThat(h.tokens).containsExactly("Hello", " there,", " world");
        assertThat(h.response.text()).isEqualTo("Hello there, world");
        assertThat(h.response.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(h.response.model()).isEqualTo(MODEL);
        // inputTokens 3 (the prompt's words) plus 5 read from the cache; 3 deltas out.
        assertThat(h.response.usage()).isEqualTo(new Usage(8, 3, 5));
        assertThat(h.ends).hasValue(1);
        RecordedRequest sent = server.lastRequest();
        assertThat(sent.path()).isEqualTo("/model/anthropic.claude-3-5-haiku-20241022-v1%3A0/converse-stream");
        assertThat(sent.header("authorization")).startsWith("AWS4-HMAC-SHA256 Credential="
                + FakeBedrockServer.ACCESS_KEY_ID + "/").contains("/us-east-1/bedrock/aws4_request");
        // The server counts the stream once its handler returns, which may be after the client has read it all.
        await().atMost(Duration.ofSeconds(5)).until(() -> server.completedStreams() == 1);
    }

    @Test
    void completeAsksForTheWholeAnswerInOneConverseCall() throws Exception {
        server.enqueue(BedrockBehaviour.reply("All at once").cacheReadTokens(2).cacheWriteTokens(1));

        RecordingHandler h = complete(ask("whole please"));

        assertThat(h.error).isNull();
        assertThat(h.tokens).isEmpty();
        assertThat(h.response.text()).isEqualTo("All at once");
        assertThat(h.response.usage()).isEqualTo(new Usage(2 + 2 + 1, 3, 2));
        assertThat(server.requests()).hasSize(1);
        assertThat(server.lastRequest().path()).endsWith("/converse");
    }

    @Test
    void systemPromptAndSamplingOptionsReachTheWire() throws Exception {
        ChatRequest request = new ChatRequest(MODEL, List.of(ChatMessage.system("You are terse."),
                ChatMessage.user("hi")), new ChatOptions(0.25, 0.5, 77, List.of("END", "STOP")), null);

        RecordingHandler h = stream(request);

        assertThat(h.error).isNull();
        JsonNode body = server.lastRequest().body();
        assertThat(body.path("system").get(0).path("text").asText()).isEqualTo("You are terse.");
        assertThat(body.path("messages")).hasSize(1);
        JsonNode inference = body.path("inferenceConfig");
        assertThat(inference.path("temperature").asDouble()).isEqualTo(0.25);
        assertThat(inference.path("topP").asDouble()).isEqualTo(0.5);
        assertThat(inference.path("maxTokens").asInt()).isEqualTo(77);
        assertThat(inference.path("stopSequences")).extracting(JsonNode::asText).containsExactly("END", "STOP");
        assertThat(body.has("toolConfig")).isFalse();
        assertThat(body.has("outputConfig")).isFalse();
    }

    @Test
    void toolsGoOutWithTheirSchemaAndSeveralToolCallsComeBackStreamed() throws Exception {
        server.enqueue(BedrockBehaviour.toolUses(
                new BedrockBehaviour.ToolUse("tooluse_1", "get_weather", "{\"city\":\"Paris\"}"),
                new BedrockBehaviour.ToolUse("tooluse_2", "get_weather", "{\"city\":\"Oslo\"}"))
                .withText("Let me check."));
        ChatRequest request = new ChatRequest(MODEL, List.of(ChatMessage.user("weather in Paris and Oslo?")),
                new ChatOptions(null, null, null, null, ToolChoice.REQUIRED, null),
                List.of(new ToolSpec("get_weather", "Current weather of a city", WEATHER_SCHEMA)));

        RecordingHandler h = stream(request);

        assertThat(h.error).isNull();
        assertThat(h.response.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
        assertThat(h.response.text()).isEqualTo("Let me check.");
        assertThat(h.response.toolCalls()).containsExactly(
                new ToolCall("tooluse_1", "get_weather", "{\"city\":\"Paris\"}"),
                new ToolCall("tooluse_2", "get_weather", "{\"city\":\"Oslo\"}"));
        JsonNode toolConfig = server.lastRequest().body().path("toolConfig");
        JsonNode spec = toolConfig.path("tools").get(0).path("toolSpec");
        assertThat(spec.path("name").asText()).isEqualTo("get_weather");
        assertThat(spec.path("description").asText()).isEqualTo("Current weather of a city");
        assertThat(spec.path("inputSchema").path("json").path("required").get(0).asText()).isEqualTo("city");
        assertThat(toolConfig.path("toolChoice").has("any")).isTrue();
    }

    static final ToolSpec WEATHER = new ToolSpec("get_weather", "Current weather of a city", WEATHER_SCHEMA);

    static ChatRequest askWithWeather(String text) {
        return new ChatRequest(MODEL, List.of(ChatMessage.user(text)), null, List.of(WEATHER));
    }

    @Test
    void aToolUsesInputStreamsInThePiecesBedrockSendsItIn() throws Exception {
        // contentBlockDelta pieces of five characters, cut inside the key, the string and the number.
        server.enqueue(BedrockBehaviour.toolUses(new BedrockBehaviour.ToolUse("tooluse_1", "get_weather",
                "{\"city\":\"Paris\",\"days\":12}")).inputInPiecesOf(5));

        RecordingHandler h = stream(askWithWeather("weather in Paris?"));

        assertThat(h.error).isNull();
        assertThat(h.toolCallDeltas).containsExactly(
                new ToolCallDelta(0, "tooluse_1", "get_weather", ""),
                new ToolCallDelta(0, null, null, "{\"cit"),
                new ToolCallDelta(0, null, null, "y\":\"P"),
                new ToolCallDelta(0, null, null, "aris\""),
                new ToolCallDelta(0, null, null, ",\"day"),
                new ToolCallDelta(0, null, null, "s\":12"),
                new ToolCallDelta(0, null, null, "}"));
        assertThat(h.response.toolCalls()).containsExactly(new ToolCall("tooluse_1", "get_weather", h.joinedArguments(0)));
        assertThat(h.joinedArguments(0)).isEqualTo("{\"city\":\"Paris\",\"days\":12}");
        assertThat(h.afterEnd).hasValue(0);
    }

    @Test
    void parallelToolUsesStreamUnderTheirOwnIndexes() throws Exception {
        server.enqueue(BedrockBehaviour.toolUses(
                new BedrockBehaviour.ToolUse("tooluse_1", "get_weather", "{\"city\":\"Paris\"}"),
                new BedrockBehaviour.ToolUse("tooluse_2", "get_weather", "{\"city\":\"Oslo\"}")));

        RecordingHandler h = stream(askWithWeather("weather in Paris and Oslo?"));

        assertThat(h.error).isNull();
        assertThat(h.toolCallDeltas).containsExactly(
                new ToolCallDelta(0, "tooluse_1", "get_weather", ""),
                new ToolCallDelta(0, null, null, "{\"city\":"),
                new ToolCallDelta(0, null, null, "\"Paris\"}"),
                new ToolCallDelta(1, "tooluse_2", "get_weather", ""),
                new ToolCallDelta(1, null, null, "{\"city\""),
                new ToolCallDelta(1, null, null, ":\"Oslo\"}"));
        assertThat(h.response.toolCalls()).containsExactly(
                new ToolCall("tooluse_1", "get_weather", h.joinedArguments(0)),
                new ToolCall("tooluse_2", "get_weather", h.joinedArguments(1)));
        assertThat(h.afterEnd).hasValue(0);
    }

    @Test
    void textThenAToolUseCountsOnlyToolUsesForTheIndex() throws Exception {
        // The text is content block 0 and the tool use block 1; the call is still the answer's call 0.
        server.enqueue(BedrockBehaviour.toolUses(
                new BedrockBehaviour.ToolUse("tooluse_1", "get_weather", "{\"city\":\"Paris\"}"))
                .withText("Let me check."));

        RecordingHandler h = stream(askWithWeather("weather in Paris?"));

        assertThat(h.error).isNull();
        assertThat(h.kinds).containsExactly("text", "text", "text", "call", "call", "call");
        assertThat(h.toolCallDeltas.get(0)).isEqualTo(new ToolCallDelta(0, "tooluse_1", "get_weather", ""));
        assertThat(h.toolCallDeltas).extracting(ToolCallDelta::index).containsOnly(0);
        assertThat(h.response.text()).isEqualTo("Let me check.");
        assertThat(h.response.toolCalls()).containsExactly(new ToolCall("tooluse_1", "get_weather", h.joinedArguments(0)));
        assertThat(h.afterEnd).hasValue(0);
    }

    @Test
    void noToolCallPieceArrivesAfterACancel() throws Exception {
        server.enqueue(BedrockBehaviour.toolUses(
                new BedrockBehaviour.ToolUse("tooluse_1", "get_weather", "{\"city\":\"Paris\"}"))
                .inputInPiecesOf(2).tokenDelay(Duration.ofMillis(100)));
        RecordingHandler h = new RecordingHandler();
        var handle = provider.stream(askWithWeather("weather in Paris?"), h);
        await().atMost(Duration.ofSeconds(10)).until(() -> h.toolCallDeltas.size() >= 2);

        handle.cancel();

        h.await();
        assertThat(h.error.code()).isEqualTo(ErrorCode.CANCELLED);
        int seen = h.toolCallDeltas.size();
        await().atMost(Duration.ofSeconds(10)).until(() -> server.abortedByClient() == 1);
        assertThat(h.toolCallDeltas).hasSize(seen).hasSizeLessThan(9);
        assertThat(h.afterEnd).hasValue(0);
    }

    @Test
    void toolCallsComeBackFromAWholeAnswerToo() throws Exception {
        server.enqueue(BedrockBehaviour.toolUses(
                new BedrockBehaviour.ToolUse("tooluse_a", "lookup", "{\"q\":\"x\",\"n\":2}"),
                new BedrockBehaviour.ToolUse("tooluse_b", "lookup", "{\"q\":\"y\"}")));
        ChatRequest request = new ChatRequest(MODEL, List.of(ChatMessage.user("look up x and y")),
                new ChatOptions(null, null, null, null, ToolChoice.tool("lookup"), null),
                List.of(new ToolSpec("lookup", null, "{\"type\":\"object\"}")));

        RecordingHandler h = complete(request);

        assertThat(h.error).isNull();
        assertThat(h.response.toolCalls()).extracting(ToolCall::id).containsExactly("tooluse_a", "tooluse_b");
        assertThat(h.response.toolCalls().get(0).argumentsJson()).isEqualTo("{\"q\":\"x\",\"n\":2}");
        assertThat(server.lastRequest().body().path("toolConfig").path("toolChoice").path("tool").path("name")
                .asText()).isEqualTo("lookup");
    }

    @Test
    void toolResultsGoBackAsOneUserTurnAfterTheAssistantsToolUses() throws Exception {
        ChatRequest request = new ChatRequest(MODEL, List.of(
                ChatMessage.user("weather in Paris and Oslo?"),
                ChatMessage.assistant("Checking.", List.of(
                        new ToolCall("tooluse_1", "get_weather", "{\"city\":\"Paris\"}"),
                        new ToolCall("tooluse_2", "get_weather", "{\"city\":\"Oslo\"}"))),
                ChatMessage.tool("tooluse_1", "sunny, 21 C"),
                ChatMessage.tool("tooluse_2", "rain, 9 C")), null,
                List.of(new ToolSpec("get_weather", "weather", WEATHER_SCHEMA)));
        server.enqueue(BedrockBehaviour.reply("Paris is sunny, Oslo rainy."));

        RecordingHandler h = stream(request);

        // The fake server refuses tool results that do not answer the previous turn's tool uses, as Bedrock does.
        assertThat(h.error).isNull();
        assertThat(h.response.text()).isEqualTo("Paris is sunny, Oslo rainy.");
        JsonNode messages = server.lastRequest().body().path("messages");
        assertThat(messages).hasSize(3);
        JsonNode assistant = messages.get(1);
        assertThat(assistant.path("role").asText()).isEqualTo("assistant");
        assertThat(assistant.path("content").get(0).path("text").asText()).isEqualTo("Checking.");
        assertThat(assistant.path("content").get(1).path("toolUse").path("input").path("city").asText())
                .isEqualTo("Paris");
        JsonNode results = messages.get(2);
        assertThat(results.path("role").asText()).isEqualTo("user");
        assertThat(results.path("content")).hasSize(2);
        assertThat(results.path("content").get(1).path("toolResult").path("toolUseId").asText())
                .isEqualTo("tooluse_2");
        assertThat(results.path("content").get(1).path("toolResult").path("content").get(0).path("text").asText())
                .isEqualTo("rain, 9 C");
    }

    @Test
    void inlineImagesGoOutAsImageBlocksWithTheirBytes() throws Exception {
        byte[] png = {(byte) 0x89, 'P', 'N', 'G', 13, 10, 26, 10, 0, 0, 0, 13};
        String b64 = Base64.getEncoder().encodeToString(png);
        ChatRequest request = new ChatRequest(MODEL, List.of(ChatMessage.user(List.of(
                ContentPart.text("what is this?"), ContentPart.imageBase64("image/png", b64),
                ContentPart.imageBase64("image/webp", b64)))), null, null);

        RecordingHandler h = stream(request);

        assertThat(h.error).isNull();
        JsonNode content = server.lastRequest().body().path("messages").get(0).path("content");
        assertThat(content.get(0).path("text").asText()).isEqualTo("what is this?");
        assertThat(content.get(1).path("image").path("format").asText()).isEqualTo("png");
        assertThat(content.get(1).path("image").path("source").path("bytes").asText()).isEqualTo(b64);
        assertThat(content.get(2).path("image").path("format").asText()).isEqualTo("webp");
    }

    @Test
    void imageUrlsAndUnsupportedImageTypesAreInvalidRequestsAndNothingIsSent() throws Exception {
        RecordingHandler url = stream(new ChatRequest(MODEL, List.of(ChatMessage.user(List.of(
                ContentPart.text("look"), ContentPart.imageUrl("https://example.com/cat.png", "image/png")))),
                null, null));
        RecordingHandler bmp = stream(new ChatRequest(MODEL, List.of(ChatMessage.user(List.of(
                ContentPart.imageBase64("image/bmp", "Qk0=")))), null, null));

        assertThat(url.error.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(url.error.getMessage()).contains("URL");
        assertThat(bmp.error.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(bmp.error.getMessage()).contains("image/bmp");
        assertThat(server.requests()).isEmpty();
    }

    @Test
    void structuredOutputAsksForTheJsonSchema() throws Exception {
        server.enqueue(BedrockBehaviour.reply("{\"answer\":42}"));
        String schema = "{\"type\":\"object\",\"properties\":{\"answer\":{\"type\":\"integer\"}}}";
        ChatRequest request = new ChatRequest(MODEL, List.of(ChatMessage.user("the answer as JSON")),
                new ChatOptions(null, null, null, null, null, ResponseFormat.jsonSchema("answer", schema, true)), null);

        RecordingHandler h = complete(request);

        assertThat(h.response.text()).isEqualTo("{\"answer\":42}");
        JsonNode format = server.lastRequest().body().path("outputConfig").path("textFormat");
        assertThat(format.path("type").asText()).isEqualTo("json_schema");
        assertThat(format.path("structure").path("jsonSchema").path("name").asText()).isEqualTo("answer");
        assertThat(format.path("structure").path("jsonSchema").path("schema").asText()).isEqualTo(schema);
    }

    @Test
    void aJsonObjectAnswerIsAskedForWithAnObjectSchema() throws Exception {
        stream(new ChatRequest(MODEL, List.of(ChatMessage.user("json")),
                new ChatOptions(null, null, null, null, null, ResponseFormat.JSON_OBJECT), null));
        assertThat(server.lastRequest().body().path("outputConfig").path("textFormat").path("structure")
                .path("jsonSchema").path("schema").asText()).isEqualTo("{\"type\":\"object\"}");
    }

    @Test
    void cancellingStopsTheUpstreamCallAndEndsWithCancelled() throws Exception {
        server.enqueue(BedrockBehaviour.reply("one two three four five six seven eight nine ten eleven twelve")
                .tokenDelay(Duration.ofMillis(300)));
        RecordingHandler h = new RecordingHandler();
        var handle = provider.stream(ask("count slowly"), h);
        assertThat(h.firstToken.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();

        handle.cancel();
        handle.cancel();

        h.await();
        assertThat(h.error.code()).isEqualTo(ErrorCode.CANCELLED);
        assertThat(h.ends).hasValue(1);
        await().atMost(Duration.ofSeconds(10)).until(() -> server.abortedByClient() == 1);
        assertThat(server.completedStreams()).isZero();
        await().atMost(Duration.ofSeconds(5)).until(() -> provider.running() == 0);
    }

    @Test
    void aWholeAnswerTakingLongerThanTheAnswerTimeoutIsAnUpstreamTimeout() throws Exception {
        provider.deactivate();
        provider = new BedrockProvider(TestConfigs.forServer(server, "answerTimeoutSeconds", 1));
        server.enqueue(BedrockBehaviour.reply("late words").firstEventDelay(Duration.ofSeconds(4)));

        RecordingHandler h = stream(ask("take your time"));

        assertThat(h.error.code()).isEqualTo(ErrorCode.UPSTREAM_TIMEOUT);
    }

    @Test
    void anotherInstanceWithOtherCredentialsAnswersFromItsOwnServer() throws Exception {
        try (FakeBedrockServer second = FakeBedrockServer.start("AKIDSECONDACCOUNT0001", "second/secret", "tok-2",
                "eu-west-1")) {
            BedrockProvider other = new BedrockProvider(TestConfigs.forServer(second, "id", "bedrock-eu",
                    "region", "eu-west-1", "_accessKeyId", "AKIDSECONDACCOUNT0001", "_secretAccessKey",
                    "second/secret", "_sessionToken", "tok-2", "models", new String[] {"amazon.nova-pro-v1:0"}));
            others.add(other);
            second.enqueue(BedrockBehaviour.reply("from eu"));
            server.enqueue(BedrockBehaviour.reply("from us"));

            RecordingHandler eu = new RecordingHandler();
            other.stream(new ChatRequest("amazon.nova-pro-v1:0", List.of(ChatMessage.user("hi")), null, null), eu);
            RecordingHandler us = stream(ask("hi"));

            assertThat(eu.await().response.text()).isEqualTo("from eu");
            assertThat(us.response.text()).isEqualTo("from us");
            assertThat(other.id()).isEqualTo("bedrock-eu");
            assertThat(provider.id()).isEqualTo("bedrock");
            assertThat(other.models()).extracting(m -> m.id() + "@" + m.providerId())
                    .containsExactly("amazon.nova-pro-v1:0@bedrock-eu");
            assertThat(second.lastRequest().header("x-amz-security-token")).isEqualTo("tok-2");
            assertThat(second.requests()).hasSize(1);
            assertThat(server.requests()).hasSize(1);
        }
    }

    @Test
    void withoutStaticKeysTheAwsDefaultCredentialsChainSignsTheRequests() throws Exception {
        // The chain's first source is the aws.accessKeyId / aws.secretAccessKey system properties.
        System.setProperty("aws.accessKeyId", FakeBedrockServer.ACCESS_KEY_ID);
        System.setProperty("aws.secretAccessKey", FakeBedrockServer.SECRET_ACCESS_KEY);
        BedrockProvider chained = new BedrockProvider(TestConfigs.forServer(server, "id", "bedrock-chain",
                "_accessKeyId", "", "_secretAccessKey", ""));
        others.add(chained);
        try {
            RecordingHandler h = new RecordingHandler();
            chained.stream(ask("signed by the chain"), h);
            assertThat(h.await().error).isNull();
            assertThat(h.response.text()).isEqualTo("echo: signed by the chain");
        } finally {
            System.clearProperty("aws.accessKeyId");
            System.clearProperty("aws.secretAccessKey");
        }
    }

    @Test
    void withoutConfiguredModelsADefaultListIsOffered() {
        provider.deactivate();
        provider = new BedrockProvider(TestConfigs.forServer(server, "models", new String[0]));
        assertThat(provider.models()).extracting(m -> m.id()).containsExactlyElementsOf(BedrockProvider.DEFAULT_MODELS);
    }
}

package dev.parley.provider.anthropic.internal;

import static dev.parley.provider.anthropic.internal.TestConfigs.provider;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ContentPart;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ModelCapability;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.ResponseFormat;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.llm.ToolChoice;
import dev.parley.api.llm.ToolSpec;
import dev.parley.api.llm.Usage;
import dev.parley.testsupport.RecordedRequest;
import dev.parley.testsupport.anthropic.AnthropicBehaviour;
import dev.parley.testsupport.anthropic.AnthropicBehaviour.ToolUse;
import dev.parley.testsupport.anthropic.FakeAnthropicServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The provider with the real embedded SDK against a local server speaking the Messages API wire protocol. */
class AnthropicChatModelProviderTest {

    static final String KEY = "sk-ant-test-0123456789";
    static final String MODEL = "claude-sonnet-4-5";

    FakeAnthropicServer server;
    AnthropicChatModelProvider provider;
    final List<AnthropicChatModelProvider> others = new ArrayList<>();

    @BeforeEach
    void start() {
        server = FakeAnthropicServer.start(KEY);
        provider = provider(server.baseUrl(), KEY, "models", new String[] {MODEL, "claude-haiku-4-5"});
    }

    @AfterEach
    void stop() {
        provider.deactivate();
        others.forEach(AnthropicChatModelProvider::deactivate);
        server.close();
    }

    static ChatRequest ask(String text) {
        return new ChatRequest(MODEL, List.of(ChatMessage.user(text)), null, null);
    }

    static ChatRequest ask(List<ChatMessage> messages, ChatOptions options, List<ToolSpec> tools) {
        return new ChatRequest(MODEL, messages, options, tools);
    }

    RecordingHandler stream(ChatRequest r) {
        var h = new RecordingHandler();
        provider.stream(r, h);
        return h;
    }

    RecordingHandler complete(ChatRequest r) {
        var h = new RecordingHandler();
        provider.complete(r, h);
        return h;
    }

    // ---- streaming and complete -------------------------------------------------------------------------------

    @Test
    void streamsTokensInOrderThenTheWholeAnswer() throws Exception {
        ChatResponse r = stream(ask("hello there world")).completed();
        var h = stream(ask("one two"));
        h.completed();
        assertThat(h.tokens).containsExactly("echo:", " one", " two");
        assertThat(r.text()).isEqualTo("echo: hello there world");
        assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(r.model()).isEqualTo(MODEL);
        assertThat(r.usage()).isEqualTo(new Usage(3, 4, 0));

        RecordedRequest sent = server.lastMessageRequest();
        assertThat(sent.method()).isEqualTo("POST");
        assertThat(sent.header("x-api-key")).isEqualTo(KEY);
        assertThat(sent.header("anthropic-version")).isEqualTo("2023-06-01");
        assertThat(sent.body().path("stream").asBoolean()).isTrue();
        assertThat(sent.body().path("model").asText()).isEqualTo(MODEL);
        // The vendor requires max_tokens: the model's limit (here the configured default) when the request has none.
        assertThat(sent.body().path("max_tokens").asLong()).isEqualTo(8192);
        assertThat(sent.body().path("messages")).hasSize(1);
        assertThat(sent.body().path("messages").get(0).path("role").asText()).isEqualTo("user");
        assertThat(sent.body().path("messages").get(0).path("content").get(0).path("text").asText()).isEqualTo("one two");
        assertThat(server.completedStreams()).isEqualTo(2);
    }

    @Test
    void completeMakesOneNonStreamedCall() throws Exception {
        var h = complete(ask("whole please"));
        ChatResponse r = h.completed();
        assertThat(h.tokens).isEmpty();
        assertThat(r.text()).isEqualTo("echo: whole please");
        assertThat(r.usage().completionTokens()).isEqualTo(3);
        assertThat(server.messageRequests()).hasSize(1);
        assertThat(server.lastMessageRequest().body().path("stream").asBoolean(false)).isFalse();
        assertThat(server.completedStreams()).isZero();
    }

    @Test
    void systemPromptsAndSamplingOptionsReachTheWire() throws Exception {
        var options = new ChatOptions(0.3, 0.9, 77, List.of("STOP", "END"));
        stream(ask(List.of(ChatMessage.system("Be brief."), ChatMessage.system("Be kind."), ChatMessage.user("hi")),
                options, null)).completed();
        JsonNode body = server.lastMessageRequest().body();
        assertThat(body.path("system").asText()).isEqualTo("Be brief.\n\nBe kind.");
        assertThat(body.path("temperature").asDouble()).isEqualTo(0.3);
        assertThat(body.path("top_p").asDouble()).isEqualTo(0.9);
        assertThat(body.path("max_tokens").asInt()).isEqualTo(77);
        assertThat(body.path("stop_sequences")).extracting(JsonNode::asText).containsExactly("STOP", "END");
        assertThat(body.path("messages")).hasSize(1);
    }

    @Test
    void aStopSequenceAndMaxTokensEndTheAnswerWithTheirFinishReason() throws Exception {
        server.enqueue(AnthropicBehaviour.reply("cut short").stopReason("max_tokens"));
        assertThat(stream(ask("x")).completed().finishReason()).isEqualTo(FinishReason.LENGTH);
        server.enqueue(AnthropicBehaviour.reply("until").stopReason("stop_sequence"));
        assertThat(complete(ask("x")).completed().finishReason()).isEqualTo(FinishReason.STOP);
    }

    // ---- tools ---------------------------------------------------------------------------------------------------

    static final ToolSpec WEATHER = new ToolSpec("get_weather", "Weather for a city",
            "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}");
    static final ToolSpec TIME = new ToolSpec("get_time", null, null);

    @Test
    void toolDefinitionsGoOutAndParallelCallsComeBackStreamed() throws Exception {
        server.enqueue(AnthropicBehaviour.toolUse("Let me check.",
                new ToolUse("toolu_01", "get_weather", "{\"city\":\"Paris\"}"),
                new ToolUse("toolu_02", "get_weather", "{\"city\":\"Oslo\"}")));
        var h = stream(ask(List.of(ChatMessage.user("weather in Paris and Oslo?")),
                new ChatOptions(null, null, null, null, ToolChoice.REQUIRED, null), List.of(WEATHER, TIME)));
        ChatResponse r = h.completed();
        assertThat(r.text()).isEqualTo("Let me check.");
        assertThat(r.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
        assertThat(r.toolCalls()).containsExactly(
                new ToolCall("toolu_01", "get_weather", "{\"city\":\"Paris\"}"),
                new ToolCall("toolu_02", "get_weather", "{\"city\":\"Oslo\"}"));

        JsonNode body = server.lastMessageRequest().body();
        assertThat(body.path("tools")).hasSize(2);
        JsonNode weather = body.path("tools").get(0);
        assertThat(weather.path("name").asText()).isEqualTo("get_weather");
        assertThat(weather.path("description").asText()).isEqualTo("Weather for a city");
        assertThat(weather.path("input_schema").path("type").asText()).isEqualTo("object");
        assertThat(weather.path("input_schema").path("properties").path("city").path("type").asText()).isEqualTo("string");
        assertThat(weather.path("input_schema").path("required").get(0).asText()).isEqualTo("city");
        assertThat(body.path("tools").get(1).path("input_schema").path("type").asText()).isEqualTo("object");
        assertThat(body.path("tool_choice").path("type").asText()).isEqualTo("any");
    }

    @Test
    void aToolCallsInputStreamsInThePiecesAnthropicSendsItIn() throws Exception {
        // input_json_delta pieces of five characters, cut inside the key, the string and the number.
        server.enqueue(AnthropicBehaviour.toolUse(null, new ToolUse("toolu_01", "get_weather",
                "{\"city\":\"Paris\",\"days\":12}")).inputInPiecesOf(5));
        var h = stream(ask(List.of(ChatMessage.user("weather in Paris?")), null, List.of(WEATHER)));
        ChatResponse r = h.completed();

        assertThat(h.toolCallDeltas).containsExactly(
                new ToolCallDelta(0, "toolu_01", "get_weather", ""),
                new ToolCallDelta(0, null, null, "{\"cit"),
                new ToolCallDelta(0, null, null, "y\":\"P"),
                new ToolCallDelta(0, null, null, "aris\""),
                new ToolCallDelta(0, null, null, ",\"day"),
                new ToolCallDelta(0, null, null, "s\":12"),
                new ToolCallDelta(0, null, null, "}"));
        assertThat(r.toolCalls()).containsExactly(new ToolCall("toolu_01", "get_weather", h.joinedArguments(0)));
        assertThat(h.joinedArguments(0)).isEqualTo("{\"city\":\"Paris\",\"days\":12}");
        assertThat(h.afterEnd).hasValue(0);
    }

    @Test
    void parallelToolCallsStreamUnderTheirOwnIndexes() throws Exception {
        server.enqueue(AnthropicBehaviour.toolUse(null,
                new ToolUse("toolu_01", "get_weather", "{\"city\":\"Paris\"}"),
                new ToolUse("toolu_02", "get_time", "{}")));
        var h = stream(ask(List.of(ChatMessage.user("weather in Paris, and the time?")), null, List.of(WEATHER, TIME)));
        ChatResponse r = h.completed();

        assertThat(h.toolCallDeltas).containsExactly(
                new ToolCallDelta(0, "toolu_01", "get_weather", ""),
                new ToolCallDelta(0, null, null, "{\"city\":"),
                new ToolCallDelta(0, null, null, "\"Paris\"}"),
                new ToolCallDelta(1, "toolu_02", "get_time", ""),
                new ToolCallDelta(1, null, null, "{"),
                new ToolCallDelta(1, null, null, "}"));
        assertThat(r.toolCalls()).containsExactly(new ToolCall("toolu_01", "get_weather", h.joinedArguments(0)),
                new ToolCall("toolu_02", "get_time", h.joinedArguments(1)));
        assertThat(h.afterEnd).hasValue(0);
    }

    @Test
    void textThenAToolCallCountsOnlyToolUseBlocksForTheIndex() throws Exception {
        // The text is content block 0 and the tool_use block 1; the call is still the answer's call 0.
        server.enqueue(AnthropicBehaviour.toolUse("Let me check.",
                new ToolUse("toolu_01", "get_weather", "{\"city\":\"Paris\"}")));
        var h = stream(ask(List.of(ChatMessage.user("weather in Paris?")), null, List.of(WEATHER)));
        ChatResponse r = h.completed();

        assertThat(h.kinds).containsExactly("text", "text", "text", "call", "call", "call");
        assertThat(h.toolCallDeltas.get(0)).isEqualTo(new ToolCallDelta(0, "toolu_01", "get_weather", ""));
        assertThat(h.toolCallDeltas).extracting(ToolCallDelta::index).containsOnly(0);
        assertThat(r.text()).isEqualTo("Let me check.");
        assertThat(r.toolCalls()).containsExactly(new ToolCall("toolu_01", "get_weather", h.joinedArguments(0)));
        assertThat(h.joinedArguments(0)).isEqualTo("{\"city\":\"Paris\"}");
        assertThat(h.afterEnd).hasValue(0);
    }

    @Test
    void noToolCallPieceArrivesAfterACancel() throws Exception {
        server.enqueue(AnthropicBehaviour.toolUse(null, new ToolUse("toolu_01", "get_weather", "{\"city\":\"Paris\"}"))
                .inputInPiecesOf(2).deltaDelay(Duration.ofMillis(100)));
        var h = new RecordingHandler();
        StreamHandle handle = provider.stream(ask(List.of(ChatMessage.user("weather in Paris?")), null,
                List.of(WEATHER)), h);
        await().atMost(Duration.ofSeconds(10)).until(() -> h.toolCallDeltas.size() >= 2);
        handle.cancel();

        assertThat(h.failed().code()).isEqualTo(ErrorCode.CANCELLED);
        int seen = h.toolCallDeltas.size();
        await().atMost(Duration.ofSeconds(10)).until(() -> server.abortedByClient() == 1);
        assertThat(h.toolCallDeltas).hasSize(seen).hasSizeLessThan(9);
        assertThat(h.afterEnd).hasValue(0);
    }

    @Test
    void toolCallsComeBackFromAWholeAnswerToo() throws Exception {
        server.enqueue(AnthropicBehaviour.toolUse(null, new ToolUse("toolu_09", "get_time", "{}")));
        ChatResponse r = complete(ask(List.of(ChatMessage.user("time?")),
                new ChatOptions(null, null, null, null, ToolChoice.tool("get_time"), null), List.of(TIME))).completed();
        assertThat(r.toolCalls()).containsExactly(new ToolCall("toolu_09", "get_time", "{}"));
        assertThat(r.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
        JsonNode choice = server.lastMessageRequest().body().path("tool_choice");
        assertThat(choice.path("type").asText()).isEqualTo("tool");
        assertThat(choice.path("name").asText()).isEqualTo("get_time");
    }

    @Test
    void assistantToolCallsAndToolResultsAreSentBackAsToolUseAndToolResultBlocks() throws Exception {
        List<ChatMessage> conversation = List.of(
                ChatMessage.user("weather in Paris and Oslo?"),
                ChatMessage.assistant("Checking.", List.of(
                        new ToolCall("toolu_01", "get_weather", "{\"city\":\"Paris\"}"),
                        new ToolCall("toolu_02", "get_weather", "{\"city\":\"Oslo\"}"))),
                ChatMessage.tool("toolu_01", "18 C"),
                ChatMessage.tool("toolu_02", "9 C"));
        stream(ask(conversation, null, List.of(WEATHER))).completed();
        JsonNode messages = server.lastMessageRequest().body().path("messages");
        assertThat(messages).hasSize(3);
        JsonNode assistant = messages.get(1);
        assertThat(assistant.path("role").asText()).isEqualTo("assistant");
        assertThat(assistant.path("content").get(0).path("text").asText()).isEqualTo("Checking.");
        assertThat(assistant.path("content").get(1).path("type").asText()).isEqualTo("tool_use");
        assertThat(assistant.path("content").get(1).path("id").asText()).isEqualTo("toolu_01");
        assertThat(assistant.path("content").get(1).path("input").path("city").asText()).isEqualTo("Paris");
        assertThat(assistant.path("content").get(2).path("id").asText()).isEqualTo("toolu_02");
        // Both results in the one user turn after the calls, as the Messages API requires.
        JsonNode results = messages.get(2);
        assertThat(results.path("role").asText()).isEqualTo("user");
        assertThat(results.path("content")).hasSize(2);
        assertThat(results.path("content").get(0).path("type").asText()).isEqualTo("tool_result");
        assertThat(results.path("content").get(0).path("tool_use_id").asText()).isEqualTo("toolu_01");
        assertThat(results.path("content").get(0).path("content").asText()).isEqualTo("18 C");
        assertThat(results.path("content").get(1).path("tool_use_id").asText()).isEqualTo("toolu_02");
    }

    @Test
    void aMalformedToolSchemaIsRefusedBeforeAnythingIsSent() throws Exception {
        var bad = new ToolSpec("broken", null, "[1,2]");
        var e = stream(ask(List.of(ChatMessage.user("x")), null, List.of(bad))).failed();
        assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(e.getMessage()).contains("broken");
        var unknown = stream(ask(List.of(ChatMessage.user("x")),
                new ChatOptions(null, null, null, null, ToolChoice.tool("nope"), null), List.of(TIME))).failed();
        assertThat(unknown.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(server.messageRequests()).isEmpty();
    }

    // ---- images ----------------------------------------------------------------------------------------------------

    @Test
    void imagesGoOutAsBase64AndUrlSources() throws Exception {
        var msg = ChatMessage.user(List.of(ContentPart.text("what is this?"),
                ContentPart.imageBase64("image/png", "iVBORw0KGgo="),
                ContentPart.imageUrl("https://example.com/cat.jpg", null)));
        assertThat(stream(ask(List.of(msg), null, null)).completed().text()).isEqualTo("echo: what is this?");
        JsonNode content = server.lastMessageRequest().body().path("messages").get(0).path("content");
        assertThat(content).hasSize(3);
        assertThat(content.get(1).path("type").asText()).isEqualTo("image");
        assertThat(content.get(1).path("source").path("type").asText()).isEqualTo("base64");
        assertThat(content.get(1).path("source").path("media_type").asText()).isEqualTo("image/png");
        assertThat(content.get(1).path("source").path("data").asText()).isEqualTo("iVBORw0KGgo=");
        assertThat(content.get(2).path("source").path("type").asText()).isEqualTo("url");
        assertThat(content.get(2).path("source").path("url").asText()).isEqualTo("https://example.com/cat.jpg");
    }

    @Test
    void anImageTypeTheVendorDoesNotTakeIsAClearInvalidRequest() throws Exception {
        var tiff = ChatMessage.user(List.of(ContentPart.imageBase64("image/tiff", "AAAA")));
        var e = stream(ask(List.of(tiff), null, null)).failed();
        assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(e.getMessage()).contains("image/tiff").contains("image/png");
        var ftp = ChatMessage.user(List.of(ContentPart.imageUrl("ftp://example.com/a.png", null)));
        assertThat(stream(ask(List.of(ftp), null, null)).failed().code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(server.messageRequests()).isEmpty();
    }

    // ---- structured output ---------------------------------------------------------------------------------------

    @Test
    void aJsonSchemaGoesOutAsTheVendorsJsonSchemaOutputFormat() throws Exception {
        String schema = "{\"type\":\"object\",\"properties\":{\"answer\":{\"type\":\"string\"}},"
                + "\"required\":[\"answer\"],\"additionalProperties\":false}";
        server.enqueue(AnthropicBehaviour.reply("{\"answer\":\"42\"}"));
        var options = new ChatOptions(null, null, null, null, null, ResponseFormat.jsonSchema("answer", schema, true));
        assertThat(stream(ask(List.of(ChatMessage.user("q")), options, null)).completed().text())
                .isEqualTo("{\"answer\":\"42\"}");
        JsonNode format = server.lastMessageRequest().body().path("output_config").path("format");
        assertThat(format.path("type").asText()).isEqualTo("json_schema");
        assertThat(format.path("schema").path("required").get(0).asText()).isEqualTo("answer");
        assertThat(format.path("schema").path("additionalProperties").asBoolean(true)).isFalse();
    }

    @Test
    void jsonObjectAsksForJsonInTheSystemPrompt() throws Exception {
        var options = new ChatOptions(null, null, null, null, null, ResponseFormat.JSON_OBJECT);
        stream(ask(List.of(ChatMessage.system("You are terse."), ChatMessage.user("q")), options, null)).completed();
        JsonNode body = server.lastMessageRequest().body();
        assertThat(body.path("system").asText()).startsWith("You are terse.").endsWith(MessagesRequest.JSON_OBJECT_INSTRUCTION);
        assertThat(body.has("output_config")).isFalse();
    }

    // ---- usage --------------------------------------------------------------------------------------------------

    @Test
    void cachedPromptTokensAreReportedStreamedAndWhole() throws Exception {
        server.enqueue(AnthropicBehaviour.reply("a b").cache(100, 20));
        Usage streamed = stream(ask("one two three")).completed().usage();
        // input_tokens excludes cache reads and writes: the prompt is all three together.
        assertThat(streamed).isEqualTo(new Usage(3 + 100 + 20, 2, 100));
        server.enqueue(AnthropicBehaviour.reply("a b").cache(50, 0));
        assertThat(complete(ask("one")).completed().usage()).isEqualTo(new Usage(1 + 50, 2, 50));
    }

    @Test
    void theModelThatAnsweredIsReported() throws Exception {
        server.enqueue(AnthropicBehaviour.reply("hi").answeredBy("claude-sonnet-4-5-20250929"));
        assertThat(stream(ask("x")).completed().model()).isEqualTo("claude-sonnet-4-5-20250929");
    }

    // ---- cancellation and timeouts ---------------------------------------------------------------------------------

    @Test
    void cancellingStopsTheUpstreamCall() throws Exception {
        server.enqueue(AnthropicBehaviour.reply("one two three four five six seven eight nine ten")
                .deltaDelay(Duration.ofMillis(300)));
        var h = new RecordingHandler();
        StreamHandle handle = provider.stream(ask("x"), h);
        assertThat(h.firstToken.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        handle.cancel();
        assertThat(h.failed().code()).isEqualTo(ErrorCode.CANCELLED);
        handle.cancel();
        await().atMost(Duration.ofSeconds(10)).until(() -> server.abortedByClient() == 1);
        assertThat(server.completedStreams()).isZero();
        assertThat(h.tokens.size()).isLessThan(10);
        assertThat(h.terminalCalls).hasValue(1);
    }

    @Test
    void cancellingBeforeTheHeadersArriveStopsTheCallToo() throws Exception {
        server.enqueue(AnthropicBehaviour.reply("late").headersDelay(Duration.ofSeconds(2)));
        var h = new RecordingHandler();
        StreamHandle handle = provider.complete(ask("x"), h);
        await().atMost(Duration.ofSeconds(5)).until(() -> server.inFlight() == 1);
        handle.cancel();
        assertThat(h.failed().code()).isEqualTo(ErrorCode.CANCELLED);
        assertThat(h.terminalCalls).hasValue(1);
    }

    @Test
    void anAnswerSlowerThanTheAnswerTimeoutFailsWithUpstreamTimeout() throws Exception {
        var slow = provider(server.baseUrl(), KEY, "models", new String[] {MODEL}, "answerTimeoutSeconds", 1);
        others.add(slow);
        server.enqueue(AnthropicBehaviour.reply("a b c d e f").deltaDelay(Duration.ofMillis(400)));
        var h = new RecordingHandler();
        slow.stream(ask("x"), h);
        assertThat(h.failed().code()).isEqualTo(ErrorCode.UPSTREAM_TIMEOUT);
        server.enqueue(AnthropicBehaviour.reply("never").headersDelay(Duration.ofSeconds(3)));
        var whole = new RecordingHandler();
        slow.complete(ask("x"), whole);
        assertThat(whole.failed().code()).isEqualTo(ErrorCode.UPSTREAM_TIMEOUT);
    }

    @Test
    void anAnswerLargerThanTheLimitFailsAndIsClosed() throws Exception {
        var small = provider(server.baseUrl(), KEY, "models", new String[] {MODEL}, "maxAnswerChars", 1024);
        others.add(small);
        server.enqueue(AnthropicBehaviour.reply("word ".repeat(400)));
        var h = new RecordingHandler();
        small.stream(ask("x"), h);
        assertThat(h.failed().code()).isEqualTo(ErrorCode.UPSTREAM_PROTOCOL);
        assertThat(h.error.getMessage()).contains("1024");
    }

    // ---- models and instances ---------------------------------------------------------------------------------

    @Test
    void withoutConfiguredModelsTheVendorsListIsUsedEveryPage() throws Exception {
        server.models(List.of(FakeAnthropicServer.model("claude-a", "Claude A", 200_000, 64_000),
                FakeAnthropicServer.model("claude-b", "Claude B", 100_000, 4_096),
                FakeAnthropicServer.model("claude-c", "Claude C", 1_000_000, 128_000))).modelsPageSize(2);
        var listed = provider(server.baseUrl(), KEY);
        others.add(listed);
        await().atMost(Duration.ofSeconds(10)).until(() -> listed.models().size() == 3);
        ModelDescriptor b = listed.models().get(1);
        assertThat(b.id()).isEqualTo("claude-b");
        assertThat(b.displayName()).isEqualTo("Claude B");
        assertThat(b.contextWindow()).isEqualTo(100_000);
        assertThat(b.maxOutputTokens()).isEqualTo(4_096);
        assertThat(b.providerId()).isEqualTo("anthropic");
        assertThat(b.capabilities()).containsExactlyInAnyOrder(ModelCapability.TOOLS, ModelCapability.VISION,
                ModelCapability.JSON_OUTPUT);
        assertThat(server.requests()).filteredOn(r -> r.path().equals("/v1/models")).hasSize(2)
                .allSatisfy(r -> assertThat(r.header("x-api-key")).isEqualTo(KEY));
        // max_tokens defaults to the listed model's own limit.
        var h = new RecordingHandler();
        listed.stream(new ChatRequest("claude-b", List.of(ChatMessage.user("x")), null, null), h);
        h.completed();
        assertThat(server.lastMessageRequest().body().path("max_tokens").asInt()).isEqualTo(4_096);
    }

    @Test
    void twoInstancesRunSideBySideWithTheirOwnKeysAndIds() throws Exception {
        try (var second = FakeAnthropicServer.start("sk-ant-second")) {
            var other = provider(second.baseUrl(), "sk-ant-second", "id", "anthropic-eu", "models",
                    new String[] {"claude-haiku-4-5"});
            others.add(other);
            assertThat(other.id()).isEqualTo("anthropic-eu");
            assertThat(provider.id()).isEqualTo("anthropic");
            assertThat(other.models()).extracting(ModelDescriptor::providerId).containsOnly("anthropic-eu");
            var h1 = stream(ask("first"));
            var h2 = new RecordingHandler();
            other.stream(new ChatRequest("claude-haiku-4-5", List.of(ChatMessage.user("second")), null, null), h2);
            assertThat(h1.completed().text()).isEqualTo("echo: first");
            assertThat(h2.completed().text()).isEqualTo("echo: second");
            assertThat(second.lastMessageRequest().header("x-api-key")).isEqualTo("sk-ant-second");
            assertThat(server.lastMessageRequest().header("x-api-key")).isEqualTo(KEY);
            assertThat(server.messageRequests()).hasSize(1);
            assertThat(second.messageRequests()).hasSize(1);
        }
    }

    @Test
    void aStoppedProviderDrainsWhatRunsAndRefusesWhatComes() throws Exception {
        var draining = provider(server.baseUrl(), KEY, "id", "drain-test", "models", new String[] {MODEL},
                "drainTimeoutSeconds", 10);
        server.enqueue(AnthropicBehaviour.reply("a b c d e").deltaDelay(Duration.ofMillis(100)));
        var h = new RecordingHandler();
        draining.stream(ask("x"), h);
        assertThat(h.firstToken.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        draining.deactivate();
        assertThat(h.ended.getCount()).as("ended before deactivate returned").isZero();
        assertThat(h.completed().text()).isEqualTo("a b c d e");
        var after = new RecordingHandler();
        draining.stream(ask("x"), after);
        assertThat(after.failed().code()).isEqualTo(ErrorCode.UNAVAILABLE);
        // No thread of the stopped instance is left behind (its pools are named after its id).
        await().atMost(Duration.ofSeconds(10)).until(() -> Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.isAlive() && t.getName().contains("drain-test")));
    }
}

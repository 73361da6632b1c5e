package dev.parley.provider.mistral.internal;

import static dev.parley.testsupport.mistral.MistralBehaviour.call;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.embedding.EmbeddingResponse;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ContentPart;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ModelCapability;
import dev.parley.api.llm.ResponseFormat;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.llm.ToolChoice;
import dev.parley.api.llm.ToolSpec;
import dev.parley.testsupport.RecordedRequest;
import dev.parley.testsupport.mistral.FakeMistralServer;
import dev.parley.testsupport.mistral.MistralBehaviour;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The provider with the real langchain4j-mistral-ai client against a server speaking Mistral's wire protocol. */
class MistralProviderTest {

    static final String KEY = "mk-test-4f9a1c77e2";
    static final String MODEL = "mistral-small-latest";

    FakeMistralServer server;
    final List<MistralProvider> providers = new ArrayList<>();

    @BeforeEach
    void start() {
        server = FakeMistralServer.start(KEY);
    }

    @AfterEach
    void stop() {
        providers.forEach(MistralProvider::deactivate);
        server.close();
    }

    MistralProvider provider() {
        return provider(settings(server.baseUrl(), KEY, List.of(MODEL, "pixtral-12b-2409")));
    }

    MistralProvider provider(MistralProvider.Settings s) {
        MistralProvider p = new MistralProvider(s);
        providers.add(p);
        return p;
    }

    static MistralProvider.Settings settings(String baseUrl, String key, List<String> models) {
        return new MistralProvider.Settings("mistral", baseUrl, key, models, List.of("mistral-embed"),
                List.of("pixtral-*"), 32768, 4096, Duration.ofSeconds(5), Duration.ofSeconds(20), 1024 * 1024,
                Duration.ofSeconds(5), false, null);
    }

    static ChatRequest ask(String text) {
        return new ChatRequest(MODEL, List.of(ChatMessage.system("Be brief."), ChatMessage.user(text)), null, null);
    }

    static RecordingHandler run(BiFunction<ChatRequest, RecordingHandler, StreamHandle> how, ChatRequest r) {
        RecordingHandler h = new RecordingHandler();
        how.apply(r, h);
        return h.await();
    }

    // ---- streaming and complete ----------------------------------------------------------------------------

    @Test
    void streamsTokensInOrderThenTheWholeAnswerWithUsage() {
        MistralProvider p = provider();
        RecordingHandler h = run(p::stream, ask("hello there world"));

        assertThat(h.error).isNull();
        assertThat(h.tokens).containsExactly("echo:", " hello", " there", " world");
        assertThat(h.response.text()).isEqualTo("echo: hello there world");
        assertThat(h.response.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(h.response.model()).isEqualTo(MODEL);
        // prompt: "Be brief." (2 words) + 3 words; completion: 4 chunks
        assertThat(h.response.usage().promptTokens()).isEqualTo(5);
        assertThat(h.response.usage().completionTokens()).isEqualTo(4);
        assertThat(h.terminals).hasValue(1);

        RecordedRequest sent = server.lastChatRequest();
        assertThat(sent.header("authorization")).isEqualTo("Bearer " + KEY);
        assertThat(sent.body().path("stream").asBoolean()).isTrue();
        assertThat(sent.body().path("model").asText()).isEqualTo(MODEL);
        JsonNode messages = sent.body().path("messages");
        assertThat(messages.get(0).path("role").asText()).isEqualTo("system");
        assertThat(messages.get(0).path("content").get(0).path("text").asText()).isEqualTo("Be brief.");
        assertThat(messages.get(1).path("role").asText()).isEqualTo("user");
        assertThat(server.completedStreams()).isEqualTo(1);
    }

    @Test
    void completeIsOneNonStreamedCallWithoutTokens() {
        MistralProvider p = provider();
        RecordingHandler h = run(p::complete, ask("whole please"));

        assertThat(h.error).isNull();
        assertThat(h.tokens).isEmpty();
        assertThat(h.response.text()).isEqualTo("echo: whole please");
        assertThat(h.response.usage().completionTokens()).isEqualTo(3);
        assertThat(server.chatRequests()).hasSize(1);
        assertThat(server.lastChatRequest().body().path("stream").asBoolean()).isFalse();
    }

    @Test
    void samplingOptionsStopSequencesSeedAndSafePromptReachTheWire() {
        MistralProvider.Settings s = settings(server.baseUrl(), KEY, List.of(MODEL));
        MistralProvider p = provider(new MistralProvider.Settings(s.id(), s.baseUrl(), s.apiKey(), s.models(),
                s.embeddingModels(), s.visionModels(), s.contextWindow(), s.maxOutputTokens(), s.connectTimeout(),
                s.answerTimeout(), s.maxAnswerBytes(), s.drainTimeout(), true, 42));
        ChatOptions options = new ChatOptions(0.3, 0.9, 77, List.of("END", "STOP"));
        run(p::stream, new ChatRequest(MODEL, List.of(ChatMessage.user("x")), options, null));

        JsonNode body = server.lastChatRequest().body();
        assertThat(body.path("temperature").asDouble()).isEqualTo(0.3);
        assertThat(body.path("top_p").asDouble()).isEqualTo(0.9);
        assertThat(body.path("max_tokens").asInt()).isEqualTo(77);
        assertThat(body.path("stop").toString()).isEqualTo("[\"END\",\"STOP\"]");
        assertThat(body.path("random_seed").asInt()).isEqualTo(42);
        assertThat(body.path("safe_prompt").asBoolean()).isTrue();
    }

    @Test
    void defaultsLeaveOptionalFieldsOff() {
        MistralProvider p = provider();
        run(p::stream, ask("x"));
        JsonNode body = server.lastChatRequest().body();
        assertThat(body.has("temperature")).isFalse();
        assertThat(body.has("random_seed")).isFalse();
        assertThat(body.has("safe_prompt")).isFalse();
        assertThat(body.has("tools")).isFalse();
        assertThat(body.has("response_format")).isFalse();
    }

    // ---- tools ---------------------------------------------------------------------------------------------

    static final ToolSpec WEATHER = new ToolSpec("get_weather", "Weather for a city",
            "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"description\":\"City name\"}},"
                    + "\"required\":[\"city\"]}");
    static final ToolSpec TIME = new ToolSpec("get_time", "Local time", "{\"type\":\"object\",\"properties\":{}}");

    @Test
    void parallelToolCallsComeOutAndTheirResultsGoBack() {
        MistralProvider p = provider();
        for (var how : List.<BiFunction<ChatRequest, RecordingHandler, StreamHandle>>of(p::stream, p::complete)) {
            server.enqueue(MistralBehaviour.toolCalls(call("get_weather", "{\"city\":\"Paris\"}"),
                    call("get_weather", "{\"city\":\"Lyon\"}")));
            RecordingHandler h = run(how, new ChatRequest(MODEL, List.of(ChatMessage.user("weather?")), null,
                    List.of(WEATHER, TIME)));

            assertThat(h.error).isNull();
            assertThat(h.response.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
            assertThat(h.response.toolCalls()).extracting(ToolCall::id).containsExactly("call1abcd", "call2abcd");
            assertThat(h.response.toolCalls()).extracting(ToolCall::name).containsOnly("get_weather");
            assertThat(h.response.toolCalls()).extracting(ToolCall::argumentsJson)
                    .containsExactly("{\"city\":\"Paris\"}", "{\"city\":\"Lyon\"}");
        }
        JsonNode tools = server.lastChatRequest().body().path("tools");
        assertThat(tools).hasSize(2);
        assertThat(tools.get(0).path("type").asText()).isEqualTo("function");
        assertThat(tools.get(0).path("function").path("name").asText()).isEqualTo("get_weather");
        assertThat(tools.get(0).path("function").path("parameters").path("properties").path("city").path("type")
                .asText()).isEqualTo("string");
        assertThat(tools.get(0).path("function").path("parameters").path("required").get(0).asText()).isEqualTo("city");

        // The results go back: the assistant's calls, then one tool message per call.
        List<ToolCall> calls = List.of(new ToolCall("call1abcd", "get_weather", "{\"city\":\"Paris\"}"),
                new ToolCall("call2abcd", "get_weather", "{\"city\":\"Lyon\"}"));
        server.enqueue(MistralBehaviour.reply("Sunny in both."));
        RecordingHandler h = run(p::stream, new ChatRequest(MODEL, List.of(ChatMessage.user("weather?"),
                ChatMessage.assistant("", calls), ChatMessage.tool("call1abcd", "18C"), ChatMessage.tool("call2abcd", "20C")),
                null, List.of(WEATHER)));
        assertThat(h.error).isNull();
        assertThat(h.response.text()).isEqualTo("Sunny in both.");
        JsonNode messages = server.lastChatRequest().body().path("messages");
        assertThat(messages.get(1).path("role").asText()).isEqualTo("assistant");
        assertThat(messages.get(1).path("tool_calls").get(1).path("function").path("arguments").asText())
                .isEqualTo("{\"city\":\"Lyon\"}");
        assertThat(messages.get(2).path("role").asText()).isEqualTo("tool");
        assertThat(messages.get(2).path("tool_call_id").asText()).isEqualTo("call1abcd");
        assertThat(messages.get(2).path("name").asText()).isEqualTo("get_weather");
        assertThat(messages.get(3).path("content").get(0).path("text").asText()).isEqualTo("20C");
    }

    @Test
    void aStreamedToolCallReachesTheHandlerAsOnePieceWhenItsChunkArrives() {
        // Mistral never splits a call's arguments: the call is one piece, id, name and whole arguments.
        server.enqueue(MistralBehaviour.toolCalls(call("get_weather", "{\"city\":\"Paris\",\"days\":12}")));
        RecordingHandler h = run(provider()::stream, new ChatRequest(MODEL, List.of(ChatMessage.user("weather?")),
                null, List.of(WEATHER)));

        assertThat(h.error).isNull();
        assertThat(h.toolCallDeltas).containsExactly(
                new ToolCallDelta(0, "call1abcd", "get_weather", "{\"city\":\"Paris\",\"days\":12}"));
        assertThat(h.response.toolCalls()).containsExactly(new ToolCall("call1abcd", "get_weather", h.joinedArguments(0)));
        assertThat(h.afterEnd).hasValue(0);
    }

    @Test
    void parallelStreamedToolCallsComeAsOnePieceEachUnderTheirOwnIndexes() {
        server.enqueue(MistralBehaviour.toolCalls(call("get_weather", "{\"city\":\"Paris\"}"), call("get_time", "{}")));
        RecordingHandler h = run(provider()::stream, new ChatRequest(MODEL, List.of(ChatMessage.user("weather?")),
                null, List.of(WEATHER, TIME)));

        assertThat(h.error).isNull();
        assertThat(h.toolCallDeltas).containsExactly(
                new ToolCallDelta(0, "call1abcd", "get_weather", "{\"city\":\"Paris\"}"),
                new ToolCallDelta(1, "call2abcd", "get_time", "{}"));
        assertThat(h.response.toolCalls()).containsExactly(new ToolCall("call1abcd", "get_weather", h.joinedArguments(0)),
                new ToolCall("call2abcd", "get_time", h.joinedArguments(1)));
        assertThat(h.afterEnd).hasValue(0);
    }

    @Test
    void textThenAStreamedToolCallArriveInTheirOrder() {
        server.enqueue(MistralBehaviour.toolCalls(call("get_weather", "{\"city\":\"Paris\"}"))
                .textBeforeCalls("Let me check."));
        RecordingHandler h = run(provider()::stream, new ChatRequest(MODEL, List.of(ChatMessage.user("weather?")),
                null, List.of(WEATHER)));

        assertThat(h.error).isNull();
        assertThat(h.kinds).containsExactly("text", "text", "text", "call");
        assertThat(h.toolCallDeltas).containsExactly(
                new ToolCallDelta(0, "call1abcd", "get_weather", "{\"city\":\"Paris\"}"));
        assertThat(h.response.text()).isEqualTo("Let me check.");
        assertThat(h.response.toolCalls()).containsExactly(new ToolCall("call1abcd", "get_weather", h.joinedArguments(0)));
        assertThat(h.afterEnd).hasValue(0);
    }

    @Test
    void toolCallIdsFromAnotherProviderAreRewrittenToMistralsShapeConsistently() {
        MistralProvider p = provider();
        List<ToolCall> calls = List.of(new ToolCall("call_Xy12-openai-style", "get_time", "{}"));
        RecordingHandler h = run(p::stream, new ChatRequest(MODEL, List.of(ChatMessage.user("time?"),
                ChatMessage.assistant(null, calls), ChatMessage.tool("call_Xy12-openai-style", "12:00")), null,
                List.of(TIME)));

        // The fake server answers 400 for any id that is not nine alphanumerics, as Mistral does.
        assertThat(h.error).isNull();
        JsonNode messages = server.lastChatRequest().body().path("messages");
        String id = messages.get(1).path("tool_calls").get(0).path("id").asText();
        assertThat(id).matches("[A-Za-z0-9]{9}");
        assertThat(messages.get(2).path("tool_call_id").asText()).isEqualTo(id);
    }

    @Test
    void toolChoiceMapsToMistralsAutoAnyNone() {
        MistralProvider p = provider();
        record Case(ToolChoice choice, String wire, int tools) { }
        for (Case c : List.of(new Case(ToolChoice.AUTO, "auto", 2), new Case(ToolChoice.NONE, "none", 2),
                new Case(ToolChoice.REQUIRED, "any", 2), new Case(ToolChoice.tool("get_time"), "any", 1))) {
            ChatOptions o = new ChatOptions(null, null, null, null, c.choice(), null);
            RecordingHandler h = run(p::stream, new ChatRequest(MODEL, List.of(ChatMessage.user("x")), o,
                    List.of(WEATHER, TIME)));
            assertThat(h.error).isNull();
            JsonNode body = server.lastChatRequest().body();
            assertThat(body.path("tool_choice").asText()).as(c.toString()).isEqualTo(c.wire());
            assertThat(body.path("tools")).as(c.toString()).hasSize(c.tools());
        }
        int before = server.chatRequests().size();
        RecordingHandler h = run(p::stream, new ChatRequest(MODEL, List.of(ChatMessage.user("x")),
                new ChatOptions(null, null, null, null, ToolChoice.tool("nope"), null), List.of(WEATHER)));
        assertThat(h.error.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(server.chatRequests()).hasSize(before);
    }

    @Test
    void aMalformedToolSchemaIsRefusedBeforeAnythingIsSent() {
        MistralProvider p = provider();
        for (String schema : List.of("{not json", "[1,2]", "{\"type\":\"string\"}",
                "{\"type\":\"object\",\"properties\":{\"a\":5}}")) {
            RecordingHandler h = run(p::stream, new ChatRequest(MODEL, List.of(ChatMessage.user("x")), null,
                    List.of(new ToolSpec("t", null, schema))));
            assertThat(h.error.code()).as(schema).isEqualTo(ErrorCode.INVALID_REQUEST);
        }
        assertThat(server.chatRequests()).isEmpty();
    }

    // ---- images and JSON output ----------------------------------------------------------------------------

    @Test
    void imagesGoAsImageUrlPartsInlineAndByUrl() {
        MistralProvider p = provider();
        ChatMessage user = ChatMessage.user(List.of(ContentPart.text("What is this?"),
                ContentPart.imageBase64("image/png", "iVBORw0KGgo="),
                ContentPart.imageUrl("https://example.com/cat.jpg", null)));
        RecordingHandler h = run(p::stream, new ChatRequest("pixtral-12b-2409", List.of(user), null, null));

        assertThat(h.error).isNull();
        JsonNode content = server.lastChatRequest().body().path("messages").get(0).path("content");
        assertThat(content.get(0).path("type").asText()).isEqualTo("text");
        assertThat(content.get(1).path("type").asText()).isEqualTo("image_url");
        assertThat(content.get(1).path("image_url").asText()).isEqualTo("data:image/png;base64,iVBORw0KGgo=");
        assertThat(content.get(2).path("image_url").asText()).isEqualTo("https://example.com/cat.jpg");
        assertThat(p.models()).filteredOn(m -> m.id().equals("pixtral-12b-2409")).singleElement()
                .satisfies(m -> assertThat(m.capabilities()).contains(ModelCapability.VISION));
        assertThat(p.models()).filteredOn(m -> m.id().equals(MODEL)).singleElement()
                .satisfies(m -> assertThat(m.capabilities()).doesNotContain(ModelCapability.VISION));
    }

    @Test
    void imagesMistralCannotTakeAreRefusedClearly() {
        MistralProvider p = provider();
        List<ChatMessage> bad = List.of(
                ChatMessage.user(List.of(ContentPart.imageBase64("image/tiff", "AAAA"))),
                ChatMessage.user(List.of(ContentPart.imageUrl("ftp://example.com/a.png", null))),
                ChatMessage.user(List.of(ContentPart.imageUrl("file:///etc/passwd", null))),
                new ChatMessage(dev.parley.api.chat.Role.SYSTEM, null,
                        List.of(ContentPart.imageUrl("https://example.com/a.png", null)), null, null));
        for (ChatMessage m : bad) {
            RecordingHandler h = run(p::stream, new ChatRequest("pixtral-12b-2409", List.of(m), null, null));
            assertThat(h.error.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
            assertThat(h.error.getMessage()).containsAnyOf("JPEG", "http(s)", "user messages");
        }
        assertThat(server.chatRequests()).isEmpty();
    }

    @Test
    void tooManyOrTooLargeImagesAreRefusedBeforeSending() {
        MistralProvider p = provider();
        List<ContentPart> nine = new ArrayList<>();
        for (int i = 0; i < 9; i++) {
            nine.add(ContentPart.imageUrl("https://example.com/" + i + ".png", null));
        }
        RecordingHandler h = run(p::stream, new ChatRequest("pixtral-12b-2409", List.of(ChatMessage.user(nine)), null,
                null));
        assertThat(h.error.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(h.error.getMessage()).contains("at most 8 images");

        String elevenMb = "A".repeat(11 * 1024 * 1024 / 3 * 4);
        h = run(p::stream, new ChatRequest("pixtral-12b-2409",
                List.of(ChatMessage.user(List.of(ContentPart.imageBase64("image/png", elevenMb)))), null, null));
        assertThat(h.error.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(h.error.getMessage()).contains("at most 10 MB");
        assertThat(server.chatRequests()).isEmpty();

        h = run(p::stream, new ChatRequest("pixtral-12b-2409", List.of(ChatMessage.user(nine.subList(0, 8))), null,
                null));
        assertThat(h.error).isNull();
    }

    @Test
    void jsonModeAndJsonSchemaGoAsResponseFormat() {
        MistralProvider p = provider();
        run(p::stream, new ChatRequest(MODEL, List.of(ChatMessage.user("x")),
                new ChatOptions(null, null, null, null, null, ResponseFormat.JSON_OBJECT), null));
        assertThat(server.lastChatRequest().body().path("response_format").path("type").asText())
                .isEqualTo("json_object");

        String schema = "{\"type\":\"object\",\"properties\":{\"answer\":{\"type\":\"string\"}},"
                + "\"required\":[\"answer\"],\"additionalProperties\":false}";
        server.enqueue(MistralBehaviour.reply("{\"answer\":\"42\"}"));
        RecordingHandler h = run(p::complete, new ChatRequest(MODEL, List.of(ChatMessage.user("x")),
                new ChatOptions(null, null, null, null, null, ResponseFormat.jsonSchema("result", schema, true)), null));
        assertThat(h.response.text()).isEqualTo("{\"answer\":\"42\"}");
        JsonNode rf = server.lastChatRequest().body().path("response_format");
        assertThat(rf.path("type").asText()).isEqualTo("json_schema");
        assertThat(rf.path("json_schema").path("name").asText()).isEqualTo("result");
        assertThat(rf.path("json_schema").path("strict").asBoolean()).isTrue();
        assertThat(rf.path("json_schema").path("schema").path("additionalProperties").asBoolean(true)).isFalse();
        assertThat(rf.path("json_schema").path("schema").path("required").get(0).asText()).isEqualTo("answer");
    }

    @Test
    void finishReasonsMapIncludingMistralsModelLength() {
        MistralProvider p = provider();
        for (var how : List.<BiFunction<ChatRequest, RecordingHandler, StreamHandle>>of(p::stream, p::complete)) {
            server.enqueue(MistralBehaviour.reply("a b").finishReason("length"));
            assertThat(run(how, ask("x")).response.finishReason()).isEqualTo(FinishReason.LENGTH);
            server.enqueue(MistralBehaviour.reply("a b").finishReason("model_length"));
            assertThat(run(how, ask("x")).response.finishReason()).isEqualTo(FinishReason.LENGTH);
            server.enqueue(MistralBehaviour.reply("a b").finishReason("content_filter"));
            RecordingHandler h = run(how, ask("x"));
            assertThat(h.response.finishReason()).isEqualTo(FinishReason.CONTENT_FILTER);
            assertThat(h.response.text()).isEqualTo("a b");
        }
    }

    @Test
    void cachedPromptTokensAreReadFromUsageDetails() {
        MistralProvider p = provider();
        server.enqueue(MistralBehaviour.reply("a b").cachedTokens(3));
        assertThat(run(p::stream, ask("one two three")).response.usage().cachedPromptTokens()).isEqualTo(3);
        server.enqueue(MistralBehaviour.reply("a b").cachedTokens(4));
        assertThat(run(p::complete, ask("one two three")).response.usage().cachedPromptTokens()).isEqualTo(4);
        assertThat(run(p::stream, ask("no cache")).response.usage().cachedPromptTokens()).isZero();
    }

    // ---- cancellation, timeouts, limits --------------------------------------------------------------------

    @Test
    void cancelStopsTheUpstreamCallAndEndsWithCancelled() throws Exception {
        MistralProvider p = provider();
        server.enqueue(MistralBehaviour.reply("one two three four five six seven eight nine ten")
                .tokenDelay(Duration.ofMillis(300)));
        RecordingHandler h = new RecordingHandler();
        StreamHandle handle = p.stream(ask("x"), h);
        assertThat(h.firstToken.await(10, TimeUnit.SECONDS)).isTrue();
        handle.cancel();
        h.await();
        handle.cancel();

        assertThat(h.error.code()).isEqualTo(ErrorCode.CANCELLED);
        assertThat(h.terminals).hasValue(1);
        int tokens = h.tokens.size();
        await().atMost(Duration.ofSeconds(10)).until(() -> server.abortedByClient() == 1);
        assertThat(h.tokens).hasSize(tokens);
        assertThat(server.completedStreams()).isZero();
    }

    @Test
    void cancelBeforeTheFirstTokenAndOfANonStreamedCall() {
        MistralProvider p = provider();
        for (var how : List.<BiFunction<ChatRequest, RecordingHandler, StreamHandle>>of(p::stream, p::complete)) {
            server.enqueue(MistralBehaviour.reply("late").firstTokenDelay(Duration.ofSeconds(3)));
            int before = server.chatRequests().size();
            RecordingHandler h = new RecordingHandler();
            StreamHandle handle = how.apply(ask("x"), h);
            await().until(() -> server.chatRequests().size() == before + 1);
            handle.cancel();
            h.await(Duration.ofSeconds(2));
            assertThat(h.error.code()).isEqualTo(ErrorCode.CANCELLED);
            assertThat(h.tokens).isEmpty();
        }
    }

    @Test
    void aWholeAnswerTimeoutEndsWithUpstreamTimeout() {
        MistralProvider.Settings s = settings(server.baseUrl(), KEY, List.of(MODEL));
        MistralProvider p = provider(new MistralProvider.Settings(s.id(), s.baseUrl(), s.apiKey(), s.models(),
                s.embeddingModels(), s.visionModels(), s.contextWindow(), s.maxOutputTokens(), s.connectTimeout(),
                Duration.ofSeconds(1), s.maxAnswerBytes(), s.drainTimeout(), false, null));
        for (var how : List.<BiFunction<ChatRequest, RecordingHandler, StreamHandle>>of(p::stream, p::complete)) {
            server.enqueue(MistralBehaviour.reply("a b c d e f g").tokenDelay(Duration.ofMillis(400)));
            RecordingHandler h = run(how, ask("x"));
            assertThat(h.error.code()).isEqualTo(ErrorCode.UPSTREAM_TIMEOUT);
            assertThat(h.terminals).hasValue(1);
        }
    }

    @Test
    void anAnswerLargerThanTheLimitFailsAsUpstreamProtocol() {
        MistralProvider.Settings s = settings(server.baseUrl(), KEY, List.of(MODEL));
        MistralProvider p = provider(new MistralProvider.Settings(s.id(), s.baseUrl(), s.apiKey(), s.models(),
                s.embeddingModels(), s.visionModels(), s.contextWindow(), s.maxOutputTokens(), s.connectTimeout(),
                s.answerTimeout(), 1024, s.drainTimeout(), false, null));
        String big = "word ".repeat(400).trim();
        for (var how : List.<BiFunction<ChatRequest, RecordingHandler, StreamHandle>>of(p::stream, p::complete)) {
            server.enqueue(MistralBehaviour.reply(big));
            RecordingHandler h = run(how, ask("x"));
            assertThat(h.error.code()).isEqualTo(ErrorCode.UPSTREAM_PROTOCOL);
            assertThat(h.error.getMessage()).contains("1024");
        }
    }

    // ---- errors --------------------------------------------------------------------------------------------

    @Test
    void everyErrorClassMapsToItsCode() {
        MistralProvider p = provider();
        record Case(String name, MistralBehaviour behaviour, ErrorCode code) { }
        List<Case> cases = List.of(
                new Case("403", MistralBehaviour.fail(403), ErrorCode.PROVIDER_PERMISSION),
                new Case("404", MistralBehaviour.fail(404), ErrorCode.MODEL_NOT_FOUND),
                new Case("400", MistralBehaviour.fail(400), ErrorCode.INVALID_REQUEST),
                new Case("422", MistralBehaviour.validationError(), ErrorCode.INVALID_REQUEST),
                new Case("context", MistralBehaviour.contextTooLong(), ErrorCode.CONTEXT_TOO_LONG),
                new Case("capacity", MistralBehaviour.capacityExceeded(), ErrorCode.OVERLOADED),
                new Case("503", MistralBehaviour.fail(503), ErrorCode.OVERLOADED),
                new Case("500", MistralBehaviour.fail(500), ErrorCode.UPSTREAM_FAILURE),
                new Case("502", MistralBehaviour.fail(502), ErrorCode.UPSTREAM_FAILURE),
                new Case("504", MistralBehaviour.fail(504), ErrorCode.UPSTREAM_TIMEOUT),
                new Case("cut", MistralBehaviour.reply("a b c d").cutStreamAfter(2), ErrorCode.UPSTREAM_FAILURE),
                new Case("malformed", MistralBehaviour.reply("a b c d").malformedEventAfter(2),
                        ErrorCode.UPSTREAM_PROTOCOL),
                new Case("finish error", MistralBehaviour.reply("a b").finishReason("error"),
                        ErrorCode.UPSTREAM_FAILURE),
                new Case("content filter", MistralBehaviour.reply("").finishReason("content_filter"),
                        ErrorCode.CONTENT_FILTERED));
        for (Case c : cases) {
            for (var how : List.<BiFunction<ChatRequest, RecordingHandler, StreamHandle>>of(p::stream, p::complete)) {
                server.enqueue(c.behaviour());
                RecordingHandler h = run(how, ask("x"));
                assertThat(h.error).as(c.name()).isNotNull();
                assertThat(h.error.code()).as(c.name()).isEqualTo(c.code());
                assertThat(h.terminals).as(c.name()).hasValue(1);
                assertThat(h.error.getMessage()).as(c.name()).doesNotContain(KEY);
            }
        }
    }

    @Test
    void aStreamThatEndsCleanlyWithoutDoneIsACutNotAnAnswer() {
        MistralProvider p = provider();
        server.enqueue(MistralBehaviour.reply("a b c d").endStreamAfter(2));
        RecordingHandler h = run(p::stream, ask("x"));
        assertThat(h.tokens).containsExactly("a", " b");
        assertThat(h.error.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(h.error.getMessage()).contains("broke before the answer was complete");
    }

    @Test
    void validationDetailsAreNamedInTheMessage() {
        MistralProvider p = provider();
        server.enqueue(MistralBehaviour.validationError());
        RecordingHandler h = run(p::complete, ask("x"));
        assertThat(h.error.getMessage()).contains("body.messages.0.content: Field required");
    }

    @Test
    void aBadKeyIsProviderAuthAndTheKeyIsNeverInTheMessage() {
        MistralProvider p = provider(settings(server.baseUrl(), "mk-wrong-key-123", List.of(MODEL)));
        for (var how : List.<BiFunction<ChatRequest, RecordingHandler, StreamHandle>>of(p::stream, p::complete)) {
            RecordingHandler h = run(how, ask("x"));
            assertThat(h.error.code()).isEqualTo(ErrorCode.PROVIDER_AUTH);
            assertThat(h.error.getMessage()).doesNotContain("mk-wrong-key-123");
        }
        assertThat(server.lastChatRequest().header("authorization")).isEqualTo("Bearer mk-wrong-key-123");
    }

    @Test
    void rateLimitCarriesTheRetryHint() {
        MistralProvider p = provider();
        for (var how : List.<BiFunction<ChatRequest, RecordingHandler, StreamHandle>>of(p::stream, p::complete)) {
            server.enqueue(MistralBehaviour.rateLimited(7));
            RecordingHandler h = run(how, ask("x"));
            assertThat(h.error.code()).isEqualTo(ErrorCode.RATE_LIMITED);
            assertThat(h.error.retryAfter()).contains(Duration.ofSeconds(7));
        }
    }

    @Test
    void errorEventsInTheStreamAreMappedByTheirStatusOrType() {
        MistralProvider p = provider();
        server.enqueue(MistralBehaviour.reply("a b c").errorEventAfter(1,
                FakeMistralServer.errorObject("Rate limit exceeded", "rate_limited", "1300", 429)));
        RecordingHandler h = run(p::stream, ask("x"));
        assertThat(h.tokens).containsExactly("a");
        assertThat(h.error.code()).isEqualTo(ErrorCode.RATE_LIMITED);

        server.enqueue(MistralBehaviour.reply("a b c").errorEventAfter(2,
                FakeMistralServer.errorObject("Internal error while generating", "internal_server_error", null, 0)));
        h = run(p::stream, ask("x"));
        assertThat(h.error.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(h.error.getMessage()).contains("Internal error while generating");
    }

    @Test
    void anUnreachableServerIsUpstreamFailure() {
        String url = server.baseUrl();
        server.close();
        MistralProvider p = provider(settings(url, KEY, List.of(MODEL)));
        assertThat(run(p::stream, ask("x")).error.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(run(p::complete, ask("x")).error.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
    }

    // ---- models, instances, lifecycle ---------------------------------------------------------------------

    @Test
    void withoutConfiguredModelsTheChatModelsAreListedFromTheServer() {
        server.models("mistral-large-latest", "pixtral-large-latest", "mistral-embed", "mistral-moderation-latest");
        MistralProvider p = provider(settings(server.baseUrl(), KEY, List.of()));
        await().atMost(Duration.ofSeconds(10)).until(() -> !p.models().isEmpty());
        assertThat(p.models()).extracting(m -> m.id()).containsExactly("mistral-large-latest", "pixtral-large-latest");
        assertThat(p.models().get(1).capabilities()).contains(ModelCapability.VISION, ModelCapability.TOOLS);
        assertThat(server.requests().get(0).path()).isEqualTo("/v1/models");
        assertThat(server.requests().get(0).header("authorization")).isEqualTo("Bearer " + KEY);
    }

    @Test
    void twoInstancesRunSideBySideEachWithItsOwnKeyServerAndModels() {
        try (FakeMistralServer other = FakeMistralServer.start("mk-other-999")) {
            MistralProvider a = provider();
            MistralProvider b = provider(new MistralProvider.Settings("mistral-eu", other.baseUrl(), "mk-other-999",
                    List.of("mistral-large-latest"), List.of(), List.of(), 32768, 4096, Duration.ofSeconds(5),
                    Duration.ofSeconds(20), 1024 * 1024, Duration.ofSeconds(5), false, null));
            other.enqueue(MistralBehaviour.reply("from eu"));
            server.enqueue(MistralBehaviour.reply("from default"));

            RecordingHandler ha = new RecordingHandler();
            RecordingHandler hb = new RecordingHandler();
            a.stream(ask("x"), ha);
            b.stream(new ChatRequest("mistral-large-latest", List.of(ChatMessage.user("x")), null, null), hb);
            assertThat(ha.await().response.text()).isEqualTo("from default");
            assertThat(hb.await().response.text()).isEqualTo("from eu");
            assertThat(a.id()).isEqualTo("mistral");
            assertThat(b.id()).isEqualTo("mistral-eu");
            assertThat(b.models()).extracting(m -> m.providerId()).containsOnly("mistral-eu");
            assertThat(b.embeddingModels()).isEmpty();
            assertThat(other.lastChatRequest().header("authorization")).isEqualTo("Bearer mk-other-999");
            assertThat(server.lastChatRequest().header("authorization")).isEqualTo("Bearer " + KEY);
        }
    }

    @Test
    void stoppingLetsRunningAnswersFinishThenCutsTheRestAndLeavesNoThread() throws Exception {
        MistralProvider.Settings s = settings(server.baseUrl(), KEY, List.of(MODEL));
        MistralProvider p = new MistralProvider(new MistralProvider.Settings("mistral-stop", s.baseUrl(), s.apiKey(),
                s.models(), s.embeddingModels(), s.visionModels(), s.contextWindow(), s.maxOutputTokens(),
                s.connectTimeout(), s.answerTimeout(), s.maxAnswerBytes(), Duration.ofMillis(500), false, null));
        server.enqueue(MistralBehaviour.reply("a b").tokenDelay(Duration.ofMillis(100)));
        server.enqueue(MistralBehaviour.reply("slow a b c d e f g h").tokenDelay(Duration.ofSeconds(1)));
        RecordingHandler quick = new RecordingHandler();
        RecordingHandler slow = new RecordingHandler();
        p.stream(ask("x"), quick);
        assertThat(quick.firstToken.await(10, TimeUnit.SECONDS)).isTrue();
        p.stream(ask("x"), slow);
        assertThat(slow.firstToken.await(10, TimeUnit.SECONDS)).isTrue();
        p.deactivate();

        assertThat(quick.await().response.text()).isEqualTo("a b");
        assertThat(slow.await().error.code()).isEqualTo(ErrorCode.UNAVAILABLE);
        RecordingHandler late = run(p::stream, ask("x"));
        assertThat(late.error.code()).isEqualTo(ErrorCode.UNAVAILABLE);
        await().atMost(Duration.ofSeconds(10)).until(() -> Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.getName().startsWith("parley-mistral-") && t.getName().contains("mistral-stop")));
    }

    // ---- embeddings ----------------------------------------------------------------------------------------

    @Test
    void embedsABatchInInputOrder() {
        MistralProvider p = provider();
        assertThat(p.embeddingModels()).singleElement().satisfies(m -> {
            assertThat(m.id()).isEqualTo("mistral-embed");
            assertThat(m.dimensions()).isEqualTo(1024);
        });
        EmbeddingResponse r = p.embed(new EmbeddingRequest("mistral-embed", List.of("first text", "second"), null))
                .toCompletableFuture().join();
        assertThat(r.embeddings()).hasSize(2);
        assertThat(r.embeddings().get(0).vector()).containsExactly(FakeMistralServer.vector("first text", 1024));
        assertThat(r.embeddings().get(1).vector()).containsExactly(FakeMistralServer.vector("second", 1024));
        assertThat(r.promptTokens()).isEqualTo(3);
        RecordedRequest sent = server.embeddingRequests().get(0);
        assertThat(sent.body().path("model").asText()).isEqualTo("mistral-embed");
        assertThat(sent.body().path("input")).hasSize(2);
        assertThat(sent.header("authorization")).isEqualTo("Bearer " + KEY);
    }

    @Test
    void embeddingErrorsAreParleyExceptions() {
        MistralProvider p = provider();
        assertThat(failure(p, new EmbeddingRequest("nope", List.of("x"), null)).code())
                .isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(failure(p, new EmbeddingRequest("mistral-embed", List.of("x"), 256)).code())
                .isEqualTo(ErrorCode.INVALID_REQUEST);
        MistralProvider bad = provider(settings(server.baseUrl(), "mk-wrong", List.of(MODEL)));
        assertThat(failure(bad, new EmbeddingRequest("mistral-embed", List.of("x"), null)).code())
                .isEqualTo(ErrorCode.PROVIDER_AUTH);
        assertThat(server.embeddingRequests()).hasSize(1);
    }

    static ParleyException failure(MistralProvider p, EmbeddingRequest r) {
        try {
            p.embed(r).toCompletableFuture().join();
        } catch (CompletionException e) {
            assertThat(e.getCause()).isInstanceOf(ParleyException.class);
            return (ParleyException) e.getCause();
        }
        throw new AssertionError("no failure");
    }
}

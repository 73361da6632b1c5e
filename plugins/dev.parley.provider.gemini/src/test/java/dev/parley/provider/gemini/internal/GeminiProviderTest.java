package dev.parley.provider.gemini.internal;

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
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.ResponseFormat;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.llm.ToolChoice;
import dev.parley.api.llm.ToolSpec;
import dev.parley.testsupport.RecordedRequest;
import dev.parley.testsupport.gemini.FakeGeminiServer;
import dev.parley.testsupport.gemini.GeminiBehaviour;
import dev.parley.testsupport.gemini.GeminiBehaviour.FunctionCall;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The provider with the real langchain4j Gemini module against {@link FakeGeminiServer} over loopback. */
class GeminiProviderTest {

    static final String KEY = "AIza-test-key-0123456789";
    static final String MODEL = "gemini-2.5-flash";

    FakeGeminiServer server;
    final List<GeminiProvider> providers = new ArrayList<>();

    @BeforeEach
    void startServer() {
        server = FakeGeminiServer.start(KEY);
    }

    @AfterEach
    void stop() throws Exception {
        for (GeminiProvider p : providers) {
            p.deactivate();
        }
        server.close();
    }

    GeminiProvider provider() {
        return provider(new TestConfig(server.baseUrl(), KEY));
    }

    GeminiProvider provider(TestConfig config) {
        config.models = config.models.length == 0 ? new String[] {MODEL, "gemini-2.5-pro"} : config.models;
        GeminiProvider p = new GeminiProvider(config, config.properties());
        providers.add(p);
        return p;
    }

    static ChatRequest request(String text) {
        return new ChatRequest(MODEL, List.of(ChatMessage.user(text)), null, null);
    }

    // ---- streaming and complete -------------------------------------------------------------------------------

    @Test
    void streamsTokensInOrderAndEndsWithTheWholeAnswer() throws Exception {
        server.enqueue(GeminiBehaviour.reply("Paris is the capital of France."));
        var h = new RecordingHandler();
        provider().stream(new ChatRequest(MODEL, List.of(ChatMessage.system("Answer briefly."),
                ChatMessage.user("What is the capital of France?")), null, null), h);
        h.await();

        assertThat(h.error).isNull();
        assertThat(h.tokens).containsExactly("Paris", " is", " the", " capital", " of", " France.");
        assertThat(h.response.text()).isEqualTo("Paris is the capital of France.");
        assertThat(h.response.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(h.response.model()).isEqualTo(MODEL);
        // promptTokenCount: the words of the system instruction and the user content (2 + 6)
        assertThat(h.response.usage().promptTokens()).isEqualTo(8);
        assertThat(h.response.usage().completionTokens()).isEqualTo(6);
        assertThat(h.terminals).hasValue(1);

        RecordedRequest sent = server.lastGenerateRequest();
        assertThat(sent.path()).isEqualTo("/v1beta/models/" + MODEL + ":streamGenerateContent?alt=sse");
        assertThat(sent.header("x-goog-api-key")).isEqualTo(KEY);
        assertThat(sent.body().at("/systemInstruction/parts/0/text").asText()).isEqualTo("Answer briefly.");
        assertThat(sent.body().at("/contents/0/role").asText()).isEqualTo("user");
        assertThat(sent.body().at("/contents/0/parts/0/text").asText()).isEqualTo("What is the capital of France?");
        assertThat(sent.body().at("/contents")).hasSize(1);
    }

    @Test
    void completeIsOneNonStreamedGenerateContentCall() throws Exception {
        server.enqueue(GeminiBehaviour.reply("A whole answer."));
        var h = new RecordingHandler();
        provider().complete(request("hi there"), h);
        h.await();

        assertThat(h.error).isNull();
        assertThat(h.response.text()).isEqualTo("A whole answer.");
        assertThat(h.response.usage().completionTokens()).isEqualTo(3);
        assertThat(server.generateRequests()).hasSize(1);
        assertThat(server.lastGenerateRequest().path()).isEqualTo("/v1beta/models/" + MODEL + ":generateContent");
    }

    @Test
    void cachedTokensAreReported() throws Exception {
        server.cachedTokens(5);
        for (var call : List.<BiFunction<GeminiProvider, RecordingHandler, StreamHandle>>of(
                (p, h) -> p.stream(request("one two three four five six"), h),
                (p, h) -> p.complete(request("one two three four five six"), h))) {
            var h = new RecordingHandler();
            call.apply(provider(), h);
            h.await();
            assertThat(h.error).isNull();
            assertThat(h.response.usage().promptTokens()).isEqualTo(6);
            assertThat(h.response.usage().cachedPromptTokens()).isEqualTo(5);
        }
    }

    @Test
    void thinkingTokensCountAsCompletionTokens() throws Exception {
        server.thoughtsTokens(40).enqueue(GeminiBehaviour.reply("short answer"));
        var h = new RecordingHandler();
        provider().stream(request("think first"), h);
        h.await();
        assertThat(h.response.usage().completionTokens()).isEqualTo(2 + 40);
        assertThat(h.response.usage().promptTokens()).isEqualTo(2);
    }

    @Test
    void samplingOptionsAndStopSequencesReachTheWire() throws Exception {
        var h = new RecordingHandler();
        provider().stream(new ChatRequest(MODEL, List.of(ChatMessage.user("hi")),
                new ChatOptions(0.3, 0.8, 77, List.of("END", "STOP HERE")), null), h);
        h.await();
        JsonNode config = server.lastGenerateRequest().body().path("generationConfig");
        assertThat(config.path("temperature").asDouble()).isEqualTo(0.3);
        assertThat(config.path("topP").asDouble()).isEqualTo(0.8);
        assertThat(config.path("maxOutputTokens").asInt()).isEqualTo(77);
        assertThat(config.path("stopSequences")).extracting(JsonNode::asText).containsExactly("END", "STOP HERE");
    }

    @Test
    void maxTokensFinishIsLength() throws Exception {
        server.enqueue(GeminiBehaviour.reply("cut short").finishReason("MAX_TOKENS"));
        var h = new RecordingHandler();
        provider().stream(request("hi"), h);
        h.await();
        assertThat(h.response.finishReason()).isEqualTo(FinishReason.LENGTH);
    }

    // ---- tools ---------------------------------------------------------------------------------------------------

    static final String WEATHER_SCHEMA = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\","
            + "\"description\":\"City name\"}},\"required\":[\"city\"]}";

    @Test
    void parallelFunctionCallsComeOutWithStableIdsAndResultsGoBackByName() throws Exception {
        server.enqueue(GeminiBehaviour.functionCalls(new FunctionCall("get_weather", "{\"city\":\"Paris\"}"),
                new FunctionCall("get_weather", "{\"city\":\"Rome\"}")));
        GeminiProvider p = provider();
        List<ToolSpec> tools = List.of(new ToolSpec("get_weather", "Weather in a city", WEATHER_SCHEMA));
        var h = new RecordingHandler();
        p.stream(new ChatRequest(MODEL, List.of(ChatMessage.user("Weather in Paris and Rome?")), null, tools), h);
        h.await();

        assertThat(h.error).isNull();
        assertThat(h.response.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
        assertThat(h.response.toolCalls()).containsExactly(
                new ToolCall("call_0_get_weather", "get_weather", "{\"city\":\"Paris\"}"),
                new ToolCall("call_1_get_weather", "get_weather", "{\"city\":\"Rome\"}"));
        JsonNode declared = server.lastGenerateRequest().body().at("/tools/0/functionDeclarations/0");
        assertThat(declared.path("name").asText()).isEqualTo("get_weather");
        assertThat(declared.path("description").asText()).isEqualTo("Weather in a city");
        assertThat(declared.toString()).contains("city").contains("required");

        server.enqueue(GeminiBehaviour.reply("Sunny in Paris, rainy in Rome."));
        var again = new RecordingHandler();
        p.stream(new ChatRequest(MODEL, List.of(ChatMessage.user("Weather in Paris and Rome?"),
                ChatMessage.assistant("", h.response.toolCalls()),
                ChatMessage.tool("call_0_get_weather", "{\"sky\":\"sunny\"}"),
                ChatMessage.tool("call_1_get_weather", "{\"sky\":\"rainy\"}")), null, tools), again);
        again.await();
        assertThat(again.error).isNull();
        assertThat(again.response.text()).isEqualTo("Sunny in Paris, rainy in Rome.");

        JsonNode contents = server.lastGenerateRequest().body().path("contents");
        assertThat(contents.path(1).path("role").asText()).isEqualTo("model");
        assertThat(contents.path(1).findValues("functionCall")).hasSize(2);
        assertThat(contents.path(1).at("/parts/0/functionCall/name").asText()).isEqualTo("get_weather");
        assertThat(contents.path(1).at("/parts/0/functionCall/args/city").asText()).isEqualTo("Paris");
        List<JsonNode> responses = contents.findValues("functionResponse");
        assertThat(responses).hasSize(2);
        assertThat(responses).allSatisfy(r -> assertThat(r.path("name").asText()).isEqualTo("get_weather"));
        assertThat(responses.get(0).toString()).contains("sunny");
        assertThat(responses.get(1).toString()).contains("rainy");
    }

    @Test
    void aStreamedFunctionCallReachesTheHandlerAsOnePieceWhenItsEventArrives() throws Exception {
        // Gemini never splits a functionCall's args: the call is one piece, id (Parley's), name and whole arguments.
        server.enqueue(GeminiBehaviour.functionCalls(new FunctionCall("get_weather",
                "{\"city\":\"Paris\",\"days\":12,\"units\":{\"temp\":\"C\"}}")));
        var h = new RecordingHandler();
        provider().stream(new ChatRequest(MODEL, List.of(ChatMessage.user("Weather in Paris?")), null,
                List.of(new ToolSpec("get_weather", "Weather in a city", WEATHER_SCHEMA))), h);
        h.await();

        assertThat(h.error).isNull();
        assertThat(h.toolCallDeltas).containsExactly(new ToolCallDelta(0, "call_0_get_weather", "get_weather",
                "{\"city\":\"Paris\",\"days\":12,\"units\":{\"temp\":\"C\"}}"));
        assertThat(h.response.toolCalls()).containsExactly(
                new ToolCall("call_0_get_weather", "get_weather", h.joinedArguments(0)));
        assertThat(h.afterEnd).hasValue(0);
    }

    @Test
    void parallelStreamedFunctionCallsComeAsOnePieceEachUnderTheirOwnIndexes() throws Exception {
        server.enqueue(GeminiBehaviour.functionCalls(new FunctionCall("get_weather", "{\"city\":\"Paris\"}"),
                new FunctionCall("get_time", "{\"zone\":\"CET\"}")));
        var h = new RecordingHandler();
        provider().stream(new ChatRequest(MODEL, List.of(ChatMessage.user("Weather in Paris, and the time?")), null,
                List.of(new ToolSpec("get_weather", "Weather in a city", WEATHER_SCHEMA),
                        new ToolSpec("get_time", null, null))), h);
        h.await();

        assertThat(h.error).isNull();
        assertThat(h.toolCallDeltas).containsExactly(
                new ToolCallDelta(0, "call_0_get_weather", "get_weather", "{\"city\":\"Paris\"}"),
                new ToolCallDelta(1, "call_1_get_time", "get_time", "{\"zone\":\"CET\"}"));
        assertThat(h.response.toolCalls()).containsExactly(
                new ToolCall("call_0_get_weather", "get_weather", h.joinedArguments(0)),
                new ToolCall("call_1_get_time", "get_time", h.joinedArguments(1)));
        assertThat(h.afterEnd).hasValue(0);
    }

    @Test
    void textThenAStreamedFunctionCallArriveInTheirOrder() throws Exception {
        server.enqueue(GeminiBehaviour.functionCalls(new FunctionCall("get_weather", "{\"city\":\"Paris\"}"))
                .textBeforeCalls("Let me check."));
        var h = new RecordingHandler();
        provider().stream(new ChatRequest(MODEL, List.of(ChatMessage.user("Weather in Paris?")), null,
                List.of(new ToolSpec("get_weather", "Weather in a city", WEATHER_SCHEMA))), h);
        h.await();

        assertThat(h.error).isNull();
        assertThat(h.kinds).containsExactly("text", "text", "text", "call");
        assertThat(h.toolCallDeltas).containsExactly(
                new ToolCallDelta(0, "call_0_get_weather", "get_weather", "{\"city\":\"Paris\"}"));
        assertThat(h.response.text()).isEqualTo("Let me check.");
        assertThat(h.response.toolCalls()).containsExactly(
                new ToolCall("call_0_get_weather", "get_weather", h.joinedArguments(0)));
        assertThat(h.afterEnd).hasValue(0);
    }

    @Test
    void completeReturnsFunctionCallsToo() throws Exception {
        server.enqueue(GeminiBehaviour.functionCalls(new FunctionCall("lookup", "{\"q\":\"x\"}")));
        var h = new RecordingHandler();
        provider().complete(new ChatRequest(MODEL, List.of(ChatMessage.user("look it up")), null,
                List.of(new ToolSpec("lookup", "Look up", "{\"type\":\"object\",\"properties\":{\"q\":{\"type\":\"string\"}}}"))), h);
        h.await();
        assertThat(h.error).isNull();
        assertThat(h.response.toolCalls()).containsExactly(new ToolCall("call_0_lookup", "lookup", "{\"q\":\"x\"}"));
    }

    @Test
    void toolChoiceMapsToFunctionCallingConfig() throws Exception {
        List<ToolSpec> tools = List.of(new ToolSpec("a", "A", "{\"type\":\"object\"}"),
                new ToolSpec("b", "B", "{\"type\":\"object\"}"));
        GeminiProvider p = provider();
        for (var c : List.of(ToolChoice.AUTO, ToolChoice.NONE, ToolChoice.REQUIRED)) {
            var h = new RecordingHandler();
            p.stream(new ChatRequest(MODEL, List.of(ChatMessage.user("go")),
                    new ChatOptions(null, null, null, null, c, null), tools), h);
            h.await();
            String mode = server.lastGenerateRequest().body().at("/toolConfig/functionCallingConfig/mode").asText();
            assertThat(mode).isEqualTo(switch (c.mode()) {
                case AUTO -> "AUTO";
                case NONE -> "NONE";
                default -> "ANY";
            });
        }
        var h = new RecordingHandler();
        p.stream(new ChatRequest(MODEL, List.of(ChatMessage.user("go")),
                new ChatOptions(null, null, null, null, ToolChoice.tool("b"), null), tools), h);
        h.await();
        JsonNode body = server.lastGenerateRequest().body();
        assertThat(body.at("/toolConfig/functionCallingConfig/mode").asText()).isEqualTo("ANY");
        assertThat(body.at("/tools/0/functionDeclarations")).hasSize(1);
        assertThat(body.at("/tools/0/functionDeclarations/0/name").asText()).isEqualTo("b");
    }

    @Test
    void aToolResultForAnUnknownCallIsAnInvalidRequest() throws Exception {
        var h = new RecordingHandler();
        provider().stream(new ChatRequest(MODEL, List.of(ChatMessage.user("x"), ChatMessage.tool("nope", "{}")),
                null, null), h);
        h.await();
        assertThat(h.error.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(h.error.getMessage()).contains("nope");
        assertThat(server.generateRequests()).isEmpty();
    }

    @Test
    void aToolSchemaThatIsNotAnObjectIsAnInvalidRequest() throws Exception {
        var h = new RecordingHandler();
        provider().stream(new ChatRequest(MODEL, List.of(ChatMessage.user("x")), null,
                List.of(new ToolSpec("t", "T", "[1,2"))), h);
        h.await();
        assertThat(h.error.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(server.generateRequests()).isEmpty();
    }

    // ---- images and JSON -----------------------------------------------------------------------------------------

    @Test
    void inlineImagesGoAsInlineData() throws Exception {
        var h = new RecordingHandler();
        provider().stream(new ChatRequest(MODEL, List.of(ChatMessage.user(List.of(ContentPart.text("What is this?"),
                ContentPart.imageBase64("image/png", "iVBORw0KGgo="),
                ContentPart.imageUrl("data:image/jpeg;base64,/9j/4AAQ", null)))), null, null), h);
        h.await();
        assertThat(h.error).isNull();
        JsonNode parts = server.lastGenerateRequest().body().at("/contents/0/parts");
        assertThat(parts.path(0).path("text").asText()).isEqualTo("What is this?");
        assertThat(parts.path(1).toString()).contains("image/png").contains("iVBORw0KGgo=");
        assertThat(parts.path(2).toString()).contains("image/jpeg").contains("/9j/4AAQ");
    }

    @Test
    void anImageByHttpUrlIsRefusedBeforeAnyCall() throws Exception {
        var h = new RecordingHandler();
        provider().stream(new ChatRequest(MODEL, List.of(ChatMessage.user(List.of(ContentPart.text("see"),
                ContentPart.imageUrl("https://example.com/cat.png", "image/png")))), null, null), h);
        h.await();
        assertThat(h.error.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(server.requests()).noneMatch(r -> r.path().contains("enerateContent"));
    }

    @Test
    void jsonOutputSetsTheResponseMimeTypeAndSchema() throws Exception {
        GeminiProvider p = provider();
        var h = new RecordingHandler();
        p.stream(new ChatRequest(MODEL, List.of(ChatMessage.user("json please")),
                new ChatOptions(null, null, null, null, null, ResponseFormat.JSON_OBJECT), null), h);
        h.await();
        assertThat(server.lastGenerateRequest().body().at("/generationConfig/responseMimeType").asText())
                .isEqualTo("application/json");

        var s = new RecordingHandler();
        p.stream(new ChatRequest(MODEL, List.of(ChatMessage.user("json please")),
                new ChatOptions(null, null, null, null, null, ResponseFormat.jsonSchema("city",
                        "{\"type\":\"object\",\"properties\":{\"name\":{\"type\":\"string\"}},\"required\":[\"name\"]}",
                        true)), null), s);
        s.await();
        JsonNode config = server.lastGenerateRequest().body().path("generationConfig");
        assertThat(config.path("responseMimeType").asText()).isEqualTo("application/json");
        // langchain4j writes the API's OpenAPI-subset responseSchema, or responseJsonSchema when it cannot: one of them.
        assertThat(config.has("responseJsonSchema")).isNotEqualTo(config.has("responseSchema"));
        JsonNode schema = config.has("responseJsonSchema") ? config.path("responseJsonSchema")
                : config.path("responseSchema");
        assertThat(schema.toString()).contains("name").containsIgnoringCase("object");
    }

    // ---- errors --------------------------------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(booleans = {true, false})
    void everyDocumentedErrorMapsToItsCode(boolean streamed) throws Exception {
        record Case(GeminiBehaviour behaviour, ErrorCode code) {
        }
        List<Case> cases = List.of(
                new Case(GeminiBehaviour.fail(400, "INVALID_ARGUMENT").reason("API_KEY_INVALID")
                        .message("API key not valid. Please pass a valid API key."), ErrorCode.PROVIDER_AUTH),
                new Case(GeminiBehaviour.fail(403, "PERMISSION_DENIED"), ErrorCode.PROVIDER_PERMISSION),
                new Case(GeminiBehaviour.rateLimited("20s"), ErrorCode.RATE_LIMITED),
                new Case(GeminiBehaviour.fail(503, "UNAVAILABLE"), ErrorCode.OVERLOADED),
                new Case(GeminiBehaviour.fail(400, "INVALID_ARGUMENT").message(
                        "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576)."),
                        ErrorCode.CONTEXT_TOO_LONG),
                new Case(GeminiBehaviour.fail(400, "INVALID_ARGUMENT")
                        .message("* GenerationConfig.temperature: must be between 0 and 2"), ErrorCode.INVALID_REQUEST),
                new Case(GeminiBehaviour.fail(404, "NOT_FOUND"), ErrorCode.MODEL_NOT_FOUND),
                new Case(GeminiBehaviour.fail(500, "INTERNAL"), ErrorCode.UPSTREAM_FAILURE),
                new Case(GeminiBehaviour.fail(504, "DEADLINE_EXCEEDED"), ErrorCode.UPSTREAM_TIMEOUT),
                new Case(GeminiBehaviour.blockPrompt("SAFETY"), ErrorCode.CONTENT_FILTERED),
                new Case(GeminiBehaviour.reply("").finishReason("PROHIBITED_CONTENT"), ErrorCode.CONTENT_FILTERED),
                new Case(GeminiBehaviour.reply("a b c").malformedAfter(1), ErrorCode.UPSTREAM_PROTOCOL));
        GeminiProvider p = provider();
        for (Case c : cases) {
            server.enqueue(c.behaviour());
            var h = new RecordingHandler();
            if (streamed) {
                p.stream(request("hello"), h);
            } else {
                p.complete(request("hello"), h);
            }
            h.await();
            assertThat(h.error).as("%s", c.code()).isNotNull();
            assertThat(h.error.code()).as("message: %s", h.error.getMessage()).isEqualTo(c.code());
            assertThat(h.error.getMessage()).doesNotContain(KEY);
            assertThat(h.terminals).hasValue(1);
        }
        assertThat(server.generateRequests()).as("one upstream call per answer, no hidden retries").hasSize(cases.size());
    }

    @Test
    void rateLimitCarriesTheRetryDelay() throws Exception {
        server.enqueue(GeminiBehaviour.rateLimited("37.5s"));
        var h = new RecordingHandler();
        provider().stream(request("hello"), h);
        h.await();
        assertThat(h.error.code()).isEqualTo(ErrorCode.RATE_LIMITED);
        assertThat(h.error.retryAfter()).contains(Duration.ofMillis(37_500));
        assertThat(h.error.getMessage()).contains("RESOURCE_EXHAUSTED");
    }

    @Test
    void aWrongKeyIsProviderAuth() throws Exception {
        var h = new RecordingHandler();
        provider(new TestConfig(server.baseUrl(), "AIza-wrong")).stream(request("hi"), h);
        h.await();
        assertThat(h.error.code()).isEqualTo(ErrorCode.PROVIDER_AUTH);
        assertThat(h.error.getMessage()).contains("API key not valid").doesNotContain("AIza-wrong");
    }

    @Test
    void aFilterStopAfterSomeTextEndsAsContentFilter() throws Exception {
        server.enqueue(GeminiBehaviour.reply("some text then").finishReason("SAFETY"));
        var h = new RecordingHandler();
        provider().stream(request("hi"), h);
        h.await();
        assertThat(h.error).isNull();
        assertThat(h.response.finishReason()).isEqualTo(FinishReason.CONTENT_FILTER);
        assertThat(h.response.text()).isEqualTo("some text then");
    }

    @Test
    void aStreamCutMidAnswerIsAnUpstreamFailure() throws Exception {
        server.enqueue(GeminiBehaviour.reply("one two three four").cutAfter(2));
        var h = new RecordingHandler();
        provider().stream(request("hi"), h);
        h.await();
        assertThat(h.tokens).containsExactly("one", " two");
        assertThat(h.error.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
    }

    @Test
    void aWholeAnswerCutMidBodyIsAnUpstreamFailure() throws Exception {
        server.enqueue(GeminiBehaviour.reply("one two three four").cutAfter(0));
        var h = new RecordingHandler();
        provider().complete(request("hi"), h);
        h.await();
        assertThat(h.error.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
    }

    @Test
    void aStreamThatEndsWithoutItsFinishEventIsAnUpstreamFailure() throws Exception {
        server.enqueue(GeminiBehaviour.reply("one two").noFinishEvent());
        var h = new RecordingHandler();
        provider().stream(request("hi"), h);
        h.await();
        assertThat(h.error.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
    }

    @Test
    void anErrorEventMidStreamEndsTheAnswerWithItsCode() throws Exception {
        server.enqueue(GeminiBehaviour.reply("one two three").errorEventAfter(1, 503, "UNAVAILABLE"));
        var h = new RecordingHandler();
        provider().stream(request("hi"), h);
        h.await();
        assertThat(h.tokens).containsExactly("one");
        assertThat(h.error.code()).isEqualTo(ErrorCode.OVERLOADED);
    }

    @Test
    void aMalformedEventMidStreamIsAProtocolError() throws Exception {
        server.enqueue(GeminiBehaviour.reply("one two three").malformedAfter(2));
        var h = new RecordingHandler();
        provider().stream(request("hi"), h);
        h.await();
        assertThat(h.tokens).containsExactly("one", " two");
        assertThat(h.error.code()).isEqualTo(ErrorCode.UPSTREAM_PROTOCOL);
    }

    @Test
    void anUnreachableServerIsAnUpstreamFailure() throws Exception {
        int port = server.port();
        server.close();
        var h = new RecordingHandler();
        provider(new TestConfig("http://127.0.0.1:" + port + "/v1beta", KEY)).stream(request("hi"), h);
        h.await();
        assertThat(h.error.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
    }

    @Test
    void aSlowAnswerTimesOut() throws Exception {
        server.enqueue(GeminiBehaviour.reply("late").firstTokenDelay(Duration.ofSeconds(5)));
        TestConfig config = new TestConfig(server.baseUrl(), KEY);
        config.answerTimeoutSeconds = 1;
        var h = new RecordingHandler();
        provider(config).stream(request("hi"), h);
        h.await();
        assertThat(h.error.code()).isEqualTo(ErrorCode.UPSTREAM_TIMEOUT);
    }

    @Test
    void anAnswerLargerThanTheLimitIsAProtocolError() throws Exception {
        server.enqueue(GeminiBehaviour.reply("word ".repeat(400)));
        TestConfig config = new TestConfig(server.baseUrl(), KEY);
        config.maxAnswerBytes = 4096;
        var h = new RecordingHandler();
        provider(config).stream(request("hi"), h);
        h.await();
        assertThat(h.error.code()).isEqualTo(ErrorCode.UPSTREAM_PROTOCOL);
    }

    // ---- cancellation --------------------------------------------------------------------------------------------

    @Test
    void cancelStopsTheUpstreamStream() throws Exception {
        server.enqueue(GeminiBehaviour.reply("one two three four five six seven eight nine ten")
                .tokenDelay(Duration.ofMillis(200)));
        var h = new RecordingHandler();
        StreamHandle handle = provider().stream(request("hi"), h);
        assertThat(h.firstToken.await(10, TimeUnit.SECONDS)).isTrue();
        handle.cancel();
        h.await();
        assertThat(h.error.code()).isEqualTo(ErrorCode.CANCELLED);
        await().atMost(Duration.ofSeconds(10)).until(() -> server.abortedByClient() == 1);
        assertThat(server.completedStreams()).isZero();
        handle.cancel(); // harmless
        assertThat(h.terminals).hasValue(1);
    }

    @Test
    void cancelBeforeTheFirstEventStopsTheStream() throws Exception {
        server.enqueue(GeminiBehaviour.reply("late answer").firstTokenDelay(Duration.ofSeconds(2)));
        var h = new RecordingHandler();
        StreamHandle handle = provider().stream(request("hi"), h);
        await().atMost(Duration.ofSeconds(10)).until(() -> server.inFlight() == 1);
        handle.cancel();
        h.await();
        assertThat(h.error.code()).isEqualTo(ErrorCode.CANCELLED);
        assertThat(h.tokens).isEmpty();
        // The server notices the client has gone when it writes its first event.
        await().atMost(Duration.ofSeconds(10)).until(() -> server.abortedByClient() == 1);
        assertThat(server.completedStreams()).isZero();
    }

    @Test
    void cancelBeforeTheFirstTokenStopsTheWaitingCall() throws Exception {
        server.enqueue(GeminiBehaviour.reply("late answer").firstTokenDelay(Duration.ofSeconds(3)));
        var h = new RecordingHandler();
        StreamHandle handle = provider().complete(request("hi"), h);
        await().atMost(Duration.ofSeconds(10)).until(() -> server.inFlight() == 1);
        handle.cancel();
        h.await();
        assertThat(h.error.code()).isEqualTo(ErrorCode.CANCELLED);
        assertThat(h.tokens).isEmpty();
    }

    @Test
    void deactivateLetsAnswersInFlightFinish() throws Exception {
        server.enqueue(GeminiBehaviour.reply("one two three four five").tokenDelay(Duration.ofMillis(100)));
        GeminiProvider p = provider();
        var h = new RecordingHandler();
        p.stream(request("hi"), h);
        assertThat(h.firstToken.await(10, TimeUnit.SECONDS)).isTrue();
        p.deactivate();
        providers.remove(p);
        assertThat(h.ended.getCount()).as("ended before deactivate returned").isZero();
        assertThat(h.response.text()).isEqualTo("one two three four five");
        var late = new RecordingHandler();
        p.stream(request("hi"), late);
        late.await();
        assertThat(late.error.code()).isEqualTo(ErrorCode.UNAVAILABLE);
    }

    // ---- instances, models, embeddings ---------------------------------------------------------------------------

    @Test
    void anInstanceWithoutKeyOrWithABadUrlDoesNotStart() {
        TestConfig noKey = new TestConfig(server.baseUrl(), null);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new GeminiProvider(noKey, noKey.properties()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining(".apiKey");
        TestConfig badUrl = new TestConfig("not a url", KEY);
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new GeminiProvider(badUrl, badUrl.properties()))
                .isInstanceOf(IllegalArgumentException.class).hasMessageNotContaining(KEY);
    }

    @Test
    void twoInstancesWithTheirOwnKeysAndServersRunSideBySide() throws Exception {
        try (FakeGeminiServer other = FakeGeminiServer.start("AIza-second-key")) {
            TestConfig a = new TestConfig(server.baseUrl(), KEY);
            a.id = "gemini-a";
            TestConfig b = new TestConfig(other.baseUrl(), "AIza-second-key");
            b.id = "gemini-b";
            b.models = new String[] {"gemini-2.5-pro"};
            GeminiProvider pa = provider(a);
            GeminiProvider pb = provider(b);
            assertThat(pa.id()).isEqualTo("gemini-a");
            assertThat(pb.models()).extracting(ModelDescriptor::id).containsExactly("gemini-2.5-pro");
            assertThat(pb.models()).allSatisfy(m -> assertThat(m.providerId()).isEqualTo("gemini-b"));
            var ha = new RecordingHandler();
            var hb = new RecordingHandler();
            pa.stream(request("to a"), ha);
            pb.stream(new ChatRequest("gemini-2.5-pro", List.of(ChatMessage.user("to b")), null, null), hb);
            ha.await();
            hb.await();
            assertThat(ha.response.text()).isEqualTo("echo: to a");
            assertThat(hb.response.text()).isEqualTo("echo: to b");
            assertThat(server.lastGenerateRequest().header("x-goog-api-key")).isEqualTo(KEY);
            assertThat(other.lastGenerateRequest().header("x-goog-api-key")).isEqualTo("AIza-second-key");
        }
    }

    @Test
    void withoutConfiguredModelsTheyAreListedFromTheApi() {
        server.models(new FakeGeminiServer.Model("gemini-3-pro", 1_000_000, 64_000, List.of("generateContent")),
                new FakeGeminiServer.Model("text-embedding-004", 2048, 1, List.of("embedContent")),
                new FakeGeminiServer.Model("imagen-4.0-generate-001", 480, 8192, List.of("predict")));
        TestConfig config = new TestConfig(server.baseUrl(), KEY);
        GeminiProvider p = new GeminiProvider(config, config.properties());
        providers.add(p);
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(p.models()).extracting(ModelDescriptor::id).containsExactly("gemini-3-pro"));
        ModelDescriptor m = p.models().get(0);
        assertThat(m.maxOutputTokens()).isEqualTo(64_000);
        assertThat(m.contextWindow()).isEqualTo(1_064_000);
        assertThat(server.requests()).anyMatch(r -> r.path().startsWith("/v1beta/models")
                && "GET".equals(r.method()) && KEY.equals(r.header("x-goog-api-key")));
    }

    @Test
    void embedsABatchWithReducedDimensions() throws Exception {
        GeminiProvider p = provider();
        assertThat(p.embeddingModels()).singleElement().satisfies(m -> {
            assertThat(m.id()).isEqualTo("gemini-embedding-001");
            assertThat(m.dimensions()).isEqualTo(3072);
            assertThat(m.reducible()).isTrue();
        });
        EmbeddingResponse r = p.embed(new EmbeddingRequest("gemini-embedding-001", List.of("alpha", "beta", "alpha"),
                256)).toCompletableFuture().get(20, TimeUnit.SECONDS);
        assertThat(r.embeddings()).hasSize(3);
        assertThat(r.embeddings()).allSatisfy(e -> assertThat(e.vector()).hasSize(256));
        assertThat(r.embeddings().get(0).vector()).isEqualTo(r.embeddings().get(2).vector());
        assertThat(r.embeddings().get(0).vector()).isNotEqualTo(r.embeddings().get(1).vector());
        RecordedRequest sent = server.requests().stream().filter(q -> q.path().contains("embed")).findFirst()
                .orElseThrow();
        assertThat(sent.path()).isEqualTo("/v1beta/models/gemini-embedding-001:batchEmbedContents");
        assertThat(sent.body().path("requests")).hasSize(3);
        assertThat(sent.body().at("/requests/0/outputDimensionality").asInt()).isEqualTo(256);
        assertThat(sent.body().at("/requests/0/model").asText()).isEqualTo("models/gemini-embedding-001");
    }

    @Test
    void embeddingErrorsAreMapped() {
        server.enqueue(GeminiBehaviour.rateLimited("2s"));
        var stage = provider().embed(new EmbeddingRequest("gemini-embedding-001", List.of("x", "y"), null))
                .toCompletableFuture();
        assertThat(stage).failsWithin(Duration.ofSeconds(20)).withThrowableOfType(ExecutionException.class)
                .satisfies(e -> {
                    assertThat(e.getCause()).isInstanceOf(ParleyException.class);
                    ParleyException pe = (ParleyException) e.getCause();
                    assertThat(pe.code()).isEqualTo(ErrorCode.RATE_LIMITED);
                    assertThat(pe.retryAfter()).contains(Duration.ofSeconds(2));
                });
        // langchain4j's own retry loop must not hide the 429: the router decides about retries.
        assertThat(server.requests()).filteredOn(r -> r.path().contains("embed")).hasSize(1);
    }
}

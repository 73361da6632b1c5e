package dev.parley.provider.ollama.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
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
import dev.parley.testsupport.ollama.FakeOllamaServer;
import dev.parley.testsupport.ollama.OllamaBehaviour;
import dev.parley.testsupport.ollama.OllamaBehaviour.Call;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.BiFunction;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** The provider with the real langchain4j-ollama client against a local server speaking Ollama's wire protocol. */
class OllamaProviderTest {

    static final String MODEL = "llama3.2:latest";

    FakeOllamaServer server;
    final List<OllamaProvider> providers = new ArrayList<>();

    @BeforeEach
    void startServer() {
        server = FakeOllamaServer.start();
    }

    @AfterEach
    void stop() throws Exception {
        for (OllamaProvider p : providers) {
            p.deactivate();
        }
        server.close();
    }

    static OllamaSettings settings(String id, String baseUrl, String token) {
        return new OllamaSettings(id, baseUrl, token, List.of(MODEL, "llava:latest"), List.of("nomic-embed-text"),
                8192, 2048, 8, Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(20), 1 << 20,
                Duration.ofSeconds(5));
    }

    OllamaProvider provider(OllamaSettings settings) {
        OllamaProvider p = new OllamaProvider(settings);
        providers.add(p);
        return p;
    }

    OllamaProvider provider() {
        return provider(settings("ollama", server.baseUrl(), null));
    }

    static ChatRequest request(String text) {
        return new ChatRequest(MODEL, List.of(ChatMessage.system("Be brief."), ChatMessage.user(text)), null, null);
    }

    /** Runs the same check through stream() and complete(). */
    static BiFunction<OllamaProvider, ChatRequest, RecordingHandler> mode(String mode) {
        return (p, r) -> {
            RecordingHandler h = new RecordingHandler();
            if (mode.equals("stream")) {
                p.stream(r, h);
            } else {
                p.complete(r, h);
            }
            return h;
        };
    }

    // ---- answers --------------------------------------------------------------------------------------------

    @Test
    void streamsTokensInOrderAndEndsWithTheWholeAnswerAndUsage() throws Exception {
        server.enqueue(OllamaBehaviour.reply("The sky is blue."));
        RecordingHandler h = new RecordingHandler();
        provider().stream(request("why is the sky blue"), h);

        ChatResponse r = h.awaitResponse();
        assertThat(h.tokens).containsExactly("The", " sky", " is", " blue.");
        assertThat(r.text()).isEqualTo("The sky is blue.");
        assertThat(r.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(r.model()).isEqualTo(MODEL);
        // prompt_eval_count = words of the messages (2 + 5), eval_count = content lines (4)
        assertThat(r.usage().promptTokens()).isEqualTo(7);
        assertThat(r.usage().completionTokens()).isEqualTo(4);
        assertThat(r.usage().cachedPromptTokens()).isZero();
        assertThat(h.terminals.get()).isEqualTo(1);

        RecordedRequest sent = server.lastChatRequest();
        assertThat(sent.method()).isEqualTo("POST");
        assertThat(sent.path()).isEqualTo("/api/chat");
        assertThat(sent.body().path("model").asText()).isEqualTo(MODEL);
        assertThat(sent.body().path("stream").asBoolean()).isTrue();
        JsonNode messages = sent.body().path("messages");
        assertThat(messages).hasSize(2);
        assertThat(messages.get(0).path("role").asText()).isEqualTo("system");
        assertThat(messages.get(0).path("content").asText()).isEqualTo("Be brief.");
        assertThat(messages.get(1).path("role").asText()).isEqualTo("user");
        assertThat(messages.get(1).path("content").asText()).isEqualTo("why is the sky blue");
        assertThat(sent.body().path("tools")).as("no tools (absent or empty)").isEmpty();
        assertThat(sent.body().has("format")).isFalse();
        assertThat(sent.header("Authorization")).isNull();
    }

    @Test
    void completeIsOneNonStreamedCallWithTheWholeAnswer() throws Exception {
        server.enqueue(OllamaBehaviour.reply("All of it at once."));
        RecordingHandler h = new RecordingHandler();
        provider().complete(request("hello"), h);

        ChatResponse r = h.awaitResponse();
        assertThat(r.text()).isEqualTo("All of it at once.");
        assertThat(h.tokens).isEmpty();
        assertThat(r.usage().promptTokens()).isEqualTo(3);
        assertThat(r.usage().completionTokens()).isEqualTo(5);
        assertThat(server.chatRequests()).hasSize(1);
        assertThat(server.lastChatRequest().body().path("stream").asBoolean(true)).isFalse();
    }

    @Test
    void samplingOptionsAndStopSequencesReachTheWire() throws Exception {
        ChatRequest r = new ChatRequest(MODEL, List.of(ChatMessage.user("count")),
                new ChatOptions(0.25, 0.9, 42, List.of("\n\n", "END")), null);
        RecordingHandler h = new RecordingHandler();
        provider().stream(r, h);
        h.awaitResponse();

        JsonNode options = server.lastChatRequest().body().path("options");
        assertThat(options.path("temperature").asDouble()).isEqualTo(0.25);
        assertThat(options.path("top_p").asDouble()).isEqualTo(0.9);
        assertThat(options.path("num_predict").asInt()).isEqualTo(42);
        assertThat(options.path("stop")).extracting(JsonNode::asText).containsExactly("\n\n", "END");
    }

    @Test
    void aLengthStopIsReportedAsLength() throws Exception {
        server.enqueue(OllamaBehaviour.reply("cut short").doneReason("length"));
        RecordingHandler h = new RecordingHandler();
        provider().stream(request("go on"), h);
        assertThat(h.awaitResponse().finishReason()).isEqualTo(FinishReason.LENGTH);
    }

    @Test
    void withoutPromptEvalCountThePromptIsEstimatedAndNothingIsClaimedAsCached() throws Exception {
        // Ollama leaves prompt_eval_count out when the whole prompt came from its KV cache; it reports no cache figures.
        server.enqueue(OllamaBehaviour.reply("cached").omitPromptEvalCount());
        RecordingHandler h = new RecordingHandler();
        OllamaProvider p = provider();
        ChatRequest r = request("a prompt of some length that the server has seen before");
        p.stream(r, h);
        ChatResponse answer = h.awaitResponse();
        assertThat(answer.usage().promptTokens()).isEqualTo(p.estimateTokens(MODEL, r.messages())).isPositive();
        assertThat(answer.usage().cachedPromptTokens()).isZero();
    }

    // ---- tools --------------------------------------------------------------------------------------------------

    static final ToolSpec WEATHER = new ToolSpec("get_weather", "Current weather in a city",
            "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"description\":\"the city\"},"
                    + "\"unit\":{\"type\":\"string\",\"enum\":[\"celsius\",\"fahrenheit\"]}},\"required\":[\"city\"]}");
    static final ToolSpec TIME = new ToolSpec("get_time", "Local time in a city",
            "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}");

    @ParameterizedTest
    @ValueSource(strings = {"stream", "complete", "one-line"})
    void parallelToolCallsComeBackWithStableIds(String mode) throws Exception {
        OllamaBehaviour b = server.enqueue(OllamaBehaviour.toolCalls(
                new Call("get_weather", "{\"city\":\"Paris\",\"unit\":\"celsius\"}"),
                new Call("get_time", "{\"city\":\"Tokyo\"}")));
        if (mode.equals("one-line")) {
            b.callsInOneLine();
        }
        ChatRequest r = new ChatRequest(MODEL, List.of(ChatMessage.user("weather in Paris and time in Tokyo?")),
                null, List.of(WEATHER, TIME));
        RecordingHandler h = mode("complete".equals(mode) ? "complete" : "stream").apply(provider(), r);

        ChatResponse answer = h.awaitResponse();
        assertThat(answer.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
        assertThat(answer.toolCalls()).extracting(ToolCall::name).containsExactly("get_weather", "get_time");
        assertThat(json(answer.toolCalls().get(0).argumentsJson()))
                .isEqualTo(json("{\"city\":\"Paris\",\"unit\":\"celsius\"}"));
        assertThat(json(answer.toolCalls().get(1).argumentsJson())).isEqualTo(json("{\"city\":\"Tokyo\"}"));
        assertThat(answer.toolCalls()).extracting(ToolCall::id).doesNotContainNull().doesNotHaveDuplicates();
        assertThat(answer.toolCalls().get(0).id()).isEqualTo(RequestMapping.stableId(0, "get_weather",
                answer.toolCalls().get(0).argumentsJson()));

        JsonNode tools = server.lastChatRequest().body().path("tools");
        assertThat(tools).hasSize(2);
        assertThat(tools.get(0).path("type").asText()).isEqualTo("function");
        JsonNode fn = tools.get(0).path("function");
        assertThat(fn.path("name").asText()).isEqualTo("get_weather");
        assertThat(fn.path("description").asText()).isEqualTo("Current weather in a city");
        assertThat(fn.path("parameters").path("type").asText()).isEqualTo("object");
        assertThat(fn.path("parameters").path("properties").path("city").path("type").asText()).isEqualTo("string");
        assertThat(fn.path("parameters").path("properties").path("unit").path("enum")).hasSize(2);
        assertThat(fn.path("parameters").path("required")).extracting(JsonNode::asText).containsExactly("city");
    }

    @Test
    void aStreamedToolCallReachesTheHandlerAsOnePieceWhenItsLineArrives() throws Exception {
        // Ollama never splits a call's arguments: one piece, with the id the answer gives the call and its arguments
        // as the answer carries them (written compactly, numbers as Ollama sent them).
        server.enqueue(OllamaBehaviour.toolCalls(
                new Call("get_weather", "{ \"city\": \"Paris\", \"days\": 12, \"temp\": { \"max\": 21.5 } }")));
        RecordingHandler h = new RecordingHandler();
        provider().stream(new ChatRequest(MODEL, List.of(ChatMessage.user("weather?")), null, List.of(WEATHER)), h);

        ChatResponse answer = h.awaitResponse();
        String args = "{\"city\":\"Paris\",\"days\":12,\"temp\":{\"max\":21.5}}";
        assertThat(h.toolCallDeltas).containsExactly(
                new ToolCallDelta(0, RequestMapping.stableId(0, "get_weather", args), "get_weather", args));
        assertThat(answer.toolCalls()).containsExactly(
                new ToolCall(h.toolCallDeltas.get(0).id(), "get_weather", h.joinedArguments(0)));
        assertThat(h.afterEnd).hasValue(0);
    }

    @ParameterizedTest
    @ValueSource(booleans = {false, true})
    void parallelStreamedToolCallsComeAsOnePieceEachAsTheirLinesArrive(boolean oneLine) throws Exception {
        OllamaBehaviour b = server.enqueue(OllamaBehaviour.toolCalls(new Call("get_weather", "{\"city\":\"Paris\"}"),
                new Call("get_time", "{\"city\":\"Tokyo\"}")).tokenDelay(Duration.ofMillis(500)));
        if (oneLine) {
            b.callsInOneLine();
        }
        RecordingHandler h = new RecordingHandler();
        provider().stream(new ChatRequest(MODEL, List.of(ChatMessage.user("weather and time?")), null,
                List.of(WEATHER, TIME)), h);

        await().atMost(Duration.ofSeconds(10)).until(() -> !h.toolCallDeltas.isEmpty());
        if (!oneLine) {
            // The first call is passed on with its own line, half a second before the second call's line.
            assertThat(h.toolCallDeltas).hasSize(1);
            assertThat(h.ended.getCount()).isEqualTo(1);
        }
        ChatResponse answer = h.awaitResponse();
        assertThat(h.toolCallDeltas).containsExactly(
                new ToolCallDelta(0, RequestMapping.stableId(0, "get_weather", "{\"city\":\"Paris\"}"), "get_weather",
                        "{\"city\":\"Paris\"}"),
                new ToolCallDelta(1, RequestMapping.stableId(1, "get_time", "{\"city\":\"Tokyo\"}"), "get_time",
                        "{\"city\":\"Tokyo\"}"));
        assertThat(answer.toolCalls()).containsExactly(
                new ToolCall(h.toolCallDeltas.get(0).id(), "get_weather", h.joinedArguments(0)),
                new ToolCall(h.toolCallDeltas.get(1).id(), "get_time", h.joinedArguments(1)));
        assertThat(h.afterEnd).hasValue(0);
    }

    @Test
    void textThenAStreamedToolCallArriveInTheirOrderWithTheServersId() throws Exception {
        server.enqueue(OllamaBehaviour.toolCalls(new Call("get_time", "{\"city\":\"Oslo\"}"))
                .textBeforeCalls("Let me check.").toolCallIds("call_srv_"));
        RecordingHandler h = new RecordingHandler();
        provider().stream(new ChatRequest(MODEL, List.of(ChatMessage.user("time?")), null, List.of(TIME)), h);

        ChatResponse answer = h.awaitResponse();
        assertThat(h.kinds).containsExactly("text", "text", "text", "call");
        assertThat(h.toolCallDeltas).containsExactly(new ToolCallDelta(0, "call_srv_0", "get_time", "{\"city\":\"Oslo\"}"));
        assertThat(answer.text()).isEqualTo("Let me check.");
        assertThat(answer.toolCalls()).containsExactly(new ToolCall("call_srv_0", "get_time", h.joinedArguments(0)));
        assertThat(h.afterEnd).hasValue(0);
    }

    @Test
    void idsTheServerSendsAreKept() throws Exception {
        server.enqueue(OllamaBehaviour.toolCalls(new Call("get_time", "{\"city\":\"Oslo\"}")).toolCallIds("call_srv_"));
        RecordingHandler h = new RecordingHandler();
        provider().stream(new ChatRequest(MODEL, List.of(ChatMessage.user("time?")), null, List.of(TIME)), h);
        assertThat(h.awaitResponse().toolCalls()).extracting(ToolCall::id).containsExactly("call_srv_0");
    }

    @Test
    void toolCallsAndTheirResultsAreSentBack() throws Exception {
        List<ChatMessage> history = List.of(
                ChatMessage.user("weather in Paris and time in Tokyo?"),
                ChatMessage.assistant("", List.of(new ToolCall("call_0_a", "get_weather", "{\"city\":\"Paris\"}"),
                        new ToolCall("call_1_b", "get_time", "{\"city\":\"Tokyo\"}"))),
                ChatMessage.tool("call_0_a", "18 degrees and sunny"),
                ChatMessage.tool("call_1_b", "21:04"));
        server.enqueue(OllamaBehaviour.reply("Sunny in Paris; it is 21:04 in Tokyo."));
        RecordingHandler h = new RecordingHandler();
        provider().stream(new ChatRequest(MODEL, history, null, List.of(WEATHER, TIME)), h);
        assertThat(h.awaitResponse().text()).isEqualTo("Sunny in Paris; it is 21:04 in Tokyo.");

        JsonNode messages = server.lastChatRequest().body().path("messages");
        assertThat(messages).hasSize(4);
        JsonNode assistant = messages.get(1);
        assertThat(assistant.path("role").asText()).isEqualTo("assistant");
        assertThat(assistant.path("tool_calls")).hasSize(2);
        assertThat(assistant.path("tool_calls").get(0).path("function").path("name").asText()).isEqualTo("get_weather");
        // Ollama takes the arguments as a JSON object, not as a string.
        assertThat(assistant.path("tool_calls").get(0).path("function").path("arguments").path("city").asText())
                .isEqualTo("Paris");
        assertThat(messages.get(2).path("role").asText()).isEqualTo("tool");
        assertThat(messages.get(2).path("content").asText()).isEqualTo("18 degrees and sunny");
        assertThat(messages.get(2).path("tool_name").asText()).isEqualTo("get_weather");
        assertThat(messages.get(3).path("tool_name").asText()).isEqualTo("get_time");
    }

    @Test
    void aToolResultForAnUnknownCallIsRefusedBeforeAnythingIsSent() throws Exception {
        List<ChatMessage> history = List.of(ChatMessage.user("hi"),
                ChatMessage.assistant("", List.of(new ToolCall("call_0_a", "get_weather", "{\"city\":\"Paris\"}"))),
                ChatMessage.tool("call_9_z", "18 degrees"));
        RecordingHandler h = new RecordingHandler();
        provider().stream(new ChatRequest(MODEL, history, null, List.of(WEATHER)), h);
        assertThat(h.awaitError(ErrorCode.INVALID_REQUEST).getMessage()).contains("call_9_z");
        assertThat(server.chatRequests()).isEmpty();
    }

    @Test
    void aToolChoiceOllamaCannotHonourIsRefusedAndNoneSendsNoTools() throws Exception {
        RecordingHandler required = new RecordingHandler();
        provider().stream(new ChatRequest(MODEL, List.of(ChatMessage.user("hi")),
                new ChatOptions(null, null, null, null, ToolChoice.REQUIRED, null), List.of(WEATHER)), required);
        assertThat(required.awaitError(ErrorCode.INVALID_REQUEST).getMessage()).contains("tool_choice");

        RecordingHandler none = new RecordingHandler();
        provider().stream(new ChatRequest(MODEL, List.of(ChatMessage.user("hi")),
                new ChatOptions(null, null, null, null, ToolChoice.NONE, null), List.of(WEATHER)), none);
        none.awaitResponse();
        assertThat(server.chatRequests()).hasSize(1);
        assertThat(server.lastChatRequest().body().path("tools")).as("no tools (absent or empty)").isEmpty();
    }

    @Test
    void aMalformedToolSchemaIsAnInvalidRequest() throws Exception {
        RecordingHandler h = new RecordingHandler();
        provider().stream(new ChatRequest(MODEL, List.of(ChatMessage.user("hi")), null,
                List.of(new ToolSpec("broken", "x", "{\"type\":\"object\",\"properties\":[1,2]"))), h);
        assertThat(h.awaitError(ErrorCode.INVALID_REQUEST).getMessage()).contains("broken");
        assertThat(server.chatRequests()).isEmpty();
    }

    // ---- images and JSON ----------------------------------------------------------------------------------------

    @Test
    void base64ImagesGoInTheImagesArray() throws Exception {
        String png = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg==";
        ChatRequest r = new ChatRequest("llava:latest", List.of(ChatMessage.user(List.of(
                ContentPart.text("What is in this picture?"), ContentPart.imageBase64("image/png", png)))), null, null);
        RecordingHandler h = new RecordingHandler();
        provider().stream(r, h);
        h.awaitResponse();

        JsonNode user = server.lastChatRequest().body().path("messages").get(0);
        assertThat(user.path("content").asText()).isEqualTo("What is in this picture?");
        assertThat(user.path("images")).extracting(JsonNode::asText).containsExactly(png);
    }

    @Test
    void imagesByUrlAreRefusedClearly() throws Exception {
        ChatRequest r = new ChatRequest("llava:latest", List.of(ChatMessage.user(List.of(
                ContentPart.text("What is this?"), ContentPart.imageUrl("https://example.com/cat.png", null)))),
                null, null);
        RecordingHandler h = new RecordingHandler();
        provider().stream(r, h);
        assertThat(h.awaitError(ErrorCode.INVALID_REQUEST).getMessage()).contains("base64").contains("URL");
        assertThat(server.chatRequests()).isEmpty();
    }

    @Test
    void jsonModeAndJsonSchemaGoInFormat() throws Exception {
        ChatRequest jsonMode = new ChatRequest(MODEL, List.of(ChatMessage.user("a JSON object please")),
                new ChatOptions(null, null, null, null, null, ResponseFormat.JSON_OBJECT), null);
        RecordingHandler h1 = new RecordingHandler();
        provider().stream(jsonMode, h1);
        h1.awaitResponse();
        assertThat(server.lastChatRequest().body().path("format").asText()).isEqualTo("json");

        String schema = "{\"type\":\"object\",\"properties\":{\"age\":{\"type\":\"integer\"},"
                + "\"available\":{\"type\":\"boolean\"}},\"required\":[\"age\",\"available\"]}";
        ChatRequest structured = new ChatRequest(MODEL, List.of(ChatMessage.user("Ollama is 22 years old")),
                new ChatOptions(null, null, null, null, null, ResponseFormat.jsonSchema("person", schema, true)), null);
        RecordingHandler h2 = new RecordingHandler();
        provider().complete(structured, h2);
        h2.awaitResponse();
        assertThat(server.lastChatRequest().body().path("format")).isEqualTo(json(schema));
    }

    // ---- cancellation -----------------------------------------------------------------------------------------

    @Test
    void cancelStopsTheUpstreamStreamAndEndsWithCancelled() throws Exception {
        server.enqueue(OllamaBehaviour.reply("one two three four five six seven eight nine ten eleven twelve")
                .tokenDelay(Duration.ofMillis(200)));
        RecordingHandler h = new RecordingHandler();
        OllamaProvider p = provider();
        StreamHandle handle = p.stream(request("count"), h);
        assertThat(h.firstToken.await(10, TimeUnit.SECONDS)).isTrue();

        handle.cancel();
        handle.cancel(); // harmless
        h.awaitError(ErrorCode.CANCELLED);
        int seen = h.tokens.size();
        // The server finds the client gone on its next write: the upstream call really stopped.
        await().atMost(Duration.ofSeconds(10)).until(() -> server.abortedByClient() == 1);
        assertThat(server.completedStreams()).isZero();
        assertThat(h.tokens).hasSize(seen);
        assertThat(h.terminals.get()).isEqualTo(1);
        assertThat(h.afterEnd.get()).isZero();
        assertThat(p.inFlight()).isZero();
    }

    @ParameterizedTest
    @ValueSource(strings = {"stream", "complete"})
    void cancelBeforeTheFirstByteEndsAtOnce(String mode) throws Exception {
        server.enqueue(OllamaBehaviour.reply("late").headersDelay(Duration.ofSeconds(3)));
        OllamaProvider p = provider();
        RecordingHandler h = new RecordingHandler();
        StreamHandle handle = mode.equals("stream") ? p.stream(request("hi"), h) : p.complete(request("hi"), h);
        await().atMost(Duration.ofSeconds(5)).until(() -> server.inFlight() == 1);
        long start = System.nanoTime();
        handle.cancel();
        h.awaitError(ErrorCode.CANCELLED);
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(2));
        assertThat(p.inFlight()).isZero();
    }

    @Test
    void cancelAfterTheEndChangesNothing() throws Exception {
        RecordingHandler h = new RecordingHandler();
        StreamHandle handle = provider().stream(request("hi"), h);
        h.awaitResponse();
        handle.cancel();
        assertThat(h.terminals.get()).isEqualTo(1);
        assertThat(h.error).isNull();
    }

    @Test
    void cancelRacingTheEndStillGivesExactlyOneTerminalCall() throws Exception {
        server.defaultBehaviour(OllamaBehaviour.reply("a b c d").tokenDelay(Duration.ofMillis(5)));
        OllamaProvider p = provider();
        List<RecordingHandler> handlers = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
            RecordingHandler h = new RecordingHandler();
            StreamHandle handle = p.stream(request("race " + i), h);
            if (i % 2 == 0) {
                h.firstToken.await(5, TimeUnit.SECONDS);
            }
            handle.cancel();
            handlers.add(h);
        }
        for (RecordingHandler h : handlers) {
            assertThat(h.ended.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(h.terminals.get()).isEqualTo(1);
            assertThat(h.afterEnd.get()).isZero();
            assertThat(h.response == null ? h.error.code() : ErrorCode.CANCELLED).isEqualTo(ErrorCode.CANCELLED);
        }
        await().atMost(Duration.ofSeconds(5)).until(() -> p.inFlight() == 0);
    }

    @Test
    void aChatWithoutMessagesIsAnInvalidRequest() throws Exception {
        RecordingHandler h = new RecordingHandler();
        provider().stream(new ChatRequest(MODEL, List.of(), null, null), h);
        h.awaitError(ErrorCode.INVALID_REQUEST);
        assertThat(server.chatRequests()).isEmpty();
    }

    // ---- errors -------------------------------------------------------------------------------------------------

    @ParameterizedTest
    @ValueSource(strings = {"stream", "complete"})
    void errorStatusesMapToTheirCodes(String mode) throws Exception {
        OllamaProvider p = provider();
        var run = mode(mode);

        server.enqueue(OllamaBehaviour.fail(400, "invalid options: num_predict"));
        assertThat(run.apply(p, request("x")).awaitError(ErrorCode.INVALID_REQUEST).getMessage())
                .contains("invalid options: num_predict");

        server.enqueue(OllamaBehaviour.fail(400, "the input length exceeds the context length"));
        run.apply(p, request("x")).awaitError(ErrorCode.CONTEXT_TOO_LONG);

        server.enqueue(OllamaBehaviour.fail(403, "forbidden"));
        run.apply(p, request("x")).awaitError(ErrorCode.PROVIDER_PERMISSION);

        server.enqueue(OllamaBehaviour.rateLimited(7));
        ParleyException limited = run.apply(p, request("x")).awaitError(ErrorCode.RATE_LIMITED);
        assertThat(limited.retryAfter()).contains(Duration.ofSeconds(7));

        server.enqueue(OllamaBehaviour.busy().header("Retry-After", "2"));
        ParleyException busy = run.apply(p, request("x")).awaitError(ErrorCode.OVERLOADED);
        assertThat(busy.getMessage()).contains("server busy");
        assertThat(busy.retryAfter()).contains(Duration.ofSeconds(2));

        server.enqueue(OllamaBehaviour.fail(500, "llama runner process has terminated: signal: killed"));
        assertThat(run.apply(p, request("x")).awaitError(ErrorCode.UPSTREAM_FAILURE).getMessage())
                .contains("llama runner process has terminated");

        server.enqueue(OllamaBehaviour.fail(504, "gateway timeout"));
        run.apply(p, request("x")).awaitError(ErrorCode.UPSTREAM_TIMEOUT);

        ChatRequest unknown = new ChatRequest("mistral:7b", List.of(ChatMessage.user("x")), null, null);
        assertThat(run.apply(p, unknown).awaitError(ErrorCode.MODEL_NOT_FOUND).getMessage())
                .contains("not found, try pulling it first");
        // langchain4j was told not to retry: the router decides that.
        assertThat(server.chatRequests()).hasSize(8);
    }

    @ParameterizedTest
    @ValueSource(strings = {"stream", "complete"})
    void aWrongTokenIsProviderAuthAndTheMessageDoesNotQuoteIt(String mode) throws Exception {
        try (FakeOllamaServer proxied = FakeOllamaServer.start("right-token")) {
            OllamaProvider p = provider(settings("behind-proxy", proxied.baseUrl(), "wrong-token-123"));
            ParleyException e = mode(mode).apply(p, request("x")).awaitError(ErrorCode.PROVIDER_AUTH);
            assertThat(e.getMessage()).doesNotContain("wrong-token-123");
            assertThat(proxied.lastChatRequest().header("Authorization")).isEqualTo("Bearer wrong-token-123");
        }
    }

    @Test
    void anErrorLineMidStreamEndsTheAnswerAfterTheTokensBeforeIt() throws Exception {
        server.enqueue(OllamaBehaviour.reply("one two three four").errorAfter(2,
                "an error was encountered while running the model: unexpected EOF"));
        RecordingHandler h = new RecordingHandler();
        provider().stream(request("x"), h);
        ParleyException e = h.awaitError(ErrorCode.UPSTREAM_FAILURE);
        assertThat(e.getMessage()).contains("unexpected EOF");
        assertThat(h.tokens).containsExactly("one", " two");
    }

    @Test
    void aCutStreamIsAnUpstreamFailure() throws Exception {
        server.enqueue(OllamaBehaviour.reply("one two three four").cutAfter(2));
        RecordingHandler h = new RecordingHandler();
        provider().stream(request("x"), h);
        h.awaitError(ErrorCode.UPSTREAM_FAILURE);
        assertThat(h.tokens).containsExactly("one", " two");
    }

    @Test
    void aCutNonStreamedAnswerIsAnUpstreamFailure() throws Exception {
        server.enqueue(OllamaBehaviour.reply("one two three four").cutAfter(0));
        RecordingHandler h = new RecordingHandler();
        provider().complete(request("x"), h);
        h.awaitError(ErrorCode.UPSTREAM_FAILURE);
    }

    @Test
    void aStreamThatEndsWithoutDoneIsAnUpstreamFailure() throws Exception {
        server.enqueue(OllamaBehaviour.reply("one two three four").endWithoutDoneAfter(3));
        RecordingHandler h = new RecordingHandler();
        provider().stream(request("x"), h);
        assertThat(h.awaitError(ErrorCode.UPSTREAM_FAILURE).getMessage()).contains("done");
        assertThat(h.tokens).containsExactly("one", " two", " three");
    }

    @ParameterizedTest
    @ValueSource(strings = {"stream", "complete"})
    void aMalformedLineIsAnUpstreamProtocolError(String mode) throws Exception {
        server.enqueue(OllamaBehaviour.reply("one two three four").malformedAfter(2));
        RecordingHandler h = mode(mode).apply(provider(), request("x"));
        h.awaitError(ErrorCode.UPSTREAM_PROTOCOL);
        if (mode.equals("stream")) {
            assertThat(h.tokens).containsExactly("one", " two");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"stream", "complete"})
    void noResponseWithinTheResponseTimeoutIsAnUpstreamTimeout(String mode) throws Exception {
        OllamaSettings s = settings("ollama", server.baseUrl(), null);
        s = new OllamaSettings(s.id(), s.baseUrl(), null, s.models(), s.embeddingModels(), 8192, 2048, 8,
                Duration.ofSeconds(2), Duration.ofSeconds(1), Duration.ofSeconds(20), 1 << 20, Duration.ofSeconds(1));
        server.enqueue(OllamaBehaviour.reply("late").headersDelay(Duration.ofSeconds(4)));
        mode(mode).apply(provider(s), request("x")).awaitError(ErrorCode.UPSTREAM_TIMEOUT);
    }

    @Test
    void anAnswerLongerThanTheWholeAnswerTimeoutIsAnUpstreamTimeout() throws Exception {
        OllamaSettings s = settings("ollama", server.baseUrl(), null);
        s = new OllamaSettings(s.id(), s.baseUrl(), null, s.models(), s.embeddingModels(), 8192, 2048, 8,
                Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(1), 1 << 20, Duration.ofSeconds(1));
        server.enqueue(OllamaBehaviour.reply("a b c d e f g h i j k l m n o p").tokenDelay(Duration.ofMillis(200)));
        RecordingHandler h = new RecordingHandler();
        provider(s).stream(request("x"), h);
        h.awaitError(ErrorCode.UPSTREAM_TIMEOUT);
        assertThat(h.tokens).isNotEmpty();
        await().atMost(Duration.ofSeconds(10)).until(() -> server.abortedByClient() == 1);
    }

    @ParameterizedTest
    @ValueSource(strings = {"stream", "complete"})
    void anAnswerLargerThanTheLimitIsAnUpstreamProtocolError(String mode) throws Exception {
        OllamaSettings s = settings("ollama", server.baseUrl(), null);
        s = new OllamaSettings(s.id(), s.baseUrl(), null, s.models(), s.embeddingModels(), 8192, 2048, 8,
                Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(20), 2048, Duration.ofSeconds(1));
        server.enqueue(OllamaBehaviour.reply("word ".repeat(600).trim()));
        RecordingHandler h = mode(mode).apply(provider(s), request("x"));
        assertThat(h.awaitError(ErrorCode.UPSTREAM_PROTOCOL).getMessage()).contains("2048");
    }

    @Test
    void aResponseFormatSchemaThatIsNotJsonIsAnInvalidRequest() throws Exception {
        RecordingHandler h = new RecordingHandler();
        provider().stream(new ChatRequest(MODEL, List.of(ChatMessage.user("x")), new ChatOptions(null, null, null, null,
                null, ResponseFormat.jsonSchema("s", "{not a schema", true)), null), h);
        assertThat(h.awaitError(ErrorCode.INVALID_REQUEST).getMessage()).contains("schema");
        assertThat(server.chatRequests()).isEmpty();
    }

    @Test
    void aServerThatIsNotThereIsAnUpstreamFailure() throws Exception {
        String url = server.baseUrl();
        server.close();
        RecordingHandler h = new RecordingHandler();
        provider(settings("gone", url, null)).stream(request("x"), h);
        assertThat(h.awaitError(ErrorCode.UPSTREAM_FAILURE).getMessage()).contains("connect");
    }

    // ---- models and embeddings ----------------------------------------------------------------------------------

    @Test
    void withoutConfiguredModelsTheServersListIsSplitIntoChatAndEmbedding() throws Exception {
        server.chatModels("llama3.2:latest", "qwen2.5:7b").embeddingModels("nomic-embed-text:latest");
        OllamaProvider p = provider(new OllamaSettings("local", server.baseUrl(), null, List.of(), List.of(), 4096,
                1024, 768, Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(20), 1 << 20,
                Duration.ofSeconds(1)));
        await().atMost(Duration.ofSeconds(10)).until(() -> !p.models().isEmpty());
        assertThat(p.models()).extracting(m -> m.id()).containsExactly("llama3.2:latest", "qwen2.5:7b");
        assertThat(p.models()).allSatisfy(m -> {
            assertThat(m.providerId()).isEqualTo("local");
            assertThat(m.contextWindow()).isEqualTo(4096);
            assertThat(m.maxOutputTokens()).isEqualTo(1024);
        });
        assertThat(p.embeddingModels()).extracting(m -> m.id()).containsExactly("nomic-embed-text:latest");
        assertThat(p.embeddingModels().get(0).dimensions()).isEqualTo(768);
        assertThat(server.requests()).anySatisfy(r -> assertThat(r.path()).isEqualTo("/api/tags"));
        // /api/show's capabilities become the models' declared capabilities.
        assertThat(p.models().get(0).capabilities()).containsExactlyInAnyOrder(ModelCapability.TOOLS,
                ModelCapability.JSON_OUTPUT);
        assertThat(server.requests()).filteredOn(r -> r.path().equals("/api/show"))
                .extracting(r -> r.body().path("model").asText())
                .contains("llama3.2:latest", "qwen2.5:7b", "nomic-embed-text:latest");
    }

    @Test
    void visionModelsAreDeclaredAndAnOlderServerWithoutCapabilitiesFallsBackToTheModelFamily() throws Exception {
        server.chatModels("llava:latest").embeddingModels("all-minilm:latest");
        OllamaProvider p = provider(new OllamaSettings("local", server.baseUrl(), null, List.of(), List.of(), 4096,
                1024, 384, Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(20), 1 << 20,
                Duration.ofSeconds(1)));
        await().atMost(Duration.ofSeconds(10)).until(() -> !p.models().isEmpty());
        assertThat(p.models().get(0).capabilities()).containsExactlyInAnyOrder(ModelCapability.VISION,
                ModelCapability.JSON_OUTPUT);

        try (FakeOllamaServer old = FakeOllamaServer.start().showCapabilities(false)) {
            old.chatModels("llama3.2:latest").embeddingModels("nomic-embed-text:latest");
            OllamaProvider q = provider(new OllamaSettings("old", old.baseUrl(), null, List.of(), List.of(), 4096,
                    1024, 768, Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(20), 1 << 20,
                    Duration.ofSeconds(1)));
            await().atMost(Duration.ofSeconds(10)).until(() -> !q.models().isEmpty());
            assertThat(q.models()).extracting(m -> m.id()).containsExactly("llama3.2:latest");
            assertThat(q.models().get(0).capabilities()).as("not declared").isEmpty();
            assertThat(q.embeddingModels()).extracting(m -> m.id()).containsExactly("nomic-embed-text:latest");
        }
    }

    @Test
    void configuredModelsAreOfferedWithoutAskingTheServer() {
        OllamaProvider p = provider();
        assertThat(p.id()).isEqualTo("ollama");
        assertThat(p.models()).extracting(m -> m.id()).containsExactly(MODEL, "llava:latest");
        assertThat(p.embeddingModels()).extracting(m -> m.id()).containsExactly("nomic-embed-text");
        assertThat(server.requests()).isEmpty();
    }

    @Test
    void embedsABatchInOneCall() throws Exception {
        var response = provider().embed(new dev.parley.api.embedding.EmbeddingRequest("nomic-embed-text",
                List.of("why is the sky blue", "why is the grass green"), null)).toCompletableFuture()
                .get(10, TimeUnit.SECONDS);
        assertThat(response.model()).isEqualTo("nomic-embed-text");
        assertThat(response.embeddings()).hasSize(2);
        assertThat(response.embeddings().get(0).index()).isZero();
        assertThat(response.embeddings().get(0).vector()).containsExactly(FakeOllamaServer.vector("why is the sky blue", 8));
        assertThat(response.embeddings().get(1).vector()).containsExactly(FakeOllamaServer.vector("why is the grass green", 8));
        assertThat(response.promptTokens()).isEqualTo(10);
        RecordedRequest sent = server.embedRequests().get(0);
        assertThat(sent.body().path("model").asText()).isEqualTo("nomic-embed-text");
        assertThat(sent.body().path("input")).extracting(JsonNode::asText)
                .containsExactly("why is the sky blue", "why is the grass green");
    }

    @Test
    void embeddingErrorsAreMapped() {
        server.maxEmbedInputWords(3);
        var p = provider();
        var tooLong = p.embed(new dev.parley.api.embedding.EmbeddingRequest("nomic-embed-text",
                List.of("this input is longer than the model takes"), null)).toCompletableFuture();
        assertThat(tooLong).failsWithin(Duration.ofSeconds(10)).withThrowableThat()
                .havingCause().isInstanceOfSatisfying(ParleyException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.CONTEXT_TOO_LONG));

        var unknown = p.embed(new dev.parley.api.embedding.EmbeddingRequest("mxbai-embed-large",
                List.of("x"), null)).toCompletableFuture();
        assertThat(unknown).failsWithin(Duration.ofSeconds(10)).withThrowableThat()
                .havingCause().isInstanceOfSatisfying(ParleyException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND));

        server.enqueueEmbed(OllamaBehaviour.busy());
        var busy = p.embed(new dev.parley.api.embedding.EmbeddingRequest("nomic-embed-text", List.of("x"), null))
                .toCompletableFuture();
        assertThat(busy).failsWithin(Duration.ofSeconds(10)).withThrowableThat()
                .havingCause().isInstanceOfSatisfying(ParleyException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.OVERLOADED));
    }

    // ---- instances and lifecycle ----------------------------------------------------------------------------------

    @Test
    void twoInstancesSideBySideEachUseTheirOwnServerAndToken() throws Exception {
        try (FakeOllamaServer a = FakeOllamaServer.start("token-a"); FakeOllamaServer b = FakeOllamaServer.start("token-b")) {
            a.defaultBehaviour(OllamaBehaviour.reply("from a"));
            b.defaultBehaviour(OllamaBehaviour.reply("from b"));
            OllamaProvider pa = provider(settings("ollama-a", a.baseUrl(), "token-a"));
            OllamaProvider pb = provider(settings("ollama-b", b.baseUrl(), "token-b"));
            RecordingHandler ha = new RecordingHandler();
            RecordingHandler hb = new RecordingHandler();
            pa.stream(request("x"), ha);
            pb.stream(request("x"), hb);
            assertThat(ha.awaitResponse().text()).isEqualTo("from a");
            assertThat(hb.awaitResponse().text()).isEqualTo("from b");
            assertThat(pa.models()).allSatisfy(m -> assertThat(m.providerId()).isEqualTo("ollama-a"));
            assertThat(pb.models()).allSatisfy(m -> assertThat(m.providerId()).isEqualTo("ollama-b"));
            assertThat(a.lastChatRequest().header("Authorization")).isEqualTo("Bearer token-a");
            assertThat(b.lastChatRequest().header("Authorization")).isEqualTo("Bearer token-b");
        }
    }

    @Test
    void stoppingLetsAnAnswerInFlightFinishThenRefusesNewOnesAndLeavesNoThread() throws Exception {
        OllamaSettings s = settings("draining", server.baseUrl(), null);
        OllamaProvider p = new OllamaProvider(s);
        server.enqueue(OllamaBehaviour.reply("one two three four five").tokenDelay(Duration.ofMillis(100)));
        RecordingHandler h = new RecordingHandler();
        p.stream(request("x"), h);
        assertThat(h.firstToken.await(10, TimeUnit.SECONDS)).isTrue();

        p.deactivate();

        assertThat(h.ended.getCount()).as("the answer ended before deactivate returned").isZero();
        assertThat(h.response.text()).isEqualTo("one two three four five");
        RecordingHandler late = new RecordingHandler();
        p.stream(request("y"), late);
        late.awaitError(ErrorCode.UNAVAILABLE);
        await().atMost(Duration.ofSeconds(10)).until(() -> Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.isAlive() && t.getName().contains("parley-ollama-") && t.getName().contains("-draining-")));
    }

    @Test
    void stoppingCutsAnAnswerThatOutlivesTheDrainTimeout() throws Exception {
        OllamaSettings s = settings("ollama", server.baseUrl(), null);
        s = new OllamaSettings(s.id(), s.baseUrl(), null, s.models(), s.embeddingModels(), 8192, 2048, 8,
                Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(20), 1 << 20, Duration.ZERO);
        OllamaProvider p = new OllamaProvider(s);
        server.enqueue(OllamaBehaviour.reply("a b c d e f g h").tokenDelay(Duration.ofMillis(300)));
        RecordingHandler h = new RecordingHandler();
        p.stream(request("x"), h);
        assertThat(h.firstToken.await(10, TimeUnit.SECONDS)).isTrue();
        p.deactivate();
        h.awaitError(ErrorCode.UNAVAILABLE);
    }

    static JsonNode json(String s) throws Exception {
        return new com.fasterxml.jackson.databind.ObjectMapper().readTree(s);
    }
}

package dev.parley.provider.openai.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.llm.ToolSpec;
import dev.parley.testsupport.Behaviour;
import dev.parley.testsupport.FakeOpenAiServer;
import dev.parley.testsupport.RecordedRequest;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class OpenAiChatModelProviderTest {

    private static final String KEY = "sk-parley-test-key";
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final FakeOpenAiServer server = FakeOpenAiServer.start(KEY);
    private final List<OpenAiChatModelProvider> providers = new CopyOnWriteArrayList<>();

    @AfterEach
    void stop() {
        providers.forEach(OpenAiChatModelProvider::deactivate);
        server.close();
    }

    private OpenAiChatModelProvider provider(Map<String, Object> overrides) {
        Map<String, Object> values = new HashMap<>();
        values.put("apiKey", KEY);
        values.put("baseUrl", server.baseUrl());
        values.put("models", new String[] {"gpt-4o-mini"});
        values.putAll(overrides);
        OpenAiChatModelProvider p = new OpenAiChatModelProvider(config(values), Map.of());
        providers.add(p);
        return p;
    }

    private OpenAiChatModelProvider provider() {
        return provider(Map.of());
    }

    /** The annotation-typed configuration DS would hand over: given values, else the declared defaults. */
    private static OpenAiProviderConfig config(Map<String, Object> values) {
        return (OpenAiProviderConfig) Proxy.newProxyInstance(OpenAiProviderConfig.class.getClassLoader(),
                new Class<?>[] {OpenAiProviderConfig.class}, (proxy, method, args) -> {
                    if (method.getName().equals("annotationType")) {
                        return OpenAiProviderConfig.class;
                    }
                    Object v = values.get(method.getName());
                    return v != null ? v : method.getDefaultValue();
                });
    }

    private static ChatRequest ask(String text) {
        return new ChatRequest("gpt-4o-mini", List.of(ChatMessage.user(text)), ChatOptions.DEFAULTS, List.of());
    }

    /** Records everything a stream reports and how often it ended. */
    static final class Recorder implements ChatStreamHandler {
        final List<String> tokens = new CopyOnWriteArrayList<>();
        final List<ToolCallDelta> toolCallDeltas = new CopyOnWriteArrayList<>();
        /** Tokens ("text") and tool-call pieces ("call") in the order they came. */
        final List<String> kinds = new CopyOnWriteArrayList<>();
        final List<ChatResponse> completions = new CopyOnWriteArrayList<>();
        final List<ParleyException> errors = new CopyOnWriteArrayList<>();
        final AtomicInteger terminals = new AtomicInteger();
        final AtomicInteger afterEnd = new AtomicInteger();

        @Override
        public void onToken(String delta) {
            if (terminals.get() > 0) {
                afterEnd.incrementAndGet();
            }
            tokens.add(delta);
            kinds.add("text");
        }

        @Override
        public void onToolCallDelta(ToolCallDelta delta) {
            if (terminals.get() > 0) {
                afterEnd.incrementAndGet();
            }
            toolCallDeltas.add(delta);
            kinds.add("call");
        }

        /** The arguments pieces of call {@code index} joined. */
        String joinedArguments(int index) {
            StringBuilder sb = new StringBuilder();
            toolCallDeltas.stream().filter(d -> d.index() == index).forEach(d -> sb.append(d.argumentsDelta()));
            return sb.toString();
        }

        @Override
        public void onComplete(ChatResponse response) {
            completions.add(response);
            terminals.incrementAndGet();
        }

        @Override
        public void onError(ParleyException error) {
            errors.add(error);
            terminals.incrementAndGet();
        }

        ParleyException awaitError() {
            await().atMost(WAIT).until(() -> terminals.get() > 0);
            assertThat(completions).as("completed instead of failing").isEmpty();
            return errors.get(0);
        }

        ChatResponse awaitCompletion() {
            await().atMost(WAIT).until(() -> terminals.get() > 0);
            assertThat(errors).as("failed instead of completing").isEmpty();
            return completions.get(0);
        }
    }

    @Test
    void anUpstreamErrorLeavesItsPooledConnectionToTheRequestsAfterIt() throws Exception {
        // Half the answers are refused with 429 while others run on the same pooled connections. Ending a refused
        // answer used to cancel its HTTP exchange after the error body had been read, closing a connection the
        // client had handed back to its pool, under another request ("the connection to the model server broke").
        int refusals = 300;
        for (int i = 0; i < refusals; i++) {
            server.rateLimit(0);
        }
        OpenAiChatModelProvider p = provider();
        List<Recorder> recorders = new CopyOnWriteArrayList<>();
        var pool = java.util.concurrent.Executors.newFixedThreadPool(8);
        try {
            for (int i = 0; i < 2 * refusals; i++) {
                int n = i;
                pool.execute(() -> {
                    Recorder r = new Recorder();
                    recorders.add(r);
                    if (n % 2 == 0) {
                        p.stream(ask("streamed " + n), r);
                    } else {
                        p.complete(ask("whole " + n), r);
                    }
                    await().atMost(WAIT).until(() -> r.terminals.get() > 0);
                });
            }
        } finally {
            pool.shutdown();
            assertThat(pool.awaitTermination(2, java.util.concurrent.TimeUnit.MINUTES)).isTrue();
        }

        List<ParleyException> errors = recorders.stream().flatMap(r -> r.errors.stream()).toList();
        assertThat(errors).extracting(ParleyException::code).containsOnly(ErrorCode.RATE_LIMITED);
        assertThat(errors).hasSize(refusals);
        assertThat(recorders.stream().mapToInt(r -> r.completions.size()).sum()).isEqualTo(refusals);
    }

    @Test
    void writesTheCurrentTraceIntoTheUpstreamRequest() {
        server.reply("traced");
        OpenAiChatModelProvider p = provider();
        String traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
        p.traceHeaders = header -> {
            header.accept("traceparent", traceparent);
            header.accept("tracestate", "parley=1");
        };
        Recorder r = new Recorder();

        p.stream(ask("hi"), r);
        r.awaitCompletion();

        assertThat(server.lastChatRequest().header("traceparent")).isEqualTo(traceparent);
        assertThat(server.lastChatRequest().header("tracestate")).isEqualTo("parley=1");
    }

    @Test
    void withoutTelemetrySendsNoTraceHeaders() {
        server.reply("untraced");
        Recorder r = new Recorder();

        provider().stream(ask("hi"), r);
        r.awaitCompletion();

        assertThat(server.lastChatRequest().header("traceparent")).isNull();
    }

    @Test
    void streamsTokensInOrderThenCompletesWithUsageAndFinishReason() {
        server.reply("Hello there, how can I help?");
        Recorder r = new Recorder();

        provider().stream(ask("hi there friend"), r);

        ChatResponse done = r.awaitCompletion();
        assertThat(r.tokens).containsExactly("Hello", " there,", " how", " can", " I", " help?");
        assertThat(done.text()).isEqualTo("Hello there, how can I help?");
        assertThat(done.finishReason()).isEqualTo(FinishReason.STOP);
        // The fake counts words of the prompt and chunks of the answer.
        assertThat(done.usage().promptTokens()).isEqualTo(3);
        assertThat(done.usage().completionTokens()).isEqualTo(6);
        assertThat(done.model()).isEqualTo("gpt-4o-mini");
        assertThat(r.terminals).hasValue(1);
        // Usage in streams must be asked for explicitly.
        assertThat(server.lastChatRequest().body().path("stream").asBoolean()).isTrue();
        assertThat(server.lastChatRequest().body().path("stream_options").path("include_usage").asBoolean()).isTrue();
    }

    @Test
    void finishReasonLengthIsMapped() {
        server.reply("cut short").finishReason("length");
        Recorder r = new Recorder();

        provider().stream(ask("hi"), r);

        assertThat(r.awaitCompletion().finishReason()).isEqualTo(FinishReason.LENGTH);
    }

    @Test
    void requestCarriesModelMessagesOptionsAndKey() {
        Recorder r = new Recorder();
        ChatRequest request = new ChatRequest("gpt-4o-mini",
                List.of(ChatMessage.system("be brief"), ChatMessage.user("what is OSGi?")),
                new ChatOptions(0.3, null, 77, List.of("END")), List.of());

        provider().stream(request, r);

        r.awaitCompletion();
        RecordedRequest sent = server.lastChatRequest();
        assertThat(sent.header("Authorization")).isEqualTo("Bearer " + KEY);
        assertThat(sent.body().path("model").asText()).isEqualTo("gpt-4o-mini");
        assertThat(sent.body().path("temperature").asDouble()).isEqualTo(0.3);
        assertThat(sent.body().path("max_tokens").asInt()).isEqualTo(77);
        assertThat(sent.body().path("stop").get(0).asText()).isEqualTo("END");
        assertThat(sent.body().path("messages").get(0).path("role").asText()).isEqualTo("system");
        assertThat(sent.body().path("messages").get(0).path("content").asText()).isEqualTo("be brief");
        assertThat(sent.body().path("messages").get(1).path("role").asText()).isEqualTo("user");
        assertThat(sent.body().path("messages").get(1).path("content").asText()).isEqualTo("what is OSGi?");
        assertThat(r.completions.get(0).text()).isEqualTo("echo: what is OSGi?");
    }

    @Test
    void toolsAreSentAndToolCallsComeBack() {
        server.toolCall("call_1", "get_weather", "{\"city\":\"Oslo\"}");
        Recorder r = new Recorder();
        ToolSpec weather = new ToolSpec("get_weather", "Weather for a city",
                "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\",\"description\":\"name\"}},"
                        + "\"required\":[\"city\"]}");

        provider().stream(new ChatRequest("gpt-4o-mini", List.of(ChatMessage.user("weather?")), null,
                List.of(weather)), r);

        ChatResponse done = r.awaitCompletion();
        assertThat(done.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
        assertThat(done.toolCalls()).singleElement().satisfies(c -> {
            assertThat(c.id()).isEqualTo("call_1");
            assertThat(c.name()).isEqualTo("get_weather");
            assertThat(c.argumentsJson()).isEqualTo("{\"city\":\"Oslo\"}");
        });
        var tool = server.lastChatRequest().body().path("tools").get(0).path("function");
        assertThat(tool.path("name").asText()).isEqualTo("get_weather");
        assertThat(tool.path("parameters").path("properties").path("city").path("type").asText()).isEqualTo("string");
        assertThat(tool.path("parameters").path("required").get(0).asText()).isEqualTo("city");
    }

    @Test
    void aToolCallsArgumentsStreamPieceByPieceAsTheServerSplitsThem() {
        // Pieces of five characters cut inside the key, the string and the number.
        server.enqueue(Behaviour.toolCalls(new Behaviour.Call("call_1", "get_weather", "{\"city\":\"Oslo\",\"days\":12}"))
                .argumentsInPiecesOf(5));
        Recorder r = new Recorder();

        provider().stream(ask("weather?"), r);

        ChatResponse done = r.awaitCompletion();
        assertThat(r.toolCallDeltas).containsExactly(
                new ToolCallDelta(0, "call_1", "get_weather", ""),
                new ToolCallDelta(0, null, null, "{\"cit"),
                new ToolCallDelta(0, null, null, "y\":\"O"),
                new ToolCallDelta(0, null, null, "slo\","),
                new ToolCallDelta(0, null, null, "\"days"),
                new ToolCallDelta(0, null, null, "\":12}"));
        assertThat(done.toolCalls()).containsExactly(new ToolCall("call_1", "get_weather", r.joinedArguments(0)));
        assertThat(done.toolCalls().get(0).argumentsJson()).isEqualTo("{\"city\":\"Oslo\",\"days\":12}");
        assertThat(r.tokens).isEmpty();
        assertThat(r.afterEnd).hasValue(0);
    }

    @Test
    void parallelToolCallsStreamUnderTheirOwnIndexes() {
        server.enqueue(Behaviour.toolCalls(new Behaviour.Call("call_a", "weather", "{\"city\":\"Oslo\"}"),
                new Behaviour.Call("call_b", "time", "{\"tz\":\"CET\"}")));
        Recorder r = new Recorder();

        provider().stream(ask("weather and time?"), r);

        ChatResponse done = r.awaitCompletion();
        assertThat(r.toolCallDeltas).containsExactly(
                new ToolCallDelta(0, "call_a", "weather", ""),
                new ToolCallDelta(0, null, null, "{\"city\""),
                new ToolCallDelta(0, null, null, ":\"Oslo\"}"),
                new ToolCallDelta(1, "call_b", "time", ""),
                new ToolCallDelta(1, null, null, "{\"tz\":"),
                new ToolCallDelta(1, null, null, "\"CET\"}"));
        assertThat(done.toolCalls()).containsExactly(new ToolCall("call_a", "weather", r.joinedArguments(0)),
                new ToolCall("call_b", "time", r.joinedArguments(1)));
        assertThat(done.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
        assertThat(r.afterEnd).hasValue(0);
    }

    @Test
    void textThenAToolCallArriveInTheOrderTheyWereStreamed() {
        server.enqueue(Behaviour.toolCalls(new Behaviour.Call("call_1", "get_weather", "{\"city\":\"Oslo\"}"))
                .textBeforeCalls("Let me check."));
        Recorder r = new Recorder();

        provider().stream(ask("weather?"), r);

        ChatResponse done = r.awaitCompletion();
        assertThat(r.kinds).containsExactly("text", "text", "text", "call", "call", "call");
        assertThat(r.tokens).containsExactly("Let", " me", " check.");
        assertThat(r.toolCallDeltas.get(0)).isEqualTo(new ToolCallDelta(0, "call_1", "get_weather", ""));
        assertThat(done.text()).isEqualTo("Let me check.");
        assertThat(done.toolCalls()).containsExactly(new ToolCall("call_1", "get_weather", r.joinedArguments(0)));
        assertThat(r.joinedArguments(0)).isEqualTo("{\"city\":\"Oslo\"}");
        assertThat(r.afterEnd).hasValue(0);
    }

    @Test
    void noToolCallPieceArrivesAfterACancel() {
        server.enqueue(Behaviour.toolCalls(new Behaviour.Call("call_1", "get_weather", "{\"city\":\"Oslo\"}"))
                .argumentsInPiecesOf(2).tokenDelay(Duration.ofMillis(100)));
        Recorder r = new Recorder();

        StreamHandle handle = provider().stream(ask("weather?"), r);
        await().atMost(WAIT).until(() -> r.toolCallDeltas.size() >= 2);
        handle.cancel();

        assertThat(r.awaitError().code()).isEqualTo(ErrorCode.CANCELLED);
        int seen = r.toolCallDeltas.size();
        await().atMost(WAIT).until(() -> server.inFlight() == 0);
        assertThat(r.toolCallDeltas).hasSize(seen).hasSizeLessThan(9);
        assertThat(r.afterEnd).hasValue(0);
    }

    @Test
    void wrongKeyIsProviderAuthWithoutLeakingTheKey() {
        Recorder r = new Recorder();

        provider(Map.of("apiKey", "sk-wrong-secret")).stream(ask("hi"), r);

        ParleyException e = r.awaitError();
        assertThat(e.code()).isEqualTo(ErrorCode.PROVIDER_AUTH);
        assertThat(e.getMessage()).contains("OPENAI_API_KEY").doesNotContain("sk-wrong-secret");
        assertThat(r.terminals).hasValue(1);
    }

    @Test
    void rateLimitSurfacesRetryAfter() {
        server.rateLimit(17);
        Recorder r = new Recorder();

        provider().stream(ask("hi"), r);

        ParleyException e = r.awaitError();
        assertThat(e.code()).isEqualTo(ErrorCode.RATE_LIMITED);
        assertThat(e.retryAfter()).hasValue(Duration.ofSeconds(17));
    }

    @Test
    void serverErrorIsUpstreamFailure() {
        server.failWith(500);
        Recorder r = new Recorder();

        provider().stream(ask("hi"), r);

        ParleyException e = r.awaitError();
        assertThat(e.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(e.getMessage()).contains("500");
    }

    @Test
    void unknownModelIsModelNotFoundAndOtherClientErrorsAreInvalidRequest() {
        server.failWith(404);
        server.failWith(400).message("'messages' must not be empty");
        Recorder notFound = new Recorder();
        Recorder invalid = new Recorder();
        OpenAiChatModelProvider p = provider();

        p.stream(ask("hi"), notFound);
        notFound.awaitError();
        p.stream(ask("hi"), invalid);

        assertThat(notFound.errors.get(0).code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        ParleyException e = invalid.awaitError();
        assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(e.getMessage()).contains("'messages' must not be empty");
    }

    @Test
    void connectionRefusedIsUpstreamFailure() {
        int port = server.port();
        server.close();
        Recorder r = new Recorder();

        provider(Map.of("baseUrl", "http://127.0.0.1:" + port + "/v1")).stream(ask("hi"), r);

        ParleyException e = r.awaitError();
        assertThat(e.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(e.getMessage()).contains("cannot connect");
    }

    @Test
    void streamCutMidwayDeliversPartialTokensThenOneError() {
        server.reply("one two three four five").cutStreamAfter(2);
        Recorder r = new Recorder();

        provider().stream(ask("hi"), r);

        ParleyException e = r.awaitError();
        assertThat(r.tokens).containsExactly("one", " two");
        assertThat(e.code()).isIn(ErrorCode.UPSTREAM_FAILURE, ErrorCode.UPSTREAM_PROTOCOL);
        assertThat(e.getMessage()).containsAnyOf("broke", "without finishing");
        await().during(Duration.ofMillis(200)).atMost(WAIT).until(() -> r.terminals.get() == 1);
    }

    @Test
    void malformedChunkIsUpstreamProtocolError() {
        server.reply("one two three").malformedChunkAfter(1);
        Recorder r = new Recorder();

        provider().stream(ask("hi"), r);

        ParleyException e = r.awaitError();
        assertThat(e.code()).isEqualTo(ErrorCode.UPSTREAM_PROTOCOL);
        assertThat(r.tokens).containsExactly("one");
        await().during(Duration.ofMillis(200)).atMost(WAIT).until(() -> r.terminals.get() == 1);
    }

    @Test
    void slowFirstTokenTimesOut() {
        server.reply("late answer").firstTokenDelay(Duration.ofSeconds(3));
        Recorder r = new Recorder();

        provider(Map.of("firstTokenTimeoutSeconds", 1)).stream(ask("hi"), r);

        ParleyException e = r.awaitError();
        assertThat(e.code()).isEqualTo(ErrorCode.UPSTREAM_TIMEOUT);
        assertThat(r.tokens).isEmpty();
    }

    @Test
    void anUpstreamThatNeverSendsItsHeadersTimesOut() {
        server.reply("late answer").headersDelay(Duration.ofSeconds(4));
        Recorder r = new Recorder();

        provider(Map.of("firstTokenTimeoutSeconds", 1)).stream(ask("hi"), r);

        ParleyException e = r.awaitError();
        assertThat(e.code()).isEqualTo(ErrorCode.UPSTREAM_TIMEOUT);
        assertThat(r.tokens).isEmpty();
    }

    @Test
    void silenceBetweenChunksTimesOut() {
        server.reply("one two").tokenDelay(Duration.ofSeconds(4));
        Recorder r = new Recorder();

        provider(Map.of("readTimeoutSeconds", 1)).stream(ask("hi"), r);

        ParleyException e = r.awaitError();
        assertThat(e.code()).isEqualTo(ErrorCode.UPSTREAM_TIMEOUT);
        assertThat(e.getMessage()).contains("silent");
        assertThat(r.tokens).containsExactly("one");
    }

    @Test
    void deactivateLetsARunningStreamFinishThenRefusesNewOnes() throws Exception {
        server.reply("one two three four five six").tokenDelay(Duration.ofMillis(60));
        Recorder r = new Recorder();
        OpenAiChatModelProvider p = provider();
        p.stream(ask("hi"), r);
        await().atMost(WAIT).until(() -> r.tokens.size() >= 1);

        // An upgrade stops the old provider while its answer is still streaming.
        var stopping = java.util.concurrent.CompletableFuture.runAsync(p::deactivate);
        ChatResponse done = r.awaitCompletion();
        stopping.get(10, java.util.concurrent.TimeUnit.SECONDS);

        assertThat(done.text()).isEqualTo("one two three four five six");
        assertThat(r.terminals).hasValue(1);
        Recorder late = new Recorder();
        p.stream(ask("too late"), late);
        assertThat(late.awaitError().code()).isEqualTo(ErrorCode.UNAVAILABLE);
    }

    @Test
    void drainTimeoutCutsAStreamThatOutlivesIt() throws Exception {
        server.reply("a b c d e f g h i j k l m n o p q r s t").tokenDelay(Duration.ofMillis(300));
        Recorder r = new Recorder();
        OpenAiChatModelProvider p = provider(Map.of("drainTimeoutSeconds", 1));
        p.stream(ask("hi"), r);
        await().atMost(WAIT).until(() -> r.tokens.size() >= 1);

        p.deactivate();

        assertThat(r.awaitError().code()).isEqualTo(ErrorCode.UNAVAILABLE);
        assertThat(r.tokens).hasSizeLessThan(20);
    }

    @Test
    void cancelMidStreamEndsWithExactlyOneCancelledAndClosesTheConnection() {
        server.reply("a b c d e f g h i j k l m n o p q r s t u v w x y z").tokenDelay(Duration.ofMillis(100));
        Recorder r = new Recorder();

        StreamHandle handle = provider().stream(ask("hi"), r);
        await().atMost(WAIT).until(() -> r.tokens.size() >= 2);
        handle.cancel();
        handle.cancel();

        ParleyException e = r.awaitError();
        assertThat(e.code()).isEqualTo(ErrorCode.CANCELLED);
        int tokensAtCancel = r.tokens.size();
        // The server notices the closed connection on its next write and stops.
        await().atMost(WAIT).until(() -> server.abortedByClient() == 1 && server.inFlight() == 0);
        assertThat(server.completedStreams()).isZero();
        assertThat(r.tokens).hasSize(tokensAtCancel).hasSizeLessThan(26);
        assertThat(r.terminals).hasValue(1);
    }

    @Test
    void modelsAreFetchedFromUpstreamWhenNoneConfigured() {
        server.models("gpt-4o-mini", "text-embedding-3-small", "llama-3.1-8b");

        OpenAiChatModelProvider p = provider(Map.of("models", new String[0], "defaultContextWindow", 8192,
                "defaultMaxOutputTokens", 1024));

        await().atMost(WAIT).until(p::modelsKnown);
        assertThat(p.models()).extracting(ModelDescriptor::id).containsExactly("gpt-4o-mini", "llama-3.1-8b");
        assertThat(p.models()).allSatisfy(m -> {
            assertThat(m.providerId()).isEqualTo("openai");
            assertThat(m.contextWindow()).isEqualTo(8192);
            assertThat(m.maxOutputTokens()).isEqualTo(1024);
        });
        assertThat(server.requests()).anySatisfy(req -> {
            assertThat(req.path()).isEqualTo("/v1/models");
            assertThat(req.header("Authorization")).isEqualTo("Bearer " + KEY);
        });
    }

    @Test
    void modelsFallBackToBuiltInListWhenUpstreamCannotList() {
        server.modelsStatus(500);

        OpenAiChatModelProvider p = provider(Map.of("models", new String[0]));

        await().atMost(WAIT).until(p::modelsKnown);
        assertThat(p.models()).extracting(ModelDescriptor::id).containsExactly("gpt-4o-mini", "gpt-4o");
    }

    @Test
    void configuredModelsAndProviderIdAreUsedAsGiven() {
        OpenAiChatModelProvider p = provider(Map.of("models", new String[] {"m-a", " m-b "}, "providerId", "local"));

        assertThat(p.id()).isEqualTo("local");
        assertThat(p.models()).extracting(ModelDescriptor::id).containsExactly("m-a", "m-b");
        assertThat(p.models()).extracting(ModelDescriptor::providerId).containsOnly("local");
    }

    @Test
    void estimatesTokensWithTheModelsTokenizerAndFallsBackForUnknownModels() {
        OpenAiChatModelProvider p = provider();
        List<ChatMessage> messages = List.of(ChatMessage.user("Hello world, this is a short sentence."));

        int known = p.estimateTokens("gpt-4o-mini", messages);
        int unknown = p.estimateTokens("some-local-model", messages);

        // o200k: about 9 tokens of text plus per-message overhead, well below the 4-chars-per-token guess.
        assertThat(known).isBetween(9, 16);
        int chars = messages.get(0).content().length() + 16;
        assertThat(unknown).isEqualTo((chars + 3) / 4);
    }

    // ---- complete(): one non-streamed upstream call -----------------------------------------------------------

    @Test
    void completeIsOneNonStreamedCallWithoutTokens() {
        server.reply("Hello there, how can I help?");
        Recorder r = new Recorder();

        provider().complete(ask("hi there friend"), r);

        ChatResponse done = r.awaitCompletion();
        assertThat(r.tokens).isEmpty();
        assertThat(done.text()).isEqualTo("Hello there, how can I help?");
        assertThat(done.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(done.usage().promptTokens()).isEqualTo(3);
        assertThat(done.usage().completionTokens()).isEqualTo(6);
        assertThat(done.model()).isEqualTo("gpt-4o-mini");
        assertThat(r.terminals).hasValue(1);
        var sent = server.lastChatRequest().body();
        assertThat(sent.path("stream").isBoolean()).isTrue();
        assertThat(sent.path("stream").asBoolean()).isFalse();
        assertThat(sent.has("stream_options")).isFalse();
        assertThat(sent.path("messages").get(0).path("content").asText()).isEqualTo("hi there friend");
        assertThat(server.chatRequests()).hasSize(1);
    }

    @Test
    void completeReadsToolCallsAndFinishReasons() {
        server.toolCall("call_1", "get_weather", "{\"city\":\"Oslo\"}");
        server.reply("cut short").finishReason("length");
        Recorder tools = new Recorder();
        Recorder cut = new Recorder();
        OpenAiChatModelProvider p = provider();

        p.complete(ask("weather?"), tools);
        ChatResponse called = tools.awaitCompletion();
        p.complete(ask("hi"), cut);

        assertThat(called.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
        assertThat(called.text()).isEmpty();
        assertThat(called.toolCalls()).singleElement().satisfies(c -> {
            assertThat(c.id()).isEqualTo("call_1");
            assertThat(c.name()).isEqualTo("get_weather");
            assertThat(c.argumentsJson()).isEqualTo("{\"city\":\"Oslo\"}");
        });
        assertThat(cut.awaitCompletion().finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(cut.completions.get(0).text()).isEqualTo("cut short");
    }

    @Test
    void completeMapsErrorStatusesLikeTheStream() {
        server.rateLimit(17);
        server.failWith(500);
        server.failWith(404);
        server.failWith(400).message("'messages' must not be empty");
        OpenAiChatModelProvider p = provider();
        Recorder limited = new Recorder();
        Recorder failed = new Recorder();
        Recorder missing = new Recorder();
        Recorder invalid = new Recorder();
        Recorder auth = new Recorder();

        p.complete(ask("hi"), limited);
        limited.awaitError();
        p.complete(ask("hi"), failed);
        failed.awaitError();
        p.complete(ask("hi"), missing);
        missing.awaitError();
        p.complete(ask("hi"), invalid);
        invalid.awaitError();
        provider(Map.of("apiKey", "sk-wrong-secret")).complete(ask("hi"), auth);

        assertThat(limited.errors.get(0).code()).isEqualTo(ErrorCode.RATE_LIMITED);
        assertThat(limited.errors.get(0).retryAfter()).hasValue(Duration.ofSeconds(17));
        assertThat(failed.errors.get(0).code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(failed.errors.get(0).getMessage()).contains("500");
        assertThat(missing.errors.get(0).code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(invalid.errors.get(0).code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(invalid.errors.get(0).getMessage()).contains("'messages' must not be empty");
        ParleyException e = auth.awaitError();
        assertThat(e.code()).isEqualTo(ErrorCode.PROVIDER_AUTH);
        assertThat(e.getMessage()).doesNotContain("sk-wrong-secret");
        for (Recorder r : List.of(limited, failed, missing, invalid, auth)) {
            assertThat(r.terminals).hasValue(1);
            assertThat(r.tokens).isEmpty();
        }
    }

    @Test
    void completeWithABodyThatIsNotJsonIsUpstreamProtocol() {
        server.reply("one two three").malformedChunkAfter(0);
        Recorder r = new Recorder();

        provider().complete(ask("hi"), r);

        ParleyException e = r.awaitError();
        assertThat(e.code()).isEqualTo(ErrorCode.UPSTREAM_PROTOCOL);
        assertThat(e.getMessage()).contains("not valid JSON");
        await().during(Duration.ofMillis(200)).atMost(WAIT).until(() -> r.terminals.get() == 1);
    }

    @Test
    void completeWithABodyCutHalfwayFailsOnce() {
        server.reply("one two three four five six seven eight").cutStreamAfter(0);
        Recorder r = new Recorder();

        provider().complete(ask("hi"), r);

        ParleyException e = r.awaitError();
        assertThat(e.code()).isIn(ErrorCode.UPSTREAM_FAILURE, ErrorCode.UPSTREAM_PROTOCOL);
        assertThat(e.getMessage()).containsAnyOf("broke", "not valid JSON");
        assertThat(r.tokens).isEmpty();
        await().during(Duration.ofMillis(200)).atMost(WAIT).until(() -> r.terminals.get() == 1);
    }

    @Test
    void completeRefusesAnAnswerLargerThanTheLimit() {
        server.reply("word ".repeat(400).trim());
        Recorder r = new Recorder();

        provider(Map.of("maxAnswerBytes", 1024)).complete(ask("hi"), r);

        ParleyException e = r.awaitError();
        assertThat(e.code()).isEqualTo(ErrorCode.UPSTREAM_PROTOCOL);
        assertThat(e.getMessage()).contains("larger than 1024 bytes");
        assertThat(r.terminals).hasValue(1);
    }

    @Test
    void completeWaitsUpToTheReadTimeoutNotTheFirstTokenTimeout() {
        // The whole answer takes longer than the first-token timeout: a non-streamed call is not cut by it.
        server.reply("a considered answer").firstTokenDelay(Duration.ofMillis(1500));
        server.reply("too late").firstTokenDelay(Duration.ofSeconds(3));
        Recorder patient = new Recorder();
        Recorder late = new Recorder();

        provider(Map.of("firstTokenTimeoutSeconds", 1)).complete(ask("hi"), patient);
        assertThat(patient.awaitCompletion().text()).isEqualTo("a considered answer");
        provider(Map.of("readTimeoutSeconds", 1)).complete(ask("hi"), late);

        ParleyException e = late.awaitError();
        assertThat(e.code()).isEqualTo(ErrorCode.UPSTREAM_TIMEOUT);
        assertThat(late.terminals).hasValue(1);
    }

    @Test
    void cancellingACompleteEndsItOnceAndNothingArrivesAfter() {
        server.reply("an answer that comes too late").firstTokenDelay(Duration.ofMillis(800));
        Recorder r = new Recorder();

        StreamHandle handle = provider().complete(ask("hi"), r);
        await().atMost(WAIT).until(() -> server.inFlight() == 1);
        handle.cancel();
        handle.cancel();

        assertThat(r.awaitError().code()).isEqualTo(ErrorCode.CANCELLED);
        // The server answers after the cancel; none of it reaches the handler.
        await().atMost(WAIT).until(() -> server.inFlight() == 0);
        await().during(Duration.ofMillis(200)).atMost(WAIT).until(() -> r.terminals.get() == 1);
        assertThat(r.completions).isEmpty();
    }

    @Test
    void deactivateLetsARunningCompleteFinishThenRefusesNewOnes() throws Exception {
        server.reply("finished while stopping").firstTokenDelay(Duration.ofMillis(500));
        Recorder r = new Recorder();
        OpenAiChatModelProvider p = provider();
        p.complete(ask("hi"), r);
        await().atMost(WAIT).until(() -> server.inFlight() == 1);

        var stopping = java.util.concurrent.CompletableFuture.runAsync(p::deactivate);
        ChatResponse done = r.awaitCompletion();
        stopping.get(10, java.util.concurrent.TimeUnit.SECONDS);

        assertThat(done.text()).isEqualTo("finished while stopping");
        Recorder late = new Recorder();
        p.complete(ask("too late"), late);
        assertThat(late.awaitError().code()).isEqualTo(ErrorCode.UNAVAILABLE);
    }

    @Test
    void completeTakesAStreamFromAServerThatIgnoresStreamFalse() {
        server.enqueue(Behaviour.reply("a b c").streamRegardless());
        Recorder r = new Recorder();

        provider().complete(ask("hi"), r);

        ChatResponse done = r.awaitCompletion();
        assertThat(done.text()).isEqualTo("a b c");
        assertThat(r.tokens).containsExactly("a", " b", " c");
        assertThat(server.lastChatRequest().body().path("stream").asBoolean(true)).isFalse();
        assertThat(r.terminals).hasValue(1);
    }
}

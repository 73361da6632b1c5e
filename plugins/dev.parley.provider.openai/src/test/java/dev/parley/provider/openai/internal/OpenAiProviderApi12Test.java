package dev.parley.provider.openai.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.embedding.EmbeddingResponse;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ContentPart;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ModelCapability;
import dev.parley.api.llm.ResponseFormat;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolChoice;
import dev.parley.api.llm.ToolSpec;
import dev.parley.testsupport.Behaviour;
import dev.parley.testsupport.FakeOpenAiServer;
import java.lang.reflect.Proxy;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The provider against {@link FakeOpenAiServer} for what API 1.2 added: tool choice, parallel tool calls streamed in
 * fragments, image parts, response formats, cached prompt tokens, declared capabilities, embeddings, and the error
 * classes OpenAI's bodies name.
 */
class OpenAiProviderApi12Test {

    private static final String KEY = "sk-parley-test-key";
    private static final ToolSpec WEATHER = new ToolSpec("weather", "Weather of a city",
            "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},\"required\":[\"city\"]}");

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
        OpenAiProviderConfig config = (OpenAiProviderConfig) Proxy.newProxyInstance(
                OpenAiProviderConfig.class.getClassLoader(), new Class<?>[] {OpenAiProviderConfig.class},
                (proxy, method, args) -> {
                    Object v = values.get(method.getName());
                    return v != null ? v : method.getDefaultValue();
                });
        OpenAiChatModelProvider p = new OpenAiChatModelProvider(config, Map.of());
        providers.add(p);
        return p;
    }

    private static ChatRequest request(List<ChatMessage> messages, ChatOptions options, List<ToolSpec> tools) {
        return new ChatRequest("gpt-4o-mini", messages, options, tools);
    }

    @Test
    void parallelToolCallsStreamedInFragmentsComeBackWhole() {
        server.enqueue(Behaviour.toolCalls(new Behaviour.Call("call_1", "weather", "{\"city\":\"Oslo\"}"),
                new Behaviour.Call("call_2", "weather", "{\"city\":\"Bergen\"}")));
        var r = new OpenAiChatModelProviderTest.Recorder();

        provider(Map.of()).stream(request(List.of(ChatMessage.user("weather in Oslo and Bergen?")),
                new ChatOptions(null, null, null, null, ToolChoice.REQUIRED, null), List.of(WEATHER)), r);

        ChatResponse done = r.awaitCompletion();
        assertThat(done.toolCalls()).containsExactly(new ToolCall("call_1", "weather", "{\"city\":\"Oslo\"}"),
                new ToolCall("call_2", "weather", "{\"city\":\"Bergen\"}"));
        assertThat(done.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
        assertThat(r.tokens).isEmpty();
        JsonNode sent = server.lastChatRequest().body();
        assertThat(sent.path("tool_choice").asText()).isEqualTo("required");
        assertThat(sent.path("tools").get(0).path("function").path("name").asText()).isEqualTo("weather");
    }

    @Test
    void aNamedToolChoiceAndAToolResultRoundTripAreWrittenAsOpenAiExpects() {
        server.reply("It is sunny in Oslo.");
        var r = new OpenAiChatModelProviderTest.Recorder();
        List<ChatMessage> history = List.of(ChatMessage.user("weather in Oslo?"),
                ChatMessage.assistant("", List.of(new ToolCall("call_1", "weather", "{\"city\":\"Oslo\"}"))),
                ChatMessage.tool("call_1", "{\"sky\":\"sunny\"}"));

        provider(Map.of()).complete(request(history, new ChatOptions(null, null, null, null,
                ToolChoice.tool("weather"), null), List.of(WEATHER)), r);

        assertThat(r.awaitCompletion().text()).isEqualTo("It is sunny in Oslo.");
        JsonNode sent = server.lastChatRequest().body();
        assertThat(sent.path("tool_choice").path("type").asText()).isEqualTo("function");
        assertThat(sent.path("tool_choice").path("function").path("name").asText()).isEqualTo("weather");
        JsonNode assistant = sent.path("messages").get(1);
        assertThat(assistant.has("content")).isFalse();
        assertThat(assistant.path("tool_calls").get(0).path("id").asText()).isEqualTo("call_1");
        assertThat(sent.path("messages").get(2).path("tool_call_id").asText()).isEqualTo("call_1");
    }

    @Test
    void imagePartsAreWrittenAsImageUrlPartsInline() {
        server.reply("a red dot");
        var r = new OpenAiChatModelProviderTest.Recorder();
        ChatMessage user = ChatMessage.user(List.of(ContentPart.text("what is this?"),
                ContentPart.imageBase64("image/png", "iVBORw0KGgo="),
                ContentPart.imageUrl("https://example.com/cat.jpg", null)));

        provider(Map.of()).stream(request(List.of(user), ChatOptions.DEFAULTS, List.of()), r);

        assertThat(r.awaitCompletion().text()).isEqualTo("a red dot");
        JsonNode content = server.lastChatRequest().body().path("messages").get(0).path("content");
        assertThat(content).hasSize(3);
        assertThat(content.get(0).path("type").asText()).isEqualTo("text");
        assertThat(content.get(1).path("image_url").path("url").asText()).isEqualTo("data:image/png;base64,iVBORw0KGgo=");
        assertThat(content.get(2).path("image_url").path("url").asText()).isEqualTo("https://example.com/cat.jpg");
    }

    @Test
    void responseFormatsAreWrittenWithTheSchemaAsAnObject() {
        server.reply("{\"answer\":42}");
        server.reply("{}");
        var schema = new OpenAiChatModelProviderTest.Recorder();
        var object = new OpenAiChatModelProviderTest.Recorder();
        OpenAiChatModelProvider p = provider(Map.of());

        p.complete(request(List.of(ChatMessage.user("answer?")), new ChatOptions(null, null, null, null, null,
                ResponseFormat.jsonSchema("answer", "{\"type\":\"object\",\"properties\":{\"answer\":{\"type\":\"integer\"}}}",
                        true)), List.of()), schema);
        assertThat(schema.awaitCompletion().text()).isEqualTo("{\"answer\":42}");
        JsonNode format = server.lastChatRequest().body().path("response_format");
        p.stream(request(List.of(ChatMessage.user("json please")), new ChatOptions(null, null, null, null, null,
                ResponseFormat.JSON_OBJECT), List.of()), object);
        object.awaitCompletion();

        assertThat(format.path("type").asText()).isEqualTo("json_schema");
        assertThat(format.path("json_schema").path("name").asText()).isEqualTo("answer");
        assertThat(format.path("json_schema").path("strict").asBoolean()).isTrue();
        assertThat(format.path("json_schema").path("schema").path("properties").path("answer").path("type").asText())
                .isEqualTo("integer");
        assertThat(server.lastChatRequest().body().path("response_format").path("type").asText()).isEqualTo("json_object");
    }

    @Test
    void aSchemaThatIsNotAnObjectFailsBeforeAnythingIsSent() {
        var r = new OpenAiChatModelProviderTest.Recorder();

        provider(Map.of()).stream(request(List.of(ChatMessage.user("x")), new ChatOptions(null, null, null, null, null,
                ResponseFormat.jsonSchema("x", "[1,2]", false)), List.of()), r);

        ParleyException e = r.awaitError();
        assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(e.param()).hasValue("response_format.json_schema.schema");
        assertThat(server.chatRequests()).isEmpty();
    }

    @Test
    void cachedPromptTokensAreReadFromStreamsAndWholeAnswers() {
        server.enqueue(Behaviour.reply("one two").cachedTokens(3));
        server.enqueue(Behaviour.reply("three").cachedTokens(2));
        var streamed = new OpenAiChatModelProviderTest.Recorder();
        var whole = new OpenAiChatModelProviderTest.Recorder();
        OpenAiChatModelProvider p = provider(Map.of());

        p.stream(request(List.of(ChatMessage.user("a b c d e")), ChatOptions.DEFAULTS, List.of()), streamed);
        assertThat(streamed.awaitCompletion().usage().cachedPromptTokens()).isEqualTo(3);
        p.complete(request(List.of(ChatMessage.user("a b c d")), ChatOptions.DEFAULTS, List.of()), whole);

        assertThat(whole.awaitCompletion().usage().cachedPromptTokens()).isEqualTo(2);
        assertThat(whole.completions.get(0).usage().promptTokens()).isEqualTo(4);
    }

    @Test
    void declaredCapabilitiesReachTheModelDescriptors() {
        OpenAiChatModelProvider p = provider(Map.of("models", new String[] {"gpt-4o-mini", "text-only"},
                "modelCapabilities", new String[] {"gpt-4o-mini=tools,vision,json"}));

        assertThat(p.models()).filteredOn(m -> m.id().equals("gpt-4o-mini")).singleElement()
                .satisfies(m -> assertThat(m.capabilities()).containsExactlyInAnyOrder(ModelCapability.TOOLS,
                        ModelCapability.VISION, ModelCapability.JSON_OUTPUT));
        assertThat(p.models()).filteredOn(m -> m.id().equals("text-only")).singleElement()
                .satisfies(m -> assertThat(m.capabilities()).isEmpty());
        assertThatThrownBy(() -> provider(Map.of("modelCapabilities", new String[] {"gpt-4o-mini=telepathy"})))
                .hasMessageContaining("telepathy");
    }

    @Test
    void upstreamErrorCodesMapToTheirOwnClasses() {
        server.enqueue(Behaviour.fail(400).message("This model's maximum context length is 128000 tokens."));
        server.enqueue(Behaviour.fail(403));
        server.enqueue(Behaviour.fail(503));
        OpenAiChatModelProvider p = provider(Map.of());
        var tooLong = new OpenAiChatModelProviderTest.Recorder();
        var forbidden = new OpenAiChatModelProviderTest.Recorder();
        var overloaded = new OpenAiChatModelProviderTest.Recorder();

        p.stream(request(List.of(ChatMessage.user("x")), ChatOptions.DEFAULTS, List.of()), tooLong);
        tooLong.awaitError();
        p.stream(request(List.of(ChatMessage.user("x")), ChatOptions.DEFAULTS, List.of()), forbidden);
        forbidden.awaitError();
        p.stream(request(List.of(ChatMessage.user("x")), ChatOptions.DEFAULTS, List.of()), overloaded);

        // The fake's 400 carries no code, so it stays an invalid request; 403 and an overloaded 503 have classes.
        assertThat(tooLong.errors.get(0).code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(forbidden.errors.get(0).code()).isEqualTo(ErrorCode.PROVIDER_PERMISSION);
        assertThat(overloaded.awaitError().code()).isEqualTo(ErrorCode.OVERLOADED);
    }

    @Test
    void anUpstreamCodeNamesContextTooLongAndContentFilter() {
        assertThat(UpstreamErrors.map(new UpstreamHttpException(400, "{\"error\":{\"message\":\"too long\","
                + "\"type\":\"invalid_request_error\",\"param\":\"messages\",\"code\":\"context_length_exceeded\"}}",
                null), "m").code()).isEqualTo(ErrorCode.CONTEXT_TOO_LONG);
        assertThat(UpstreamErrors.map(new UpstreamHttpException(400, "{\"error\":{\"message\":\"flagged\","
                + "\"code\":\"content_policy_violation\"}}", null), "m").code()).isEqualTo(ErrorCode.CONTENT_FILTERED);
        assertThat(UpstreamErrors.map(new UpstreamHttpException(400, "{\"error\":{\"message\":\"bad\","
                + "\"code\":\"invalid_value\"}}", null), "m").code()).isEqualTo(ErrorCode.INVALID_REQUEST);
    }

    // ---- embeddings ------------------------------------------------------------------------------------------------

    @Test
    void embeddingsComeBackInInputOrderWithUsage() throws Exception {
        server.embeddingModel("tiny-embed", 8);
        OpenAiChatModelProvider p = provider(Map.of("embeddingModels", new String[] {"tiny-embed=8,batch=16,reducible"}));

        assertThat(p.embeddingModels()).singleElement().satisfies(m -> {
            assertThat(m.id()).isEqualTo("tiny-embed");
            assertThat(m.dimensions()).isEqualTo(8);
            assertThat(m.maxBatchSize()).isEqualTo(16);
            assertThat(m.reducible()).isTrue();
            assertThat(m.providerId()).isEqualTo("openai");
        });
        EmbeddingResponse r = p.embed(new EmbeddingRequest("tiny-embed", List.of("first text", "second"), null))
                .toCompletableFuture().get(10, TimeUnit.SECONDS);

        assertThat(r.embeddings()).hasSize(2);
        assertThat(r.embeddings().get(0).vector()).containsExactly(FakeOpenAiServer.embeddingOf("first text", 8));
        assertThat(r.embeddings().get(1).vector()).containsExactly(FakeOpenAiServer.embeddingOf("second", 8));
        assertThat(r.promptTokens()).isEqualTo(3);
        JsonNode sent = server.embeddingRequests().get(0).body();
        assertThat(sent.path("encoding_format").asText()).isEqualTo("float");
        assertThat(sent.path("input")).hasSize(2);
        assertThat(sent.has("dimensions")).isFalse();
        assertThat(server.embeddingRequests().get(0).header("authorization")).isEqualTo("Bearer " + KEY);

        EmbeddingResponse shorter = p.embed(new EmbeddingRequest("tiny-embed", List.of("x"), 4))
                .toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(shorter.embeddings().get(0).vector()).hasSize(4);
    }

    @Test
    void embeddingFailuresAreMappedParleyExceptions() {
        server.embeddingModel("tiny-embed", 8);
        OpenAiChatModelProvider p = provider(Map.of("embeddingModels", new String[] {"tiny-embed=8,batch=2",
                "gone-upstream=8"}));
        server.enqueueEmbeddings(Behaviour.rateLimit(9));

        ParleyException limited = failure(p, new EmbeddingRequest("tiny-embed", List.of("a"), null));
        ParleyException missing = failure(p, new EmbeddingRequest("gone-upstream", List.of("a"), null));
        ParleyException unknown = failure(p, new EmbeddingRequest("never-configured", List.of("a"), null));
        ParleyException tooMany = failure(p, new EmbeddingRequest("tiny-embed", List.of("a", "b", "c"), null));
        ParleyException notReducible = failure(p, new EmbeddingRequest("tiny-embed", List.of("a"), 4));

        assertThat(limited.code()).isEqualTo(ErrorCode.RATE_LIMITED);
        assertThat(limited.retryAfter()).hasValue(Duration.ofSeconds(9));
        assertThat(missing.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(unknown.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(tooMany.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(notReducible.param()).hasValue("dimensions");
        // Refused locally: only the rate-limited and the unknown-upstream calls went out.
        assertThat(server.embeddingRequests()).hasSize(2);
    }

    @Test
    void embeddingAnswersThatBreakTheProtocolAreUpstreamProtocolErrors() {
        com.fasterxml.jackson.core.JsonFactory json = new com.fasterxml.jackson.core.JsonFactory();
        assertThatThrownBy(() -> OpenAiEmbeddings.parse(json, "{\"data\":[{\"index\":0,\"embedding\":[1,2]}]}"
                .getBytes(), 2, "m")).isInstanceOf(UpstreamProtocolException.class).hasMessageContaining("input 1");
        assertThatThrownBy(() -> OpenAiEmbeddings.parse(json, ("{\"data\":[{\"index\":0,\"embedding\":[1]},"
                + "{\"index\":0,\"embedding\":[2]}]}").getBytes(), 2, "m")).isInstanceOf(UpstreamProtocolException.class)
                .hasMessageContaining("two embeddings");
        assertThatThrownBy(() -> OpenAiEmbeddings.parse(json, "{\"data\":[{\"index\":0,\"embedding\":\"AAAA\"}]}"
                .getBytes(), 1, "m")).isInstanceOf(UpstreamProtocolException.class);
        var reordered = OpenAiEmbeddings.parse(json, ("{\"data\":[{\"index\":1,\"embedding\":[2.5]},"
                + "{\"index\":0,\"embedding\":[1.5]}],\"model\":\"m-2\"}").getBytes(), 2, "m");
        assertThat(reordered.embeddings().get(0).vector()).containsExactly(1.5f);
        assertThat(reordered.model()).isEqualTo("m-2");
    }

    private static ParleyException failure(OpenAiChatModelProvider p, EmbeddingRequest request) {
        try {
            p.embed(request).toCompletableFuture().join();
        } catch (CompletionException e) {
            assertThat(e.getCause()).isInstanceOf(ParleyException.class);
            return (ParleyException) e.getCause();
        }
        throw new AssertionError("expected " + request + " to fail");
    }
}

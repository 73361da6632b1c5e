package dev.parley.provider.azure.internal;

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
import dev.parley.api.llm.ResponseFormat;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.llm.ToolChoice;
import dev.parley.api.llm.ToolSpec;
import dev.parley.testsupport.azure.AzureBehaviour;
import dev.parley.testsupport.azure.AzureRequest;
import dev.parley.testsupport.azure.FakeAzureOpenAiServer;
import dev.parley.testsupport.azure.FakeEntraTokenServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The provider, with the real embedded OpenAI Java SDK, against a local server speaking Azure OpenAI's protocol. */
class AzureOpenAiProviderTest {

    static final String KEY = "azure-key-0123456789abcdef";
    static final String WEATHER_SCHEMA = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
            + "\"required\":[\"city\"]}";

    FakeAzureOpenAiServer azure;
    final List<AzureOpenAiProvider> providers = new ArrayList<>();

    @BeforeEach
    void startServer() {
        azure = FakeAzureOpenAiServer.start(KEY).deployment("prod-gpt4o", "gpt-4o-2024-08-06")
                .embeddingDeployment("emb-small", "text-embedding-3-small", 8);
    }

    @AfterEach
    void stop() {
        providers.forEach(AzureOpenAiProvider::deactivate);
        azure.close();
    }

    AzureOpenAiProvider provider(Map<String, Object> overrides) {
        Map<String, Object> props = new HashMap<>();
        props.put("endpoint", azure.endpoint());
        props.put("deployments", new String[] {"gpt-4o=prod-gpt4o", "missing=no-such-deployment"});
        props.put("embeddingDeployments", new String[] {"text-embedding-3-small=emb-small:8"});
        props.put("drainTimeoutSeconds", 0);
        props.put(".apiKey", KEY);
        props.putAll(overrides);
        var p = new AzureOpenAiProvider(TestConfig.of(props), props);
        providers.add(p);
        return p;
    }

    AzureOpenAiProvider provider() {
        return provider(Map.of());
    }

    static ChatRequest ask(String text) {
        return new ChatRequest("gpt-4o", List.of(ChatMessage.system("Be brief."), ChatMessage.user(text)), null, null);
    }

    static RecordingHandler run(Supplier<StreamHandle> call, RecordingHandler h) throws InterruptedException {
        call.get();
        return h.await();
    }

    // ---- chat ----------------------------------------------------------------------------------------------------

    @Test
    void streamsTokensInOrderOverTheDeploymentRouteWithUsageAndCachedTokens() throws Exception {
        azure.enqueue(AzureBehaviour.reply("Paris is the capital of France.").cachedTokens(2));
        var p = provider();
        var h = new RecordingHandler();
        run(() -> p.stream(ask("What is the capital of France?"), h), h);

        assertThat(h.error).isNull();
        assertThat(h.tokens).containsExactly("Paris", " is", " the", " capital", " of", " France.");
        assertThat(h.response.text()).isEqualTo("Paris is the capital of France.");
        assertThat(h.response.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(h.response.model()).isEqualTo("gpt-4o-2024-08-06");
        assertThat(h.response.usage().promptTokens()).isEqualTo(8); // "Be brief." + 6 words
        assertThat(h.response.usage().completionTokens()).isEqualTo(6);
        assertThat(h.response.usage().cachedPromptTokens()).isEqualTo(2);
        assertThat(h.terminals).hasValue(1);

        AzureRequest r = azure.lastRequest();
        assertThat(r.path()).isEqualTo("/openai/deployments/prod-gpt4o/chat/completions");
        assertThat(r.query()).containsEntry("api-version", "2024-10-21");
        assertThat(r.header("api-key")).isEqualTo(KEY);
        assertThat(r.header("authorization")).isNull();
        assertThat(r.body().path("stream").asBoolean()).isTrue();
        assertThat(r.body().path("stream_options").path("include_usage").asBoolean()).isTrue();
        assertThat(r.body().path("messages").get(0).path("role").asText()).isEqualTo("system");
        assertThat(r.body().path("messages").get(0).path("content").asText()).isEqualTo("Be brief.");
        assertThat(r.body().path("messages").get(1).path("role").asText()).isEqualTo("user");
        assertThat(r.body().has("temperature")).isFalse();
    }

    @Test
    void completeIsOneNonStreamedCallWithTheWholeAnswer() throws Exception {
        azure.enqueue(AzureBehaviour.reply("All in one piece.").cachedTokens(1));
        var p = provider();
        var h = new RecordingHandler();
        run(() -> p.complete(ask("Answer whole"), h), h);

        assertThat(h.error).isNull();
        assertThat(h.tokens).isEmpty();
        assertThat(h.response.text()).isEqualTo("All in one piece.");
        assertThat(h.response.usage().cachedPromptTokens()).isEqualTo(1);
        assertThat(h.response.usage().completionTokens()).isEqualTo(4);
        assertThat(azure.requests()).hasSize(1);
        assertThat(azure.lastRequest().body().path("stream").asBoolean(false)).isFalse();
        assertThat(azure.lastRequest().body().has("stream_options")).isFalse();
    }

    @Test
    void samplingOptionsAndStopSequencesReachTheWire() throws Exception {
        var p = provider();
        var options = new ChatOptions(0.2, 0.9, 123, List.of("END", "STOP"));
        var h = new RecordingHandler();
        run(() -> p.stream(new ChatRequest("gpt-4o", List.of(ChatMessage.user("hi")), options, null), h), h);
        JsonNode body = azure.lastRequest().body();
        assertThat(body.path("temperature").asDouble()).isEqualTo(0.2);
        assertThat(body.path("top_p").asDouble()).isEqualTo(0.9);
        assertThat(body.path("max_tokens").asInt()).isEqualTo(123);
        assertThat(body.has("max_completion_tokens")).isFalse();
        assertThat(body.path("stop").toString()).isEqualTo("[\"END\",\"STOP\"]");

        var o1 = provider(Map.of("maxCompletionTokens", true));
        var h2 = new RecordingHandler();
        run(() -> o1.stream(new ChatRequest("gpt-4o", List.of(ChatMessage.user("hi")), options, null), h2), h2);
        assertThat(azure.lastRequest().body().path("max_completion_tokens").asInt()).isEqualTo(123);
        assertThat(azure.lastRequest().body().has("max_tokens")).isFalse();
    }

    @Test
    void parallelToolCallsComeOutAndTheirResultsGoBack() throws Exception {
        azure.enqueue(AzureBehaviour.toolCalls(new AzureBehaviour.Call("call_1", "weather", "{\"city\":\"Paris\"}"),
                new AzureBehaviour.Call("call_2", "weather", "{\"city\":\"Oslo\"}")));
        var p = provider();
        var tools = List.of(new ToolSpec("weather", "Current weather", WEATHER_SCHEMA));
        var h = new RecordingHandler();
        var first = new ChatRequest("gpt-4o", List.of(ChatMessage.user("Weather in Paris and Oslo?")),
                new ChatOptions(null, null, null, null, ToolChoice.REQUIRED, null), tools);
        run(() -> p.stream(first, h), h);

        assertThat(h.error).isNull();
        assertThat(h.response.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
        assertThat(h.response.toolCalls()).containsExactly(new ToolCall("call_1", "weather", "{\"city\":\"Paris\"}"),
                new ToolCall("call_2", "weather", "{\"city\":\"Oslo\"}"));
        JsonNode sent = azure.lastRequest().body();
        assertThat(sent.path("tools").get(0).path("type").asText()).isEqualTo("function");
        assertThat(sent.path("tools").get(0).path("function").path("name").asText()).isEqualTo("weather");
        assertThat(sent.path("tools").get(0).path("function").path("description").asText()).isEqualTo("Current weather");
        assertThat(sent.path("tools").get(0).path("function").path("parameters").path("required").get(0).asText())
                .isEqualTo("city");
        assertThat(sent.path("tool_choice").asText()).isEqualTo("required");

        azure.enqueue(AzureBehaviour.reply("Sunny in Paris, snow in Oslo."));
        var second = new ChatRequest("gpt-4o", List.of(ChatMessage.user("Weather in Paris and Oslo?"),
                ChatMessage.assistant("", h.response.toolCalls()), ChatMessage.tool("call_1", "sunny"),
                ChatMessage.tool("call_2", "snow")), new ChatOptions(null, null, null, null,
                        ToolChoice.tool("weather"), null), tools);
        var h2 = new RecordingHandler();
        run(() -> p.complete(second, h2), h2);
        assertThat(h2.response.text()).isEqualTo("Sunny in Paris, snow in Oslo.");
        JsonNode messages = azure.lastRequest().body().path("messages");
        assertThat(messages.get(1).path("role").asText()).isEqualTo("assistant");
        assertThat(messages.get(1).path("tool_calls").get(1).path("id").asText()).isEqualTo("call_2");
        assertThat(messages.get(1).path("tool_calls").get(1).path("function").path("arguments").asText())
                .isEqualTo("{\"city\":\"Oslo\"}");
        assertThat(messages.get(2).path("role").asText()).isEqualTo("tool");
        assertThat(messages.get(2).path("tool_call_id").asText()).isEqualTo("call_1");
        assertThat(messages.get(3).path("content").asText()).isEqualTo("snow");
        assertThat(azure.lastRequest().body().path("tool_choice").path("function").path("name").asText())
                .isEqualTo("weather");
    }

    @Test
    void aStreamedToolCallsArgumentsComeInThePiecesAzureSplitsThemInto() throws Exception {
        // Pieces of five characters, cut inside the key, the string and the number.
        azure.enqueue(AzureBehaviour.toolCalls(new AzureBehaviour.Call("call_1", "weather",
                "{\"city\":\"Paris\",\"days\":12}")).argumentsInPiecesOf(5));
        var p = provider();
        var h = new RecordingHandler();
        run(() -> p.stream(ask("Weather in Paris?"), h), h);

        assertThat(h.error).isNull();
        assertThat(h.toolCallDeltas).containsExactly(
                new ToolCallDelta(0, "call_1", "weather", ""),
                new ToolCallDelta(0, null, null, "{\"cit"),
                new ToolCallDelta(0, null, null, "y\":\"P"),
                new ToolCallDelta(0, null, null, "aris\""),
                new ToolCallDelta(0, null, null, ",\"day"),
                new ToolCallDelta(0, null, null, "s\":12"),
                new ToolCallDelta(0, null, null, "}"));
        assertThat(h.response.toolCalls()).containsExactly(new ToolCall("call_1", "weather", h.joinedArguments(0)));
        assertThat(h.joinedArguments(0)).isEqualTo("{\"city\":\"Paris\",\"days\":12}");
        assertThat(h.afterEnd).hasValue(0);
    }

    @Test
    void parallelStreamedToolCallsComeUnderTheirOwnIndexes() throws Exception {
        azure.enqueue(AzureBehaviour.toolCalls(new AzureBehaviour.Call("call_1", "weather", "{\"city\":\"Paris\"}"),
                new AzureBehaviour.Call("call_2", "time", "{}")));
        var p = provider();
        var h = new RecordingHandler();
        run(() -> p.stream(ask("Weather in Paris, and the time?"), h), h);

        assertThat(h.error).isNull();
        assertThat(h.toolCallDeltas).containsExactly(
                new ToolCallDelta(0, "call_1", "weather", ""),
                new ToolCallDelta(0, null, null, "{\"city\":"),
                new ToolCallDelta(0, null, null, "\"Paris\"}"),
                new ToolCallDelta(1, "call_2", "time", ""),
                new ToolCallDelta(1, null, null, "{"),
                new ToolCallDelta(1, null, null, "}"));
        assertThat(h.response.toolCalls()).containsExactly(new ToolCall("call_1", "weather", h.joinedArguments(0)),
                new ToolCall("call_2", "time", h.joinedArguments(1)));
        assertThat(h.afterEnd).hasValue(0);
    }

    @Test
    void textThenAStreamedToolCallArriveInTheirOrder() throws Exception {
        azure.enqueue(AzureBehaviour.toolCalls(new AzureBehaviour.Call("call_1", "weather", "{\"city\":\"Paris\"}"))
                .textBeforeCalls("Let me check."));
        var p = provider();
        var h = new RecordingHandler();
        run(() -> p.stream(ask("Weather in Paris?"), h), h);

        assertThat(h.error).isNull();
        assertThat(h.kinds).containsExactly("text", "text", "text", "call", "call", "call");
        assertThat(h.toolCallDeltas.get(0)).isEqualTo(new ToolCallDelta(0, "call_1", "weather", ""));
        assertThat(h.response.text()).isEqualTo("Let me check.");
        assertThat(h.response.toolCalls()).containsExactly(new ToolCall("call_1", "weather", h.joinedArguments(0)));
        assertThat(h.joinedArguments(0)).isEqualTo("{\"city\":\"Paris\"}");
        assertThat(h.afterEnd).hasValue(0);
    }

    @Test
    void toolCallsOfANonStreamedAnswer() throws Exception {
        azure.enqueue(AzureBehaviour.toolCalls(new AzureBehaviour.Call("c1", "weather", "{\"city\":\"Rome\"}"),
                new AzureBehaviour.Call("c2", "time", "{}")));
        var p = provider();
        var h = new RecordingHandler();
        run(() -> p.complete(new ChatRequest("gpt-4o", List.of(ChatMessage.user("?")), null,
                List.of(new ToolSpec("weather", null, WEATHER_SCHEMA), new ToolSpec("time", null, null))), h), h);
        assertThat(h.response.toolCalls()).extracting(ToolCall::id).containsExactly("c1", "c2");
        assertThat(h.response.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
    }

    @Test
    void imagesGoAsBase64DataUrlsAndUrls() throws Exception {
        var p = provider();
        var h = new RecordingHandler();
        var msg = ChatMessage.user(List.of(ContentPart.text("What is in these?"),
                ContentPart.imageBase64("image/png", "iVBORw0KGgo="),
                ContentPart.imageUrl("https://example.com/cat.jpg", null)));
        run(() -> p.stream(new ChatRequest("gpt-4o", List.of(msg), null, null), h), h);
        assertThat(h.error).isNull();
        JsonNode content = azure.lastRequest().body().path("messages").get(0).path("content");
        assertThat(content.get(0).path("type").asText()).isEqualTo("text");
        assertThat(content.get(1).path("type").asText()).isEqualTo("image_url");
        assertThat(content.get(1).path("image_url").path("url").asText()).isEqualTo("data:image/png;base64,iVBORw0KGgo=");
        assertThat(content.get(2).path("image_url").path("url").asText()).isEqualTo("https://example.com/cat.jpg");
    }

    @Test
    void imagesAzureCannotTakeAreRefusedBeforeAnythingIsSent() throws Exception {
        var p = provider();
        for (var bad : List.of(
                ChatMessage.user(List.of(ContentPart.imageBase64("image/tiff", "AAAA"))),
                ChatMessage.user(List.of(ContentPart.imageUrl("ftp://example.com/a.png", null))),
                new ChatMessage(dev.parley.api.chat.Role.SYSTEM, null,
                        List.of(ContentPart.imageUrl("https://example.com/a.png", null)), null, null))) {
            var h = new RecordingHandler();
            run(() -> p.stream(new ChatRequest("gpt-4o", List.of(bad), null, null), h), h);
            assertThat(h.error.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        }
        assertThat(azure.requests()).isEmpty();
    }

    @Test
    void structuredOutputAndJsonModeReachTheWire() throws Exception {
        var p = provider();
        var h = new RecordingHandler();
        var schema = ResponseFormat.jsonSchema("weather", WEATHER_SCHEMA, true);
        run(() -> p.stream(new ChatRequest("gpt-4o", List.of(ChatMessage.user("json")),
                new ChatOptions(null, null, null, null, null, schema), null), h), h);
        JsonNode rf = azure.lastRequest().body().path("response_format");
        assertThat(rf.path("type").asText()).isEqualTo("json_schema");
        assertThat(rf.path("json_schema").path("name").asText()).isEqualTo("weather");
        assertThat(rf.path("json_schema").path("strict").asBoolean()).isTrue();
        assertThat(rf.path("json_schema").path("schema").path("properties").has("city")).isTrue();

        var h2 = new RecordingHandler();
        run(() -> p.complete(new ChatRequest("gpt-4o", List.of(ChatMessage.user("json")),
                new ChatOptions(null, null, null, null, null, ResponseFormat.JSON_OBJECT), null), h2), h2);
        assertThat(azure.lastRequest().body().path("response_format").path("type").asText()).isEqualTo("json_object");

        var h3 = new RecordingHandler();
        run(() -> p.stream(new ChatRequest("gpt-4o", List.of(ChatMessage.user("json")), null,
                List.of(new ToolSpec("broken", null, "{not json"))), h3), h3);
        assertThat(h3.error.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
    }

    @Test
    void theV1RoutesCarryTheDeploymentInTheBodyAndNoApiVersion() throws Exception {
        var p = provider(Map.of("pathStyle", "v1"));
        var h = new RecordingHandler();
        run(() -> p.stream(ask("hello v1"), h), h);
        assertThat(h.error).isNull();
        assertThat(h.response.text()).isEqualTo("echo: hello v1");
        AzureRequest r = azure.lastRequest();
        assertThat(r.path()).isEqualTo("/openai/v1/chat/completions");
        assertThat(r.query()).doesNotContainKey("api-version");
        assertThat(r.body().path("model").asText()).isEqualTo("prod-gpt4o");
        assertThat(r.header("api-key")).isEqualTo(KEY);
    }

    @Test
    void theApiVersionIsConfigurable() throws Exception {
        var p = provider(Map.of("apiVersion", "2025-04-01-preview"));
        var h = new RecordingHandler();
        run(() -> p.stream(ask("v"), h), h);
        assertThat(h.error).isNull();
        assertThat(azure.lastRequest().query()).containsEntry("api-version", "2025-04-01-preview");
        var bad = provider(Map.of("apiVersion", "1999-01-01"));
        var h2 = new RecordingHandler();
        run(() -> bad.stream(ask("v"), h2), h2);
        assertThat(h2.error.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
    }

    // ---- errors --------------------------------------------------------------------------------------------------

    ParleyException streamError(AzureBehaviour b) throws Exception {
        azure.enqueue(b);
        var h = new RecordingHandler();
        run(() -> provider().stream(ask("fail please"), h), h);
        assertThat(h.terminals).hasValue(1);
        assertThat(h.error).as("an error, not an answer").isNotNull();
        return h.error;
    }

    @Test
    void everyErrorClassMapsToItsCode() throws Exception {
        assertThat(streamError(AzureBehaviour.unauthorized()).code()).isEqualTo(ErrorCode.PROVIDER_AUTH);
        assertThat(streamError(AzureBehaviour.permissionDenied()).code()).isEqualTo(ErrorCode.PROVIDER_PERMISSION);
        ParleyException limited = streamError(AzureBehaviour.rateLimited(7, 6500));
        assertThat(limited.code()).isEqualTo(ErrorCode.RATE_LIMITED);
        assertThat(limited.retryAfter()).contains(Duration.ofMillis(6500));
        ParleyException secondsOnly = streamError(AzureBehaviour.rateLimited(7, -1));
        assertThat(secondsOnly.retryAfter()).contains(Duration.ofSeconds(7));
        assertThat(streamError(AzureBehaviour.serviceUnavailable()).code()).isEqualTo(ErrorCode.OVERLOADED);
        assertThat(streamError(AzureBehaviour.contextLengthExceeded()).code()).isEqualTo(ErrorCode.CONTEXT_TOO_LONG);
        ParleyException filtered = streamError(AzureBehaviour.promptFiltered());
        assertThat(filtered.code()).isEqualTo(ErrorCode.CONTENT_FILTERED);
        assertThat(filtered.getMessage()).contains("hate (high)");
        assertThat(streamError(AzureBehaviour.fail(400, "BadRequest", "Invalid value for 'temperature'")).code())
                .isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(streamError(AzureBehaviour.fail(404, "DeploymentNotFound", "no such deployment")).code())
                .isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        // The SDK's UnexpectedStatusCodeException and UnprocessableEntityException.
        assertThat(streamError(AzureBehaviour.fail(408, "Timeout", "the request timed out")).code())
                .isEqualTo(ErrorCode.UPSTREAM_TIMEOUT);
        assertThat(streamError(AzureBehaviour.fail(422, "Unprocessable", "cannot process")).code())
                .isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(streamError(AzureBehaviour.serverError()).code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(streamError(AzureBehaviour.reply("one two three four").cutStreamAfter(2)).code())
                .isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(streamError(AzureBehaviour.reply("one two three four").malformedChunkAfter(2)).code())
                .isEqualTo(ErrorCode.UPSTREAM_PROTOCOL);
        assertThat(streamError(AzureBehaviour.reply("one two three four").errorEventAfter(2, "server_error")).code())
                .isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(streamError(AzureBehaviour.reply("one two three").errorEventAfter(1, "content_filter")).code())
                .isEqualTo(ErrorCode.CONTENT_FILTERED);
        ParleyException filteredAtEnd = streamError(AzureBehaviour.reply("some text").filteredAtEnd());
        assertThat(filteredAtEnd.code()).isEqualTo(ErrorCode.CONTENT_FILTERED);
        assertThat(filteredAtEnd.getMessage()).contains("violence (medium)");
    }

    @Test
    void nonStreamedErrorsMapTheSameWay() throws Exception {
        for (var c : List.of(Map.entry(AzureBehaviour.unauthorized(), ErrorCode.PROVIDER_AUTH),
                Map.entry(AzureBehaviour.rateLimited(3, 2500), ErrorCode.RATE_LIMITED),
                Map.entry(AzureBehaviour.promptFiltered(), ErrorCode.CONTENT_FILTERED),
                Map.entry(AzureBehaviour.reply("x y").malformedChunkAfter(0), ErrorCode.UPSTREAM_PROTOCOL),
                Map.entry(AzureBehaviour.reply("x y").filteredAtEnd(), ErrorCode.CONTENT_FILTERED))) {
            azure.enqueue(c.getKey());
            var h = new RecordingHandler();
            run(() -> provider().complete(ask("x"), h), h);
            assertThat(h.error).as(c.getValue().name()).isNotNull();
            assertThat(h.error.code()).isEqualTo(c.getValue());
        }
    }

    @Test
    void aWrongKeyIsProviderAuthAndTheMessageNeverShowsAKey() throws Exception {
        var p = provider(Map.of(".apiKey", "wrong-key-ffff"));
        var h = new RecordingHandler();
        run(() -> p.stream(ask("hi"), h), h);
        assertThat(h.error.code()).isEqualTo(ErrorCode.PROVIDER_AUTH);
        assertThat(h.error.getMessage()).doesNotContain("wrong-key-ffff").doesNotContain(KEY);
        assertThat(azure.lastRequest().header("api-key")).isEqualTo("wrong-key-ffff");
    }

    @Test
    void unknownModelsAndMissingDeploymentsAreModelNotFound() throws Exception {
        var p = provider();
        var h = new RecordingHandler();
        run(() -> p.stream(new ChatRequest("gpt-5", List.of(ChatMessage.user("x")), null, null), h), h);
        assertThat(h.error.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(azure.requests()).isEmpty();
        var h2 = new RecordingHandler();
        run(() -> p.stream(new ChatRequest("missing", List.of(ChatMessage.user("x")), null, null), h2), h2);
        assertThat(h2.error.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(h2.error.getMessage()).contains("DeploymentNotFound");
    }

    @Test
    void anAnswerSlowerThanTheTimeoutIsUpstreamTimeoutAndTheCallIsDropped() throws Exception {
        azure.enqueue(AzureBehaviour.reply("too slow").firstTokenDelay(Duration.ofSeconds(12)));
        var p = provider(Map.of("answerTimeoutSeconds", 1));
        var h = new RecordingHandler();
        long start = System.nanoTime();
        run(() -> p.stream(ask("slow"), h), h);
        assertThat(h.error.code()).isEqualTo(ErrorCode.UPSTREAM_TIMEOUT);
        // Well before the server's 12 s: the provider's own deadline ended it.
        assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(9));
        await().atMost(Duration.ofSeconds(30)).until(() -> azure.abortedByClient() >= 1);
    }

    @Test
    void aServerThatIsNotThereIsUpstreamFailure() throws Exception {
        String endpoint = azure.endpoint();
        azure.close();
        var p = provider(Map.of("endpoint", endpoint));
        var h = new RecordingHandler();
        run(() -> p.stream(ask("anyone?"), h), h);
        assertThat(h.error.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
    }

    @Test
    void cancelStopsTheUpstreamCallAndEndsWithCancelledOnce() throws Exception {
        azure.enqueue(AzureBehaviour.reply("a b c d e f g h i j k l m n o p").tokenDelay(Duration.ofMillis(200)));
        var p = provider();
        var h = new RecordingHandler();
        StreamHandle handle = p.stream(ask("long"), h);
        assertThat(h.firstToken.await(60, TimeUnit.SECONDS)).isTrue();
        handle.cancel();
        handle.cancel();
        h.await();
        assertThat(h.error.code()).isEqualTo(ErrorCode.CANCELLED);
        assertThat(h.terminals).hasValue(1);
        await().atMost(Duration.ofSeconds(30)).until(() -> azure.abortedByClient() >= 1);
        assertThat(h.tokens.size()).isLessThan(16);
    }

    @Test
    void cancellingAfterTheEndChangesNothing() throws Exception {
        var p = provider();
        var h = new RecordingHandler();
        StreamHandle handle = p.stream(ask("done"), h);
        h.await();
        handle.cancel();
        assertThat(h.error).isNull();
        assertThat(h.terminals).hasValue(1);
    }

    // ---- credentials, instances ----------------------------------------------------------------------------------

    @Test
    void entraClientCredentialsFetchATokenOnceAndSendItAsBearer() throws Exception {
        try (var entra = FakeEntraTokenServer.start("tenant-1", "client-1", "secret-1",
                "https://cognitiveservices.azure.com/.default")) {
            azure.acceptBearer(entra::isValid);
            var p = provider(Map.of("auth", "entra-client-credentials", "tenantId", "tenant-1", "clientId", "client-1",
                    ".clientSecret", "secret-1", "authorityHost", entra.authorityHost(), ".apiKey", ""));
            for (int i = 0; i < 2; i++) {
                var h = new RecordingHandler();
                run(() -> p.stream(ask("with a token"), h), h);
                assertThat(h.error).isNull();
            }
            assertThat(entra.issuedCount()).isEqualTo(1);
            AzureRequest r = azure.lastRequest();
            assertThat(r.header("authorization")).startsWith("Bearer ");
            assertThat(entra.isValid(r.header("authorization").substring(7))).isTrue();
            assertThat(r.header("api-key")).isNull();
            AzureRequest tokenRequest = entra.requests().get(0);
            assertThat(tokenRequest.path()).isEqualTo("/tenant-1/oauth2/v2.0/token");
            assertThat(tokenRequest.query()).containsEntry("grant_type", "client_credentials")
                    .containsEntry("client_id", "client-1").containsEntry("client_secret", "secret-1")
                    .containsEntry("scope", "https://cognitiveservices.azure.com/.default");

            var wrong = provider(Map.of("auth", "entra-client-credentials", "tenantId", "tenant-1", "clientId",
                    "client-1", ".clientSecret", "not-the-secret", "authorityHost", entra.authorityHost()));
            var h = new RecordingHandler();
            run(() -> wrong.stream(ask("x"), h), h);
            assertThat(h.error.code()).isEqualTo(ErrorCode.PROVIDER_AUTH);
            assertThat(h.error.getMessage()).contains("invalid_client").doesNotContain("not-the-secret");
        }
    }

    @Test
    void aStaticBearerTokenIsSentAsIs() throws Exception {
        azure.acceptBearer("static-token-1"::equals);
        var p = provider(Map.of("auth", "bearer-token", ".bearerToken", "static-token-1", ".apiKey", ""));
        var h = new RecordingHandler();
        run(() -> p.stream(ask("bearer"), h), h);
        assertThat(h.error).isNull();
        assertThat(azure.lastRequest().header("authorization")).isEqualTo("Bearer static-token-1");
        var expired = provider(Map.of("auth", "bearer-token", ".bearerToken", "expired-token"));
        var h2 = new RecordingHandler();
        run(() -> expired.stream(ask("bearer"), h2), h2);
        assertThat(h2.error.code()).isEqualTo(ErrorCode.PROVIDER_AUTH);
    }

    @Test
    void twoInstancesTalkToTheirOwnResourceWithTheirOwnKey() throws Exception {
        try (var other = FakeAzureOpenAiServer.start("other-key").deployment("eu-4o", "gpt-4o-2024-11-20")) {
            var a = provider(Map.of("id", "azure-us"));
            var b = provider(Map.of("id", "azure-eu", "endpoint", other.endpoint(), ".apiKey", "other-key",
                    "deployments", new String[] {"gpt-4o=eu-4o"}));
            var ha = new RecordingHandler();
            var hb = new RecordingHandler();
            a.stream(ask("from a"), ha);
            b.stream(ask("from b"), hb);
            ha.await();
            hb.await();
            assertThat(a.id()).isEqualTo("azure-us");
            assertThat(b.id()).isEqualTo("azure-eu");
            assertThat(a.models()).extracting(m -> m.providerId()).containsOnly("azure-us");
            assertThat(ha.response.model()).isEqualTo("gpt-4o-2024-08-06");
            assertThat(hb.response.model()).isEqualTo("gpt-4o-2024-11-20");
            assertThat(azure.lastRequest().header("api-key")).isEqualTo(KEY);
            assertThat(other.lastRequest().header("api-key")).isEqualTo("other-key");
            assertThat(other.lastRequest().path()).isEqualTo("/openai/deployments/eu-4o/chat/completions");
        }
    }

    @Test
    void theModelListIsTheConfiguredDeployments() {
        var p = provider();
        assertThat(p.models()).extracting(m -> m.id()).containsExactly("gpt-4o", "missing");
        assertThat(p.models().get(0).displayName()).isEqualTo("gpt-4o (deployment prod-gpt4o)");
        assertThat(p.embeddingModels()).singleElement().satisfies(m -> {
            assertThat(m.id()).isEqualTo("text-embedding-3-small");
            assertThat(m.dimensions()).isEqualTo(8);
        });
    }

    // ---- embeddings ----------------------------------------------------------------------------------------------

    @Test
    void embedsABatchThroughTheEmbeddingDeployment() throws Exception {
        var p = provider();
        EmbeddingResponse r = p.embed(new EmbeddingRequest("text-embedding-3-small", List.of("one", "three words here"),
                4)).toCompletableFuture().get(20, TimeUnit.SECONDS);
        assertThat(r.embeddings()).hasSize(2);
        assertThat(r.embeddings().get(1).vector()).containsExactly(FakeAzureOpenAiServer.vector("three words here", 4));
        assertThat(r.promptTokens()).isEqualTo(4);
        AzureRequest sent = azure.lastRequest();
        assertThat(sent.path()).isEqualTo("/openai/deployments/emb-small/embeddings");
        assertThat(sent.query()).containsEntry("api-version", "2024-10-21");
        assertThat(sent.body().path("dimensions").asInt()).isEqualTo(4);
        assertThat(sent.body().path("input").size()).isEqualTo(2);

        try {
            provider(Map.of(".apiKey", "bad")).embed(new EmbeddingRequest("text-embedding-3-small", List.of("x"), null))
                    .toCompletableFuture().get(20, TimeUnit.SECONDS);
            throw new AssertionError("expected a failure");
        } catch (ExecutionException e) {
            assertThat(e.getCause()).isInstanceOf(ParleyException.class);
            assertThat(((ParleyException) e.getCause()).code()).isEqualTo(ErrorCode.PROVIDER_AUTH);
        }
    }

    // ---- limits, lifecycle ---------------------------------------------------------------------------------------

    @Test
    void anAnswerLongerThanTheLimitIsCutAsUpstreamProtocol() throws Exception {
        azure.enqueue(AzureBehaviour.reply("word ".repeat(400).trim()));
        var h = new RecordingHandler();
        run(() -> provider(Map.of("maxAnswerChars", 1024)).stream(ask("long"), h), h);
        assertThat(h.error.code()).isEqualTo(ErrorCode.UPSTREAM_PROTOCOL);
        assertThat(String.join("", h.tokens).length()).isLessThanOrEqualTo(1024);
    }

    @Test
    void requestsAzureWouldRefuseAreInvalidBeforeAnythingIsSent() throws Exception {
        var p = provider();
        var tools = List.of(new ToolSpec("weather", null, WEATHER_SCHEMA));
        for (var bad : List.of(
                new ChatRequest("gpt-4o", List.of(ChatMessage.user("x")),
                        new ChatOptions(null, null, null, List.of("a", "b", "c", "d", "e")), null),
                new ChatRequest("gpt-4o", List.of(ChatMessage.user("x")),
                        new ChatOptions(null, null, null, null, ToolChoice.tool("nope"), null), tools),
                new ChatRequest("gpt-4o", List.of(ChatMessage.user("x")), null,
                        List.of(new ToolSpec("bad name!", null, null))),
                new ChatRequest("gpt-4o", List.of(ChatMessage.user("x"),
                        ChatMessage.assistant("", List.of(new ToolCall(null, "weather", "{}")))), null, tools))) {
            var h = new RecordingHandler();
            run(() -> p.stream(bad, h), h);
            assertThat(h.error.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        }
        assertThat(azure.requests()).isEmpty();
    }

    @Test
    void deactivationLetsAnswersInFlightFinishThenRefusesAndLeavesNoThreads() throws Exception {
        azure.enqueue(AzureBehaviour.reply("one two three four five").tokenDelay(Duration.ofMillis(150)));
        var p = provider(Map.of("id", "azure-drain", "drainTimeoutSeconds", 60));
        providers.remove(p);
        var h = new RecordingHandler();
        p.stream(ask("drain"), h);
        assertThat(h.firstToken.await(60, TimeUnit.SECONDS)).isTrue();
        p.deactivate(); // returns once the answer has finished (or the drain timeout passed)
        assertThat(h.ended.getCount()).isZero();
        assertThat(h.error).isNull();
        assertThat(h.response.text()).isEqualTo("one two three four five");

        var after = new RecordingHandler();
        run(() -> p.stream(ask("too late"), after), after);
        assertThat(after.error.code()).isEqualTo(ErrorCode.UNAVAILABLE);
        await().atMost(Duration.ofSeconds(10)).until(() -> Thread.getAllStackTraces().keySet().stream()
                .noneMatch(t -> t.isAlive() && t.getName().contains("-azure-drain-")));
    }

    @Test
    void settingsThatCannotWorkFailActivationWithAClearReason() {
        for (var bad : List.<Map<String, Object>>of(Map.of("endpoint", ""), Map.of("endpoint", "https://u:p@x.example"),
                Map.of(".apiKey", ""), Map.of("auth", "kerberos"), Map.of("deployments", new String[] {"a=b c"}),
                Map.of("auth", "entra-client-credentials", ".clientSecret", "s"))) {
            try {
                provider(bad);
                throw new AssertionError("activated with " + bad);
            } catch (IllegalArgumentException expected) {
                assertThat(expected.getMessage()).isNotBlank().doesNotContain(KEY);
            }
        }
    }

    @Test
    void secretsNeverReachTheLog() throws Exception {
        var captured = new java.io.ByteArrayOutputStream();
        var originalErr = System.err;
        // slf4j-simple (the test logger) writes to whatever System.err is when it logs.
        System.setErr(new java.io.PrintStream(captured, true, java.nio.charset.StandardCharsets.UTF_8));
        try (var entra = FakeEntraTokenServer.start("t", "c", "entra-secret-42",
                "https://cognitiveservices.azure.com/.default")) {
            azure.enqueue(AzureBehaviour.unauthorized());
            var h = new RecordingHandler();
            run(() -> provider().stream(ask("x"), h), h);
            var wrong = provider(Map.of("auth", "entra-client-credentials", "tenantId", "t", "clientId", "c",
                    ".clientSecret", "not-entra-secret-43", "authorityHost", entra.authorityHost()));
            var h2 = new RecordingHandler();
            run(() -> wrong.stream(ask("x"), h2), h2);
            providers.forEach(AzureOpenAiProvider::deactivate);
            providers.clear();
        } finally {
            System.setErr(originalErr);
        }
        String log = captured.toString(java.nio.charset.StandardCharsets.UTF_8);
        assertThat(log).contains("event=provider_activated").contains("auth=api-key")
                .contains("auth=entra-client-credentials");
        assertThat(log).doesNotContain(KEY).doesNotContain("entra-secret-42").doesNotContain("not-entra-secret-43");
    }
}

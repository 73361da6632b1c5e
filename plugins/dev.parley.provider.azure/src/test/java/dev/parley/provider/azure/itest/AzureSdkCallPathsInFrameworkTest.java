package dev.parley.provider.azure.itest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.embedding.EmbeddingProvider;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.ContentPart;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ResponseFormat;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolChoice;
import dev.parley.api.llm.ToolSpec;
import dev.parley.testsupport.azure.AzureBehaviour;
import dev.parley.testsupport.azure.FakeAzureOpenAiServer;
import dev.parley.testsupport.azure.FakeEntraTokenServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.awaitility.Awaitility;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkUtil;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.util.tracker.ServiceTracker;

/**
 * Every way the plugin calls the SDK, through the bundle as it ships: its embedded openai-java-core is cut down to the
 * packages those calls reach (bnd.bnd), so each call path runs here once, in the framework, against the fake Azure
 * OpenAI server. A class the trimmed SDK lacks but a path needs ends that path with NoClassDefFoundError, which these
 * tests see as a missing answer or an unexpected error.
 */
class AzureSdkCallPathsInFrameworkTest {

    static final String BSN = "dev.parley.provider.azure";
    static final String FACTORY_PID = "dev.parley.provider.azure";
    static final String KEY = "paths-key";
    static final String WEATHER_SCHEMA = "{\"type\":\"object\",\"properties\":{\"city\":{\"type\":\"string\"}},"
            + "\"required\":[\"city\"]}";
    static final List<ToolSpec> TOOLS = List.of(new ToolSpec("weather", "Current weather", WEATHER_SCHEMA),
            new ToolSpec("time", null, null));

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10_000)
    ConfigurationAdmin configAdmin;

    FakeAzureOpenAiServer azure;
    final List<Configuration> configs = new ArrayList<>();
    int instances;

    @BeforeEach
    void start() {
        azure = FakeAzureOpenAiServer.start(KEY).deployment("dep-4o", "gpt-4o-2024-08-06")
                .embeddingDeployment("dep-emb", "text-embedding-3-small", 4);
    }

    @AfterEach
    void stop() throws Exception {
        for (Configuration c : configs) {
            c.delete();
        }
        azure.close();
    }

    @Test
    void theBundleCarriesTheTrimmedSdk() throws Exception {
        Bundle plugin = Arrays.stream(context.getBundles()).filter(b -> BSN.equals(b.getSymbolicName())).findFirst()
                .orElseThrow();
        assertThat(plugin.getEntry("lib/openai-java-core.jar")).isNotNull();
        assertThat(plugin.loadClass("com.openai.models.chat.completions.ChatCompletionChunk")).isNotNull();
        assertThat(plugin.loadClass("com.openai.models.embeddings.CreateEmbeddingResponse")).isNotNull();
        // APIs the plugin never calls are not in the bundle.
        assertThatThrownBy(() -> plugin.loadClass("com.openai.models.responses.Response"))
                .isInstanceOf(ClassNotFoundException.class);
        assertThatThrownBy(() -> plugin.loadClass("com.openai.models.beta.assistants.Assistant"))
                .isInstanceOf(ClassNotFoundException.class);
        assertThatThrownBy(() -> plugin.loadClass("com.github.victools.jsonschema.generator.SchemaGenerator"))
                .isInstanceOf(ClassNotFoundException.class);
    }

    @Test
    void wholeAnswersAndOptionsGoThroughTheSdk() throws Exception {
        ChatModelProvider p = configure("paths-whole", Map.of());
        azure.enqueue(AzureBehaviour.reply("All in one piece.").cachedTokens(1));
        var options = new ChatOptions(0.2, 0.9, 123, List.of("END", "STOP"));
        Handler h = complete(p, new ChatRequest("gpt-4o", List.of(ChatMessage.system("Be brief."),
                ChatMessage.user("whole")), options, null));
        assertThat(h.error).isNull();
        assertThat(h.tokens).isEmpty();
        assertThat(h.response.text()).isEqualTo("All in one piece.");
        assertThat(h.response.usage().cachedPromptTokens()).isEqualTo(1);
        JsonNode body = azure.lastRequest().body();
        assertThat(body.path("stream").asBoolean(false)).isFalse();
        assertThat(body.path("temperature").asDouble()).isEqualTo(0.2);
        assertThat(body.path("top_p").asDouble()).isEqualTo(0.9);
        assertThat(body.path("max_tokens").asInt()).isEqualTo(123);
        assertThat(body.path("stop").toString()).isEqualTo("[\"END\",\"STOP\"]");

        ChatModelProvider o = configure("paths-o-series", Map.of("maxCompletionTokens", true));
        Handler h2 = stream(o, new ChatRequest("gpt-4o", List.of(ChatMessage.user("o")), options, null));
        assertThat(h2.error).isNull();
        assertThat(azure.lastRequest().body().path("max_completion_tokens").asInt()).isEqualTo(123);
    }

    @Test
    void toolCallsStreamedAndWholeAndTheirResultsGoThroughTheSdk() throws Exception {
        ChatModelProvider p = configure("paths-tools", Map.of());
        azure.enqueue(AzureBehaviour.toolCalls(new AzureBehaviour.Call("call_1", "weather", "{\"city\":\"Paris\"}"),
                new AzureBehaviour.Call("call_2", "weather", "{\"city\":\"Oslo\"}")));
        var first = new ChatRequest("gpt-4o", List.of(ChatMessage.user("Weather in Paris and Oslo?")),
                new ChatOptions(null, null, null, null, ToolChoice.REQUIRED, null), TOOLS);
        Handler h = stream(p, first);
        assertThat(h.error).isNull();
        assertThat(h.response.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
        assertThat(h.response.toolCalls()).containsExactly(new ToolCall("call_1", "weather", "{\"city\":\"Paris\"}"),
                new ToolCall("call_2", "weather", "{\"city\":\"Oslo\"}"));
        JsonNode sent = azure.lastRequest().body();
        assertThat(sent.path("tools").get(0).path("function").path("parameters").path("required").get(0).asText())
                .isEqualTo("city");
        assertThat(sent.path("tool_choice").asText()).isEqualTo("required");

        // The calls and their results go back, with a named tool choice; the answer comes whole.
        azure.enqueue(AzureBehaviour.reply("Sunny in Paris, snow in Oslo."));
        var second = new ChatRequest("gpt-4o", List.of(ChatMessage.user("Weather in Paris and Oslo?"),
                ChatMessage.assistant("", h.response.toolCalls()), ChatMessage.tool("call_1", "sunny"),
                ChatMessage.tool("call_2", "snow")),
                new ChatOptions(null, null, null, null, ToolChoice.tool("weather"), null), TOOLS);
        Handler h2 = complete(p, second);
        assertThat(h2.error).isNull();
        assertThat(h2.response.text()).isEqualTo("Sunny in Paris, snow in Oslo.");
        JsonNode messages = azure.lastRequest().body().path("messages");
        assertThat(messages.get(1).path("tool_calls").get(1).path("id").asText()).isEqualTo("call_2");
        assertThat(messages.get(2).path("tool_call_id").asText()).isEqualTo("call_1");
        assertThat(azure.lastRequest().body().path("tool_choice").path("function").path("name").asText())
                .isEqualTo("weather");

        // Tool calls of a whole answer, with the other tool choices.
        for (var choice : List.of(ToolChoice.AUTO, ToolChoice.NONE)) {
            azure.enqueue(AzureBehaviour.toolCalls(new AzureBehaviour.Call("c1", "weather", "{\"city\":\"Rome\"}"),
                    new AzureBehaviour.Call("c2", "time", "{}")));
            Handler h3 = complete(p, new ChatRequest("gpt-4o", List.of(ChatMessage.user("?")),
                    new ChatOptions(null, null, null, null, choice, null), TOOLS));
            assertThat(h3.error).isNull();
            assertThat(h3.response.toolCalls()).extracting(ToolCall::id).containsExactly("c1", "c2");
            assertThat(h3.response.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
            assertThat(azure.lastRequest().body().path("tool_choice").asText())
                    .isEqualTo(choice.mode().name().toLowerCase(java.util.Locale.ROOT));
        }
    }

    @Test
    void imagesAndResponseFormatsGoThroughTheSdk() throws Exception {
        ChatModelProvider p = configure("paths-images", Map.of());
        var msg = ChatMessage.user(List.of(ContentPart.text("What is in these?"),
                ContentPart.imageBase64("image/png", "iVBORw0KGgo="),
                ContentPart.imageUrl("https://example.com/cat.jpg", null)));
        Handler h = stream(p, new ChatRequest("gpt-4o", List.of(msg), null, null));
        assertThat(h.error).isNull();
        JsonNode content = azure.lastRequest().body().path("messages").get(0).path("content");
        assertThat(content.get(0).path("type").asText()).isEqualTo("text");
        assertThat(content.get(1).path("image_url").path("url").asText()).isEqualTo("data:image/png;base64,iVBORw0KGgo=");
        assertThat(content.get(2).path("image_url").path("url").asText()).isEqualTo("https://example.com/cat.jpg");

        Handler schema = stream(p, new ChatRequest("gpt-4o", List.of(ChatMessage.user("json")),
                new ChatOptions(null, null, null, null, null, ResponseFormat.jsonSchema("weather", WEATHER_SCHEMA, true)),
                null));
        assertThat(schema.error).isNull();
        JsonNode rf = azure.lastRequest().body().path("response_format");
        assertThat(rf.path("type").asText()).isEqualTo("json_schema");
        assertThat(rf.path("json_schema").path("name").asText()).isEqualTo("weather");
        assertThat(rf.path("json_schema").path("strict").asBoolean()).isTrue();
        assertThat(rf.path("json_schema").path("schema").path("properties").has("city")).isTrue();

        for (var format : List.of(ResponseFormat.JSON_OBJECT, ResponseFormat.TEXT)) {
            Handler h2 = complete(p, new ChatRequest("gpt-4o", List.of(ChatMessage.user("json")),
                    new ChatOptions(null, null, null, null, null, format), null));
            assertThat(h2.error).isNull();
            assertThat(azure.lastRequest().body().path("response_format").path("type").asText())
                    .isEqualTo(format.type().name().toLowerCase(java.util.Locale.ROOT));
        }
    }

    @Test
    void everyErrorTheSdkRaisesMapsToItsCode() throws Exception {
        ChatModelProvider p = configure("paths-errors", Map.of());
        // Status errors: each of the SDK's exception classes (BadRequest, Unauthorized, PermissionDenied, NotFound,
        // UnprocessableEntity, RateLimit, InternalServer, UnexpectedStatusCode).
        var streamed = List.of(
                Map.entry(AzureBehaviour.fail(400, "BadRequest", "Invalid value for 'temperature'"),
                        ErrorCode.INVALID_REQUEST),
                Map.entry(AzureBehaviour.contextLengthExceeded(), ErrorCode.CONTEXT_TOO_LONG),
                Map.entry(AzureBehaviour.promptFiltered(), ErrorCode.CONTENT_FILTERED),
                Map.entry(AzureBehaviour.unauthorized(), ErrorCode.PROVIDER_AUTH),
                Map.entry(AzureBehaviour.permissionDenied(), ErrorCode.PROVIDER_PERMISSION),
                Map.entry(AzureBehaviour.fail(404, "DeploymentNotFound", "no such deployment"), ErrorCode.MODEL_NOT_FOUND),
                Map.entry(AzureBehaviour.fail(408, "Timeout", "the request timed out"), ErrorCode.UPSTREAM_TIMEOUT),
                Map.entry(AzureBehaviour.fail(422, "Unprocessable", "cannot process"), ErrorCode.INVALID_REQUEST),
                Map.entry(AzureBehaviour.rateLimited(7, 6500), ErrorCode.RATE_LIMITED),
                Map.entry(AzureBehaviour.serverError(), ErrorCode.UPSTREAM_FAILURE),
                Map.entry(AzureBehaviour.serviceUnavailable(), ErrorCode.OVERLOADED),
                // In the stream: a dropped connection, a frame that is not JSON, error events, the content filter.
                Map.entry(AzureBehaviour.reply("one two three four").cutStreamAfter(2), ErrorCode.UPSTREAM_FAILURE),
                Map.entry(AzureBehaviour.reply("one two three four").malformedChunkAfter(2), ErrorCode.UPSTREAM_PROTOCOL),
                Map.entry(AzureBehaviour.reply("one two three four").errorEventAfter(2, "server_error"),
                        ErrorCode.UPSTREAM_FAILURE),
                Map.entry(AzureBehaviour.reply("one two three").errorEventAfter(1, "content_filter"),
                        ErrorCode.CONTENT_FILTERED),
                Map.entry(AzureBehaviour.reply("some text").filteredAtEnd(), ErrorCode.CONTENT_FILTERED));
        for (var c : streamed) {
            azure.enqueue(c.getKey());
            Handler h = stream(p, ask("fail please"));
            assertThat(h.error).as("streamed, expected %s", c.getValue()).isNotNull();
            assertThat(h.error.code()).as("streamed").isEqualTo(c.getValue());
            assertThat(h.terminals).hasValue(1);
        }
        var whole = List.of(Map.entry(AzureBehaviour.unauthorized(), ErrorCode.PROVIDER_AUTH),
                Map.entry(AzureBehaviour.rateLimited(3, 2500), ErrorCode.RATE_LIMITED),
                Map.entry(AzureBehaviour.promptFiltered(), ErrorCode.CONTENT_FILTERED),
                Map.entry(AzureBehaviour.serverError(), ErrorCode.UPSTREAM_FAILURE),
                Map.entry(AzureBehaviour.reply("x y").malformedChunkAfter(0), ErrorCode.UPSTREAM_PROTOCOL),
                Map.entry(AzureBehaviour.reply("x y").filteredAtEnd(), ErrorCode.CONTENT_FILTERED));
        for (var c : whole) {
            azure.enqueue(c.getKey());
            Handler h = complete(p, ask("fail please"));
            assertThat(h.error).as("whole, expected %s", c.getValue()).isNotNull();
            assertThat(h.error.code()).as("whole").isEqualTo(c.getValue());
        }
        azure.enqueue(AzureBehaviour.rateLimited(7, 6500));
        assertThat(stream(p, ask("x")).error.retryAfter()).contains(Duration.ofMillis(6500));
    }

    @Test
    void timeoutsCancelsAndUnreachableResourcesEndTheAnswer() throws Exception {
        ChatModelProvider slow = configure("paths-slow", Map.of("answerTimeoutSeconds", 1));
        azure.enqueue(AzureBehaviour.reply("too slow").firstTokenDelay(Duration.ofSeconds(12)));
        assertThat(stream(slow, ask("slow")).error.code())
                .isEqualTo(ErrorCode.UPSTREAM_TIMEOUT);

        ChatModelProvider p = configure("paths-cancel", Map.of());
        azure.enqueue(AzureBehaviour.reply("a b c d e f g h i j k l m n o p").tokenDelay(Duration.ofMillis(200)));
        Handler h = new Handler();
        StreamHandle handle = p.stream(ask("long"), h);
        assertThat(h.firstToken.await(60, TimeUnit.SECONDS)).isTrue();
        handle.cancel();
        h.await();
        assertThat(h.error.code()).isEqualTo(ErrorCode.CANCELLED);
        assertThat(h.terminals).hasValue(1);
        Awaitility.await().atMost(Duration.ofSeconds(30)).until(() -> azure.abortedByClient() >= 1);

        String endpoint = azure.endpoint();
        azure.close();
        ChatModelProvider gone = configure("paths-gone", Map.of("endpoint", endpoint));
        assertThat(stream(gone, ask("anyone?")).error.code())
                .isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(complete(gone, ask("anyone?")).error.code())
                .isEqualTo(ErrorCode.UPSTREAM_FAILURE);
    }

    @Test
    void entraTokensStaticTokensAndTheV1RoutesGoThroughTheSdk() throws Exception {
        try (var entra = FakeEntraTokenServer.start("tenant-1", "client-1", "secret-1",
                "https://cognitiveservices.azure.com/.default")) {
            azure.acceptBearer(t -> entra.isValid(t) || "static-token-1".equals(t));
            ChatModelProvider p = configure("paths-entra", Map.of("auth", "entra-client-credentials", "tenantId",
                    "tenant-1", "clientId", "client-1", ".clientSecret", "secret-1", "authorityHost",
                    entra.authorityHost(), ".apiKey", ""));
            for (int i = 0; i < 2; i++) {
                Handler h = stream(p, ask("with a token"));
                assertThat(h.error).isNull();
            }
            assertThat(entra.issuedCount()).isEqualTo(1);
            String authorization = azure.lastRequest().header("authorization");
            assertThat(authorization).startsWith("Bearer ");
            assertThat(entra.isValid(authorization.substring(7))).isTrue();
            assertThat(azure.lastRequest().header("api-key")).isNull();

            ChatModelProvider wrong = configure("paths-entra-wrong", Map.of("auth", "entra-client-credentials",
                    "tenantId", "tenant-1", "clientId", "client-1", ".clientSecret", "not-the-secret",
                    "authorityHost", entra.authorityHost()));
            Handler refused = stream(wrong, ask("x"));
            assertThat(refused.error.code()).isEqualTo(ErrorCode.PROVIDER_AUTH);
            assertThat(refused.error.getMessage()).contains("invalid_client").doesNotContain("not-the-secret");

            ChatModelProvider bearer = configure("paths-bearer", Map.of("auth", "bearer-token", ".bearerToken",
                    "static-token-1", ".apiKey", "", "pathStyle", "v1"));
            Handler h = complete(bearer, ask("hello v1"));
            assertThat(h.error).isNull();
            assertThat(h.response.text()).isEqualTo("echo: hello v1");
            assertThat(azure.lastRequest().header("authorization")).isEqualTo("Bearer static-token-1");
            assertThat(azure.lastRequest().path()).isEqualTo("/openai/v1/chat/completions");
            assertThat(azure.lastRequest().query()).doesNotContainKey("api-version");
            assertThat(azure.lastRequest().body().path("model").asText()).isEqualTo("dep-4o");
        }
    }

    @Test
    void embeddingsAndTheirErrorsGoThroughTheSdk() throws Exception {
        configure("paths-emb", Map.of());
        var embedder = awaitService(EmbeddingProvider.class, "(id=paths-emb)");
        var r = embedder.embed(new EmbeddingRequest("text-embedding-3-small", List.of("one", "three words here"), 4))
                .toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertThat(r.embeddings()).hasSize(2);
        assertThat(r.embeddings().get(1).vector()).containsExactly(FakeAzureOpenAiServer.vector("three words here", 4));
        assertThat(azure.lastRequest().path()).isEqualTo("/openai/deployments/dep-emb/embeddings");
        assertThat(azure.lastRequest().body().path("dimensions").asInt()).isEqualTo(4);

        configure("paths-emb-bad", Map.of(".apiKey", "bad"));
        var refused = awaitService(EmbeddingProvider.class, "(id=paths-emb-bad)");
        assertThatThrownBy(() -> refused.embed(new EmbeddingRequest("text-embedding-3-small", List.of("x"), null))
                .toCompletableFuture().get(30, TimeUnit.SECONDS))
                .isInstanceOf(ExecutionException.class)
                .cause().isInstanceOfSatisfying(ParleyException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.PROVIDER_AUTH));
    }

    // ---- helpers ------------------------------------------------------------------------------------------------

    static ChatRequest ask(String text) {
        return new ChatRequest("gpt-4o", List.of(ChatMessage.system("Be brief."), ChatMessage.user(text)), null, null);
    }

    static Handler stream(ChatModelProvider p, ChatRequest request) throws InterruptedException {
        var h = new Handler();
        p.stream(request, h);
        return h.await();
    }

    static Handler complete(ChatModelProvider p, ChatRequest request) throws InterruptedException {
        var h = new Handler();
        p.complete(request, h);
        return h.await();
    }

    private ChatModelProvider configure(String id, Map<String, Object> overrides) throws Exception {
        Configuration c = configAdmin.getFactoryConfiguration(FACTORY_PID, id, "?");
        var props = new Hashtable<String, Object>();
        props.put("id", id);
        props.put("parley.provider.id", id);
        props.put("endpoint", azure.endpoint());
        props.put(".apiKey", KEY);
        props.put("deployments", new String[] {"gpt-4o=dep-4o"});
        props.put("embeddingDeployments", new String[] {"text-embedding-3-small=dep-emb:4"});
        props.put("drainTimeoutSeconds", 1);
        props.putAll(overrides);
        c.update(props);
        configs.add(c);
        return awaitService(ChatModelProvider.class, "(id=" + id + ")");
    }

    private <T> T awaitService(Class<T> type, String filter) throws Exception {
        var tracker = new ServiceTracker<T, T>(context,
                FrameworkUtil.createFilter("(&(objectClass=" + type.getName() + ")" + filter + ")"), null);
        tracker.open();
        try {
            T s = tracker.waitForService(30_000);
            assertThat(s).as("a %s matching %s", type.getSimpleName(), filter).isNotNull();
            return s;
        } finally {
            tracker.close();
        }
    }

    /** Records what a provider hands its handler; counts terminal calls. */
    static final class Handler implements ChatStreamHandler {
        final List<String> tokens = new CopyOnWriteArrayList<>();
        final CountDownLatch firstToken = new CountDownLatch(1);
        final CountDownLatch ended = new CountDownLatch(1);
        final AtomicInteger terminals = new AtomicInteger();
        volatile ChatResponse response;
        volatile ParleyException error;

        @Override
        public void onToken(String delta) {
            tokens.add(delta);
            firstToken.countDown();
        }

        @Override
        public void onComplete(ChatResponse r) {
            response = r;
            terminals.incrementAndGet();
            ended.countDown();
        }

        @Override
        public void onError(ParleyException e) {
            error = e;
            terminals.incrementAndGet();
            ended.countDown();
        }

        Handler await() throws InterruptedException {
            if (!ended.await(60, TimeUnit.SECONDS)) {
                throw new AssertionError("the answer did not end within 60 s");
            }
            return this;
        }
    }
}

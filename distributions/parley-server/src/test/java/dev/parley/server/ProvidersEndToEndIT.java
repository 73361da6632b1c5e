package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import com.anthropic.client.AnthropicClient;
import com.anthropic.client.okhttp.AnthropicOkHttpClient;
import com.anthropic.helpers.MessageAccumulator;
import com.anthropic.models.messages.Base64ImageSource;
import com.anthropic.models.messages.ContentBlockParam;
import com.anthropic.models.messages.ImageBlockParam;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageCreateParams;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.StopReason;
import com.anthropic.models.messages.TextBlockParam;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.ResponsesModel;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import com.openai.models.responses.Response;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseStatus;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.WebSocket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * Every provider plugin, end to end: the real server jar as a process on a fresh data directory, each provider's
 * default instance configured through the environment (as an admin would) to point at its fake vendor server on
 * loopback. The server publishes the plugins it ships to its own registry and installs them from there at its first
 * start (ADR 11), all six in one process. Then every client API asks every provider: native REST (SSE), the WebSocket
 * chat, OpenAI's chat completions (whole and streamed) and Responses (streamed), and Anthropic's Messages (streamed)
 * — checking the
 * answer the vendor scripted, the usage it reported, the model that answered, and that the vendor received what its
 * API reference demands (route, authentication, the prompt). One tool call round trip, one image part and one vendor
 * rate-limit error per provider complete the matrix.
 */
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class ProvidersEndToEndIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newHttpClient();
    static final String TOKEN = "providers-admin-token";
    /** A 1x1 PNG. */
    static final String PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";
    static final Duration ACTIVE = Duration.ofSeconds(90);
    /** A first start installs the shipped plugins before it says ready; this shared 2-core machine is slow at it. */
    static final Duration FIRST_START = Duration.ofSeconds(180);

    @TempDir
    static Path temp;
    static final Map<String, FakeVendor> VENDORS = new LinkedHashMap<>();
    static ParleyProcess parley;
    static PluginAdmin admin;

    @BeforeAll
    static void start() throws Exception {
        for (FakeVendor v : List.of(new FakeVendor.Anthropic(), new FakeVendor.Azure(), new FakeVendor.Bedrock(),
                new FakeVendor.Gemini(), new FakeVendor.Mistral(), new FakeVendor.Ollama())) {
            VENDORS.put(v.pluginId, v);
        }
        var env = new HashMap<String, String>();
        VENDORS.values().forEach(v -> env.putAll(v.env()));
        env.put("PARLEY_ADMIN_TOKEN", TOKEN);
        env.put("PARLEY_SHIPPED_PLUGINS", String.join(",", VENDORS.keySet()));
        Path data = temp.resolve("data");
        Files.createDirectories(data.resolve("config"));
        Files.writeString(data.resolve("config").resolve("plugins.json"),
                "{\"dev.parley.plugins\": {\"reconcileIntervalSeconds\": 1, \"retryFailedSeconds\": 1}}");
        // Ready means seeded: the shipped plugins are installed from the registry before the server says ready.
        parley = ParleyProcess.start(data, env, FIRST_START);
        admin = new PluginAdmin(parley, TOKEN);
        for (FakeVendor v : VENDORS.values()) {
            await().atMost(ACTIVE).untilAsserted(() -> assertThat(admin.modelIds()).as(v.pluginId).contains(v.model));
        }
    }

    @AfterAll
    static void stop() throws Exception {
        if (parley != null) {
            parley.close();
        }
        for (FakeVendor v : VENDORS.values()) {
            v.close();
        }
    }

    /** The vendor of {@code pluginId}, whose plugin the server installed from its registry. */
    static FakeVendor installed(String pluginId) {
        return VENDORS.get(pluginId);
    }

    // ---- installed through the registry ---------------------------------------------------------------------------

    @Order(1)
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"anthropic", "azure-openai", "bedrock", "gemini", "mistral", "ollama"})
    void thePluginCameFromTheRegistryAndServesItsModel(String pluginId) {
        FakeVendor v = installed(pluginId);
        JsonNode state = admin.state(pluginId).json();
        assertThat(state.at("/desired/version").asText()).isEqualTo(state.at("/thisNode/version").asText());
        assertThat(state.at("/desired/updatedBy").asText()).isEqualTo("distribution");
        assertThat(state.at("/entry/origin").asText()).isEqualTo("distribution");
        assertThat(state.at("/thisNode/bundleState").asText()).isEqualTo("active");
        JsonNode events = admin.events(pluginId).json().path("events");
        // The distribution asked for it (seed), then this node installed it from the registry (reconcile).
        assertThat(events).anySatisfy(e -> {
            assertThat(e.path("action").asText()).isEqualTo("seed");
            assertThat(e.path("detail").asText()).isEqualTo("shipped with the server");
        });
        assertThat(events).anySatisfy(e -> {
            assertThat(e.path("action").asText()).isEqualTo("reconcile");
            assertThat(e.path("outcome").asText()).isEqualTo("ok");
        });
        assertThat(admin.modelIds()).contains(v.model);
    }

    // ---- native REST, streamed as Server-Sent Events ----------------------------------------------------------------

    @Order(2)
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"anthropic", "azure-openai", "bedrock", "gemini", "mistral", "ollama"})
    void nativeRestStreamsTheAnswer(String pluginId) throws Exception {
        FakeVendor v = installed(pluginId);
        String prompt = "rest stream question for " + pluginId;
        String conversation = createConversation();
        var request = parley.request("/api/v1/conversations/" + conversation + "/messages")
                .header("Content-Type", "application/json").header("Accept", "text/event-stream")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(Map.of("content", prompt, "model", v.model))))
                .build();
        var response = HTTP.send(request, HttpResponse.BodyHandlers.ofLines());
        assertThat(response.statusCode()).isEqualTo(200);
        assertThat(response.headers().firstValue("Content-Type").orElse("")).startsWith("text/event-stream");
        List<Sse.Event> events = Sse.read(response.body(), e -> { });

        assertThat(events.get(0).name()).isEqualTo("accepted");
        Sse.Event done = events.get(events.size() - 1);
        assertThat(done.name()).as("%s", events).isEqualTo("done");
        String expected = "echo: " + prompt;
        var tokens = events.stream().filter(e -> e.name().equals("token")).map(e -> json(e.data()).path("delta").asText()).toList();
        assertThat(String.join("", tokens)).isEqualTo(expected);
        assertThat(tokens).as("streamed piece by piece").hasSizeGreaterThan(1);
        JsonNode answer = json(done.data()).path("answer");
        assertThat(answer.path("content").asText()).isEqualTo(expected);
        assertThat(answer.path("status").asText()).isEqualTo("complete");
        assertUsage(answer.path("usage"), "promptTokens", "completionTokens", prompt, expected);
        // The model an answer message names is the router's target (docs/wire-protocol.md), not the vendor's name for it.
        assertThat(answer.path("model").asText()).isEqualTo(v.model);

        assertSentAsTheVendorExpects(v, prompt);
    }

    // ---- WebSocket chat ----------------------------------------------------------------------------------------------

    @Order(3)
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"anthropic", "azure-openai", "bedrock", "gemini", "mistral", "ollama"})
    void theWebSocketStreamsTheAnswer(String pluginId) throws Exception {
        FakeVendor v = installed(pluginId);
        String prompt = "socket question for " + pluginId;
        List<JsonNode> frames = socketTurn(v.model, prompt);

        JsonNode last = frames.get(frames.size() - 1);
        assertThat(last.path("type").asText()).as(last.toString()).isEqualTo("done");
        String expected = "echo: " + prompt;
        var tokens = frames.stream().filter(f -> f.path("type").asText().equals("token")).map(f -> f.path("delta").asText()).toList();
        assertThat(String.join("", tokens)).isEqualTo(expected);
        assertThat(tokens).hasSizeGreaterThan(1);
        assertThat(last.at("/answer/content").asText()).isEqualTo(expected);
        assertUsage(last.path("usage"), "promptTokens", "completionTokens", prompt, expected);
        assertThat(last.at("/answer/model").asText()).as("the router's target").isEqualTo(v.model);
        assertSentAsTheVendorExpects(v, prompt);
    }

    // ---- OpenAI chat completions, whole and streamed (official OpenAI SDK) --------------------------------------------

    @Order(4)
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"anthropic", "azure-openai", "bedrock", "gemini", "mistral", "ollama"})
    void chatCompletionsAnswerWhole(String pluginId) {
        FakeVendor v = installed(pluginId);
        String prompt = "completion question for " + pluginId;
        ChatCompletion completion = openAi().chat().completions().create(ChatCompletionCreateParams.builder()
                .model(v.model).addUserMessage(prompt).build());

        String expected = "echo: " + prompt;
        assertThat(completion.choices().get(0).message().content()).hasValue(expected);
        assertThat(completion.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
        assertThat(completion.model()).isEqualTo(v.answeringModel());
        var usage = completion.usage().orElseThrow();
        assertThat(usage.promptTokens()).isEqualTo(FakeVendor.words(prompt));
        assertThat(usage.completionTokens()).isEqualTo(FakeVendor.words(expected));
        assertSentAsTheVendorExpects(v, prompt);
    }

    @Order(5)
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"anthropic", "azure-openai", "bedrock", "gemini", "mistral", "ollama"})
    void chatCompletionsStream(String pluginId) {
        FakeVendor v = installed(pluginId);
        String prompt = "streamed completion question for " + pluginId;
        var accumulator = ChatCompletionAccumulator.create();
        var chunks = new ArrayList<ChatCompletionChunk>();
        int pieces = 0;
        try (var stream = openAi().chat().completions().createStreaming(ChatCompletionCreateParams.builder()
                .model(v.model).addUserMessage(prompt)
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            for (ChatCompletionChunk chunk : (Iterable<ChatCompletionChunk>) stream.stream()::iterator) {
                accumulator.accumulate(chunk);
                chunks.add(chunk);
                if (chunk.choices().stream().anyMatch(c -> c.delta().content().filter(s -> !s.isEmpty()).isPresent())) {
                    pieces++;
                }
            }
        }
        ChatCompletion whole = accumulator.chatCompletion();
        String expected = "echo: " + prompt;
        assertThat(whole.choices().get(0).message().content()).hasValue(expected);
        assertThat(pieces).isGreaterThan(1);
        // The chunks before the answer carry the model asked for (they go out before the vendor names its model);
        // the usage chunk, sent after the answer, names the model that answered.
        ChatCompletionChunk usageChunk = chunks.get(chunks.size() - 1);
        assertThat(usageChunk.choices()).isEmpty();
        assertThat(usageChunk.model()).isEqualTo(v.answeringModel());
        var usage = usageChunk.usage().orElseThrow();
        assertThat(usage.promptTokens()).isEqualTo(FakeVendor.words(prompt));
        assertThat(usage.completionTokens()).isEqualTo(FakeVendor.words(expected));
        assertSentAsTheVendorExpects(v, prompt);
    }

    // ---- OpenAI Responses, streamed ------------------------------------------------------------------------------------

    @Order(6)
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"anthropic", "azure-openai", "bedrock", "gemini", "mistral", "ollama"})
    void responsesStream(String pluginId) {
        FakeVendor v = installed(pluginId);
        String prompt = "responses question for " + pluginId;
        var text = new StringBuilder();
        var completed = new ArrayList<Response>();
        try (var stream = openAi().responses().createStreaming(ResponseCreateParams.builder().model(v.model).input(prompt).build())) {
            stream.stream().forEach(e -> {
                if (e.isOutputTextDelta()) {
                    text.append(e.asOutputTextDelta().delta());
                }
                if (e.isCompleted()) {
                    completed.add(e.asCompleted().response());
                }
            });
        }
        String expected = "echo: " + prompt;
        assertThat(text.toString()).isEqualTo(expected);
        assertThat(completed).singleElement().satisfies(r -> {
            assertThat(r.status()).hasValue(ResponseStatus.COMPLETED);
            assertThat(r.output().get(0).asMessage().content().get(0).asOutputText().text()).isEqualTo(expected);
            assertThat(name(r.model())).isEqualTo(v.answeringModel());
            assertThat(r.usage().orElseThrow().inputTokens()).isEqualTo(FakeVendor.words(prompt));
            assertThat(r.usage().orElseThrow().outputTokens()).isEqualTo(FakeVendor.words(expected));
        });
        assertSentAsTheVendorExpects(v, prompt);
    }

    // ---- Anthropic Messages, streamed (official Anthropic SDK) ----------------------------------------------------------

    @Order(7)
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"anthropic", "azure-openai", "bedrock", "gemini", "mistral", "ollama"})
    void messagesStream(String pluginId) {
        FakeVendor v = installed(pluginId);
        String prompt = "messages question for " + pluginId;
        MessageAccumulator accumulator = MessageAccumulator.create();
        int deltas = 0;
        try (var stream = anthropic().messages().createStreaming(MessageCreateParams.builder().model(v.model).maxTokens(256L)
                .addUserMessage(prompt).build())) {
            for (RawMessageStreamEvent event : (Iterable<RawMessageStreamEvent>) stream.stream()::iterator) {
                accumulator.accumulate(event);
                if (event.isContentBlockDelta()) {
                    deltas++;
                }
            }
        }
        Message message = accumulator.message();
        String expected = "echo: " + prompt;
        assertThat(message.content()).singleElement().satisfies(b -> assertThat(b.text().orElseThrow().text()).isEqualTo(expected));
        assertThat(deltas).isGreaterThan(1);
        assertThat(message.stopReason()).contains(StopReason.END_TURN);
        // message_start, the only event naming a model, goes out before the vendor answers: the model asked for.
        assertThat(message.model().asString()).isEqualTo(v.model);
        assertThat(message.usage().inputTokens()).isEqualTo(FakeVendor.words(prompt));
        assertThat(message.usage().outputTokens()).isEqualTo(FakeVendor.words(expected));
        assertSentAsTheVendorExpects(v, prompt);
    }

    // ---- a tool call round trip (chat completions) ----------------------------------------------------------------------

    @Order(8)
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"anthropic", "azure-openai", "bedrock", "gemini", "mistral", "ollama"})
    void aToolCallGoesRoundTrip(String pluginId) {
        FakeVendor v = installed(pluginId);
        String prompt = "tool question: weather in Oslo for " + pluginId;
        String result = "sunny and 21 C in Oslo for " + pluginId;
        v.enqueueToolCall("weather", "{\"city\":\"Oslo\"}");
        ChatCompletionCreateParams first = ChatCompletionCreateParams.builder().model(v.model).addUserMessage(prompt)
                .addTool(weatherTool()).build();

        ChatCompletion calls = openAi().chat().completions().create(first);

        var choice = calls.choices().get(0);
        assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        ChatCompletionMessageFunctionToolCall call = choice.message().toolCalls().orElseThrow().get(0).asFunction();
        assertThat(call.function().name()).isEqualTo("weather");
        assertThat(json(call.function().arguments())).isEqualTo(json("{\"city\":\"Oslo\"}"));
        if (v.scriptedCallId() != null) {
            assertThat(call.id()).isEqualTo(v.scriptedCallId());
        } else {
            assertThat(call.id()).as("an id Parley gave the vendor's id-less call").isNotBlank();
        }
        JsonNode sentFirst = v.requestFor(prompt).body();
        assertThat(sentFirst.toString()).as("the tool definition went up").contains("weather").contains("city");

        ChatCompletion answer = openAi().chat().completions().create(first.toBuilder()
                .addMessage(choice.message())
                .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content(result).build())
                .build());

        assertThat(answer.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.STOP);
        assertThat(answer.choices().get(0).message().content()).isPresent();
        FakeVendor.Sent second = v.lastRequestWith(result);
        v.assertRouteAndAuth(second);
        v.assertToolResultSent(second.body(), v.scriptedCallId() == null ? call.id() : v.scriptedCallId(), "weather", result);
    }

    // ---- an image part (Anthropic Messages) --------------------------------------------------------------------------

    @Order(9)
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"anthropic", "azure-openai", "bedrock", "gemini", "mistral", "ollama"})
    void anImagePartReachesTheVendor(String pluginId) {
        FakeVendor v = installed(pluginId);
        String prompt = "image question: what is in this picture for " + pluginId;
        Message message = anthropic().messages().create(MessageCreateParams.builder().model(v.model).maxTokens(256L)
                .addUserMessageOfContentBlockParams(List.of(
                        ContentBlockParam.ofText(TextBlockParam.builder().text(prompt).build()),
                        ContentBlockParam.ofImage(ImageBlockParam.builder().source(Base64ImageSource.builder()
                                .mediaType(Base64ImageSource.MediaType.IMAGE_PNG).data(PNG).build()).build())))
                .build());

        assertThat(message.content().get(0).text().orElseThrow().text()).isEqualTo("echo: " + prompt);
        FakeVendor.Sent sent = v.lastRequestWith(prompt);
        v.assertRouteAndAuth(sent);
        v.assertImageSent(sent.body(), PNG);
    }

    // ---- a vendor's rate limit, in each API's own error shape ------------------------------------------------------------

    @Order(10)
    @ParameterizedTest(name = "{0}")
    @ValueSource(strings = {"anthropic", "azure-openai", "bedrock", "gemini", "mistral", "ollama"})
    void aVendorRateLimitSurfacesInEachApisErrorShape(String pluginId) throws Exception {
        FakeVendor v = installed(pluginId);
        long seconds = 7;

        v.enqueueRateLimit(seconds);
        String conversation = createConversation();
        var rest = HTTP.send(parley.request("/api/v1/conversations/" + conversation + "/messages")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(JSON.writeValueAsString(Map.of("content", "limited rest " + pluginId,
                        "model", v.model)))).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(rest.statusCode()).as(rest.body()).isEqualTo(429);
        assertThat(rest.headers().firstValue("Content-Type").orElse("")).startsWith("application/problem+json");
        assertThat(json(rest.body()).path("code").asText()).isEqualTo("rate-limited");
        assertThat(rest.headers().firstValue("Retry-After")).contains(Long.toString(seconds));
        assertThat(rest.body()).doesNotContain("\tat ").doesNotContain("Exception");

        v.enqueueRateLimit(seconds);
        List<JsonNode> socket = socketTurn(v.model, "limited socket " + pluginId);
        JsonNode error = socket.get(socket.size() - 1);
        assertThat(error.path("type").asText()).as(error.toString()).isEqualTo("error");
        assertThat(error.path("code").asText()).isEqualTo("rate-limited");
        assertThat(error.path("retryAfterSeconds").asLong()).isEqualTo(seconds);

        v.enqueueRateLimit(seconds);
        var openAi = catchThrowableOfType(com.openai.errors.RateLimitException.class, () -> openAi().chat().completions()
                .create(ChatCompletionCreateParams.builder().model(v.model).addUserMessage("limited completion " + pluginId).build()));
        assertThat(openAi).as("OpenAI SDK's RateLimitException").isNotNull();
        assertThat(openAi.statusCode()).isEqualTo(429);
        assertThat(openAi.headers().values("Retry-After")).containsExactly(Long.toString(seconds));
        assertThat(openAi.type()).as("OpenAI's error object").hasValue("rate_limit_error");

        v.enqueueRateLimit(seconds);
        var claude = catchThrowableOfType(com.anthropic.errors.RateLimitException.class, () -> anthropic().messages()
                .create(MessageCreateParams.builder().model(v.model).maxTokens(64L).addUserMessage("limited message " + pluginId).build()));
        assertThat(claude).as("Anthropic SDK's RateLimitException").isNotNull();
        assertThat(claude.statusCode()).isEqualTo(429);
        assertThat(claude.headers().values("Retry-After")).containsExactly(Long.toString(seconds));
        assertThat(claude.body().toString()).as("Anthropic's error object").contains("rate_limit_error");

        // Each went to the vendor once (no hidden retry), and the provider still answers.
        for (String marker : List.of("limited rest ", "limited socket ", "limited completion ", "limited message ")) {
            v.requestFor(marker + pluginId);
        }
        assertThat(admin.answer(v.model, "after the limit " + pluginId)).isEqualTo("echo: after the limit " + pluginId);
    }

    // ---- helpers ---------------------------------------------------------------------------------------------------

    /** The vendor got exactly one request for {@code prompt}, on its route, authenticated, the prompt last. */
    static void assertSentAsTheVendorExpects(FakeVendor v, String prompt) {
        FakeVendor.Sent sent = v.requestFor(prompt);
        v.assertRouteAndAuth(sent);
        assertThat(v.lastUserText(sent.body())).isEqualTo(prompt);
    }

    static void assertUsage(JsonNode usage, String prompt, String completion, String promptText, String answerText) {
        assertThat(usage.path(prompt).asLong()).as("%s in %s", prompt, usage).isEqualTo(FakeVendor.words(promptText));
        assertThat(usage.path(completion).asLong()).as("%s in %s", completion, usage).isEqualTo(FakeVendor.words(answerText));
    }

    /** The SDK parses a model it knows into its enum, any other as a string. */
    static String name(ResponsesModel m) {
        return m.isString() ? m.asString() : m.isChat() ? m.asChat().asString() : m.asOnly().asString();
    }

    static ChatCompletionFunctionTool weatherTool() {
        return ChatCompletionFunctionTool.builder().function(FunctionDefinition.builder()
                .name("weather").description("The weather of a city")
                .parameters(FunctionParameters.builder()
                        .putAdditionalProperty("type", JsonValue.from("object"))
                        .putAdditionalProperty("properties", JsonValue.from(Map.of("city", Map.of("type", "string"))))
                        .putAdditionalProperty("required", JsonValue.from(List.of("city")))
                        .build())
                .build()).build();
    }

    static OpenAIClient openAi() {
        return OpenAIOkHttpClient.builder().baseUrl(parley.uri("/v1").toString()).apiKey(parley.token()).maxRetries(0).build();
    }

    static AnthropicClient anthropic() {
        return AnthropicOkHttpClient.builder().baseUrl(parley.uri("").toString()).apiKey(parley.token()).maxRetries(0).build();
    }

    /** One turn over a new WebSocket: the frames of turn "q1" up to its done or error frame. */
    static List<JsonNode> socketTurn(String model, String prompt) throws Exception {
        var frames = new CopyOnWriteArrayList<JsonNode>();
        var ended = new CompletableFuture<JsonNode>();
        var listener = new WebSocket.Listener() {
            final StringBuilder partial = new StringBuilder();

            @Override
            public CompletionStage<?> onText(WebSocket ws, CharSequence data, boolean last) {
                partial.append(data);
                if (last) {
                    JsonNode frame = json(partial.toString());
                    partial.setLength(0);
                    if (frame.path("id").asText().equals("q1")) {
                        frames.add(frame);
                        if (frame.path("type").asText().equals("done") || frame.path("type").asText().equals("error")) {
                            ended.complete(frame);
                        }
                    }
                }
                ws.request(1);
                return null;
            }
        };
        WebSocket ws = HTTP.newWebSocketBuilder().header("Authorization", "Bearer " + parley.token())
                .buildAsync(URI.create("ws://127.0.0.1:" + parley.port + "/api/v1/chat/ws"), listener)
                .get(10, TimeUnit.SECONDS);
        try {
            ws.sendText(JSON.writeValueAsString(Map.of("type", "send", "id", "q1", "content", prompt, "model", model)), true)
                    .get(5, TimeUnit.SECONDS);
            ended.get(30, TimeUnit.SECONDS);
        } finally {
            ws.sendClose(WebSocket.NORMAL_CLOSURE, "bye").get(5, TimeUnit.SECONDS);
        }
        return List.copyOf(frames);
    }

    static String createConversation() throws Exception {
        var r = HTTP.send(parley.request("/api/v1/conversations").header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString("{\"title\":\"providers\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(r.statusCode()).as(r.body()).isEqualTo(201);
        return json(r.body()).path("id").asText();
    }

    static JsonNode json(String s) {
        try {
            return JSON.readTree(s);
        } catch (Exception e) {
            throw new AssertionError("not JSON: " + s, e);
        }
    }
}

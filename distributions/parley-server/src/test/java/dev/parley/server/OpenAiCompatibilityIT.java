package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.openai.client.OpenAIClient;
import com.openai.client.okhttp.OpenAIOkHttpClient;
import com.openai.core.JsonValue;
import com.openai.errors.BadRequestException;
import com.openai.errors.PermissionDeniedException;
import com.openai.errors.UnauthorizedException;
import com.openai.errors.OpenAIServiceException;
import com.openai.helpers.ChatCompletionAccumulator;
import com.openai.models.FunctionDefinition;
import com.openai.models.FunctionParameters;
import com.openai.models.ResponseFormatJsonSchema;
import com.openai.models.chat.completions.ChatCompletion;
import com.openai.models.chat.completions.ChatCompletionChunk;
import com.openai.models.chat.completions.ChatCompletionContentPart;
import com.openai.models.chat.completions.ChatCompletionContentPartImage;
import com.openai.models.chat.completions.ChatCompletionContentPartText;
import com.openai.models.chat.completions.ChatCompletionCreateParams;
import com.openai.models.chat.completions.ChatCompletionFunctionTool;
import com.openai.models.chat.completions.ChatCompletionMessageFunctionToolCall;
import com.openai.models.chat.completions.ChatCompletionMessageToolCall;
import com.openai.models.chat.completions.ChatCompletionNamedToolChoice;
import com.openai.models.chat.completions.ChatCompletionStreamOptions;
import com.openai.models.chat.completions.ChatCompletionToolChoiceOption;
import com.openai.models.chat.completions.ChatCompletionToolMessageParam;
import com.openai.models.embeddings.CreateEmbeddingResponse;
import com.openai.models.embeddings.EmbeddingCreateParams;
import com.openai.models.responses.EasyInputMessage;
import com.openai.models.responses.ResponseCreateParams;
import com.openai.models.responses.ResponseFunctionToolCall;
import com.openai.models.responses.ResponseInputItem;
import com.openai.models.responses.ResponseOutputItem;
import com.openai.models.responses.ToolChoiceOptions;
import com.openai.models.responses.WebSearchTool;
import dev.parley.testsupport.Behaviour;
import dev.parley.testsupport.FakeOpenAiServer;
import dev.parley.testsupport.RecordedRequest;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exported server, run as a process against {@link FakeOpenAiServer}, driven by the official OpenAI Java SDK:
 * tools (streamed and not, parallel calls, a tool result round trip, on chat completions and the Responses API), image
 * parts, response_format json_schema, cached tokens, embeddings (the SDK's own encoding and float), and bad input
 * refused with OpenAI's error shape before anything reaches the model server.
 */
class OpenAiCompatibilityIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final HttpClient HTTP = HttpClient.newHttpClient();
    /** A 1x1 PNG. */
    static final String PNG = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

    @TempDir
    static Path temp;
    static FakeOpenAiServer upstream;
    static ParleyProcess parley;
    /** An API key as a program holds it: made through the keys API, scoped to chat. */
    static String key;

    @BeforeAll
    static void start() throws Exception {
        upstream = FakeOpenAiServer.start("sk-upstream").embeddingModel("text-embedding-3-small", 1536);
        Path data = temp.resolve("data");
        Files.createDirectories(data.resolve("config"));
        // Settings without an environment variable go through the config directory, as an operator would set them.
        Files.writeString(data.resolve("config").resolve("providers.json"), """
                {
                  "dev.parley.provider.openai": {
                    "embeddingModels": ["text-embedding-3-small=1536,batch=2,reducible"],
                    "modelCapabilities": ["fake-model=tools,vision,json_output", "blind-model=tools"]
                  },
                  "dev.parley.core.requests": { "maxTools": 4, "maxImageBytes": 2048 }
                }
                """);
        parley = ParleyProcess.start(data, Map.of(
                "OPENAI_API_KEY", "sk-upstream",
                "OPENAI_BASE_URL", upstream.baseUrl(),
                "OPENAI_MODELS", "fake-model,blind-model"));
        key = parley.newApiKey("openai-sdk", "chat", "models:read");
    }

    @AfterAll
    static void stop() throws Exception {
        if (parley != null) {
            parley.close();
        }
        if (upstream != null) {
            upstream.close();
        }
    }

    OpenAIClient sdk() {
        return sdk(key);
    }

    OpenAIClient sdk(String apiKey) {
        return OpenAIOkHttpClient.builder().baseUrl(parley.uri("/v1").toString()).apiKey(apiKey).maxRetries(0).build();
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

    static ChatCompletionCreateParams.Builder ask(String text) {
        return ChatCompletionCreateParams.builder().model("fake-model").addUserMessage(text);
    }

    /** The last upstream chat request that carried {@code marker} in a user message. */
    static JsonNode upstreamRequestFor(String marker) {
        List<RecordedRequest> all = upstream.chatRequests();
        for (int i = all.size() - 1; i >= 0; i--) {
            if (all.get(i).body().path("messages").toString().contains(marker)) {
                return all.get(i).body();
            }
        }
        throw new AssertionError("no upstream request for " + marker);
    }

    // ---- tools -------------------------------------------------------------------------------------------------

    @Test
    void theSdkAuthenticatesWithAnApiKeyAndAWrongRevokedOrNarrowKeyIsRefused() throws Exception {
        assertThat(sdk().models().list().data()).extracting(m -> m.id()).contains("fake-model");
        assertThatThrownBy(() -> sdk("pk-parley-wrong").models().list())
                .isInstanceOfSatisfying(UnauthorizedException.class, e -> assertThat(e.getMessage())
                        .doesNotContain("pk-parley-wrong"));
        String modelsOnly = parley.newApiKey("openai-models-only", "models:read");
        assertThat(sdk(modelsOnly).models().list().data()).isNotEmpty();
        assertThatThrownBy(() -> sdk(modelsOnly).chat().completions().create(ChatCompletionCreateParams.builder()
                .model("fake-model").addUserMessage("Hello").build()))
                .isInstanceOf(PermissionDeniedException.class).hasMessageContaining("'chat'");
        // Revoked: refused from the next request on (this node drops it from its cache at once).
        String id = modelsOnly.substring("pk-parley-".length(), modelsOnly.indexOf('_'));
        var revoked = HTTP.send(parley.request("/api/v1/keys/" + id).DELETE().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(revoked.statusCode()).as(revoked.body()).isEqualTo(200);
        assertThatThrownBy(() -> sdk(modelsOnly).models().list()).isInstanceOf(UnauthorizedException.class)
                .hasMessageContaining("revoked");
    }

    @Test
    void theSdkGetsToolCallsAndSendsTheResultBack() {
        upstream.enqueue(Behaviour.toolCall("call_w1", "weather", "{\"city\":\"Oslo\"}").cachedTokens(2));
        upstream.reply("It is sunny in Oslo.");
        ChatCompletionCreateParams first = ask("round trip weather in Oslo?").addTool(weatherTool())
                .toolChoice(ChatCompletionToolChoiceOption.Auto.REQUIRED).build();

        ChatCompletion calls = sdk().chat().completions().create(first);

        var choice = calls.choices().get(0);
        assertThat(choice.finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        ChatCompletionMessageFunctionToolCall call = choice.message().toolCalls().orElseThrow().get(0).asFunction();
        assertThat(call.id()).isEqualTo("call_w1");
        assertThat(call.function().name()).isEqualTo("weather");
        assertThat(call.function().arguments()).isEqualTo("{\"city\":\"Oslo\"}");
        assertThat(calls.usage().orElseThrow().promptTokensDetails().orElseThrow().cachedTokens()).hasValue(2L);
        JsonNode sentFirst = upstreamRequestFor("round trip weather");
        assertThat(sentFirst.path("tool_choice").asText()).isEqualTo("required");
        assertThat(sentFirst.at("/tools/0/function/parameters/properties/city/type").asText()).isEqualTo("string");

        ChatCompletion answer = sdk().chat().completions().create(first.toBuilder()
                .toolChoice(ChatCompletionToolChoiceOption.Auto.AUTO)
                .addMessage(choice.message())
                .addMessage(ChatCompletionToolMessageParam.builder().toolCallId(call.id()).content("sunny, 21 C").build())
                .build());

        assertThat(answer.choices().get(0).message().content()).hasValue("It is sunny in Oslo.");
        JsonNode history = upstreamRequestFor("sunny, 21 C").path("messages");
        assertThat(history.get(1).path("tool_calls").get(0).path("id").asText()).isEqualTo("call_w1");
        assertThat(history.get(2).path("role").asText()).isEqualTo("tool");
        assertThat(history.get(2).path("tool_call_id").asText()).isEqualTo("call_w1");
    }

    @Test
    void theSdkAccumulatesStreamedParallelToolCalls() {
        upstream.enqueue(Behaviour.toolCalls(new Behaviour.Call("call_a", "weather", "{\"city\":\"Oslo\"}"),
                new Behaviour.Call("call_b", "weather", "{\"city\":\"Bergen\"}")));
        ChatCompletionAccumulator accumulator = ChatCompletionAccumulator.create();
        List<ChatCompletionChunk> chunks = new ArrayList<>();

        try (var stream = sdk().chat().completions().createStreaming(ask("streamed weather in Oslo and Bergen?")
                .addTool(weatherTool())
                .toolChoice(ChatCompletionNamedToolChoice.builder().function(ChatCompletionNamedToolChoice.Function
                        .builder().name("weather").build()).build())
                .streamOptions(ChatCompletionStreamOptions.builder().includeUsage(true).build()).build())) {
            stream.stream().forEach(c -> chunks.add(accumulator.accumulate(c)));
        }

        ChatCompletion whole = accumulator.chatCompletion();
        List<ChatCompletionMessageToolCall> calls = whole.choices().get(0).message().toolCalls().orElseThrow();
        assertThat(calls).hasSize(2);
        assertThat(calls.get(0).asFunction().id()).isEqualTo("call_a");
        assertThat(calls.get(0).asFunction().function().arguments()).isEqualTo("{\"city\":\"Oslo\"}");
        assertThat(calls.get(1).asFunction().id()).isEqualTo("call_b");
        assertThat(calls.get(1).asFunction().function().arguments()).isEqualTo("{\"city\":\"Bergen\"}");
        assertThat(whole.choices().get(0).finishReason()).isEqualTo(ChatCompletion.Choice.FinishReason.TOOL_CALLS);
        // As OpenAI streams them: the first fragment of a call names it, later ones carry arguments only; whether the
        // provider handed the calls over in pieces (the fake splits each call's arguments mid-JSON) or whole, no call
        // goes out twice and each call's pieces join to its arguments.
        List<ChatCompletionChunk.Choice.Delta.ToolCall> fragments = chunks.stream()
                .flatMap(c -> c.choices().stream()).flatMap(c -> c.delta().toolCalls().orElse(List.of()).stream())
                .toList();
        for (long index = 0; index < 2; index++) {
            long i = index;
            List<ChatCompletionChunk.Choice.Delta.ToolCall> ofCall = fragments.stream().filter(f -> f.index() == i)
                    .toList();
            assertThat(ofCall.get(0).id()).hasValue(calls.get((int) i).asFunction().id());
            assertThat(ofCall.get(0).function().orElseThrow().name()).hasValue("weather");
            assertThat(ofCall.subList(1, ofCall.size())).allSatisfy(f -> {
                assertThat(f.id()).isEmpty();
                assertThat(f.function().orElseThrow().name()).isEmpty();
            });
            assertThat(ofCall.stream().map(f -> f.function().orElseThrow().arguments().orElse(""))
                    .collect(java.util.stream.Collectors.joining()))
                    .isEqualTo(calls.get((int) i).asFunction().function().arguments());
        }
        assertThat(fragments).extracting(ChatCompletionChunk.Choice.Delta.ToolCall::index).isSorted();
        JsonNode sent = upstreamRequestFor("streamed weather");
        assertThat(sent.path("stream").asBoolean()).isTrue();
        assertThat(sent.at("/tool_choice/function/name").asText()).isEqualTo("weather");
    }

    // ---- images and structured output ----------------------------------------------------------------------------

    @Test
    void anImagePartReachesTheModelServerAsOpenAiSendsIt() {
        upstream.reply("A single pixel.");

        ChatCompletion c = sdk().chat().completions().create(ChatCompletionCreateParams.builder().model("fake-model")
                .addUserMessageOfArrayOfContentParts(List.of(
                        ChatCompletionContentPart.ofText(ChatCompletionContentPartText.builder().text("what is this image?")
                                .build()),
                        ChatCompletionContentPart.ofImageUrl(ChatCompletionContentPartImage.builder().imageUrl(
                                ChatCompletionContentPartImage.ImageUrl.builder().url("data:image/png;base64," + PNG)
                                        .detail(ChatCompletionContentPartImage.ImageUrl.Detail.LOW).build()).build())))
                .build());

        assertThat(c.choices().get(0).message().content()).hasValue("A single pixel.");
        JsonNode content = upstreamRequestFor("what is this image?").at("/messages/0/content");
        assertThat(content.get(0).path("text").asText()).isEqualTo("what is this image?");
        assertThat(content.get(1).path("type").asText()).isEqualTo("image_url");
        assertThat(content.get(1).at("/image_url/url").asText()).isEqualTo("data:image/png;base64," + PNG);
    }

    @Test
    void aJsonSchemaResponseFormatIsPassedThroughAndTheJsonComesBack() throws Exception {
        upstream.reply("{\"city\":\"Oslo\",\"celsius\":21}");

        ChatCompletion c = sdk().chat().completions().create(ask("structured weather please")
                .responseFormat(ResponseFormatJsonSchema.builder().jsonSchema(ResponseFormatJsonSchema.JsonSchema
                        .builder().name("weather").strict(true)
                        .schema(ResponseFormatJsonSchema.JsonSchema.Schema.builder()
                                .putAdditionalProperty("type", JsonValue.from("object"))
                                .putAdditionalProperty("properties", JsonValue.from(Map.of(
                                        "city", Map.of("type", "string"), "celsius", Map.of("type", "integer"))))
                                .putAdditionalProperty("required", JsonValue.from(List.of("city", "celsius")))
                                .putAdditionalProperty("additionalProperties", JsonValue.from(false))
                                .build()).build()).build()).build());

        JsonNode answer = JSON.readTree(c.choices().get(0).message().content().orElseThrow());
        assertThat(answer.path("celsius").asInt()).isEqualTo(21);
        JsonNode format = upstreamRequestFor("structured weather").path("response_format");
        assertThat(format.path("type").asText()).isEqualTo("json_schema");
        assertThat(format.at("/json_schema/name").asText()).isEqualTo("weather");
        assertThat(format.at("/json_schema/strict").asBoolean()).isTrue();
        assertThat(format.at("/json_schema/schema/properties/celsius/type").asText()).isEqualTo("integer");
    }

    // ---- embeddings ----------------------------------------------------------------------------------------------

    @Test
    void theSdkGetsEmbeddingsInInputOrderWhateverTheEncoding() {
        int before = upstream.embeddingRequests().size();

        CreateEmbeddingResponse sdkDefault = sdk().embeddings().create(EmbeddingCreateParams.builder()
                .model("text-embedding-3-small").inputOfArrayOfStrings(List.of("first", "second", "third")).build());
        CreateEmbeddingResponse floats = sdk().embeddings().create(EmbeddingCreateParams.builder()
                .model("text-embedding-3-small").input("one text").dimensions(8)
                .encodingFormat(EmbeddingCreateParams.EncodingFormat.FLOAT).build());

        assertThat(sdkDefault.data()).hasSize(3);
        for (int i = 0; i < 3; i++) {
            float[] expected = FakeOpenAiServer.embeddingOf(List.of("first", "second", "third").get(i), 1536);
            List<Float> got = sdkDefault.data().get(i).embedding();
            assertThat(sdkDefault.data().get(i).index()).isEqualTo(i);
            assertThat(got).hasSize(1536);
            assertThat(got.get(0)).isEqualTo(expected[0]);
            assertThat(got.get(1535)).isEqualTo(expected[1535]);
        }
        assertThat(sdkDefault.usage().promptTokens()).isEqualTo(3);
        assertThat(floats.data().get(0).embedding()).hasSize(8);
        assertThat(floats.data().get(0).embedding().get(0)).isEqualTo(FakeOpenAiServer.embeddingOf("one text", 8)[0]);
        // Three inputs over a model configured with batch=2: two upstream calls, then one for the single input.
        List<RecordedRequest> sent = upstream.embeddingRequests().subList(before, upstream.embeddingRequests().size());
        assertThat(sent).extracting(r -> r.body().path("input").size()).containsExactly(2, 1, 1);
        assertThat(sent.get(2).body().path("dimensions").asInt()).isEqualTo(8);
        assertThat(sent).allSatisfy(r -> assertThat(r.body().path("encoding_format").asText()).isEqualTo("float"));
    }

    @Test
    void embeddingModelsAreListedWithChatModels() {
        var ids = sdk().models().list().data().stream().map(m -> m.id()).toList();
        assertThat(ids).contains("fake-model", "blind-model", "text-embedding-3-small");
    }

    // ---- bad input -----------------------------------------------------------------------------------------------

    @Test
    void badToolInputIsRefusedInOpenAisShapeBeforeTheModelServerIsAsked() throws Exception {
        int before = upstream.chatRequests().size();

        BadRequestException orphan = catchThrowableOfType(BadRequestException.class, () -> sdk().chat().completions()
                .create(ask("orphan").addMessage(ChatCompletionToolMessageParam.builder().toolCallId("call_nowhere")
                        .content("42").build()).build()));
        BadRequestException unknownChoice = catchThrowableOfType(BadRequestException.class, () -> sdk().chat()
                .completions().create(ask("choice").addTool(weatherTool()).toolChoice(ChatCompletionNamedToolChoice
                        .builder().function(ChatCompletionNamedToolChoice.Function.builder().name("time").build())
                        .build()).build()));
        BadRequestException tooMany = catchThrowableOfType(BadRequestException.class, () -> sdk().chat().completions()
                .create(ask("many").addTool(tool("a")).addTool(tool("b")).addTool(tool("c")).addTool(tool("d"))
                        .addTool(tool("e")).build()));
        BadRequestException duplicate = catchThrowableOfType(BadRequestException.class, () -> sdk().chat()
                .completions().create(ask("twice").addTool(tool("a")).addTool(tool("a")).build()));
        HttpResponse<String> unanswered = post("/v1/chat/completions", """
                {"model":"fake-model","messages":[{"role":"user","content":"x"},
                 {"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"weather","arguments":"{}"}}]},
                 {"role":"user","content":"and?"}]}""");
        HttpResponse<String> badSchema = post("/v1/chat/completions", """
                {"model":"fake-model","messages":[{"role":"user","content":"x"}],
                 "tools":[{"type":"function","function":{"name":"f","parameters":[1,2]}}]}""");

        assertThat(orphan.param()).hasValue("messages[1].tool_call_id");
        assertThat(orphan.type()).hasValue("invalid_request_error");
        assertThat(unknownChoice.param()).hasValue("tool_choice");
        assertThat(tooMany.param()).hasValue("tools");
        assertThat(duplicate.param()).hasValue("tools[1].function.name");
        assertThat(unanswered.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(unanswered.body()).at("/error/param").asText()).isEqualTo("messages[1].tool_calls");
        assertThat(badSchema.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(badSchema.body()).at("/error/param").asText()).isEqualTo("tools[0].function.parameters");
        assertThat(upstream.chatRequests()).hasSize(before);
    }

    @Test
    void badImagesAndFormatsAreRefusedBeforeTheModelServerIsAsked() throws Exception {
        int before = upstream.chatRequests().size();
        String big = Base64.getEncoder().encodeToString(new byte[4096]);

        HttpResponse<String> tooLarge = post("/v1/chat/completions", imageRequest("fake-model", "data:image/png;base64," + big));
        HttpResponse<String> wrongType = post("/v1/chat/completions", imageRequest("fake-model",
                "data:image/svg+xml;base64," + PNG));
        HttpResponse<String> blind = post("/v1/chat/completions", imageRequest("blind-model", "data:image/png;base64," + PNG));
        HttpResponse<String> format = post("/v1/chat/completions", """
                {"model":"fake-model","messages":[{"role":"user","content":"x"}],
                 "response_format":{"type":"json_schema","json_schema":{"name":"x","schema":"not an object"}}}""");
        OpenAIServiceException jsonToBlind = catchThrowableOfType(OpenAIServiceException.class, () -> sdk().chat()
                .completions().create(ChatCompletionCreateParams.builder().model("blind-model").addUserMessage("x")
                        .responseFormat(com.openai.models.ResponseFormatJsonObject.builder().build()).build()));

        assertThat(tooLarge.statusCode()).isEqualTo(413);
        assertThat(JSON.readTree(tooLarge.body()).at("/error/param").asText()).isEqualTo("messages[0].content[1]");
        assertThat(JSON.readTree(tooLarge.body()).at("/error/message").asText()).contains("2048");
        assertThat(wrongType.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(wrongType.body()).at("/error/message").asText()).contains("image/svg+xml");
        assertThat(blind.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(blind.body()).at("/error/message").asText()).contains("does not accept images");
        assertThat(format.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(format.body()).at("/error/param").asText()).isEqualTo("response_format.json_schema.schema");
        assertThat(jsonToBlind.statusCode()).isEqualTo(400);
        assertThat(jsonToBlind.param()).hasValue("response_format");
        assertThat(upstream.chatRequests()).hasSize(before);
    }

    @Test
    void badEmbeddingInputIsRefusedInOpenAisShape() throws Exception {
        int before = upstream.embeddingRequests().size();

        HttpResponse<String> empty = post("/v1/embeddings", "{\"model\":\"text-embedding-3-small\",\"input\":[]}");
        HttpResponse<String> tokens = post("/v1/embeddings", "{\"model\":\"text-embedding-3-small\",\"input\":[[1,2]]}");
        HttpResponse<String> unknown = post("/v1/embeddings", "{\"model\":\"no-such-embedder\",\"input\":\"x\"}");
        BadRequestException wide = catchThrowableOfType(BadRequestException.class, () -> sdk().embeddings()
                .create(EmbeddingCreateParams.builder().model("text-embedding-3-small").input("x").dimensions(4096)
                        .build()));

        assertThat(empty.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(empty.body()).at("/error/param").asText()).isEqualTo("input");
        assertThat(tokens.statusCode()).isEqualTo(400);
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(JSON.readTree(unknown.body()).at("/error/code").asText()).isEqualTo("model_not_found");
        assertThat(wide.param()).hasValue("dimensions");
        assertThat(upstream.embeddingRequests()).hasSize(before);
    }

    // ---- the Responses API ---------------------------------------------------------------------------------------

    @Test
    void theSdkGetsAWholeResponse() {
        upstream.enqueue(Behaviour.reply("Parley relays chats.").cachedTokens(1));

        com.openai.models.responses.Response r = sdk().responses().create(
                com.openai.models.responses.ResponseCreateParams.builder().model("fake-model")
                        .instructions("Answer in one sentence.").input("responses: what is parley?")
                        .maxOutputTokens(64).build());

        assertThat(r.id()).startsWith("resp_");
        assertThat(r.status()).hasValue(com.openai.models.responses.ResponseStatus.COMPLETED);
        var message = r.output().get(0).asMessage();
        assertThat(message.content().get(0).asOutputText().text()).isEqualTo("Parley relays chats.");
        assertThat(r.usage().orElseThrow().outputTokens()).isEqualTo(3);
        assertThat(r.usage().orElseThrow().inputTokensDetails().cachedTokens()).isEqualTo(1);
        JsonNode sent = upstreamRequestFor("responses: what is parley?");
        assertThat(sent.at("/messages/0/role").asText()).isEqualTo("system");
        assertThat(sent.at("/messages/0/content").asText()).isEqualTo("Answer in one sentence.");
        assertThat(sent.path("max_tokens").asInt()).isEqualTo(64);
        assertThat(sent.path("stream").asBoolean()).isFalse();
    }

    @Test
    void theSdkStreamsAResponseAsItsEvents() {
        upstream.reply("streamed through the responses API");
        StringBuilder text = new StringBuilder();
        List<com.openai.models.responses.Response> completed = new ArrayList<>();
        List<Long> sequence = new ArrayList<>();

        try (var stream = sdk().responses().createStreaming(com.openai.models.responses.ResponseCreateParams.builder()
                .model("fake-model").input("responses: stream please").build())) {
            stream.stream().forEach(e -> {
                if (e.isOutputTextDelta()) {
                    text.append(e.asOutputTextDelta().delta());
                    sequence.add(e.asOutputTextDelta().sequenceNumber());
                }
                if (e.isCompleted()) {
                    completed.add(e.asCompleted().response());
                }
            });
        }

        assertThat(text.toString()).isEqualTo("streamed through the responses API");
        assertThat(sequence).isSorted().doesNotHaveDuplicates();
        assertThat(completed).singleElement().satisfies(r -> {
            assertThat(r.output().get(0).asMessage().content().get(0).asOutputText().text())
                    .isEqualTo("streamed through the responses API");
            assertThat(r.usage().orElseThrow().outputTokens()).isEqualTo(5);
        });
        assertThat(upstreamRequestFor("responses: stream please").path("stream").asBoolean()).isTrue();
    }

    @Test
    void theResponsesApiRefusesWhatItCannotServe() {
        int before = upstream.chatRequests().size();

        BadRequestException previous = catchThrowableOfType(BadRequestException.class, () -> sdk().responses()
                .create(com.openai.models.responses.ResponseCreateParams.builder().model("fake-model").input("x")
                        .previousResponseId("resp_earlier").build()));

        assertThat(previous.param()).hasValue("previous_response_id");
        assertThat(upstream.chatRequests()).hasSize(before);
    }

    static com.openai.models.responses.FunctionTool responsesWeatherTool() {
        return com.openai.models.responses.FunctionTool.builder().name("weather").description("The weather of a city")
                .strict(false)
                .parameters(com.openai.models.responses.FunctionTool.Parameters.builder()
                        .putAdditionalProperty("type", JsonValue.from("object"))
                        .putAdditionalProperty("properties", JsonValue.from(Map.of("city", Map.of("type", "string"))))
                        .putAdditionalProperty("required", JsonValue.from(List.of("city")))
                        .build())
                .build();
    }

    @Test
    void theSdkStreamsAResponsesFunctionCallAndSendsItsOutputBack() {
        String question = "responses tools: weather in Oslo?";
        upstream.enqueue(Behaviour.toolCall("call_r1", "weather", "{\"city\":\"Oslo\"}"));
        List<ResponseFunctionToolCall> done = new ArrayList<>();
        StringBuilder argumentDeltas = new StringBuilder();
        List<com.openai.models.responses.Response> completed = new ArrayList<>();

        try (var stream = sdk().responses().createStreaming(ResponseCreateParams.builder().model("fake-model")
                .input(question).addTool(responsesWeatherTool()).toolChoice(ToolChoiceOptions.REQUIRED).build())) {
            stream.stream().forEach(e -> {
                if (e.isFunctionCallArgumentsDelta()) {
                    argumentDeltas.append(e.asFunctionCallArgumentsDelta().delta());
                }
                if (e.isOutputItemDone() && e.asOutputItemDone().item().isFunctionCall()) {
                    done.add(e.asOutputItemDone().item().asFunctionCall());
                }
                if (e.isCompleted()) {
                    completed.add(e.asCompleted().response());
                }
            });
        }

        ResponseFunctionToolCall call = done.get(0);
        assertThat(done).hasSize(1);
        assertThat(call.callId()).isEqualTo("call_r1");
        assertThat(call.name()).isEqualTo("weather");
        assertThat(call.arguments()).isEqualTo("{\"city\":\"Oslo\"}").isEqualTo(argumentDeltas.toString());
        assertThat(completed).singleElement().satisfies(r -> {
            assertThat(r.status()).hasValue(com.openai.models.responses.ResponseStatus.COMPLETED);
            assertThat(r.output()).filteredOn(ResponseOutputItem::isFunctionCall).singleElement()
                    .satisfies(o -> assertThat(o.asFunctionCall().callId()).isEqualTo("call_r1"));
            assertThat(r.tools().get(0).asFunction().name()).isEqualTo("weather");
        });
        JsonNode sentFirst = upstreamRequestFor(question);
        assertThat(sentFirst.path("stream").asBoolean()).isTrue();
        assertThat(sentFirst.at("/tools/0/function/name").asText()).isEqualTo("weather");
        assertThat(sentFirst.at("/tools/0/function/parameters/properties/city/type").asText()).isEqualTo("string");
        assertThat(sentFirst.path("tool_choice").asText()).isEqualTo("required");

        upstream.enqueue(Behaviour.reply("Sunny in Oslo."));
        com.openai.models.responses.Response answer = sdk().responses().create(ResponseCreateParams.builder()
                .model("fake-model").addTool(responsesWeatherTool())
                .input(ResponseCreateParams.Input.ofResponse(List.of(
                        ResponseInputItem.ofEasyInputMessage(EasyInputMessage.builder()
                                .role(EasyInputMessage.Role.USER).content(question).build()),
                        ResponseInputItem.ofFunctionCall(call),
                        ResponseInputItem.ofFunctionCallOutput(ResponseInputItem.FunctionCallOutput.builder()
                                .callId(call.callId()).output("sunny, 21 C").build()))))
                .build());

        assertThat(answer.status()).hasValue(com.openai.models.responses.ResponseStatus.COMPLETED);
        assertThat(answer.output().get(0).asMessage().content().get(0).asOutputText().text()).isEqualTo("Sunny in Oslo.");
        JsonNode history = upstreamRequestFor(question).path("messages");
        assertThat(history).hasSize(3);
        assertThat(history.get(1).path("role").asText()).isEqualTo("assistant");
        assertThat(history.get(1).at("/tool_calls/0/id").asText()).isEqualTo("call_r1");
        assertThat(history.get(1).at("/tool_calls/0/function/name").asText()).isEqualTo("weather");
        assertThat(history.get(1).at("/tool_calls/0/function/arguments").asText()).isEqualTo("{\"city\":\"Oslo\"}");
        assertThat(history.get(2).path("role").asText()).isEqualTo("tool");
        assertThat(history.get(2).path("tool_call_id").asText()).isEqualTo("call_r1");
        assertThat(history.get(2).path("content").asText()).isEqualTo("sunny, 21 C");
    }

    @Test
    void badResponsesToolInputIsRefusedBeforeTheModelServerIsAsked() throws Exception {
        int before = upstream.chatRequests().size();
        ResponseCreateParams.Builder ask = ResponseCreateParams.builder().model("fake-model").input("bad tools");

        BadRequestException builtIn = catchThrowableOfType(BadRequestException.class, () -> sdk().responses()
                .create(ask.build().toBuilder().addTool(WebSearchTool.builder().type(WebSearchTool.Type.WEB_SEARCH)
                        .build()).build()));
        BadRequestException tooMany = catchThrowableOfType(BadRequestException.class, () -> {
            var params = ask.build().toBuilder();
            for (String name : List.of("a", "b", "c", "d", "e")) {
                params.addTool(responsesWeatherTool().toBuilder().name(name).build());
            }
            sdk().responses().create(params.build());
        });
        BadRequestException duplicate = catchThrowableOfType(BadRequestException.class, () -> sdk().responses()
                .create(ask.build().toBuilder().addTool(responsesWeatherTool()).addTool(responsesWeatherTool()).build()));
        BadRequestException orphan = catchThrowableOfType(BadRequestException.class, () -> sdk().responses()
                .create(ask.build().toBuilder().input(ResponseCreateParams.Input.ofResponse(List.of(
                        ResponseInputItem.ofEasyInputMessage(EasyInputMessage.builder().role(EasyInputMessage.Role.USER)
                                .content("orphan output").build()),
                        ResponseInputItem.ofFunctionCallOutput(ResponseInputItem.FunctionCallOutput.builder()
                                .callId("call_nowhere").output("42").build())))).build()));
        HttpResponse<String> badSchema = post("/v1/responses", """
                {"model":"fake-model","input":"bad schema",
                 "tools":[{"type":"function","name":"f","parameters":[1,2]}]}""");

        assertThat(builtIn.param()).hasValue("tools[0].type");
        assertThat(builtIn.type()).hasValue("invalid_request_error");
        assertThat(builtIn.getMessage()).contains("web_search");
        assertThat(tooMany.param()).hasValue("tools");
        assertThat(duplicate.param()).hasValue("tools[1].name");
        assertThat(orphan.param()).hasValue("input[1].call_id");
        assertThat(orphan.getMessage()).contains("call_nowhere");
        assertThat(badSchema.statusCode()).isEqualTo(400);
        assertThat(JSON.readTree(badSchema.body()).at("/error/param").asText()).isEqualTo("tools[0].parameters");
        assertThat(upstream.chatRequests()).hasSize(before);
    }

    private static ChatCompletionFunctionTool tool(String name) {
        return ChatCompletionFunctionTool.builder().function(FunctionDefinition.builder().name(name).build()).build();
    }

    private static String imageRequest(String model, String url) {
        return """
                {"model":"%s","messages":[{"role":"user","content":[{"type":"text","text":"what is it?"},
                 {"type":"image_url","image_url":{"url":"%s"}}]}]}""".formatted(model, url);
    }

    private static HttpResponse<String> post(String path, String body) throws Exception {
        return HTTP.send(parley.request(path)
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}

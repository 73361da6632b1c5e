package dev.parley.web.rest.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.chat.Role;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ContentPart;
import dev.parley.api.llm.ResponseFormat;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolChoice;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Base64;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The OpenAI shapes added for tools, images, response formats, cached tokens and embeddings, over real HTTP. */
class OpenAiToolsImagesEmbeddingsApiTest {
    private final ScriptedChatService chat = new ScriptedChatService();
    private RestServer server;

    @BeforeEach
    void start() {
        server = new RestServer(chat, new StubHealthChecks());
    }

    @AfterEach
    void stop() {
        server.close();
        chat.close();
    }

    private HttpResponse<String> completion(String body) throws Exception {
        return server.postJson("v1/chat/completions", body);
    }

    private JsonNode error(HttpResponse<String> r, int status) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        return server.parse(r).get("error");
    }

    private List<JsonNode> streamedChunks(String body) throws Exception {
        HttpResponse<InputStream> r = server.client.send(server.request("v1/chat/completions")
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        List<JsonNode> chunks = new ArrayList<>();
        try (SseReader sse = new SseReader(r.body())) {
            for (SseReader.Event e = sse.next(); e != null; e = sse.next()) {
                if (!e.data().equals("[DONE]")) {
                    chunks.add(server.json.readTree(e.data()));
                }
            }
        }
        return chunks;
    }

    @Test
    void toolsToolChoiceAndAToolRoundTripReachCore() throws Exception {
        HttpResponse<String> r = completion("""
                {"model":"test-model","parallel_tool_calls":false,
                 "tools":[{"type":"function","function":{"name":"weather","description":"Weather of a city","strict":true,
                   "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}}],
                 "tool_choice":{"type":"function","function":{"name":"weather"}},
                 "messages":[{"role":"user","content":"weather in Oslo?"},
                  {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function",
                    "function":{"name":"weather","arguments":"{\\"city\\":\\"Oslo\\"}"}}]},
                  {"role":"tool","tool_call_id":"call_1","content":"sunny"}]}""");

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        ChatRequest sent = chat.completions.get(0);
        assertThat(sent.tools()).singleElement().satisfies(t -> {
            assertThat(t.name()).isEqualTo("weather");
            assertThat(server.json.readTree(t.parametersJsonSchema()).at("/properties/city/type").asText())
                    .isEqualTo("string");
        });
        assertThat(sent.options().toolChoice()).isEqualTo(ToolChoice.tool("weather"));
        assertThat(sent.messages()).extracting(m -> m.role()).containsExactly(Role.USER, Role.ASSISTANT, Role.TOOL);
        assertThat(sent.messages().get(1).toolCalls()).containsExactly(new ToolCall("call_1", "weather",
                "{\"city\":\"Oslo\"}"));
        assertThat(sent.messages().get(2).toolCallId()).isEqualTo("call_1");
        assertThat(sent.messages().get(2).content()).isEqualTo("sunny");
    }

    @Test
    void toolChoiceStringsAndBadShapes() throws Exception {
        for (String choice : List.of("auto", "none", "required")) {
            completion("{\"tool_choice\":\"" + choice + "\",\"tools\":[{\"type\":\"function\",\"function\":{\"name\":"
                    + "\"f\"}}],\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        }
        assertThat(chat.completions).extracting(c -> c.options().toolChoice().mode()).containsExactly(
                ToolChoice.Mode.AUTO, ToolChoice.Mode.NONE, ToolChoice.Mode.REQUIRED);

        assertThat(error(completion("{\"tool_choice\":\"sometimes\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"),
                400).get("param").asText()).isEqualTo("tool_choice");
        assertThat(error(completion("{\"tool_choice\":{\"type\":\"function\"},\"messages\":[{\"role\":\"user\","
                + "\"content\":\"x\"}]}"), 400).get("param").asText()).isEqualTo("tool_choice");
        assertThat(error(completion("{\"tools\":[{\"type\":\"function\",\"function\":{\"name\":\"f\",\"parameters\":"
                + "\"not a schema\"}}],\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"), 400).get("param").asText())
                .isEqualTo("tools[0].function.parameters");
        assertThat(error(completion("{\"messages\":[{\"role\":\"tool\",\"content\":\"x\"}]}"), 400).get("param")
                .asText()).isEqualTo("messages[0].tool_call_id");
        assertThat(chat.completions).hasSize(3);
    }

    @Test
    void imagePartsBecomeContentParts() throws Exception {
        HttpResponse<String> r = completion("""
                {"messages":[{"role":"user","content":[{"type":"text","text":"what is in these?"},
                  {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"low"}},
                  {"type":"image_url","image_url":{"url":"https://example.com/cat.jpg"}}]}]}""");

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        var message = chat.completions.get(0).messages().get(0);
        assertThat(message.parts()).containsExactly(ContentPart.text("what is in these?"),
                ContentPart.imageBase64("image/png", "iVBORw0KGgo="),
                ContentPart.imageUrl("https://example.com/cat.jpg", null));
        assertThat(message.content()).isEqualTo("what is in these?");
    }

    @Test
    void malformedImagePartsAreRefusedWithTheirParam() throws Exception {
        assertThat(error(completion("""
                {"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"data:image/png,raw"}}]}]}"""),
                400).get("param").asText()).isEqualTo("messages[0].content[0].image_url.url");
        assertThat(error(completion("""
                {"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"https://x/y.png",
                  "detail":"ultra"}}]}]}"""), 400).get("param").asText()).isEqualTo("messages[0].content[0].image_url.detail");
        assertThat(error(completion("""
                {"messages":[{"role":"user","content":[{"type":"input_audio","input_audio":{}}]}]}"""), 400)
                .get("param").asText()).isEqualTo("messages[0].content[0].type");
        assertThat(chat.completions).isEmpty();
    }

    @Test
    void responseFormatsReachCoreAndBadOnesAreRefused() throws Exception {
        completion("{\"response_format\":{\"type\":\"json_object\"},\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");
        completion("""
                {"response_format":{"type":"json_schema","json_schema":{"name":"answer","strict":true,
                  "schema":{"type":"object","properties":{"n":{"type":"integer"}}}}},
                 "messages":[{"role":"user","content":"x"}]}""");

        assertThat(chat.completions.get(0).options().responseFormat()).isEqualTo(ResponseFormat.JSON_OBJECT);
        ResponseFormat schema = chat.completions.get(1).options().responseFormat();
        assertThat(schema.type()).isEqualTo(ResponseFormat.Type.JSON_SCHEMA);
        assertThat(schema.name()).isEqualTo("answer");
        assertThat(schema.strict()).isTrue();
        assertThat(server.json.readTree(schema.jsonSchema()).at("/properties/n/type").asText()).isEqualTo("integer");
        assertThat(error(completion("{\"response_format\":{\"type\":\"yaml\"},\"messages\":[{\"role\":\"user\","
                + "\"content\":\"x\"}]}"), 400).get("param").asText()).isEqualTo("response_format.type");
        assertThat(error(completion("{\"response_format\":{\"type\":\"json_schema\",\"json_schema\":{\"name\":\"a\","
                + "\"schema\":[1]}},\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"), 400).get("param").asText())
                .isEqualTo("response_format.json_schema.schema");
        assertThat(chat.completions).hasSize(2);
    }

    @Test
    void aWholeToolCallAnswerHasOpenAisShapeAndCachedTokens() throws Exception {
        chat.tokens = List.of();
        chat.cachedTokens = 5;
        chat.toolCalls = List.of(new ToolCall("call_a", "weather", "{\"city\":\"Oslo\"}"),
                new ToolCall("call_b", "time", "{}"));

        JsonNode body = server.parse(completion("{\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}"));

        JsonNode message = body.at("/choices/0/message");
        assertThat(message.get("content").isNull()).isTrue();
        assertThat(message.at("/tool_calls/0/id").asText()).isEqualTo("call_a");
        assertThat(message.at("/tool_calls/0/type").asText()).isEqualTo("function");
        assertThat(message.at("/tool_calls/0/function/arguments").asText()).isEqualTo("{\"city\":\"Oslo\"}");
        assertThat(message.at("/tool_calls/1/function/name").asText()).isEqualTo("time");
        assertThat(message.at("/tool_calls/0").has("index")).isFalse();
        assertThat(body.at("/choices/0/finish_reason").asText()).isEqualTo("tool_calls");
        assertThat(body.at("/usage/prompt_tokens_details/cached_tokens").asInt()).isEqualTo(5);
    }

    @Test
    void streamedToolCallsGoOutAsOpenAiStreamsThem() throws Exception {
        chat.tokens = List.of();
        chat.cachedTokens = 2;
        chat.toolCalls = List.of(new ToolCall("call_a", "weather", "{\"city\":\"Oslo\"}"),
                new ToolCall("call_b", "time", "{}"));

        List<JsonNode> chunks = streamedChunks("{\"stream\":true,\"stream_options\":{\"include_usage\":true},"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"x\"}]}");

        List<JsonNode> calls = chunks.stream().map(c -> c.at("/choices/0/delta/tool_calls")).filter(JsonNode::isArray)
                .toList();
        assertThat(calls).hasSize(4);
        assertThat(calls.get(0).get(0).get("index").asInt()).isZero();
        assertThat(calls.get(0).get(0).get("id").asText()).isEqualTo("call_a");
        assertThat(calls.get(0).get(0).at("/function/name").asText()).isEqualTo("weather");
        assertThat(calls.get(0).get(0).at("/function/arguments").asText()).isEmpty();
        assertThat(calls.get(1).get(0).has("id")).isFalse();
        assertThat(calls.get(1).get(0).at("/function").has("name")).isFalse();
        assertThat(calls.get(1).get(0).at("/function/arguments").asText()).isEqualTo("{\"city\":\"Oslo\"}");
        assertThat(calls.get(2).get(0).get("index").asInt()).isEqualTo(1);
        assertThat(calls.get(2).get(0).get("id").asText()).isEqualTo("call_b");
        JsonNode finish = chunks.get(chunks.size() - 2);
        assertThat(finish.at("/choices/0/finish_reason").asText()).isEqualTo("tool_calls");
        assertThat(chunks.get(chunks.size() - 1).at("/usage/prompt_tokens_details/cached_tokens").asInt()).isEqualTo(2);
    }

    // ---- embeddings ------------------------------------------------------------------------------------------------

    @Test
    void embeddingsAsFloatsAndAsBase64() throws Exception {
        JsonNode floats = server.parse(server.postJson("v1/embeddings",
                "{\"model\":\"test-embed\",\"input\":[\"a\",\"bcd\"]}"));
        JsonNode single = server.parse(server.postJson("v1/embeddings",
                "{\"model\":\"test-embed\",\"input\":\"hello\",\"encoding_format\":\"base64\",\"dimensions\":3}"));

        assertThat(floats.get("object").asText()).isEqualTo("list");
        assertThat(floats.get("model").asText()).isEqualTo("test-embed");
        assertThat(floats.at("/data/1/object").asText()).isEqualTo("embedding");
        assertThat(floats.at("/data/1/index").asInt()).isEqualTo(1);
        assertThat(floats.at("/data/1/embedding")).extracting(JsonNode::floatValue).containsExactly(1f, 3f, 0.5f);
        assertThat(floats.at("/usage/prompt_tokens").asInt()).isEqualTo(4);
        assertThat(floats.at("/usage/total_tokens").asInt()).isEqualTo(4);
        ByteBuffer bytes = ByteBuffer.wrap(Base64.getDecoder().decode(single.at("/data/0/embedding").asText()))
                .order(ByteOrder.LITTLE_ENDIAN);
        assertThat(new float[] {bytes.getFloat(), bytes.getFloat(), bytes.getFloat()}).containsExactly(0f, 5f, 0.5f);
        assertThat(server.embeddings.requests.get(1).dimensions()).isEqualTo(3);
        // Always as the caller, so that core can count the request in its budgets.
        assertThat(server.embeddings.callers).hasSize(2).allSatisfy(c -> assertThat(c).isNotNull());
    }

    @Test
    void anEmbeddingsRequestOverBudgetIsRefusedWith402InOpenAisShape() throws Exception {
        server.embeddings.failure = new ParleyException(ErrorCode.BUDGET_EXCEEDED, "The daily token budget of the "
                + "user 'tester' is used up.", java.time.Duration.ofSeconds(60), null);
        HttpResponse<String> refused = server.postJson("v1/embeddings", "{\"model\":\"test-embed\",\"input\":\"a\"}");
        JsonNode error = error(refused, 402);
        assertThat(error.get("type").asText()).isEqualTo("insufficient_quota");
        assertThat(error.get("code").asText()).isEqualTo("budget_exceeded");
        assertThat(error.get("message").asText()).contains("user 'tester'");
        assertThat(refused.headers().firstValue("Retry-After")).contains("60");
    }

    @Test
    void badEmbeddingRequestsAreRefusedWithTheirParam() throws Exception {
        assertThat(error(server.postJson("v1/embeddings", "{\"model\":\"test-embed\",\"input\":[]}"), 400)
                .get("param").asText()).isEqualTo("input");
        assertThat(error(server.postJson("v1/embeddings", "{\"model\":\"test-embed\",\"input\":\"\"}"), 400)
                .get("param").asText()).isEqualTo("input");
        assertThat(error(server.postJson("v1/embeddings", "{\"model\":\"test-embed\",\"input\":[[1,2,3]]}"), 400)
                .get("message").asText()).contains("Token arrays");
        assertThat(error(server.postJson("v1/embeddings", "{\"model\":\"test-embed\",\"input\":[\"a\",7]}"), 400)
                .get("message").asText()).contains("Token arrays");
        assertThat(error(server.postJson("v1/embeddings", "{\"model\":\"test-embed\",\"input\":\"a\","
                + "\"encoding_format\":\"int8\"}"), 400).get("param").asText()).isEqualTo("encoding_format");
        assertThat(error(server.postJson("v1/embeddings", "{\"input\":\"a\"}"), 400).get("param").asText())
                .isEqualTo("model");
        assertThat(server.embeddings.requests).isEmpty();

        JsonNode unknown = error(server.postJson("v1/embeddings", "{\"model\":\"nope\",\"input\":\"a\"}"), 404);
        assertThat(unknown.get("code").asText()).isEqualTo("model_not_found");
        server.embeddings.failure = ParleyException.invalid("input[0]", "input 0 is too long");
        assertThat(error(server.postJson("v1/embeddings", "{\"model\":\"test-embed\",\"input\":\"a\"}"), 400)
                .get("param").asText()).isEqualTo("input[0]");
        server.embeddings.failure = new ParleyException(ErrorCode.RATE_LIMITED, "slow down",
                java.time.Duration.ofSeconds(3), null);
        HttpResponse<String> limited = server.postJson("v1/embeddings", "{\"model\":\"test-embed\",\"input\":\"a\"}");
        assertThat(error(limited, 429).get("type").asText()).isEqualTo("rate_limit_error");
        assertThat(limited.headers().firstValue("Retry-After")).contains("3");
    }
}

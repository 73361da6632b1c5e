package dev.parley.web.rest.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.chat.Role;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ContentPart;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ResponseFormat;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolChoice;
import dev.parley.api.llm.ToolSpec;
import java.io.InputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code POST /v1/responses} over real HTTP: the response object, the streamed events, input items, refusals. */
class ResponsesApiTest {
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

    record Event(String name, JsonNode data) {
    }

    private List<Event> events(String body) throws Exception {
        HttpResponse<InputStream> r = server.client.send(server.request("v1/responses")
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofInputStream());
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/event-stream"));
        List<Event> out = new ArrayList<>();
        try (SseReader sse = new SseReader(r.body())) {
            for (SseReader.Event e = sse.next(); e != null; e = sse.next()) {
                out.add(new Event(e.name(), server.json.readTree(e.data())));
            }
        }
        return out;
    }

    @Test
    void aWholeResponseHasTheDocumentedShape() throws Exception {
        chat.cachedTokens = 2;
        HttpResponse<String> r = server.postJson("v1/responses",
                "{\"model\":\"test-model\",\"instructions\":\"Be brief\",\"input\":\"Hi\",\"max_output_tokens\":50}");

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode body = server.parse(r);
        assertThat(body.get("id").asText()).startsWith("resp_");
        assertThat(body.get("object").asText()).isEqualTo("response");
        assertThat(body.get("status").asText()).isEqualTo("completed");
        assertThat(body.get("model").asText()).isEqualTo("test-model");
        assertThat(body.get("instructions").asText()).isEqualTo("Be brief");
        assertThat(body.get("max_output_tokens").asInt()).isEqualTo(50);
        assertThat(body.at("/output/0/type").asText()).isEqualTo("message");
        assertThat(body.at("/output/0/role").asText()).isEqualTo("assistant");
        assertThat(body.at("/output/0/id").asText()).startsWith("msg_");
        assertThat(body.at("/output/0/content/0/type").asText()).isEqualTo("output_text");
        assertThat(body.at("/output/0/content/0/text").asText()).isEqualTo("Hello world");
        assertThat(body.at("/usage/input_tokens").asInt()).isEqualTo(7);
        assertThat(body.at("/usage/input_tokens_details/cached_tokens").asInt()).isEqualTo(2);
        assertThat(body.at("/usage/output_tokens").asInt()).isEqualTo(3);
        assertThat(body.at("/usage/total_tokens").asInt()).isEqualTo(10);
        assertThat(body.get("error").isNull()).isTrue();
        assertThat(body.at("/text/format/type").asText()).isEqualTo("text");
        assertThat(chat.calls).containsExactly("completeWhole");
        ChatRequest sent = chat.completions.get(0);
        assertThat(sent.messages()).extracting(m -> m.role()).containsExactly(Role.SYSTEM, Role.USER);
        assertThat(sent.options().maxTokens()).isEqualTo(50);
    }

    @Test
    void aStreamSendsTheDocumentedEventsInOrder() throws Exception {
        List<Event> events = events("{\"model\":\"test-model\",\"input\":\"Hi\",\"stream\":true}");

        assertThat(events).extracting(Event::name).containsExactly("response.created", "response.in_progress",
                "response.output_item.added", "response.content_part.added", "response.output_text.delta",
                "response.output_text.delta", "response.output_text.delta", "response.output_text.done",
                "response.content_part.done", "response.output_item.done", "response.completed");
        for (int i = 0; i < events.size(); i++) {
            assertThat(events.get(i).data().get("type").asText()).isEqualTo(events.get(i).name());
            assertThat(events.get(i).data().get("sequence_number").asInt()).isEqualTo(i);
        }
        StringBuilder text = new StringBuilder();
        String itemId = events.get(2).data().at("/item/id").asText();
        events.stream().filter(e -> e.name().equals("response.output_text.delta")).forEach(e -> {
            assertThat(e.data().get("item_id").asText()).isEqualTo(itemId);
            text.append(e.data().get("delta").asText());
        });
        assertThat(text.toString()).isEqualTo("Hello world");
        assertThat(events.get(7).data().get("text").asText()).isEqualTo("Hello world");
        JsonNode completed = events.get(10).data().get("response");
        assertThat(completed.get("status").asText()).isEqualTo("completed");
        assertThat(completed.at("/output/0/content/0/text").asText()).isEqualTo("Hello world");
        assertThat(completed.at("/usage/output_tokens").asInt()).isEqualTo(3);
        assertThat(events.get(0).data().at("/response/status").asText()).isEqualTo("in_progress");
        assertThat(chat.calls).containsExactly("complete");
    }

    @Test
    void aFailureAfterTheStreamBeganIsResponseFailed() throws Exception {
        chat.failAfterTokens = new ParleyException(ErrorCode.UPSTREAM_FAILURE, "model server fell over");

        List<Event> events = events("{\"input\":\"Hi\",\"stream\":true}");

        Event last = events.get(events.size() - 1);
        assertThat(last.name()).isEqualTo("response.failed");
        assertThat(last.data().at("/response/status").asText()).isEqualTo("failed");
        assertThat(last.data().at("/response/error/code").asText()).isEqualTo("upstream_failure");
        assertThat(last.data().at("/response/error/message").asText()).isEqualTo("model server fell over");
    }

    @Test
    void inputItemsImagesAndTextFormatsReachCore() throws Exception {
        HttpResponse<String> r = server.postJson("v1/responses", """
                {"model":"test-model","text":{"format":{"type":"json_schema","name":"cap","strict":true,
                  "schema":{"type":"object","properties":{"caption":{"type":"string"}}}}},
                 "input":[{"role":"developer","content":"Answer in JSON"},
                  {"type":"message","role":"user","content":[{"type":"input_text","text":"caption this"},
                    {"type":"input_image","image_url":"data:image/png;base64,iVBORw0KGgo=","detail":"auto"}]},
                  {"role":"assistant","content":[{"type":"output_text","text":"earlier answer"}]}]}""");

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        ChatRequest sent = chat.completions.get(0);
        assertThat(sent.messages()).extracting(m -> m.role()).containsExactly(Role.SYSTEM, Role.USER, Role.ASSISTANT);
        assertThat(sent.messages().get(1).parts()).containsExactly(ContentPart.text("caption this"),
                ContentPart.imageBase64("image/png", "iVBORw0KGgo="));
        assertThat(sent.messages().get(2).content()).isEqualTo("earlier answer");
        assertThat(sent.options().responseFormat().type()).isEqualTo(ResponseFormat.Type.JSON_SCHEMA);
        assertThat(sent.options().responseFormat().name()).isEqualTo("cap");
        assertThat(server.parse(r).at("/text/format/name").asText()).isEqualTo("cap");
    }

    @Test
    void whatIsNotServedIsRefusedWithItsParam() throws Exception {
        assertParam(server.postJson("v1/responses", "{\"input\":\"x\",\"previous_response_id\":\"resp_1\"}"),
                "previous_response_id");
        assertParam(server.postJson("v1/responses", "{\"input\":[{\"type\":\"reasoning\",\"summary\":[]}]}"),
                "input[0].type");
        assertParam(server.postJson("v1/responses", "{\"input\":[]}"), "input");
        assertParam(server.postJson("v1/responses", "{\"model\":\"test-model\"}"), "input");
        assertParam(server.postJson("v1/responses", "{\"input\":[{\"role\":\"user\",\"content\":[{\"type\":"
                + "\"input_audio\"}]}]}"), "input[0].content[0].type");
        assertParam(server.postJson("v1/responses", "{\"input\":\"x\",\"text\":{\"format\":{\"type\":\"json_schema\","
                + "\"name\":\"a\",\"schema\":true}}}"), "text.format.schema");
        assertThat(chat.completions).isEmpty();
    }

    // ---- function tools -------------------------------------------------------------------------------------------

    private static final String WEATHER_TOOL = """
            {"type":"function","name":"weather","description":"The weather of a city","strict":true,
             "parameters":{"type":"object","properties":{"city":{"type":"string"}},"required":["city"]}}""";

    @Test
    void functionToolsReachCoreAndAWholeAnswerListsItsCalls() throws Exception {
        chat.tokens = List.of();
        chat.toolCalls = List.of(new ToolCall("call_1", "weather", "{\"city\":\"Oslo\"}"),
                new ToolCall("call_2", "weather", "{\"city\":\"Rome\"}"));

        HttpResponse<String> r = server.postJson("v1/responses", """
                {"model":"test-model","input":"weather in Oslo and Rome?","tools":[%s,{"type":"function","name":"time"}],
                 "tool_choice":{"type":"function","name":"weather"},"parallel_tool_calls":false}""".formatted(WEATHER_TOOL));

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        JsonNode body = server.parse(r);
        assertThat(body.get("status").asText()).isEqualTo("completed");
        assertThat(body.get("incomplete_details").isNull()).isTrue();
        // Only the calls: no empty message item, as OpenAI answers a calls-only turn.
        assertThat(body.get("output")).extracting(o -> o.get("type").asText() + " " + o.get("call_id").asText() + " "
                + o.get("name").asText() + " " + o.get("arguments").asText() + " " + o.get("status").asText())
                .containsExactly("function_call call_1 weather {\"city\":\"Oslo\"} completed",
                        "function_call call_2 weather {\"city\":\"Rome\"} completed");
        assertThat(body.at("/output/0/id").asText()).startsWith("fc_").isNotEqualTo(body.at("/output/1/id").asText());
        assertThat(body.at("/tools/0/name").asText()).isEqualTo("weather");
        assertThat(body.at("/tools/0/strict").asBoolean()).isTrue();
        assertThat(body.at("/tools/0/parameters/required/0").asText()).isEqualTo("city");
        assertThat(body.at("/tools/1/parameters").isNull()).isTrue();
        assertThat(body.at("/tool_choice/name").asText()).isEqualTo("weather");
        assertThat(body.get("parallel_tool_calls").asBoolean()).isFalse();

        ChatRequest sent = chat.completions.get(0);
        assertThat(sent.tools()).extracting(ToolSpec::name).containsExactly("weather", "time");
        assertThat(sent.tools().get(0).description()).isEqualTo("The weather of a city");
        assertThat(server.json.readTree(sent.tools().get(0).parametersJsonSchema()).at("/properties/city/type").asText())
                .isEqualTo("string");
        assertThat(sent.tools().get(1).parametersJsonSchema()).isNull();
        assertThat(sent.options().toolChoice()).isEqualTo(ToolChoice.tool("weather"));
    }

    @Test
    void toolChoiceStringsMapAndTextComesWithCalls() throws Exception {
        chat.toolCalls = List.of(new ToolCall("call_1", "weather", "{}"));
        for (String choice : List.of("auto", "none", "required")) {
            HttpResponse<String> r = server.postJson("v1/responses", """
                    {"input":"x","tools":[%s],"tool_choice":"%s"}""".formatted(WEATHER_TOOL, choice));
            assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
            JsonNode body = server.parse(r);
            assertThat(body.get("tool_choice").asText()).isEqualTo(choice);
            assertThat(body.get("parallel_tool_calls").asBoolean()).isTrue();
            assertThat(body.get("output")).extracting(o -> o.get("type").asText()).containsExactly("message",
                    "function_call");
            assertThat(body.at("/output/0/content/0/text").asText()).isEqualTo("Hello world");
        }
        assertThat(chat.completions).extracting(c -> c.options().toolChoice()).containsExactly(ToolChoice.AUTO,
                ToolChoice.NONE, ToolChoice.REQUIRED);
    }

    @Test
    void aCallCutOffByTheTokenLimitIsIncomplete() throws Exception {
        chat.tokens = List.of();
        chat.toolCalls = List.of(new ToolCall("call_1", "weather", "{\"city\":\"Oslo\"}"),
                new ToolCall("call_2", "weather", "{\"ci"));
        chat.finishReason = FinishReason.LENGTH;

        JsonNode body = server.parse(server.postJson("v1/responses", """
                {"input":"x","max_output_tokens":5,"tools":[%s]}""".formatted(WEATHER_TOOL)));

        assertThat(body.get("status").asText()).isEqualTo("incomplete");
        assertThat(body.at("/incomplete_details/reason").asText()).isEqualTo("max_output_tokens");
        assertThat(body.get("output")).extracting(o -> o.get("status").asText()).containsExactly("completed",
                "incomplete");
    }

    @Test
    void functionCallsAndTheirOutputsBecomeTheHistory() throws Exception {
        HttpResponse<String> r = server.postJson("v1/responses", """
                {"model":"test-model","instructions":"Use tools","tools":[%s],
                 "input":[{"role":"user","content":"weather in Oslo and Rome?"},
                  {"type":"message","role":"assistant","content":[{"type":"output_text","text":"Let me look."}]},
                  {"type":"function_call","id":"fc_1","call_id":"call_a","name":"weather","arguments":"{\\"city\\":\\"Oslo\\"}","status":"completed"},
                  {"type":"function_call","call_id":"call_b","name":"weather","arguments":"{\\"city\\":\\"Rome\\"}"},
                  {"type":"function_call_output","call_id":"call_b","output":"rain"},
                  {"type":"function_call_output","call_id":"call_a","output":[{"type":"input_text","text":"sunny, "},
                    {"type":"input_text","text":"21 C"}]},
                  {"role":"assistant","content":"Oslo is sunny."},
                  {"role":"user","content":"and tomorrow?"},
                  {"type":"function_call","call_id":"call_c","name":"weather","arguments":"{}"},
                  {"type":"function_call_output","call_id":"call_c","output":"snow"}]}""".formatted(WEATHER_TOOL));

        assertThat(r.statusCode()).as(r.body()).isEqualTo(200);
        ChatRequest sent = chat.completions.get(0);
        assertThat(sent.messages()).extracting(m -> m.role() + " " + m.content() + " " + m.toolCalls().stream()
                .map(c -> c.id() + ":" + c.name() + ":" + c.argumentsJson()).toList() + " " + m.toolCallId())
                .containsExactly(
                        "SYSTEM Use tools [] null",
                        "USER weather in Oslo and Rome? [] null",
                        "ASSISTANT Let me look. [call_a:weather:{\"city\":\"Oslo\"}, call_b:weather:{\"city\":\"Rome\"}] null",
                        "TOOL rain [] call_b",
                        "TOOL sunny, 21 C [] call_a",
                        "ASSISTANT Oslo is sunny. [] null",
                        "USER and tomorrow? [] null",
                        "ASSISTANT  [call_c:weather:{}] null",
                        "TOOL snow [] call_c");
    }

    @Test
    void badToolsAndToolItemsAreRefusedWithTheirParam() throws Exception {
        String user = "{\"role\":\"user\",\"content\":\"x\"}";
        String call = "{\"type\":\"function_call\",\"call_id\":\"call_1\",\"name\":\"weather\",\"arguments\":\"{}\"}";
        String output = "{\"type\":\"function_call_output\",\"call_id\":\"call_1\",\"output\":\"42\"}";

        for (String builtIn : List.of("web_search", "file_search", "computer_use_preview", "code_interpreter", "mcp")) {
            HttpResponse<String> r = server.postJson("v1/responses", "{\"input\":\"x\",\"tools\":[" + WEATHER_TOOL
                    + ",{\"type\":\"" + builtIn + "\"}]}");
            assertParam(r, "tools[1].type");
            assertThat(server.parse(r).at("/error/message").asText()).contains("'" + builtIn + "'");
        }
        assertParam(server.postJson("v1/responses", "{\"input\":\"x\",\"tools\":{\"type\":\"function\"}}"), "tools");
        assertParam(server.postJson("v1/responses", "{\"input\":\"x\",\"tools\":[{\"name\":\"f\"}]}"), "tools[0].type");
        HttpResponse<String> nested = server.postJson("v1/responses", "{\"input\":\"x\",\"tools\":[{\"type\":"
                + "\"function\",\"function\":{\"name\":\"f\"}}]}");
        assertParam(nested, "tools[0].name");
        assertThat(server.parse(nested).at("/error/message").asText()).contains("flat");
        assertParam(server.postJson("v1/responses", "{\"input\":\"x\",\"tools\":[{\"type\":\"function\","
                + "\"name\":\"f\",\"parameters\":[1,2]}]}"), "tools[0].parameters");
        assertParam(server.postJson("v1/responses", "{\"input\":\"x\",\"tools\":[{\"type\":\"function\","
                + "\"name\":\"f\",\"strict\":\"yes\"}]}"), "tools[0].strict");
        assertParam(server.postJson("v1/responses", "{\"input\":\"x\",\"tool_choice\":\"sometimes\"}"), "tool_choice");
        assertParam(server.postJson("v1/responses", "{\"input\":\"x\",\"tool_choice\":{\"type\":"
                + "\"web_search_preview\"}}"), "tool_choice");
        assertParam(server.postJson("v1/responses", "{\"input\":\"x\",\"tool_choice\":{\"type\":\"function\"}}"),
                "tool_choice");

        HttpResponse<String> orphan = server.postJson("v1/responses", "{\"input\":[" + user + ","
                + output.replace("call_1", "call_nowhere") + "]}");
        assertParam(orphan, "input[1].call_id");
        assertThat(server.parse(orphan).at("/error/message").asText()).contains("call_nowhere");
        assertParam(server.postJson("v1/responses", "{\"input\":[" + user + "," + call + "," + output + "," + output
                + "]}"), "input[3].call_id");
        assertParam(server.postJson("v1/responses", "{\"input\":[" + user + "," + call + "," + call + "]}"),
                "input[2].call_id");
        assertParam(server.postJson("v1/responses", "{\"input\":[" + user + "," + call + "," + user + "]}"), "input[1]");
        assertParam(server.postJson("v1/responses", "{\"input\":[" + user + "," + call + "]}"), "input[1]");
        assertParam(server.postJson("v1/responses", "{\"input\":[" + user + ","
                + call.replace(",\"arguments\":\"{}\"", ",\"arguments\":{}") + "," + output + "]}"), "input[1].arguments");
        assertParam(server.postJson("v1/responses", "{\"input\":[" + user + "," + call.replace("\"name\":\"weather\",", "")
                + "," + output + "]}"), "input[1].name");
        assertParam(server.postJson("v1/responses", "{\"input\":[" + user + "," + call + ","
                + output.replace("\"42\"", "[{\"type\":\"input_image\",\"image_url\":\"https://x/y.png\"}]") + "]}"),
                "input[2].output[0]");
        assertThat(chat.completions).isEmpty();
    }

    @Test
    void coreRefusalsNameTheFieldAsTheResponsesRequestHasIt() throws Exception {
        String body = """
                {"instructions":"be brief","tools":[%s,{"type":"function","name":"bad name"}],
                 "input":[{"role":"user","content":"x"},{"role":"user","content":[{"type":"input_text","text":"this"},
                   {"type":"input_image","image_url":"data:image/svg+xml;base64,PHN2Zz4="}]}]}""".formatted(WEATHER_TOOL);

        chat.failOnCall = ParleyException.invalid("tools[1].function.name", "tool name 'bad name' must be ...");
        assertParam(server.postJson("v1/responses", body), "tools[1].name");
        chat.failOnCall = ParleyException.invalid("messages[2].content[1]", "image type 'image/svg+xml' is not supported");
        assertParam(server.postJson("v1/responses", body), "input[1].content[1]");
        chat.failOnCall = ParleyException.invalid("tools", "5 tools; at most 4 are allowed per request");
        assertParam(server.postJson("v1/responses", body), "tools");
    }

    private void assertParam(HttpResponse<String> r, String param) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        JsonNode error = server.parse(r).get("error");
        assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(error.get("param").asText()).isEqualTo(param);
    }
}

package dev.parley.web.rest.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.chat.Role;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ContentPart;
import dev.parley.api.llm.ResponseFormat;
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
        assertParam(server.postJson("v1/responses", "{\"input\":\"x\",\"tools\":[{\"type\":\"web_search\"}]}"), "tools");
        assertParam(server.postJson("v1/responses", "{\"input\":[{\"type\":\"function_call_output\",\"call_id\":\"c\","
                + "\"output\":\"x\"}]}"), "input[0].type");
        assertParam(server.postJson("v1/responses", "{\"input\":[]}"), "input");
        assertParam(server.postJson("v1/responses", "{\"model\":\"test-model\"}"), "input");
        assertParam(server.postJson("v1/responses", "{\"input\":[{\"role\":\"user\",\"content\":[{\"type\":"
                + "\"input_audio\"}]}]}"), "input[0].content[0].type");
        assertParam(server.postJson("v1/responses", "{\"input\":\"x\",\"text\":{\"format\":{\"type\":\"json_schema\","
                + "\"name\":\"a\",\"schema\":true}}}"), "text.format.schema");
        assertThat(chat.completions).isEmpty();
    }

    private void assertParam(HttpResponse<String> r, String param) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(400);
        JsonNode error = server.parse(r).get("error");
        assertThat(error.get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(error.get("param").asText()).isEqualTo(param);
    }
}

package dev.parley.web.rest.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.chat.Role;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ContentPart;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolChoice;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The Anthropic-compatible Messages API at its edges: shapes in and out, events in order, and Anthropic's errors. */
class MessagesServletTest {
    private static final String HI = "{\"model\":\"test-model\",\"max_tokens\":100,\"system\":\"Be brief.\","
            + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}";
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

    @Test
    void answersOneMessageWhenNoStreamIsAskedFor() throws Exception {
        HttpResponse<String> r = server.postJson("v1/messages", HI);

        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode m = server.parse(r);
        assertThat(m.get("type").asText()).isEqualTo("message");
        assertThat(m.get("role").asText()).isEqualTo("assistant");
        assertThat(m.get("id").asText()).startsWith("msg_");
        assertThat(m.get("model").asText()).isEqualTo("test-model");
        assertThat(m.get("content")).hasSize(1);
        assertThat(m.get("content").get(0).get("type").asText()).isEqualTo("text");
        assertThat(m.get("content").get(0).get("text").asText()).isEqualTo("Hello world");
        assertThat(m.get("stop_reason").asText()).isEqualTo("end_turn");
        assertThat(m.get("usage").get("input_tokens").asInt()).isEqualTo(7);
        assertThat(m.get("usage").get("output_tokens").asInt()).isEqualTo(3);
        assertThat(chat.calls).containsExactly("completeWhole");
        ChatRequest sent = chat.completions.get(0);
        assertThat(sent.messages()).extracting(msg -> msg.role()).containsExactly(Role.SYSTEM, Role.USER);
        assertThat(sent.messages().get(0).content()).isEqualTo("Be brief.");
        assertThat(sent.options().maxTokens()).isEqualTo(100);
    }

    @Test
    void streamsAnthropicsEventsInTheirOrder() throws Exception {
        HttpResponse<String> r = server.postJson("v1/messages", HI.replace("{\"model\"", "{\"stream\":true,\"model\""));

        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("text/event-stream"));
        List<Event> events = events(r.body());
        assertThat(events).extracting(Event::name).containsExactly("message_start", "ping", "content_block_start",
                "content_block_delta", "content_block_delta", "content_block_delta", "content_block_stop",
                "message_delta", "message_stop");
        for (Event e : events) {
            assertThat(e.data().get("type").asText()).as("each event's data names its event").isEqualTo(e.name());
        }
        JsonNode start = events.get(0).data().get("message");
        assertThat(start.get("id").asText()).startsWith("msg_");
        assertThat(start.get("content")).isEmpty();
        assertThat(events.get(2).data().get("content_block").get("type").asText()).isEqualTo("text");
        StringBuilder text = new StringBuilder();
        for (Event e : events.subList(3, 6)) {
            assertThat(e.data().get("index").asInt()).isZero();
            assertThat(e.data().get("delta").get("type").asText()).isEqualTo("text_delta");
            text.append(e.data().get("delta").get("text").asText());
        }
        assertThat(text).hasToString("Hello world");
        JsonNode delta = events.get(7).data();
        assertThat(delta.get("delta").get("stop_reason").asText()).isEqualTo("end_turn");
        assertThat(delta.get("usage").get("output_tokens").asInt()).isEqualTo(3);
        assertThat(delta.get("usage").get("input_tokens").asInt()).isEqualTo(7);
        assertThat(chat.calls).containsExactly("complete");
    }

    @Test
    void toolCallsBecomeToolUseBlocksStreamedOrWhole() throws Exception {
        chat.toolCalls = List.of(new ToolCall("toolu_1", "get_weather", "{\"city\":\"Paris\"}"),
                new ToolCall("toolu_2", "get_time", "{\"zone\":\"CET\"}"));
        String body = "{\"model\":\"test-model\",\"max_tokens\":50,\"messages\":[{\"role\":\"user\",\"content\":\"weather?\"}],"
                + "\"tools\":[" + tool("get_weather") + "," + tool("get_time") + "],\"tool_choice\":{\"type\":\"any\"}}";

        JsonNode whole = server.parse(server.postJson("v1/messages", body));
        assertThat(whole.get("stop_reason").asText()).isEqualTo("tool_use");
        assertThat(whole.get("content")).hasSize(3);
        assertThat(whole.get("content").get(1).get("type").asText()).isEqualTo("tool_use");
        assertThat(whole.get("content").get(1).get("id").asText()).isEqualTo("toolu_1");
        assertThat(whole.get("content").get(1).get("input").get("city").asText()).isEqualTo("Paris");
        assertThat(whole.get("content").get(2).get("name").asText()).isEqualTo("get_time");
        ChatRequest sent = chat.completions.get(0);
        assertThat(sent.tools()).extracting(t -> t.name()).containsExactly("get_weather", "get_time");
        assertThat(server.json.readTree(sent.tools().get(0).parametersJsonSchema()).get("type").asText()).isEqualTo("object");
        assertThat(sent.options().toolChoice()).isEqualTo(ToolChoice.REQUIRED);

        List<Event> events = events(server.postJson("v1/messages", body.replace("{\"model\"", "{\"stream\":true,\"model\"")).body());
        List<Event> toolStarts = new ArrayList<>();
        for (Event e : events) {
            if (e.name().equals("content_block_start") && e.data().get("content_block").get("type").asText().equals("tool_use")) {
                toolStarts.add(e);
            }
        }
        assertThat(toolStarts).extracting(e -> e.data().get("index").asInt()).containsExactly(1, 2);
        assertThat(toolStarts.get(0).data().get("content_block").get("id").asText()).isEqualTo("toolu_1");
        Event json = events.stream().filter(e -> e.name().equals("content_block_delta")
                && e.data().get("delta").get("type").asText().equals("input_json_delta")).findFirst().orElseThrow();
        assertThat(server.json.readTree(json.data().get("delta").get("partial_json").asText()).get("city").asText())
                .isEqualTo("Paris");
        assertThat(events.get(events.size() - 2).data().get("delta").get("stop_reason").asText()).isEqualTo("tool_use");
    }

    @Test
    void mapsImagesToolUseAndToolResultsIntoTheConversation() throws Exception {
        String body = "{\"model\":\"test-model\",\"max_tokens\":50,\"messages\":["
                + "{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"what is this?\"},"
                + "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/png\",\"data\":\"iVBORw0KGgo=\"}},"
                + "{\"type\":\"image\",\"source\":{\"type\":\"url\",\"url\":\"https://example.com/cat.jpg\"}}]},"
                + "{\"role\":\"assistant\",\"content\":[{\"type\":\"thinking\",\"thinking\":\"hmm\",\"signature\":\"x\"},"
                + "{\"type\":\"text\",\"text\":\"Let me look.\"},"
                + "{\"type\":\"tool_use\",\"id\":\"toolu_9\",\"name\":\"lookup\",\"input\":{\"q\":\"cat\"}}]},"
                + "{\"role\":\"user\",\"content\":[{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_9\",\"content\":\"a cat\"},"
                + "{\"type\":\"text\",\"text\":\"thanks\"}]}],"
                + "\"tools\":[" + tool("lookup") + "]}";
        assertThat(server.postJson("v1/messages", body).statusCode()).isEqualTo(200);

        ChatRequest sent = chat.completions.get(0);
        assertThat(sent.messages()).extracting(m -> m.role())
                .containsExactly(Role.USER, Role.ASSISTANT, Role.TOOL, Role.USER);
        assertThat(sent.messages().get(0).parts()).extracting(ContentPart::kind)
                .containsExactly(ContentPart.Kind.TEXT, ContentPart.Kind.IMAGE, ContentPart.Kind.IMAGE);
        assertThat(sent.messages().get(0).parts().get(1).mediaType()).isEqualTo("image/png");
        assertThat(sent.messages().get(0).parts().get(2).url()).isEqualTo("https://example.com/cat.jpg");
        assertThat(sent.messages().get(1).content()).isEqualTo("Let me look.");
        assertThat(sent.messages().get(1).toolCalls()).singleElement().satisfies(c -> {
            assertThat(c.id()).isEqualTo("toolu_9");
            assertThat(c.argumentsJson()).isEqualTo("{\"q\":\"cat\"}");
        });
        assertThat(sent.messages().get(2).toolCallId()).isEqualTo("toolu_9");
        assertThat(sent.messages().get(2).content()).isEqualTo("a cat");
        assertThat(sent.messages().get(3).content()).isEqualTo("thanks");
    }

    @Test
    void refusesWhatAnthropicWouldRefuseInItsErrorShapeAndCallsNoModel() throws Exception {
        String user = "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]";
        assertInvalid("{\"model\":\"test-model\"," + user + "}", "max_tokens");
        assertInvalid("{\"max_tokens\":10," + user + "}", "model");
        assertInvalid("{\"model\":\"test-model\",\"max_tokens\":0," + user + "}", "max_tokens");
        assertInvalid("{\"model\":\"test-model\",\"max_tokens\":10,\"messages\":[]}", "messages");
        assertInvalid("{\"model\":\"test-model\",\"max_tokens\":10,\"messages\":[{\"role\":\"system\",\"content\":\"x\"}]}",
                "role");
        assertInvalid("{\"model\":\"test-model\",\"max_tokens\":10,\"temperature\":1.5," + user + "}", "temperature");
        assertInvalid("{\"model\":\"test-model\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":["
                + "{\"type\":\"tool_result\",\"tool_use_id\":\"toolu_nope\",\"content\":\"x\"}]}]}", "toolu_nope");
        assertInvalid("{\"model\":\"test-model\",\"max_tokens\":10,\"messages\":[{\"role\":\"user\",\"content\":["
                + "{\"type\":\"image\",\"source\":{\"type\":\"base64\",\"media_type\":\"image/tiff\",\"data\":\"AAAA\"}}]}]}",
                "media_type");
        assertInvalid("{\"model\":\"test-model\",\"max_tokens\":10," + user
                + ",\"tools\":[{\"name\":\"bad name!\",\"input_schema\":{\"type\":\"object\"}}]}", "tools.0.name");
        assertInvalid("{\"model\":\"test-model\",\"max_tokens\":10," + user
                + ",\"tools\":[{\"name\":\"t\",\"input_schema\":{\"type\":\"string\"}}]}", "input_schema");
        assertInvalid("{\"model\":\"test-model\",\"max_tokens\":10," + user + ",\"tools\":[" + tool("t") + "," + tool("t")
                + "]}", "unique");
        assertInvalid("{\"model\":\"test-model\",\"max_tokens\":10," + user
                + ",\"tools\":[{\"type\":\"web_search_20250305\",\"name\":\"web_search\"}]}", "web_search_20250305");
        assertInvalid("{\"model\":\"test-model\",\"max_tokens\":10," + user + ",\"tools\":[" + tool("t")
                + "],\"tool_choice\":{\"type\":\"tool\",\"name\":\"other\"}}", "tool_choice");
        assertInvalid("{\"model\":\"test-model\",\"max_tokens\":10,", "JSON");

        HttpResponse<String> unknown = server.postJson("v1/messages", HI.replace("test-model", "claude-nope"));
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(server.parse(unknown).get("error").get("type").asText()).isEqualTo("not_found_error");
        assertThat(chat.completions).isEmpty();
    }

    @Test
    void upstreamFailuresKeepAnthropicsStatusesAndTypes() throws Exception {
        chat.failOnCall = new ParleyException(ErrorCode.RATE_LIMITED, "slow down", Duration.ofSeconds(7), null);
        HttpResponse<String> limited = server.postJson("v1/messages", HI);
        assertThat(limited.statusCode()).isEqualTo(429);
        assertThat(limited.headers().firstValue("Retry-After")).hasValue("7");
        assertThat(server.parse(limited).get("error").get("type").asText()).isEqualTo("rate_limit_error");

        chat.failOnCall = new ParleyException(ErrorCode.OVERLOADED, "busy");
        HttpResponse<String> overloaded = server.postJson("v1/messages", HI);
        assertThat(overloaded.statusCode()).isEqualTo(529);
        assertThat(server.parse(overloaded).get("error").get("type").asText()).isEqualTo("overloaded_error");

        chat.failOnCall = null;
        chat.failAfterTokens = new ParleyException(ErrorCode.UPSTREAM_FAILURE, "the model server went away");
        List<Event> events = events(server.postJson("v1/messages", HI.replace("{\"model\"", "{\"stream\":true,\"model\"")).body());
        Event last = events.get(events.size() - 1);
        assertThat(last.name()).isEqualTo("error");
        assertThat(last.data().get("error").get("type").asText()).isEqualTo("api_error");
        assertThat(last.data().get("error").get("message").asText()).contains("went away");
        assertThat(events).extracting(Event::name).doesNotContain("message_stop");
    }

    @Test
    void countsTokensWithoutCallingTheModel() throws Exception {
        String body = "{\"model\":\"test-model\",\"system\":\"12345678\",\"messages\":[{\"role\":\"user\",\"content\":\"abcdefgh\"}]}";
        HttpResponse<String> r = server.postJson("v1/messages/count_tokens", body);
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(server.parse(r).get("input_tokens").asInt()).isEqualTo(4);
        assertThat(chat.completions).isEmpty();

        HttpResponse<String> unknown = server.postJson("v1/messages/count_tokens", body.replace("test-model", "nope"));
        assertThat(unknown.statusCode()).isEqualTo(404);
        assertThat(server.parse(unknown).get("type").asText()).isEqualTo("error");
    }

    private void assertInvalid(String body, String mentioned) throws Exception {
        HttpResponse<String> r = server.postJson("v1/messages", body);
        assertThat(r.statusCode()).as(body).isEqualTo(400);
        JsonNode error = server.parse(r);
        assertThat(error.get("type").asText()).isEqualTo("error");
        assertThat(error.get("error").get("type").asText()).isEqualTo("invalid_request_error");
        assertThat(error.get("error").get("message").asText()).as(body).contains(mentioned);
        assertThat(chat.completions).isEmpty();
    }

    private static String tool(String name) {
        return "{\"name\":\"" + name + "\",\"description\":\"d\",\"input_schema\":{\"type\":\"object\","
                + "\"properties\":{\"city\":{\"type\":\"string\"}}}}";
    }

    record Event(String name, JsonNode data) {
    }

    private List<Event> events(String body) throws Exception {
        List<Event> events = new ArrayList<>();
        for (String block : body.split("\n\n")) {
            if (block.isBlank()) {
                continue;
            }
            String name = null;
            String data = null;
            for (String line : block.split("\n")) {
                if (line.startsWith("event: ")) {
                    name = line.substring(7);
                } else if (line.startsWith("data: ")) {
                    data = line.substring(6);
                }
            }
            assertThat(name).as("every frame names its event: %s", block).isNotNull();
            events.add(new Event(name, server.json.readTree(data)));
        }
        return events;
    }
}

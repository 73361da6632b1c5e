package dev.parley.provider.openai.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.chat.Role;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

class ChatRequestWriterTest {

    private static final ObjectMapper JSON = new ObjectMapper();

    private static JsonNode write(ChatRequest request) throws Exception {
        return JSON.readTree(ChatRequestWriter.write(new JsonFactory(), request));
    }

    /**
     * What langchain4j 1.19's OpenAiStreamingChatModel sent for the same request, recorded by FakeOpenAiServer
     * before the switch — except {@code additionalProperties}, which langchain4j dropped and is now sent as declared.
     */
    @Test
    void writesWhatLangchain4jSentForMessagesToolCallsToolResultsOptionsAndTools() throws Exception {
        var messages = List.of(ChatMessage.system("sys"), ChatMessage.user("weather?"),
                new ChatMessage(Role.ASSISTANT, "", List.of(new ToolCall("call_1", "get_weather", "{\"city\":\"Oslo\"}")),
                        null),
                new ChatMessage(Role.TOOL, "sunny", List.of(), "call_1"),
                new ChatMessage(Role.ASSISTANT, "thinking",
                        List.of(new ToolCall("call_2", "get_weather", "{\"city\":\"Rome\"}")), null),
                new ChatMessage(Role.TOOL, "rainy", List.of(), "call_2"),
                ChatMessage.assistant("It is sunny."), ChatMessage.user("thanks"));
        var weather = new ToolSpec("get_weather", "Weather for a city",
                "{\"type\":\"object\",\"description\":\"d\",\"properties\":{\"city\":{\"type\":\"string\","
                        + "\"description\":\"name\"},\"n\":{\"type\":\"array\",\"items\":{\"type\":\"integer\"}}},"
                        + "\"required\":[\"city\"],\"additionalProperties\":false}");
        var noArgs = new ToolSpec("noargs", null, null);

        JsonNode body = write(new ChatRequest("gpt-4o-mini", messages, new ChatOptions(0.5, 0.9, 12, List.of("A", "B")),
                List.of(weather, noArgs)));

        String expected = """
                {"model":"gpt-4o-mini","messages":[{"role":"system","content":"sys"},
                {"role":"user","content":"weather?"},
                {"role":"assistant","tool_calls":[{"id":"call_1","type":"function","function":{"name":"get_weather",
                "arguments":"{\\"city\\":\\"Oslo\\"}"}}]},
                {"role":"tool","tool_call_id":"call_1","content":"sunny"},
                {"role":"assistant","content":"thinking","tool_calls":[{"id":"call_2","type":"function",
                "function":{"name":"get_weather","arguments":"{\\"city\\":\\"Rome\\"}"}}]},
                {"role":"tool","tool_call_id":"call_2","content":"rainy"},
                {"role":"assistant","content":"It is sunny."},{"role":"user","content":"thanks"}],
                "temperature":0.5,"top_p":0.9,"stream":true,"stream_options":{"include_usage":true},
                "stop":["A","B"],"max_tokens":12,
                "tools":[{"type":"function","function":{"name":"get_weather","description":"Weather for a city",
                "parameters":{"type":"object","description":"d","properties":{"city":{"type":"string",
                "description":"name"},"n":{"type":"array","items":{"type":"integer"}}},"required":["city"],
                "additionalProperties":false}}},
                {"type":"function","function":{"name":"noargs","parameters":{"type":"object","properties":{},
                "required":[]}}}]}
                """;
        assertThat(body).isEqualTo(JSON.readTree(expected));
        // Same order too, so a diff against a recorded request stays readable.
        assertThat(body.toString()).isEqualTo(JSON.readTree(expected).toString());
    }

    @Test
    void leavesOutWhatWasNotAskedFor() throws Exception {
        JsonNode body = write(new ChatRequest("m", List.of(ChatMessage.user("x")), null, null));

        assertThat(body.toString()).isEqualTo(
                "{\"model\":\"m\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"stream\":true,"
                        + "\"stream_options\":{\"include_usage\":true}}");
    }

    @Test
    void escapesText() throws Exception {
        String text = "quote \" backslash \\ newline \n tab \t control \u0001 unicode \u00e9\u20ac\ud83d\ude00 </script>";

        JsonNode body = write(new ChatRequest("m", List.of(ChatMessage.user(text)), null, null));

        assertThat(body.path("messages").get(0).path("content").asText()).isEqualTo(text);
    }

    @Test
    void aSchemaWithoutTypeOrPropertiesBecomesAnObjectSchemaAndKeepsItsKeywords() throws Exception {
        var tool = new ToolSpec("t", "d", "{\"$defs\":{\"x\":{\"type\":\"string\"}},\"type\":\"whatever\"}");

        JsonNode parameters = write(new ChatRequest("m", List.of(ChatMessage.user("x")), null, List.of(tool)))
                .path("tools").get(0).path("function").path("parameters");

        assertThat(parameters.toString())
                .isEqualTo("{\"type\":\"object\",\"$defs\":{\"x\":{\"type\":\"string\"}},\"properties\":{}}");
    }

    @Test
    void aSchemaThatIsNotAJsonObjectIsAnInvalidRequest() {
        for (String schema : new String[] {"{not json", "[1]", "{\"a\":1} extra"}) {
            var tool = new ToolSpec("broken", null, schema);
            assertThatThrownBy(() -> ChatRequestWriter.write(new JsonFactory(),
                    new ChatRequest("m", List.of(ChatMessage.user("x")), null, List.of(tool))))
                    .as(schema)
                    .isInstanceOfSatisfying(ParleyException.class, e -> {
                        assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
                        assertThat(e.getMessage()).contains("broken");
                    });
        }
    }

    @Test
    void aNonStreamedCallAsksForNoStreamAndNoStreamOptionsAndIsOtherwiseTheSame() throws Exception {
        var request = new ChatRequest("gpt-4o-mini", List.of(ChatMessage.system("sys"), ChatMessage.user("hi")),
                new ChatOptions(0.5, null, 12, List.of("A")), List.of(new ToolSpec("t", null, null)));

        JsonNode streamed = write(request);
        JsonNode whole = JSON.readTree(ChatRequestWriter.write(new JsonFactory(), request, false));

        assertThat(whole.get("stream").isBoolean()).isTrue();
        assertThat(whole.get("stream").booleanValue()).isFalse();
        assertThat(whole.has("stream_options")).isFalse();
        assertThat(streamed.get("stream").booleanValue()).isTrue();
        var rest = ((com.fasterxml.jackson.databind.node.ObjectNode) streamed.deepCopy());
        rest.remove("stream_options");
        rest.put("stream", false);
        assertThat(whole).isEqualTo(rest);
    }
}

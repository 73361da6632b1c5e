package dev.parley.provider.anthropic.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.anthropic.core.ObjectMappers;
import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolChoice;
import dev.parley.api.llm.ToolSpec;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the request mapping refuses before anything is sent, and the body it builds through the SDK. */
class MessagesRequestTest {

    static JsonNode body(ChatRequest r) throws Exception {
        var params = MessagesRequest.build(r, 1000);
        return ObjectMappers.jsonMapper().readTree(ObjectMappers.jsonMapper().writeValueAsString(params._body()));
    }

    static ChatRequest req(List<ChatMessage> messages, ChatOptions options, List<ToolSpec> tools) {
        return new ChatRequest("claude-x", messages, options, tools);
    }

    static void refused(ChatRequest r, String containing) {
        assertThatThrownBy(() -> MessagesRequest.build(r, 1000)).isInstanceOf(ParleyException.class)
                .satisfies(e -> assertThat(((ParleyException) e).code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageContaining(containing);
    }

    @Test
    void badInputIsRefusedWithAReason() {
        refused(req(List.of(ChatMessage.system("only a system prompt")), null, null), "no user message");
        refused(req(List.of(ChatMessage.user("x")), new ChatOptions(1.5, null, null, null), null), "temperature");
        refused(req(List.of(ChatMessage.user("x")), new ChatOptions(null, 0.0, null, null), null), "top_p");
        refused(req(List.of(ChatMessage.user("x")), new ChatOptions(null, null, 0, null), null), "maxTokens");
        refused(req(List.of(ChatMessage.user("x"), ChatMessage.assistant("", List.of(new ToolCall(null, "t", "{}")))),
                null, null), "has no id");
        refused(req(List.of(ChatMessage.user("x"), ChatMessage.assistant("", List.of(new ToolCall("id1", "t", "not json")))),
                null, null), "not valid JSON");
        refused(req(List.of(ChatMessage.user("x")), new ChatOptions(null, null, null, null, ToolChoice.REQUIRED, null),
                null), "needs tools");
        refused(req(List.of(ChatMessage.user("x")), null, List.of(new ToolSpec("t", null, "{\"type\":"))), "not valid JSON");
    }

    @Test
    void consecutiveMessagesOfOneSideBecomeOneTurnAndEmptyTextIsDropped() throws Exception {
        JsonNode b = body(req(List.of(ChatMessage.user("a"), ChatMessage.user("b"), ChatMessage.assistant("c"),
                ChatMessage.user("d")), null, null));
        assertThat(b.path("messages")).hasSize(3);
        assertThat(b.path("messages").get(0).path("content")).hasSize(2);
        assertThat(b.path("max_tokens").asInt()).isEqualTo(1000);
        assertThat(b.has("temperature")).isFalse();
        assertThat(b.has("system")).isFalse();
    }

    @Test
    void toolChoiceNoneAndAutoAreSent() throws Exception {
        var tools = List.of(new ToolSpec("t", "d", null));
        assertThat(body(req(List.of(ChatMessage.user("x")), new ChatOptions(null, null, null, null, ToolChoice.NONE,
                null), tools)).path("tool_choice").path("type").asText()).isEqualTo("none");
        assertThat(body(req(List.of(ChatMessage.user("x")), new ChatOptions(null, null, null, null, ToolChoice.AUTO,
                null), tools)).path("tool_choice").path("type").asText()).isEqualTo("auto");
    }
}

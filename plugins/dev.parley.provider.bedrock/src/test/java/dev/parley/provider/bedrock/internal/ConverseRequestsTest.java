package dev.parley.provider.bedrock.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ContentPart;
import dev.parley.api.llm.ResponseFormat;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolChoice;
import dev.parley.api.llm.ToolSpec;
import java.util.List;
import org.junit.jupiter.api.Test;
import software.amazon.awssdk.services.bedrockruntime.model.ConversationRole;

/** What Converse cannot take is refused as an invalid request before anything is sent. */
class ConverseRequestsTest {

    static final String M = "amazon.nova-lite-v1:0";
    static final List<ToolSpec> TOOLS = List.of(new ToolSpec("lookup", "find", "{\"type\":\"object\"}"));

    static ChatRequest request(List<ChatMessage> messages, ChatOptions options, List<ToolSpec> tools) {
        return new ChatRequest(M, messages, options, tools);
    }

    static void refused(ChatRequest r, String messagePart) {
        assertThatThrownBy(() -> ConverseRequests.parts(r)).isInstanceOf(ParleyException.class)
                .hasMessageContaining(messagePart)
                .extracting(e -> ((ParleyException) e).code()).isEqualTo(ErrorCode.INVALID_REQUEST);
    }

    static ChatOptions choice(ToolChoice c) {
        return new ChatOptions(null, null, null, null, c, null);
    }

    @Test
    void badToolsAndToolChoicesAreRefused() {
        refused(request(List.of(ChatMessage.user("x")), choice(ToolChoice.tool("missing")), TOOLS), "missing");
        refused(request(List.of(ChatMessage.user("x")), null, List.of(new ToolSpec("t", null, "{not json"))),
                "not valid JSON");
        refused(request(List.of(ChatMessage.user("x")), null, List.of(new ToolSpec("t", null, "[1,2]"))),
                "not a JSON object");
        refused(request(List.of(ChatMessage.user("x")), choice(ToolChoice.REQUIRED), List.of()), "needs tools");
    }

    @Test
    void badHistoryIsRefused() {
        refused(request(List.of(ChatMessage.assistant("hi"), ChatMessage.user("x")), null, null),
                "must start with a user message");
        refused(request(List.of(ChatMessage.system("only a system prompt")), null, null), "no user or assistant");
        refused(request(List.of(ChatMessage.user("x"), ChatMessage.assistant(null,
                List.of(new ToolCall("c1", "lookup", "{broken")))), null, TOOLS), "not valid JSON");
        refused(request(List.of(ChatMessage.user("x"), ChatMessage.assistant(null,
                List.of(new ToolCall(null, "lookup", "{}")))), null, TOOLS), "needs its id");
        refused(request(List.of(ChatMessage.user(List.of(ContentPart.imageBase64("image/png", "***")))), null, null),
                "base64");
    }

    @Test
    void imagesPastConversesLimitsAreRefused() {
        String big = java.util.Base64.getEncoder().encodeToString(new byte[ConverseRequests.MAX_IMAGE_BYTES + 1]);
        refused(request(List.of(ChatMessage.user(List.of(ContentPart.imageBase64("image/png", big)))), null, null),
                "larger than the 3.75 MB");
        String small = java.util.Base64.getEncoder().encodeToString(new byte[] {1, 2, 3});
        List<ContentPart> many = new java.util.ArrayList<>();
        for (int i = 0; i <= ConverseRequests.MAX_IMAGES; i++) {
            many.add(ContentPart.imageBase64("image/jpeg", small));
        }
        refused(request(List.of(ChatMessage.user(many)), null, null), "at most 20 images");
        assertThat(ConverseRequests.parts(request(List.of(ChatMessage.user(many.subList(0, 20))), null, null))
                .messages().get(0).content()).hasSize(20);
    }

    @Test
    void badStructuredOutputAndMaxTokensAreRefused() {
        refused(request(List.of(ChatMessage.user("x")), new ChatOptions(null, null, null, null, null,
                ResponseFormat.jsonSchema("s", "{nope", false)), null), "not valid JSON");
        refused(request(List.of(ChatMessage.user("x")), new ChatOptions(null, null, 0, null), null), "maxTokens");
    }

    @Test
    void toolChoiceNoneLeavesTheToolsOutUnlessTheHistoryHoldsToolCalls() {
        var plain = ConverseRequests.parts(request(List.of(ChatMessage.user("x")), choice(ToolChoice.NONE), TOOLS));
        assertThat(plain.tools()).isNull();
        var withHistory = ConverseRequests.parts(request(List.of(ChatMessage.user("x"),
                ChatMessage.assistant(null, List.of(new ToolCall("c1", "lookup", "{}"))),
                ChatMessage.tool("c1", "found")), choice(ToolChoice.NONE), TOOLS));
        assertThat(withHistory.tools().tools()).hasSize(1);
        assertThat(withHistory.tools().toolChoice()).isNull();
    }

    @Test
    void consecutiveTurnsOfOneRoleBecomeOneAndSystemMessagesGoToTheSystemField() {
        var p = ConverseRequests.parts(request(List.of(ChatMessage.system("a"), ChatMessage.user("one"),
                ChatMessage.user("two"), ChatMessage.system("b"), ChatMessage.assistant("three")), null, null));
        assertThat(p.system()).extracting(s -> s.text()).containsExactly("a", "b");
        assertThat(p.messages()).extracting(m -> m.role()).containsExactly(ConversationRole.USER,
                ConversationRole.ASSISTANT);
        assertThat(p.messages().get(0).content()).extracting(c -> c.text()).containsExactly("one", "two");
    }
}

package dev.parley.api.chat;

import dev.parley.api.llm.ToolCall;
import java.util.List;
import java.util.Objects;

/**
 * One message of a chat as sent to a model.
 *
 * @param toolCalls  calls the assistant asked for (assistant messages only), never null
 * @param toolCallId the call a tool message answers (tool messages only), else null
 */
public record ChatMessage(Role role, String content, List<ToolCall> toolCalls, String toolCallId) {
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        content = content == null ? "" : content;
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    }

    public static ChatMessage system(String content) {
        return new ChatMessage(Role.SYSTEM, content, List.of(), null);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage(Role.USER, content, List.of(), null);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage(Role.ASSISTANT, content, List.of(), null);
    }
}

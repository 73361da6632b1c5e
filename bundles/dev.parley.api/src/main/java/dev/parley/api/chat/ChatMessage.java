package dev.parley.api.chat;

import java.util.List;
import java.util.Objects;

import dev.parley.api.llm.ContentPart;
import dev.parley.api.llm.ToolCall;

/**
 * One message of a chat as sent to a model.
 *
 * @param content    the message's text (all its text parts joined, when it has parts), never null
 * @param parts      the content in order when it is more than text (images in a user message; since 1.2), else
 *                   empty: then {@code content} is the whole message. When not empty it is authoritative and
 *                   {@code content} holds its text parts joined by a blank line.
 * @param toolCalls  calls the assistant asked for (assistant messages only), never null
 * @param toolCallId the call a tool message answers (tool messages only), else null
 */
public record ChatMessage(Role role, String content, List<ContentPart> parts, List<ToolCall> toolCalls, String toolCallId) {
    public ChatMessage {
        Objects.requireNonNull(role, "role");
        parts = parts == null ? List.of() : List.copyOf(parts);
        if (content == null) {
            content = parts.isEmpty() ? "" : textOf(parts);
        }
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
    }

    /** A message without content parts, as before 1.2. */
    public ChatMessage(Role role, String content, List<ToolCall> toolCalls, String toolCallId) {
        this(role, content, List.of(), toolCalls, toolCallId);
    }

    public static ChatMessage system(String content) {
        return new ChatMessage(Role.SYSTEM, content, List.of(), null);
    }

    public static ChatMessage user(String content) {
        return new ChatMessage(Role.USER, content, List.of(), null);
    }

    /** A user message of text and images; its {@link #content()} is the text parts joined. @since 1.2 */
    public static ChatMessage user(List<ContentPart> parts) {
        return new ChatMessage(Role.USER, null, parts, List.of(), null);
    }

    public static ChatMessage assistant(String content) {
        return new ChatMessage(Role.ASSISTANT, content, List.of(), null);
    }

    /** An assistant message that asked for tool calls (and may carry text). @since 1.2 */
    public static ChatMessage assistant(String content, List<ToolCall> toolCalls) {
        return new ChatMessage(Role.ASSISTANT, content, toolCalls, null);
    }

    /** A tool's result for the call {@code toolCallId}. @since 1.2 */
    public static ChatMessage tool(String toolCallId, String result) {
        Objects.requireNonNull(toolCallId, "toolCallId");
        return new ChatMessage(Role.TOOL, result, List.of(), toolCallId);
    }

    /** Whether the message has an image part. @since 1.2 */
    public boolean hasImages() {
        for (ContentPart p : parts) {
            if (!p.isText()) {
                return true;
            }
        }
        return false;
    }

    private static String textOf(List<ContentPart> parts) {
        StringBuilder b = new StringBuilder();
        for (ContentPart p : parts) {
            if (p.isText()) {
                if (b.length() > 0) {
                    b.append("\n\n");
                }
                b.append(p.text());
            }
        }
        return b.toString();
    }
}

package dev.parley.api.chat;

import dev.parley.api.llm.Usage;
import java.time.Instant;
import java.util.Objects;

/**
 * A message as persisted.
 *
 * @param seq    position in its conversation, starting at 1
 * @param model  the model that wrote it (assistant messages), else null
 * @param usage  token usage (assistant messages), else null
 * @param error  why it was interrupted, else null
 * @param latencyMs          assistant messages: from accepting the user message to the last token, else null
 * @param timeToFirstTokenMs assistant messages: from accepting the user message to the first token, else null
 */
public record StoredMessage(String id, String conversationId, long seq, Role role, String content,
        MessageStatus status, String model, Usage usage, String error, Long latencyMs, Long timeToFirstTokenMs,
        Instant createdAt) {
    public StoredMessage {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(conversationId, "conversationId");
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(status, "status");
        content = content == null ? "" : content;
    }
}

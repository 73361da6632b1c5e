package dev.parley.api.chat;

import java.time.Instant;
import java.util.Objects;

/**
 * A conversation.
 *
 * @param model        the model this conversation uses by default; null means the server's default model
 * @param systemPrompt the system prompt sent first on every turn; may be null
 */
public record Conversation(String id, String title, String model, String systemPrompt, Instant createdAt, Instant updatedAt) {
    public Conversation {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(createdAt, "createdAt");
        updatedAt = updatedAt == null ? createdAt : updatedAt;
    }
}

package dev.parley.api.store;

import dev.parley.api.chat.MessageStatus;
import dev.parley.api.chat.Role;
import java.util.Objects;

/** A message to append; {@code model} may be null. */
public record NewMessage(Role role, String content, MessageStatus status, String model) {
    public NewMessage {
        Objects.requireNonNull(role, "role");
        Objects.requireNonNull(status, "status");
        content = content == null ? "" : content;
    }
}

package dev.parley.api.chat;

import dev.parley.api.llm.ChatOptions;

/** A user message for a conversation; {@code model} and {@code options} may be null. */
public record SendMessage(String content, String model, ChatOptions options) {
}

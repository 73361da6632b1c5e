package dev.parley.api.chat;

/** What a client gives to start a conversation; every field may be null. */
public record NewConversation(String title, String model, String systemPrompt) {
}

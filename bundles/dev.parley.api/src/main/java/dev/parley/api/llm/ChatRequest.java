package dev.parley.api.llm;

import dev.parley.api.chat.ChatMessage;
import java.util.List;
import java.util.Objects;

/** What a provider is asked to answer: the model id (as listed by the provider), messages, options and tools. */
public record ChatRequest(String model, List<ChatMessage> messages, ChatOptions options, List<ToolSpec> tools) {
    public ChatRequest {
        Objects.requireNonNull(model, "model");
        messages = List.copyOf(messages);
        options = options == null ? ChatOptions.DEFAULTS : options;
        tools = tools == null ? List.of() : List.copyOf(tools);
    }
}

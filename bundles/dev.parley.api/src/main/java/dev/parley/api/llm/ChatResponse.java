package dev.parley.api.llm;

import java.util.List;

/** A finished answer: the full text, any tool calls, why it finished, usage, and the model that answered. */
public record ChatResponse(String text, List<ToolCall> toolCalls, FinishReason finishReason, Usage usage, String model) {
    public ChatResponse {
        text = text == null ? "" : text;
        toolCalls = toolCalls == null ? List.of() : List.copyOf(toolCalls);
        finishReason = finishReason == null ? FinishReason.STOP : finishReason;
        usage = usage == null ? Usage.ZERO : usage;
    }
}

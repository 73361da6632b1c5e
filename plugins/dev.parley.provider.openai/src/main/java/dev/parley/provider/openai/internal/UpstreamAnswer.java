package dev.parley.provider.openai.internal;

import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.llm.Usage;
import java.util.List;

/**
 * What upstream answered, read either from a stream's chunks ({@link ChunkParser}) or from one non-streamed body
 * ({@link CompletionBody}); {@link ParleyStream#complete} turns it into the {@code ChatResponse}.
 */
interface UpstreamAnswer {

    /** The answer text ({@code ""} when there was none, e.g. only tool calls). */
    String text();

    /**
     * The complete tool calls, in order.
     *
     * @throws UpstreamProtocolException when a call has no function name
     */
    List<ToolCall> toolCalls();

    FinishReason finishReason(boolean hasToolCalls);

    /**
     * The tool-call pieces still owed when the answer ends: a streamed call that brought no arguments is given
     * {@code "{}"} in {@link #toolCalls()}, and its pieces must join to that too.
     */
    default List<ToolCallDelta> closingToolCallDeltas() {
        return List.of();
    }

    /** What upstream reported, or null when it reported no usage. */
    Usage usage();

    /** The model upstream says answered, or null. */
    String model();

    /**
     * The wire's {@code usage} counts ({@code -1}: not sent) and {@code prompt_tokens_details.cached_tokens}; null
     * when upstream reported no usage.
     */
    static Usage usage(int promptTokens, int completionTokens, int cachedTokens) {
        return promptTokens < 0 ? null
                : new Usage(promptTokens, Math.max(0, completionTokens), Math.max(0, Math.min(cachedTokens, promptTokens)));
    }

    /** The wire's {@code finish_reason}; null (not sent) means tool calls when there are some, else stop. */
    static FinishReason finishReason(String wire, boolean hasToolCalls) {
        if (wire == null) {
            return hasToolCalls ? FinishReason.TOOL_CALLS : FinishReason.STOP;
        }
        return switch (wire) {
            case "stop" -> FinishReason.STOP;
            case "length" -> FinishReason.LENGTH;
            case "tool_calls", "function_call" -> FinishReason.TOOL_CALLS;
            case "content_filter" -> FinishReason.CONTENT_FILTER;
            default -> FinishReason.OTHER;
        };
    }
}

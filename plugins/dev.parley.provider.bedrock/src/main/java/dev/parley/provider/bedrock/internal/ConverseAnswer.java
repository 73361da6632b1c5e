package dev.parley.provider.bedrock.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.llm.Usage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import software.amazon.awssdk.services.bedrockruntime.model.TokenUsage;

/**
 * One answer as it builds up, from stream events or from a whole Converse response: text, tool calls by content
 * block index, stop reason and usage. Not thread-safe: its owner serialises access.
 */
final class ConverseAnswer {

    private final String model;
    private final int maxChars;
    private final StringBuilder text = new StringBuilder();
    private final Map<Integer, ToolUse> tools = new TreeMap<>();
    private int chars;
    private String stopReason;
    private Usage usage = Usage.ZERO;

    private static final class ToolUse {
        final String id;
        final String name;
        /** Which tool call of the answer this is, counting tool uses only (not the content block index). */
        final int ordinal;
        final StringBuilder input = new StringBuilder();

        ToolUse(String id, String name, int ordinal) {
            this.id = id;
            this.name = name;
            this.ordinal = ordinal;
        }
    }

    ConverseAnswer(String model, int maxChars) {
        this.model = model;
        this.maxChars = maxChars;
    }

    void text(String delta) {
        grow(delta.length());
        text.append(delta);
    }

    /** A tool use starts at content block {@code index}: returns the first piece of its call (id, name). */
    ToolCallDelta toolStart(int index, String id, String name) {
        ToolUse t = new ToolUse(id, name, tools.size());
        tools.put(index, t);
        return new ToolCallDelta(t.ordinal, id, name, "");
    }

    /** More input of the tool use at content block {@code index}: returns it as a piece of its call. */
    ToolCallDelta toolInput(int index, String fragment) {
        ToolUse t = tools.get(index);
        if (t == null) {
            throw new ParleyException(ErrorCode.UPSTREAM_PROTOCOL,
                    "Bedrock sent tool input for content block " + index + ", which did not start a tool use");
        }
        grow(fragment.length());
        t.input.append(fragment);
        return new ToolCallDelta(t.ordinal, null, null, fragment);
    }

    /**
     * The pieces still owed once the message stops: a tool use that got no input at all is answered as {@code "{}"}
     * by {@link #finish()}, and its pieces must join to that too.
     */
    List<ToolCallDelta> closingToolCallDeltas() {
        List<ToolCallDelta> out = new ArrayList<>();
        for (ToolUse t : tools.values()) {
            if (t.input.length() == 0) {
                out.add(new ToolCallDelta(t.ordinal, null, null, "{}"));
            }
        }
        return out;
    }

    void stop(String reason) {
        this.stopReason = reason;
    }

    boolean stopped() {
        return stopReason != null;
    }

    void usage(TokenUsage u) {
        if (u == null) {
            return;
        }
        int input = nz(u.inputTokens());
        int cacheRead = nz(u.cacheReadInputTokens());
        int cacheWrite = nz(u.cacheWriteInputTokens());
        // Converse counts cache reads and writes apart from inputTokens; Parley's prompt tokens include them.
        this.usage = new Usage(input + cacheRead + cacheWrite, nz(u.outputTokens()), cacheRead);
    }

    private void grow(int n) {
        chars += n;
        if (chars > maxChars) {
            throw new ParleyException(ErrorCode.UPSTREAM_PROTOCOL,
                    "the answer grew past the largest answer allowed (" + maxChars + " characters)");
        }
    }

    /** The finished answer, or the error its stop reason stands for. */
    ChatResponse finish() {
        FinishReason reason = switch (stopReason == null ? "" : stopReason) {
            case "end_turn", "stop_sequence" -> FinishReason.STOP;
            case "max_tokens", "model_context_window_exceeded" -> FinishReason.LENGTH;
            case "tool_use" -> FinishReason.TOOL_CALLS;
            case "guardrail_intervened", "content_filtered" -> throw new ParleyException(ErrorCode.CONTENT_FILTERED,
                    "Bedrock's content filter stopped the answer (" + stopReason + ")");
            default -> FinishReason.OTHER;
        };
        List<ToolCall> calls = new ArrayList<>(tools.size());
        for (ToolUse t : tools.values()) {
            String args = t.input.length() == 0 ? "{}" : t.input.toString();
            calls.add(new ToolCall(t.id, t.name, args));
        }
        return new ChatResponse(text.toString(), calls, reason, usage, model);
    }

    private static int nz(Integer i) {
        return i == null ? 0 : i;
    }
}

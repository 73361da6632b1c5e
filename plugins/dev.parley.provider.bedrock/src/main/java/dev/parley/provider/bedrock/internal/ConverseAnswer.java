package dev.parley.provider.bedrock.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ToolCall;
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
        final StringBuilder input = new StringBuilder();

        ToolUse(String id, String name) {
            this.id = id;
            this.name = name;
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

    void toolStart(int index, String id, String name) {
        tools.put(index, new ToolUse(id, name));
    }

    void toolInput(int index, String fragment) {
        ToolUse t = tools.get(index);
        if (t == null) {
            throw new ParleyException(ErrorCode.UPSTREAM_PROTOCOL,
                    "Bedrock sent tool input for content block " + index + ", which did not start a tool use");
        }
        grow(fragment.length());
        t.input.append(fragment);
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

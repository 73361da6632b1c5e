package dev.parley.provider.anthropic.internal;

import static com.anthropic.core.ObjectMappers.jsonMapper;

import com.anthropic.core.JsonValue;
import com.anthropic.models.messages.ContentBlock;
import com.anthropic.models.messages.Message;
import com.anthropic.models.messages.MessageDeltaUsage;
import com.anthropic.models.messages.RawContentBlockDelta;
import com.anthropic.models.messages.RawMessageStreamEvent;
import com.anthropic.models.messages.StopReason;
import com.fasterxml.jackson.core.JsonProcessingException;
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
import java.util.function.Consumer;

/**
 * Builds one answer from the Messages API's stream events ({@code message_start}, {@code content_block_start},
 * {@code content_block_delta}, {@code message_delta}, {@code message_stop}) or from one non-streamed
 * {@link Message}. Not thread-safe: one answer is read by one thread.
 */
final class AnswerBuilder {

    private final String requestedModel;
    private final int maxAnswerChars;
    private final StringBuilder text = new StringBuilder();
    /** Tool-use blocks by their content-block index, so parallel calls keep the order the model gave them. */
    private final Map<Long, PendingCall> calls = new TreeMap<>();
    private int answerChars;
    private String model;
    private String stopReason;
    private long inputTokens;
    private long outputTokens;
    private long cacheReadTokens;
    private long cacheCreationTokens;
    private boolean started;
    private boolean stopped;

    AnswerBuilder(String requestedModel, int maxAnswerChars) {
        this.requestedModel = requestedModel;
        this.maxAnswerChars = maxAnswerChars;
    }

    private static final class PendingCall {
        final String id;
        final String name;
        /** Which tool call of the answer this is, counting tool_use blocks only (not the content-block index). */
        final int ordinal;
        final StringBuilder json = new StringBuilder();
        String whole;

        PendingCall(String id, String name, int ordinal) {
            this.id = id;
            this.name = name;
            this.ordinal = ordinal;
        }
    }

    /** Takes one stream event; text deltas go to {@code tokens} at once, in order (tool-call pieces nowhere). */
    void accept(RawMessageStreamEvent event, Consumer<String> tokens) {
        accept(event, tokens, piece -> { });
    }

    /**
     * Takes one stream event; text deltas go to {@code tokens} and tool-call pieces to {@code toolCalls} at once, in
     * order: a tool_use block's start announces its call (index, id, name), each input_json_delta is a piece of its
     * arguments, and at message_stop a call that got no input at all gets {@code "{}"}, as {@link #response()} does.
     */
    void accept(RawMessageStreamEvent event, Consumer<String> tokens, Consumer<ToolCallDelta> toolCalls) {
        if (event.isMessageStart()) {
            Message m = event.asMessageStart().message();
            started = true;
            model = m.model().asString();
            usage(m.usage());
        } else if (event.isContentBlockStart()) {
            requireStarted("content_block_start");
            var start = event.asContentBlockStart();
            var block = start.contentBlock();
            if (block.isToolUse()) {
                var use = block.asToolUse();
                PendingCall call = new PendingCall(use.id(), use.name(), calls.size());
                calls.put(start.index(), call);
                toolCalls.accept(new ToolCallDelta(call.ordinal, call.id, call.name, ""));
            } else if (block.isText() && !block.asText().text().isEmpty()) {
                text(block.asText().text(), tokens);
            }
        } else if (event.isContentBlockDelta()) {
            requireStarted("content_block_delta");
            var delta = event.asContentBlockDelta();
            RawContentBlockDelta d = delta.delta();
            if (d.isText()) {
                text(d.asText().text(), tokens);
            } else if (d.isInputJson()) {
                PendingCall call = calls.get(delta.index());
                if (call == null) {
                    throw protocol("an input_json_delta for content block " + delta.index() + ", which is no tool_use");
                }
                String piece = d.asInputJson().partialJson();
                grow(piece.length());
                call.json.append(piece);
                if (!piece.isEmpty()) {
                    toolCalls.accept(new ToolCallDelta(call.ordinal, null, null, piece));
                }
            }
            // thinking, signature and citation deltas carry nothing Parley's API has a place for
        } else if (event.isMessageDelta()) {
            requireStarted("message_delta");
            var delta = event.asMessageDelta();
            delta.delta().stopReason().map(StopReason::asString).ifPresent(r -> stopReason = r);
            deltaUsage(delta.usage());
        } else if (event.isMessageStop()) {
            requireStarted("message_stop");
            stopped = true;
            for (PendingCall c : calls.values()) {
                if (c.json.length() == 0) {
                    toolCalls.accept(new ToolCallDelta(c.ordinal, null, null, "{}"));
                }
            }
        }
        // content_block_stop needs nothing: a tool call's arguments are whole once the message stops
    }

    /** Takes a whole non-streamed answer. */
    void accept(Message m) {
        started = true;
        stopped = true;
        model = m.model().asString();
        long index = 0;
        for (ContentBlock block : m.content()) {
            if (block.isText()) {
                grow(block.asText().text().length());
                text.append(block.asText().text());
            } else if (block.isToolUse()) {
                var use = block.asToolUse();
                PendingCall call = new PendingCall(use.id(), use.name(), calls.size());
                call.whole = json(use._input());
                grow(call.whole.length());
                calls.put(index, call);
            }
            index++;
        }
        stopReason = m.stopReason().map(StopReason::asString).orElse(null);
        usage(m.usage());
    }

    boolean stopped() {
        return stopped;
    }

    String stopReason() {
        return stopReason;
    }

    ChatResponse response() {
        List<ToolCall> toolCalls = new ArrayList<>();
        for (PendingCall c : calls.values()) {
            String args = c.whole != null ? c.whole : c.json.length() == 0 ? "{}" : c.json.toString();
            toolCalls.add(new ToolCall(c.id, c.name, args));
        }
        long prompt = inputTokens + cacheReadTokens + cacheCreationTokens;
        Usage usage = new Usage(clamp(prompt), clamp(outputTokens), clamp(cacheReadTokens));
        return new ChatResponse(text.toString(), toolCalls, finishReason(), usage, model != null ? model : requestedModel);
    }

    /**
     * The Messages API's stop reasons (Handling stop reasons): end_turn, stop_sequence, max_tokens, tool_use,
     * pause_turn, refusal, model_context_window_exceeded. A refusal is not an answer: the caller fails it.
     */
    private FinishReason finishReason() {
        if (stopReason == null) {
            return calls.isEmpty() ? FinishReason.STOP : FinishReason.TOOL_CALLS;
        }
        return switch (stopReason) {
            case "end_turn", "stop_sequence" -> FinishReason.STOP;
            case "max_tokens", "model_context_window_exceeded" -> FinishReason.LENGTH;
            case "tool_use" -> FinishReason.TOOL_CALLS;
            case "refusal" -> FinishReason.CONTENT_FILTER;
            default -> FinishReason.OTHER;
        };
    }

    private void usage(com.anthropic.models.messages.Usage u) {
        inputTokens = u.inputTokens();
        outputTokens = u.outputTokens();
        cacheReadTokens = u.cacheReadInputTokens().orElse(0L);
        cacheCreationTokens = u.cacheCreationInputTokens().orElse(0L);
    }

    /** message_delta's usage is cumulative; its input figures are there only when they changed. */
    private void deltaUsage(MessageDeltaUsage u) {
        outputTokens = u.outputTokens();
        u.inputTokens().ifPresent(v -> inputTokens = v);
        u.cacheReadInputTokens().ifPresent(v -> cacheReadTokens = v);
        u.cacheCreationInputTokens().ifPresent(v -> cacheCreationTokens = v);
    }

    private void text(String piece, Consumer<String> tokens) {
        grow(piece.length());
        text.append(piece);
        tokens.accept(piece);
    }

    private void grow(int chars) {
        answerChars += chars;
        if (answerChars > maxAnswerChars) {
            throw new ParleyException(ErrorCode.UPSTREAM_PROTOCOL,
                    "the answer grew beyond " + maxAnswerChars + " characters, the provider's limit");
        }
    }

    private void requireStarted(String event) {
        if (!started) {
            throw protocol("a " + event + " event before message_start");
        }
        if (stopped) {
            throw protocol("a " + event + " event after message_stop");
        }
    }

    private static ParleyException protocol(String what) {
        return new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "Anthropic sent " + what);
    }

    private static String json(JsonValue value) {
        try {
            return jsonMapper().writeValueAsString(value);
        } catch (JsonProcessingException e) {
            throw new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "Anthropic sent tool input that is not JSON", e);
        }
    }

    private static int clamp(long v) {
        return v > Integer.MAX_VALUE ? Integer.MAX_VALUE : (int) Math.max(0, v);
    }
}

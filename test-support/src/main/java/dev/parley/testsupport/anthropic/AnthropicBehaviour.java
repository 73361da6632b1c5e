package dev.parley.testsupport.anthropic;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What {@link FakeAnthropicServer} does with one {@code POST /v1/messages}. Built fluently, then queued (used by one
 * request) or set as the server's default. Configure it before the request that uses it arrives.
 */
public final class AnthropicBehaviour {

    enum Kind { ECHO, REPLY, FAIL }

    /** A tool_use block of an answer. */
    public record ToolUse(String id, String name, String inputJson) {
        public ToolUse {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(inputJson, "inputJson");
        }
    }

    final Kind kind;
    final String text;
    final int status;
    final String errorType;
    volatile String errorMessage;
    final List<ToolUse> toolUses = new ArrayList<>();
    volatile String stopReason;
    volatile Long retryAfterSeconds;
    volatile long cacheReadTokens;
    volatile long cacheCreationTokens;
    volatile int cutAfter = -1;
    volatile int malformedAfter = -1;
    volatile int errorEventAfter = -1;
    volatile String errorEventType;
    volatile String errorEventMessage;
    volatile Duration firstEventDelay;
    volatile Duration deltaDelay;
    volatile Duration headersDelay;
    volatile String answeredModel;
    volatile int inputPieceChars;

    private AnthropicBehaviour(Kind kind, String text, int status, String errorType) {
        this.kind = kind;
        this.text = text;
        this.status = status;
        this.errorType = errorType;
    }

    /** Answers {@code "echo: " + <the last user text>}, one word per text_delta. */
    public static AnthropicBehaviour echo() {
        return new AnthropicBehaviour(Kind.ECHO, null, 200, null);
    }

    /** Answers {@code text}, one word per text_delta ({@code stop_reason: end_turn}). */
    public static AnthropicBehaviour reply(String text) {
        return new AnthropicBehaviour(Kind.REPLY, Objects.requireNonNull(text, "text"), 200, null);
    }

    /**
     * Answers with tool_use blocks (after {@code text}, when not empty), their input streamed as input_json_delta
     * pieces, {@code stop_reason: tool_use}.
     */
    public static AnthropicBehaviour toolUse(String text, ToolUse... uses) {
        AnthropicBehaviour b = new AnthropicBehaviour(Kind.REPLY, text == null ? "" : text, 200, null);
        b.toolUses.addAll(List.of(uses));
        b.stopReason = "tool_use";
        return b;
    }

    /**
     * Fails with {@code status} and the documented error body {@code {"type":"error","error":{"type":errorType,
     * "message":...},"request_id":...}} (Errors: HTTP errors).
     */
    public static AnthropicBehaviour fail(int status, String errorType) {
        if (status < 400) {
            throw new IllegalArgumentException("not an error status: " + status);
        }
        return new AnthropicBehaviour(Kind.FAIL, null, status, Objects.requireNonNull(errorType, "errorType"));
    }

    /** 429 rate_limit_error with {@code retry-after: seconds} and the anthropic-ratelimit-* headers. */
    public static AnthropicBehaviour rateLimited(long retryAfterSeconds) {
        AnthropicBehaviour b = fail(429, "rate_limit_error");
        b.retryAfterSeconds = retryAfterSeconds;
        return b;
    }

    /** 529 overloaded_error. */
    public static AnthropicBehaviour overloaded() {
        return fail(529, "overloaded_error").message("Overloaded");
    }

    /** Replaces the message of an error body. */
    public AnthropicBehaviour message(String message) {
        this.errorMessage = message;
        return this;
    }

    /** Sends {@code retry-after} with an error status (429 sends it anyway). */
    public AnthropicBehaviour retryAfter(long seconds) {
        this.retryAfterSeconds = seconds;
        return this;
    }

    /** Sets the stop_reason (end_turn by default; tool_use for tool answers). */
    public AnthropicBehaviour stopReason(String stopReason) {
        this.stopReason = stopReason;
        return this;
    }

    /** Reports prompt-cache figures in usage (cache_read_input_tokens, cache_creation_input_tokens). */
    public AnthropicBehaviour cache(long readTokens, long creationTokens) {
        this.cacheReadTokens = readTokens;
        this.cacheCreationTokens = creationTokens;
        return this;
    }

    /**
     * Streams each tool_use block's input in input_json_delta pieces of at most {@code chars} characters, cut wherever
     * that falls (inside a key, a string or a number), as Anthropic does; by default in two halves.
     */
    public AnthropicBehaviour inputInPiecesOf(int chars) {
        if (chars < 1) {
            throw new IllegalArgumentException("a piece holds at least one character: " + chars);
        }
        this.inputPieceChars = chars;
        return this;
    }

    /** Answers as this model (default: the model of the request). */
    public AnthropicBehaviour answeredBy(String model) {
        this.answeredModel = model;
        return this;
    }

    /** Streams {@code n} deltas, then drops the connection (no message_stop). A whole answer sends half its body. */
    public AnthropicBehaviour cutAfter(int n) {
        this.cutAfter = n;
        return this;
    }

    /** Streams {@code n} deltas, then an event whose data is not JSON. A whole answer is a 200 that is not JSON. */
    public AnthropicBehaviour malformedAfter(int n) {
        this.malformedAfter = n;
        return this;
    }

    /**
     * Streams {@code n} deltas, then an {@code event: error} with {@code {"type":"error","error":{"type":type,...}}}
     * and ends the stream (Streaming Messages: error events), as when the API overloads mid-answer.
     */
    public AnthropicBehaviour errorEventAfter(int n, String type, String message) {
        this.errorEventAfter = n;
        this.errorEventType = type;
        this.errorEventMessage = message;
        return this;
    }

    /** Waits this long after the response headers before message_start. */
    public AnthropicBehaviour firstEventDelay(Duration d) {
        this.firstEventDelay = d;
        return this;
    }

    /** Waits this long between deltas. */
    public AnthropicBehaviour deltaDelay(Duration d) {
        this.deltaDelay = d;
        return this;
    }

    /** Waits this long before sending the response headers. */
    public AnthropicBehaviour headersDelay(Duration d) {
        this.headersDelay = d;
        return this;
    }
}

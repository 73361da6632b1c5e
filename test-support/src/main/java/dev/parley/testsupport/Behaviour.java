package dev.parley.testsupport;

import java.time.Duration;
import java.util.List;
import java.util.Objects;

/**
 * What {@link FakeOpenAiServer} does with one chat-completions request. Built fluently and then either queued
 * (used by exactly one request) or set as the server's default (used whenever the queue is empty).
 * Configure a behaviour before the request that uses it arrives.
 */
public final class Behaviour {

    enum Kind { REPLY, ECHO, TOOL_CALL, FAIL, RATE_LIMIT }

    /** One tool call of an answer: {@code argumentsJson} is streamed in two fragments, as OpenAI splits arguments. */
    public record Call(String id, String name, String argumentsJson) {
        public Call {
            Objects.requireNonNull(id, "id");
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(argumentsJson, "argumentsJson");
        }
    }

    final Kind kind;
    final String text;
    final int status;
    final long retryAfterSeconds;
    final String toolCallId;
    final String toolName;
    final String toolArguments;
    final List<Call> calls;
    volatile int cachedTokens;
    volatile String errorMessage;
    volatile String finishReason = "stop";
    volatile int cutAfter = -1;
    volatile int malformedAfter = -1;
    volatile Duration firstTokenDelay;
    volatile Duration tokenDelay;
    volatile Duration headersDelay;
    volatile boolean streamRegardless;
    volatile int argumentPieceChars;
    volatile String textBeforeCalls;

    private Behaviour(Kind kind, String text, int status, long retryAfterSeconds,
            String toolCallId, String toolName, String toolArguments) {
        this.kind = kind;
        this.text = text;
        this.status = status;
        this.retryAfterSeconds = retryAfterSeconds;
        this.toolCallId = toolCallId;
        this.toolName = toolName;
        this.toolArguments = toolArguments;
        this.calls = toolName == null ? List.of() : List.of(new Call(toolCallId, toolName, toolArguments));
    }

    private Behaviour(List<Call> calls) {
        this.kind = Kind.TOOL_CALL;
        this.text = null;
        this.status = 200;
        this.retryAfterSeconds = 0;
        this.toolCallId = calls.get(0).id();
        this.toolName = calls.get(0).name();
        this.toolArguments = calls.get(0).argumentsJson();
        this.calls = List.copyOf(calls);
        this.finishReason = "tool_calls";
    }

    /** Answers {@code text}, streamed one word per chunk. */
    public static Behaviour reply(String text) {
        return new Behaviour(Kind.REPLY, Objects.requireNonNull(text, "text"), 200, 0, null, null, null);
    }

    /** Answers {@code "echo: " + <last user message>}. */
    public static Behaviour echo() {
        return new Behaviour(Kind.ECHO, null, 200, 0, null, null, null);
    }

    /** Answers with one tool call instead of text ({@code finish_reason: tool_calls}). */
    public static Behaviour toolCall(String id, String name, String argumentsJson) {
        Behaviour b = new Behaviour(Kind.TOOL_CALL, null, 200, 0, id, name, argumentsJson);
        b.finishReason = "tool_calls";
        return b;
    }

    /**
     * Answers with several tool calls at once (parallel tool calls), in this order: streamed as OpenAI does, each
     * call's first fragment carries its index, id, type and function name, the next ones its index and a piece of
     * the arguments.
     */
    public static Behaviour toolCalls(Call... calls) {
        if (calls.length == 0) {
            throw new IllegalArgumentException("no tool call");
        }
        return new Behaviour(List.of(calls));
    }

    /** Fails with an HTTP status and the OpenAI error object that status comes with. */
    public static Behaviour fail(int status) {
        if (status < 400) {
            throw new IllegalArgumentException("not an error status: " + status);
        }
        return new Behaviour(Kind.FAIL, null, status, 0, null, null, null);
    }

    /** Fails with 429, a {@code Retry-After} header and a {@code rate_limit_exceeded} error object. */
    public static Behaviour rateLimit(long retryAfterSeconds) {
        return new Behaviour(Kind.RATE_LIMIT, null, 429, retryAfterSeconds, null, null, null);
    }

    /** Reports this many prompt tokens as read from the prompt cache ({@code prompt_tokens_details.cached_tokens}). */
    public Behaviour cachedTokens(int cached) {
        this.cachedTokens = cached;
        return this;
    }

    /** Replaces the default error message of a failing behaviour. */
    public Behaviour message(String errorMessage) {
        this.errorMessage = errorMessage;
        return this;
    }

    /** Sets the {@code finish_reason} of the answer (default {@code stop}). */
    public Behaviour finishReason(String finishReason) {
        this.finishReason = finishReason;
        return this;
    }

    /**
     * Streams {@code n} content chunks, then drops the connection without a final chunk or {@code [DONE]}. A
     * non-streamed answer announces its full Content-Length, sends half the body and drops the connection.
     */
    public Behaviour cutStreamAfter(int n) {
        this.cutAfter = n;
        return this;
    }

    /**
     * Streams {@code n} content chunks, then a frame that is not JSON ({@code data: {not json}). A non-streamed
     * answer is a 200 whose body is not JSON.
     */
    public Behaviour malformedChunkAfter(int n) {
        this.malformedAfter = n;
        return this;
    }

    /**
     * Streams each tool call's arguments in pieces of at most {@code chars} characters, cut wherever that falls
     * (inside a key, a string or a number), as OpenAI streams them a few tokens at a time; by default they go in two
     * halves.
     */
    public Behaviour argumentsInPiecesOf(int chars) {
        if (chars < 1) {
            throw new IllegalArgumentException("a piece holds at least one character: " + chars);
        }
        this.argumentPieceChars = chars;
        return this;
    }

    /**
     * A tool-call answer that says {@code text} first (streamed one word per chunk, as {@code content}), then makes
     * its calls.
     */
    public Behaviour textBeforeCalls(String text) {
        if (kind != Kind.TOOL_CALL) {
            throw new IllegalStateException("only a tool-call answer has text before its calls");
        }
        this.textBeforeCalls = Objects.requireNonNull(text, "text");
        return this;
    }

    /** Answers with server-sent events even when the request asked for {@code "stream": false}, as some servers do. */
    public Behaviour streamRegardless() {
        this.streamRegardless = true;
        return this;
    }

    /** Waits this long after the response headers before the first chunk. */
    public Behaviour firstTokenDelay(Duration delay) {
        this.firstTokenDelay = delay;
        return this;
    }

    /** Waits this long before sending the response headers of a streamed answer. */
    public Behaviour headersDelay(Duration delay) {
        this.headersDelay = delay;
        return this;
    }

    /** Waits this long between content chunks. */
    public Behaviour tokenDelay(Duration delay) {
        this.tokenDelay = delay;
        return this;
    }
}

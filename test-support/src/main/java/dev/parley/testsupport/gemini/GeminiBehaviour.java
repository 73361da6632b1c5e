package dev.parley.testsupport.gemini;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What {@link FakeGeminiServer} does with one {@code generateContent} or {@code streamGenerateContent} request.
 * Built fluently, then queued (used by exactly one request) or set as the server's default.
 */
public final class GeminiBehaviour {

    enum Kind { REPLY, ECHO, FUNCTION_CALLS, FAIL, BLOCK }

    /** One function call of an answer: Gemini sends {@code {"functionCall":{"name":..,"args":{..}}}} parts. */
    public record FunctionCall(String name, String argsJson) {
        public FunctionCall {
            Objects.requireNonNull(name, "name");
            argsJson = argsJson == null ? "{}" : argsJson;
        }
    }

    final Kind kind;
    final String text;
    final List<FunctionCall> calls;
    final int status;
    final String statusName;
    volatile String message;
    volatile String retryDelay;
    volatile String errorReason;
    volatile String blockReason;
    volatile String finishReason = "STOP";
    volatile int cutAfter = -1;
    volatile int malformedAfter = -1;
    volatile int errorEventAfter = -1;
    volatile int errorEventStatus = 500;
    volatile String errorEventStatusName = "INTERNAL";
    volatile Duration firstTokenDelay;
    volatile Duration tokenDelay;
    volatile boolean noFinish;
    volatile String textBeforeCalls;

    private GeminiBehaviour(Kind kind, String text, List<FunctionCall> calls, int status, String statusName) {
        this.kind = kind;
        this.text = text;
        this.calls = calls;
        this.status = status;
        this.statusName = statusName;
    }

    /** Answers {@code text}, streamed one word per event. */
    public static GeminiBehaviour reply(String text) {
        return new GeminiBehaviour(Kind.REPLY, Objects.requireNonNull(text, "text"), List.of(), 200, null);
    }

    /** Answers {@code "echo: " + <text of the last user content>}. */
    public static GeminiBehaviour echo() {
        return new GeminiBehaviour(Kind.ECHO, null, List.of(), 200, null);
    }

    /** Answers with these function calls, all in one candidate (parallel calls), and {@code finishReason: STOP}. */
    public static GeminiBehaviour functionCalls(FunctionCall... calls) {
        return new GeminiBehaviour(Kind.FUNCTION_CALLS, null, List.copyOf(new ArrayList<>(List.of(calls))), 200, null);
    }

    /**
     * A function-call answer that says {@code text} first (streamed one word per event), then makes its calls (all in
     * the next event).
     */
    public GeminiBehaviour textBeforeCalls(String text) {
        if (kind != Kind.FUNCTION_CALLS) {
            throw new IllegalStateException("only a function-call answer has text before its calls");
        }
        this.textBeforeCalls = Objects.requireNonNull(text, "text");
        return this;
    }

    /**
     * Fails with {@code status} and a {@code google.rpc.Status} body whose {@code status} is {@code statusName}
     * (e.g. 400 / {@code INVALID_ARGUMENT}); the message is the one the Gemini API sends for that status unless
     * {@link #message} replaces it.
     */
    public static GeminiBehaviour fail(int status, String statusName) {
        if (status < 400) {
            throw new IllegalArgumentException("not an error status: " + status);
        }
        return new GeminiBehaviour(Kind.FAIL, null, List.of(), status, Objects.requireNonNull(statusName));
    }

    /** Fails with 429 {@code RESOURCE_EXHAUSTED}, a quota violation and {@code RetryInfo.retryDelay}, e.g. "20s". */
    public static GeminiBehaviour rateLimited(String retryDelay) {
        GeminiBehaviour b = fail(429, "RESOURCE_EXHAUSTED");
        b.retryDelay = retryDelay;
        return b;
    }

    /** Answers 200 with no candidate and {@code promptFeedback.blockReason} (e.g. SAFETY, PROHIBITED_CONTENT). */
    public static GeminiBehaviour blockPrompt(String blockReason) {
        GeminiBehaviour b = new GeminiBehaviour(Kind.BLOCK, null, List.of(), 200, null);
        b.blockReason = blockReason;
        return b;
    }

    /** Replaces the error message of a failing behaviour. */
    public GeminiBehaviour message(String message) {
        this.message = message;
        return this;
    }

    /** Adds a {@code google.rpc.ErrorInfo} detail with this reason (e.g. {@code API_KEY_INVALID}). */
    public GeminiBehaviour reason(String reason) {
        this.errorReason = reason;
        return this;
    }

    /** The {@code finishReason} of the last candidate (default {@code STOP}). */
    public GeminiBehaviour finishReason(String finishReason) {
        this.finishReason = finishReason;
        return this;
    }

    /** Streams {@code n} events, then drops the connection; a non-streamed answer sends half its body. */
    public GeminiBehaviour cutAfter(int n) {
        this.cutAfter = n;
        return this;
    }

    /** Streams {@code n} events, then one whose data is not JSON; a non-streamed answer is a 200 that is not JSON. */
    public GeminiBehaviour malformedAfter(int n) {
        this.malformedAfter = n;
        return this;
    }

    /** Streams {@code n} events, then an event carrying a {@code google.rpc.Status} error, and ends the stream. */
    public GeminiBehaviour errorEventAfter(int n, int status, String statusName) {
        this.errorEventAfter = n;
        this.errorEventStatus = status;
        this.errorEventStatusName = statusName;
        return this;
    }

    /** Ends the stream cleanly after the text events, without the event that carries a finish reason. */
    public GeminiBehaviour noFinishEvent() {
        this.noFinish = true;
        return this;
    }

    /** Waits this long after the response headers before the first event (or before a non-streamed answer). */
    public GeminiBehaviour firstTokenDelay(Duration delay) {
        this.firstTokenDelay = delay;
        return this;
    }

    /** Waits this long between events. */
    public GeminiBehaviour tokenDelay(Duration delay) {
        this.tokenDelay = delay;
        return this;
    }
}

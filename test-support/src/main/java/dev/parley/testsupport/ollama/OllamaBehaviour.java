package dev.parley.testsupport.ollama;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * What {@link FakeOllamaServer} does with one {@code POST /api/chat} request. Built fluently, then queued (used by
 * exactly one request) or set as the server's default. Configure it before the request that uses it arrives.
 */
public final class OllamaBehaviour {

    enum Kind { REPLY, ECHO, TOOL_CALLS, FAIL }

    /** One tool call the model makes: Ollama sends its arguments as a JSON object, not a string. */
    public record Call(String name, String argumentsJson) {
        public Call {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(argumentsJson, "argumentsJson");
        }
    }

    final Kind kind;
    final String text;
    final List<Call> calls;
    final int status;
    volatile String errorMessage;
    volatile String doneReason = "stop";
    volatile Map<String, String> headers = Map.of();
    volatile boolean callsInOneLine;
    volatile boolean omitPromptEvalCount;
    volatile String toolCallIdPrefix;
    volatile String textBeforeCalls;
    volatile int cutAfter = -1;
    volatile int endWithoutDoneAfter = -1;
    volatile int malformedAfter = -1;
    volatile int errorAfter = -1;
    volatile String streamError;
    volatile Duration headersDelay;
    volatile Duration firstTokenDelay;
    volatile Duration tokenDelay;

    private OllamaBehaviour(Kind kind, String text, List<Call> calls, int status) {
        this.kind = kind;
        this.text = text;
        this.calls = calls;
        this.status = status;
    }

    /** Answers {@code text}, streamed one word per line. */
    public static OllamaBehaviour reply(String text) {
        return new OllamaBehaviour(Kind.REPLY, Objects.requireNonNull(text, "text"), List.of(), 200);
    }

    /** Answers {@code "echo: " + <content of the last user message>}. */
    public static OllamaBehaviour echo() {
        return new OllamaBehaviour(Kind.ECHO, null, List.of(), 200);
    }

    /**
     * Answers with tool calls: each in its own line (as Ollama streams them when its parser has read one), with
     * {@code function.index} 0, 1, … and no id; {@code done_reason} is {@code stop}, as Ollama sends it.
     */
    public static OllamaBehaviour toolCalls(Call... calls) {
        return new OllamaBehaviour(Kind.TOOL_CALLS, null, List.copyOf(new ArrayList<>(List.of(calls))), 200);
    }

    /** Fails with {@code status} and Ollama's error object {@code {"error": message}}. */
    public static OllamaBehaviour fail(int status, String message) {
        if (status < 400) {
            throw new IllegalArgumentException("not an error status: " + status);
        }
        OllamaBehaviour b = new OllamaBehaviour(Kind.FAIL, null, List.of(), status);
        b.errorMessage = Objects.requireNonNull(message, "message");
        return b;
    }

    /**
     * A 429 from a proxy or a hosted Ollama in front of the server, with {@code Retry-After: seconds} (Ollama itself
     * does not rate-limit).
     */
    public static OllamaBehaviour rateLimited(long retryAfterSeconds) {
        return fail(429, "too many requests, please retry later").header("Retry-After", Long.toString(retryAfterSeconds));
    }

    /** Ollama's 503 when its request queue is full ({@code OLLAMA_MAX_QUEUE}, server/sched.go). */
    public static OllamaBehaviour busy() {
        return fail(503, "server busy, please try again.  maximum pending requests exceeded");
    }

    /** Adds a response header. */
    public OllamaBehaviour header(String name, String value) {
        var h = new java.util.LinkedHashMap<>(headers);
        h.put(name, value);
        this.headers = Map.copyOf(h);
        return this;
    }

    /** Sets {@code done_reason} of the final line ({@code stop}, {@code length}, {@code load}, {@code unload}). */
    public OllamaBehaviour doneReason(String reason) {
        this.doneReason = reason;
        return this;
    }

    /** Sends all tool calls in one line instead of one line each. */
    public OllamaBehaviour callsInOneLine() {
        this.callsInOneLine = true;
        return this;
    }

    /** A tool-call answer that says {@code text} first (one word per line), then makes its calls. */
    public OllamaBehaviour textBeforeCalls(String text) {
        if (kind != Kind.TOOL_CALLS) {
            throw new IllegalStateException("only a tool-call answer has text before its calls");
        }
        this.textBeforeCalls = Objects.requireNonNull(text, "text");
        return this;
    }

    /** Gives each tool call an {@code id} ({@code prefix + index}), as some newer Ollama versions do. */
    public OllamaBehaviour toolCallIds(String prefix) {
        this.toolCallIdPrefix = prefix;
        return this;
    }

    /** Leaves {@code prompt_eval_count} out of the final line, as Ollama does when the prompt came from its cache. */
    public OllamaBehaviour omitPromptEvalCount() {
        this.omitPromptEvalCount = true;
        return this;
    }

    /**
     * Streams {@code n} content lines, then drops the connection (no terminating chunk). A non-streamed answer
     * announces its Content-Length, sends half the body and drops the connection.
     */
    public OllamaBehaviour cutAfter(int n) {
        this.cutAfter = n;
        return this;
    }

    /** Streams {@code n} content lines, then ends the body cleanly without the {@code "done": true} line. */
    public OllamaBehaviour endWithoutDoneAfter(int n) {
        this.endWithoutDoneAfter = n;
        return this;
    }

    /** Streams {@code n} content lines, then a line that is not JSON. A non-streamed answer is a 200 with a non-JSON body. */
    public OllamaBehaviour malformedAfter(int n) {
        this.malformedAfter = n;
        return this;
    }

    /**
     * Streams {@code n} content lines, then Ollama's mid-stream error line {@code {"error": message}} and ends the
     * body (docs/api/errors: "errors that occur while streaming").
     */
    public OllamaBehaviour errorAfter(int n, String message) {
        this.errorAfter = n;
        this.streamError = message;
        return this;
    }

    /** Waits this long before the response headers (Ollama sends them with the first line: loading, prompt eval). */
    public OllamaBehaviour headersDelay(Duration delay) {
        this.headersDelay = delay;
        return this;
    }

    /** Waits this long after the headers, before the first line. */
    public OllamaBehaviour firstTokenDelay(Duration delay) {
        this.firstTokenDelay = delay;
        return this;
    }

    /** Waits this long between lines. */
    public OllamaBehaviour tokenDelay(Duration delay) {
        this.tokenDelay = delay;
        return this;
    }
}

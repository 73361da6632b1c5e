package dev.parley.testsupport.mistral;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * What {@link FakeMistralServer} does with one chat-completions request: queued (used by one request) or set as the
 * default. Configure it before the request that uses it arrives.
 */
public final class MistralBehaviour {

    enum Kind { REPLY, ECHO, TOOL_CALLS, FAIL }

    /** One tool call the fake model makes; the id is Mistral's nine alphanumerics unless given. */
    public record Call(String id, String name, String argumentsJson) {
        public Call {
            Objects.requireNonNull(name, "name");
            argumentsJson = argumentsJson == null ? "{}" : argumentsJson;
        }
    }

    final Kind kind;
    final String text;
    final List<Call> calls;
    final int status;
    volatile String errorBody;
    volatile long retryAfterSeconds = -1;
    volatile String finishReason;
    volatile int cutAfter = -1;
    volatile int closeAfter = -1;
    volatile int malformedAfter = -1;
    volatile int errorEventAfter = -1;
    volatile String errorEvent;
    volatile int cachedTokens = -1;
    volatile Duration firstTokenDelay;
    volatile Duration tokenDelay;
    volatile String answerModel;
    volatile String textBeforeCalls;

    private MistralBehaviour(Kind kind, String text, List<Call> calls, int status) {
        this.kind = kind;
        this.text = text;
        this.calls = calls;
        this.status = status;
    }

    /** Answers {@code text}, streamed one word per chunk. */
    public static MistralBehaviour reply(String text) {
        return new MistralBehaviour(Kind.REPLY, Objects.requireNonNull(text, "text"), List.of(), 200);
    }

    /** Answers {@code "echo: " + <last user text>}. */
    public static MistralBehaviour echo() {
        return new MistralBehaviour(Kind.ECHO, null, List.of(), 200);
    }

    /** Answers with these tool calls (several = parallel calls) and {@code finish_reason: tool_calls}. */
    public static MistralBehaviour toolCalls(Call... calls) {
        List<Call> list = new ArrayList<>();
        int n = 0;
        for (Call c : calls) {
            n++;
            list.add(c.id() != null ? c : new Call(nineChars(n), c.name(), c.argumentsJson()));
        }
        MistralBehaviour b = new MistralBehaviour(Kind.TOOL_CALLS, null, List.copyOf(list), 200);
        b.finishReason = "tool_calls";
        return b;
    }

    /** A tool-call answer that says {@code text} first (one word per chunk), then makes its calls. */
    public MistralBehaviour textBeforeCalls(String text) {
        if (kind != Kind.TOOL_CALLS) {
            throw new IllegalStateException("only a tool-call answer has text before its calls");
        }
        this.textBeforeCalls = Objects.requireNonNull(text, "text");
        return this;
    }

    public static Call call(String name, String argumentsJson) {
        return new Call(null, name, argumentsJson);
    }

    /** Fails with {@code status} and the error body Mistral sends for it (see {@link FakeMistralServer}). */
    public static MistralBehaviour fail(int status) {
        if (status < 400) {
            throw new IllegalArgumentException("not an error status: " + status);
        }
        return new MistralBehaviour(Kind.FAIL, null, List.of(), status);
    }

    /** 429 {@code rate_limited} (code 1300) with {@code Retry-After} and the rate-limit headers. */
    public static MistralBehaviour rateLimited(long retryAfterSeconds) {
        MistralBehaviour b = fail(429);
        b.retryAfterSeconds = retryAfterSeconds;
        return b;
    }

    /** 429 {@code service_tier_capacity_exceeded} (code 3505): the model is overloaded, not the key. */
    public static MistralBehaviour capacityExceeded() {
        return fail(429).body(FakeMistralServer.errorObject("Service tier capacity exceeded for this model.",
                "service_tier_capacity_exceeded", "3505", 429));
    }

    /** 400 for a prompt longer than the model's context window. */
    public static MistralBehaviour contextTooLong() {
        return fail(400).body(FakeMistralServer.errorObject("Prompt contains 40005 tokens and 0 draft tokens, too large "
                + "for model with 32768 maximum context length", "invalid_request_error", null, 0));
    }

    /** 422 with FastAPI's {@code detail} array inside Mistral's error object. */
    public static MistralBehaviour validationError() {
        return fail(422);
    }

    /** Replaces the error body. */
    public MistralBehaviour body(String errorBody) {
        this.errorBody = errorBody;
        return this;
    }

    public MistralBehaviour finishReason(String finishReason) {
        this.finishReason = finishReason;
        return this;
    }

    /** Reports {@code usage.prompt_tokens_details.cached_tokens}. */
    public MistralBehaviour cachedTokens(int n) {
        this.cachedTokens = n;
        return this;
    }

    /** The {@code model} field of the answer (default: the one asked for). */
    public MistralBehaviour answerModel(String model) {
        this.answerModel = model;
        return this;
    }

    /** Streams {@code n} content chunks, then drops the connection (no final chunk, no [DONE]). */
    public MistralBehaviour cutStreamAfter(int n) {
        this.cutAfter = n;
        return this;
    }

    /**
     * Streams {@code n} content chunks, then ends the response cleanly (the HTTP body is complete) without a final
     * chunk or {@code [DONE]}, as a proxy that gives up might. Streaming only.
     */
    public MistralBehaviour endStreamAfter(int n) {
        this.closeAfter = n;
        return this;
    }

    /** Streams {@code n} content chunks, then an event that is not JSON. A non-streamed answer is a 200 that is not JSON. */
    public MistralBehaviour malformedEventAfter(int n) {
        this.malformedAfter = n;
        return this;
    }

    /** Streams {@code n} content chunks, then an error object as an event ({@code errorJson}), then ends. */
    public MistralBehaviour errorEventAfter(int n, String errorJson) {
        this.errorEventAfter = n;
        this.errorEvent = errorJson;
        return this;
    }

    public MistralBehaviour firstTokenDelay(Duration d) {
        this.firstTokenDelay = d;
        return this;
    }

    public MistralBehaviour tokenDelay(Duration d) {
        this.tokenDelay = d;
        return this;
    }

    static String nineChars(int n) {
        String s = "call" + n + "abcdefgh";
        return s.substring(0, 9);
    }
}

package dev.parley.provider.openai.internal;

/**
 * An OpenAI error object inside a stream that had started with HTTP 200 ({@code data: {"error": {...}}}), as
 * servers send when a generation fails after the headers are out; or the same object as the body of a non-streamed
 * answer that came with HTTP 200.
 */
final class UpstreamStreamError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String type;
    private final String code;
    private final boolean whole;

    UpstreamStreamError(String message, String type, String code) {
        this(message, type, code, false);
    }

    /** {@code whole}: the error object came instead of a non-streamed answer, not in the middle of a stream. */
    UpstreamStreamError(String message, String type, String code, boolean whole) {
        super(message == null || message.isBlank() ? "(no message)" : message);
        this.type = type;
        this.code = code;
        this.whole = whole;
    }

    /** True when the error object was the body of a non-streamed answer. */
    boolean whole() {
        return whole;
    }

    /** The error's {@code type}, or null. */
    String type() {
        return type;
    }

    /** The error's {@code code} as text (some servers send an HTTP status number), or null. */
    String code() {
        return code;
    }
}

package dev.parley.provider.openai.internal;

/**
 * An OpenAI error object inside a stream that had started with HTTP 200 ({@code data: {"error": {...}}}), as
 * servers send when a generation fails after the headers are out.
 */
final class UpstreamStreamError extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final String type;
    private final String code;

    UpstreamStreamError(String message, String type, String code) {
        super(message == null || message.isBlank() ? "(no message)" : message);
        this.type = type;
        this.code = code;
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

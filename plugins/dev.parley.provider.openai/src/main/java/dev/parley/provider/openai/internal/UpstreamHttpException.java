package dev.parley.provider.openai.internal;

import java.time.Duration;

/** An error response from upstream: its status, its body and its Retry-After header. */
final class UpstreamHttpException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    private final int statusCode;
    private final transient Duration retryAfter;

    UpstreamHttpException(int statusCode, String body, Duration retryAfter) {
        super(body);
        this.statusCode = statusCode;
        this.retryAfter = retryAfter;
    }

    int statusCode() {
        return statusCode;
    }

    /** The body of the error response. */
    String body() {
        return getMessage();
    }

    /** Null when upstream sent no usable Retry-After. */
    Duration retryAfter() {
        return retryAfter;
    }
}

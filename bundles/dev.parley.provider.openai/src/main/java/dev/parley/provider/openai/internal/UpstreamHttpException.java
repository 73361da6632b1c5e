package dev.parley.provider.openai.internal;

import dev.langchain4j.exception.HttpException;
import java.time.Duration;

/** An error response from upstream, keeping what langchain4j's own exception drops: the Retry-After header. */
final class UpstreamHttpException extends HttpException {
    private static final long serialVersionUID = 1L;

    private final transient Duration retryAfter;

    UpstreamHttpException(int statusCode, String body, Duration retryAfter) {
        super(statusCode, body);
        this.retryAfter = retryAfter;
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

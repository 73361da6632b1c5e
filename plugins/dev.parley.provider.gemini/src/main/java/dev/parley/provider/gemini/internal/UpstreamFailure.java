package dev.parley.provider.gemini.internal;

import dev.langchain4j.exception.NonRetriableException;
import dev.parley.api.error.ParleyException;

/**
 * How {@link GeminiTransport} fails a whole-answer exchange inside langchain4j: a {@link NonRetriableException}, so
 * langchain4j's own retry loop (which its embedding model runs whatever {@code maxRetries} says) gives up at once and
 * the caller (the router) decides about retries, with the vendor's retry hint in the {@link ParleyException} it wraps.
 */
final class UpstreamFailure extends NonRetriableException {
    private static final long serialVersionUID = 1L;

    UpstreamFailure(ParleyException cause) {
        super(cause.getMessage(), cause);
    }
}

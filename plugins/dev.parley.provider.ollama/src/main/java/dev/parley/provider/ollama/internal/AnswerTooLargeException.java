package dev.parley.provider.ollama.internal;

import java.io.IOException;

/** The response body grew past the configured maximum; the connection is closed. */
final class AnswerTooLargeException extends IOException {
    private static final long serialVersionUID = 1L;

    AnswerTooLargeException(long max) {
        super("the answer is larger than " + max + " bytes");
    }
}

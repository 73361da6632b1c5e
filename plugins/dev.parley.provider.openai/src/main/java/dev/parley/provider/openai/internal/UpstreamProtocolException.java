package dev.parley.provider.openai.internal;

/** The upstream answered with HTTP 200 but sent something the chat-completions stream protocol does not allow. */
final class UpstreamProtocolException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    /** {@code what} completes "the model server sent …". */
    UpstreamProtocolException(String what) {
        super(what);
    }
}

package dev.parley.provider.openai.internal;

/** The upstream closed a stream cleanly but without the {@code data: [DONE]} frame the protocol ends with. */
final class StreamEndedEarlyException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    StreamEndedEarlyException() {
        super("upstream ended the stream before data: [DONE]");
    }
}

package dev.parley.provider.openai.internal;

/** A failure below HTTP (connection reset, closed mid-body), kept distinct from what upstream said. */
final class UpstreamTransportException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    UpstreamTransportException(Throwable cause) {
        super(cause.getMessage(), cause);
    }
}

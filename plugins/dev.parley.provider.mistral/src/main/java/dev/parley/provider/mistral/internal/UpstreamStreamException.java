package dev.parley.provider.mistral.internal;

/** What went wrong inside a 200 event stream. */
final class UpstreamStreamException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    enum Kind {
        /** The connection ended (or broke) before {@code data: [DONE]}. */
        CUT,
        /** An event whose data is not a chat-completion chunk (not JSON, or not the documented shape). */
        MALFORMED,
        /** An error object sent as an event in the stream. */
        ERROR_EVENT,
        /** The answer grew beyond the configured limit. */
        TOO_LARGE
    }

    private final Kind kind;
    private final String data;

    UpstreamStreamException(Kind kind, String message, String data, Throwable cause) {
        super(message, cause);
        this.kind = kind;
        this.data = data;
    }

    Kind kind() {
        return kind;
    }

    /** The event's data (ERROR_EVENT, MALFORMED), else null. */
    String data() {
        return data;
    }
}

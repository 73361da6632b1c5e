package dev.parley.web.ws.internal;

/** A frame a client sent, already checked for the fields its type needs. */
sealed interface ClientFrame {

    /**
     * Starts a turn; {@code conversationId} null means "create a conversation". {@code traceparent} and
     * {@code tracestate} (W3C Trace Context, optional) put the turn into the client's trace.
     */
    record Send(String id, String conversationId, String content, String model, String traceparent,
            String tracestate) implements ClientFrame {
    }

    record Cancel(String id) implements ClientFrame {
    }

    /** {@code id} may be null. */
    record Ping(String id) implements ClientFrame {
    }

    /** Not a usable frame; {@code id} is the request id when one could be read, else null. */
    record Invalid(String id, String message) implements ClientFrame {
    }
}

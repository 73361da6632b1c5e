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

    /**
     * Takes up a streamed answer again after event {@code after} (the {@code seq} of the last frame the client got
     * for it), e.g. on a new socket after the old one was lost; the frames come under the request id {@code id}.
     */
    record Resume(String id, String conversationId, String answerId, long after) implements ClientFrame {
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

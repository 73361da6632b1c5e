package dev.parley.web.rest.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.llm.StreamHandle;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * What every async chat request shares, whatever it renders: the writer, the handle of the model call behind it
 * (cancelled when the client goes, the request times out or the server stops), keep-alives for quiet streams, and
 * one report of its end to whoever counts open requests.
 */
abstract class AsyncExchange implements AsyncWriter.Owner {
    private static final Logger LOG = LoggerFactory.getLogger(AsyncExchange.class);

    /** Per-request limits, shared by every exchange of one front end. */
    record Limits(AsyncWriter.Limits writer, long requestTimeoutNanos, long heartbeatNanos) {
    }

    protected final AsyncWriter writer;
    private final Limits limits;
    private final boolean keepAlive;
    private final Consumer<AsyncExchange> onEnd;
    private final long startNanos = System.nanoTime();
    // Guarded by this.
    private StreamHandle handle;
    private boolean cancelWhenStarted;

    AsyncExchange(AsyncContext async, Limits limits, boolean keepAlive, Consumer<AsyncExchange> onEnd)
            throws IOException {
        this.writer = new AsyncWriter(async, limits.writer(), this);
        this.limits = limits;
        this.keepAlive = keepAlive;
        this.onEnd = onEnd;
    }

    /** The failure as this exchange renders it (a stream's error event, or a plain error response). */
    protected abstract void fail(ErrorResponses.Failure failure);

    /** Core refused the call before it ran: a plain error response, stream or not. */
    abstract void refuse(ErrorResponses.Failure failure);

    /** The comment that keeps a quiet stream open. */
    protected abstract byte[] keepAlive();

    /** Starts writing; frames produced before are sent then. */
    final void open() {
        writer.open();
    }

    /** The model call behind this exchange; cancelled at once if the exchange already ended. */
    final void started(StreamHandle h) {
        boolean cancel;
        synchronized (this) {
            handle = h;
            cancel = cancelWhenStarted;
        }
        if (cancel) {
            h.cancel();
        }
    }

    /** Ends an exchange past the request timeout; keeps a quiet stream alive (and so notices a client that left). */
    final void tick(long now) {
        if (now - startNanos > limits.requestTimeoutNanos()) {
            if (!writer.finishing()) {
                fail(ErrorResponses.Failure.of(ErrorCode.UPSTREAM_TIMEOUT, "No complete answer within "
                        + limits.requestTimeoutNanos() / 1_000_000_000L + " seconds."));
                cancelUpstream();
            }
            return;
        }
        if (keepAlive && !writer.finishing() && now - writer.lastWriteNanos() > limits.heartbeatNanos()) {
            writer.write(keepAlive(), false);
        }
    }

    /** Server shutdown after the drain time: end the client's request now. */
    final void abandon() {
        fail(ErrorResponses.Failure.of(ErrorCode.UNAVAILABLE, "server shutting down"));
        cancelUpstream();
    }

    /** The answer cannot be rendered in this API: the client gets {@code failure}, the model call is cancelled. */
    protected final void failAndCancel(ErrorResponses.Failure failure) {
        fail(failure);
        cancelUpstream();
    }

    /** Headers of a {@code text/event-stream} response; the body follows as frames. */
    protected final void startEventStream() {
        HttpServletResponse response = writer.response();
        response.setStatus(HttpServletResponse.SC_OK);
        response.setContentType("text/event-stream");
        response.setHeader("Cache-Control", "no-cache");
        response.setHeader("X-Accel-Buffering", "no");
    }

    /** A complete error response for {@code failure}, with its headers, unless something was already sent. */
    protected final void respond(ErrorResponses.Failure failure, int status, String contentType, byte[] body) {
        synchronized (writer) {
            if (writer.finishing()) {
                return;
            }
            HttpServletResponse response = writer.response();
            response.setStatus(status);
            response.setContentType(contentType);
            response.setContentLength(body.length);
            failure.headers(response);
        }
        writer.write(body, true);
    }

    /** A complete plain response, unless something was already sent. */
    protected final void respond(int status, Long retryAfterSeconds, String contentType, byte[] body) {
        synchronized (writer) {
            if (writer.finishing()) {
                return;
            }
            HttpServletResponse response = writer.response();
            response.setStatus(status);
            response.setContentType(contentType);
            response.setContentLength(body.length);
            if (retryAfterSeconds != null) {
                response.setHeader("Retry-After", Long.toString(retryAfterSeconds));
            }
        }
        writer.write(body, true);
    }

    /**
     * Whether the answer goes on when its client leaves (a logged stream the client may resume elsewhere); by
     * default the model call is cancelled.
     */
    protected boolean answerOutlivesClient() {
        return false;
    }

    @Override
    public final void clientGone(Throwable cause) {
        String reason = cause == null ? "client too slow: outbound queue full" : cause.toString();
        if (answerOutlivesClient()) {
            LOG.debug("client gone, the answer goes on in the stream log reason={}", reason);
            return;
        }
        LOG.debug("client gone, cancelling the answer reason={}", reason);
        cancelUpstream();
    }

    @Override
    public final void ended() {
        onEnd.accept(this);
    }

    private void cancelUpstream() {
        StreamHandle h;
        synchronized (this) {
            h = handle;
            cancelWhenStarted = h == null;
        }
        if (h != null) {
            h.cancel();
        }
    }
}

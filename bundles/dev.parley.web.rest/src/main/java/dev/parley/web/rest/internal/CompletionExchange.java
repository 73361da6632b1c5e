package dev.parley.web.rest.internal;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.StreamHandle;
import dev.parley.web.rest.internal.OpenAiBodies.AssistantMessage;
import dev.parley.web.rest.internal.OpenAiBodies.ChatCompletion;
import dev.parley.web.rest.internal.OpenAiBodies.Choice;
import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayDeque;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * One {@code POST /v1/chat/completions} in servlet async mode. No thread waits for the model: the provider's
 * callback thread encodes each event and writes it with non-blocking I/O (one write and one flush for whatever is
 * queued), and the container's thread continues when the socket can take more. What the client cannot take yet
 * waits in a bounded queue; a client that falls too far behind, leaves, or outlives the request timeout has its
 * completion cancelled, which stops the upstream call.
 */
final class CompletionExchange implements ChatStreamHandler, WriteListener, AsyncListener {
    private static final Logger LOG = LoggerFactory.getLogger(CompletionExchange.class);

    /** Limits of what may wait for a slow client, shared by every exchange of one servlet. */
    record Limits(int maxQueuedFrames, int maxQueuedBytes, long requestTimeoutNanos, long heartbeatNanos) {
    }

    private final AsyncContext async;
    private final HttpServletResponse response;
    private final ServletOutputStream out;
    private final ObjectMapper mapper;
    private final ChunkFrames frames;
    private final boolean stream;
    private final boolean includeUsage;
    private final Limits limits;
    private final Consumer<CompletionExchange> onEnd;
    private final long startNanos = System.nanoTime();

    // All below guarded by this.
    private final ArrayDeque<byte[]> queue = new ArrayDeque<>();
    private int queuedBytes;
    private boolean unflushed;
    /** The last frame is queued: complete once the queue is written out. */
    private boolean closing;
    private boolean ended;
    private long lastWriteNanos = startNanos;
    private StreamHandle handle;
    private boolean cancelWhenStarted;
    private boolean opened;
    private boolean endReported;

    CompletionExchange(AsyncContext async, ObjectMapper mapper, ChunkFrames frames, boolean stream,
            boolean includeUsage, Limits limits, Consumer<CompletionExchange> onEnd) throws IOException {
        this.async = async;
        this.response = (HttpServletResponse) async.getResponse();
        this.out = response.getOutputStream();
        this.mapper = mapper;
        this.frames = frames;
        this.stream = stream;
        this.includeUsage = includeUsage;
        this.limits = limits;
        this.onEnd = onEnd;
        async.addListener(this);
        if (stream) {
            response.setStatus(200);
            response.setContentType(SseStream.EVENT_STREAM);
            response.setHeader("Cache-Control", "no-cache");
            response.setHeader("X-Accel-Buffering", "no");
            byte[] role = frames.role();
            queue.add(role);
            queuedBytes = role.length;
        }
    }

    /**
     * Hands the socket to non-blocking I/O; what was queued meanwhile (events may arrive before this is called)
     * goes out when the container says the socket is ready.
     */
    void open() {
        synchronized (this) {
            opened = true;
        }
        out.setWriteListener(this);
    }

    /** Core refused the completion before it ran: answer with a plain HTTP error, stream or not. */
    void refuse(ErrorResponses.Failure failure) {
        synchronized (this) {
            queue.clear();
            queuedBytes = 0;
        }
        respond(failure.status(), failure.retryAfterSeconds(), json(failure.openAi()));
    }

    /** The completion behind this exchange; cancelled at once if the exchange already ended. */
    void started(StreamHandle h) {
        boolean cancel;
        synchronized (this) {
            handle = h;
            cancel = cancelWhenStarted;
        }
        if (cancel) {
            h.cancel();
        }
    }

    // ---- from the provider (through core): calls never overlap --------------------------------------------

    @Override
    public void onToken(String delta) {
        if (stream) {
            enqueue(frames.token(delta), false);
        }
    }

    @Override
    public void onComplete(ChatResponse r) {
        if (stream) {
            enqueue(frames.end(r, includeUsage), true);
            return;
        }
        String answeredBy = r.model() == null ? frames.model() : r.model();
        ChatCompletion completion = new ChatCompletion(frames.id(), "chat.completion", frames.created(), answeredBy,
                List.of(new Choice(0, new AssistantMessage("assistant", r.text(), OpenAiRequests.toolCalls(r.toolCalls(),
                        false)), RestBodies.finishReason(r.finishReason()))), OpenAiRequests.usage(r.usage()));
        respond(200, null, json(completion));
    }

    @Override
    public void onError(ParleyException error) {
        fail(ErrorResponses.Failure.of(error));
    }

    // ---- housekeeping, from the servlet's timer -----------------------------------------------------------

    /** Ends an exchange past the request timeout; keeps a quiet stream alive (and finds out if the client left). */
    void tick(long now) {
        if (now - startNanos > limits.requestTimeoutNanos()) {
            fail(ErrorResponses.Failure.of(ErrorCode.UPSTREAM_TIMEOUT,
                    "No complete answer within " + limits.requestTimeoutNanos() / 1_000_000_000L + " seconds."));
            cancelUpstream();
            return;
        }
        boolean quiet;
        synchronized (this) {
            quiet = stream && !closing && now - lastWriteNanos > limits.heartbeatNanos();
        }
        if (quiet) {
            enqueue(ChunkFrames.KEEP_ALIVE, false);
        }
    }

    /** Server shutdown after the drain time: end the client's request now. */
    void abandon() {
        fail(ErrorResponses.Failure.of(ErrorCode.UNAVAILABLE, "server shutting down"));
        cancelUpstream();
    }

    // ---- the socket ---------------------------------------------------------------------------------------

    @Override
    public void onWritePossible() {
        Object outcome;
        synchronized (this) {
            outcome = pump();
        }
        after(outcome);
    }

    @Override
    public void onError(Throwable t) {
        clientGone(t);
    }

    @Override
    public void onComplete(AsyncEvent event) {
        end();
    }

    @Override
    public void onTimeout(AsyncEvent event) {
        clientGone(event.getThrowable());
    }

    @Override
    public void onError(AsyncEvent event) {
        clientGone(event.getThrowable());
    }

    @Override
    public void onStartAsync(AsyncEvent event) {
    }

    private void fail(ErrorResponses.Failure failure) {
        synchronized (this) {
            if (closing || ended) {
                return;
            }
        }
        if (stream) {
            enqueue(frames.error(failure), true);
        } else {
            respond(failure.status(), failure.retryAfterSeconds(), json(failure.openAi()));
        }
    }

    private void respond(int status, Long retryAfterSeconds, byte[] body) {
        synchronized (this) {
            if (closing || ended) {
                return;
            }
            response.setStatus(status);
            response.setContentType("application/json");
            response.setContentLength(body.length);
            if (retryAfterSeconds != null) {
                response.setHeader("Retry-After", Long.toString(retryAfterSeconds));
            }
        }
        enqueue(body, true);
    }

    private void enqueue(byte[] frame, boolean last) {
        Object outcome;
        synchronized (this) {
            if (closing || ended) {
                return;
            }
            if (!last && (queue.size() >= limits.maxQueuedFrames() || queuedBytes + frame.length > limits.maxQueuedBytes())) {
                outcome = TOO_SLOW;
            } else {
                queue.add(frame);
                queuedBytes += frame.length;
                closing = last;
                outcome = pump();
            }
        }
        after(outcome);
    }

    private static final Object TOO_SLOW = new Object();
    private static final Object WRITTEN_OUT = new Object();

    /**
     * Writes what is queued while the socket takes it, one flush per batch. Caller holds the lock; what follows
     * (completing the request, cancelling the model) is done by {@link #after} once the lock is released, because a
     * provider's cancel may wait for its own I/O thread, which may be waiting for this lock.
     *
     * @return null, {@link #WRITTEN_OUT} when the last frame is out, or the write's failure
     */
    private Object pump() {
        if (!opened || ended) {
            return null;
        }
        try {
            while (out.isReady()) {
                byte[] next = queue.poll();
                if (next != null) {
                    queuedBytes -= next.length;
                    out.write(next);
                    unflushed = true;
                    lastWriteNanos = System.nanoTime();
                } else if (unflushed) {
                    unflushed = false;
                    out.flush();
                } else {
                    if (closing) {
                        ended = true;
                        return WRITTEN_OUT;
                    }
                    return null;
                }
            }
            return null;
        } catch (IOException | IllegalStateException e) {
            return e;
        }
    }

    private void after(Object outcome) {
        if (outcome == WRITTEN_OUT) {
            async.complete();
        } else if (outcome == TOO_SLOW) {
            clientGone(null);
        } else if (outcome instanceof Throwable t) {
            clientGone(t);
        }
    }

    /** The client left (or cannot keep up): stop the model, drop what is queued, end the request. */
    private void clientGone(Throwable cause) {
        synchronized (this) {
            if (ended) {
                return;
            }
            ended = true;
            queue.clear();
            queuedBytes = 0;
        }
        LOG.debug("client gone, cancelling completion reason={}",
                cause == null ? "client too slow: outbound queue full" : cause.toString());
        cancelUpstream();
        try {
            async.complete();
        } catch (IllegalStateException alreadyDone) {
            // The container completed the request itself.
        }
        end();
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

    private void end() {
        synchronized (this) {
            if (endReported) {
                return;
            }
            endReported = true;
            ended = true;
        }
        onEnd.accept(this);
    }

    private byte[] json(Object value) {
        try {
            return mapper.writeValueAsBytes(value);
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }
}

package dev.parley.web.rest.internal;

import jakarta.servlet.AsyncContext;
import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.ServletOutputStream;
import jakarta.servlet.WriteListener;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.util.ArrayDeque;

/**
 * The response side of one async request: frames are queued by whichever thread produces them (a provider's
 * callback) and written with Servlet non-blocking I/O — whatever is queued goes out as writes followed by one flush,
 * and what the socket cannot take yet waits in a bounded queue until the container says it is writable again. No
 * thread waits for the client. A client that leaves, or falls so far behind that the queue is full, is reported
 * once to {@link Owner#clientGone}; the end of the request, whatever caused it, once to {@link Owner#ended}.
 */
final class AsyncWriter implements WriteListener, AsyncListener {

    /** Bounds of what may wait for a slow client. */
    record Limits(int maxQueuedFrames, int maxQueuedBytes) {
    }

    /** Who produces the frames. Both calls come without the writer's lock held. */
    interface Owner {
        /** The client left or cannot keep up: stop producing (e.g. cancel the model call). */
        void clientGone(Throwable cause);

        /** The request is over. */
        void ended();
    }

    private static final Object TOO_SLOW = new Object();
    private static final Object WRITTEN_OUT = new Object();

    private final AsyncContext async;
    private final ServletOutputStream out;
    private final Limits limits;
    private final Owner owner;

    // Guarded by this.
    private final ArrayDeque<byte[]> queue = new ArrayDeque<>();
    private int queuedBytes;
    private boolean unflushed;
    private boolean opened;
    /** The last frame is queued: complete once the queue is written out. */
    private boolean closing;
    private boolean ended;
    private boolean endReported;
    private long lastWriteNanos = System.nanoTime();

    AsyncWriter(AsyncContext async, Limits limits, Owner owner) throws IOException {
        this.async = async;
        this.out = async.getResponse().getOutputStream();
        this.limits = limits;
        this.owner = owner;
        async.addListener(this);
    }

    HttpServletResponse response() {
        return (HttpServletResponse) async.getResponse();
    }

    /**
     * Hands the socket to non-blocking I/O; frames queued before (events may arrive first) go out when the
     * container says the socket is ready.
     */
    void open() {
        synchronized (this) {
            opened = true;
        }
        out.setWriteListener(this);
    }

    /** Queues a frame; {@code last} ends the response once everything is written. Ignored once closing. */
    void write(byte[] frame, boolean last) {
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

    /** Drops what is queued and not yet written (nothing is written before {@link #open()}). */
    synchronized void discardQueued() {
        queue.clear();
        queuedBytes = 0;
    }

    /** True once the last frame is queued or the request ended: nothing more will be written. */
    synchronized boolean finishing() {
        return closing || ended;
    }

    synchronized long lastWriteNanos() {
        return lastWriteNanos;
    }

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
        gone(t);
    }

    @Override
    public void onComplete(AsyncEvent event) {
        reportEnd();
    }

    @Override
    public void onTimeout(AsyncEvent event) {
        gone(event.getThrowable());
    }

    @Override
    public void onError(AsyncEvent event) {
        gone(event.getThrowable());
    }

    @Override
    public void onStartAsync(AsyncEvent event) {
    }

    /**
     * Writes while the socket takes it. Caller holds the lock; completing the request or telling the owner is done
     * by {@link #after} once the lock is released, because the owner may cancel a provider call that waits for its
     * own I/O thread, which may be waiting for this lock.
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
            gone(null);
        } else if (outcome instanceof Throwable t) {
            gone(t);
        }
    }

    private void gone(Throwable cause) {
        synchronized (this) {
            if (ended) {
                return;
            }
            ended = true;
            queue.clear();
            queuedBytes = 0;
        }
        owner.clientGone(cause);
        try {
            async.complete();
        } catch (IllegalStateException alreadyDone) {
            // The container completed the request itself.
        }
        reportEnd();
    }

    private void reportEnd() {
        synchronized (this) {
            if (endReported) {
                return;
            }
            endReported = true;
            ended = true;
        }
        owner.ended();
    }
}

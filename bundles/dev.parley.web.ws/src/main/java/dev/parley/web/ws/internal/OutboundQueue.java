package dev.parley.web.ws.internal;

import java.util.ArrayDeque;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

/**
 * The frames waiting to go out on one socket. Producers (provider threads, the socket's reader) only ever
 * enqueue; frames leave one at a time through an asynchronous {@link Transport}, so a client that stops
 * reading never blocks the thread that produced a frame. The queue is bounded by frame count and by bytes
 * (the frame waiting for its send to finish counts too); the first frame that does not fit closes the queue
 * for good and runs the overflow action once.
 */
final class OutboundQueue {

    /** Sends one text frame without blocking and reports the outcome ({@code null} on success) exactly once. */
    interface Transport {
        void send(String text, Consumer<Throwable> done);
    }

    private final Transport transport;
    private final int maxFrames;
    private final long maxBytes;
    private final Runnable onOverflow;
    private final Consumer<Throwable> onSendFailure;

    private final ArrayDeque<String> pending = new ArrayDeque<>();
    private int framesHeld;
    private long bytesHeld;
    private boolean sending;
    private boolean closed;

    /**
     * @param onOverflow    runs once, on the thread whose frame did not fit
     * @param onSendFailure runs once when a send fails (the socket is gone); the queue is closed then
     */
    OutboundQueue(Transport transport, int maxFrames, long maxBytes, Runnable onOverflow,
            Consumer<Throwable> onSendFailure) {
        if (maxFrames <= 0 || maxBytes <= 0) {
            throw new IllegalArgumentException("limits must be positive");
        }
        this.transport = transport;
        this.maxFrames = maxFrames;
        this.maxBytes = maxBytes;
        this.onOverflow = onOverflow;
        this.onSendFailure = onSendFailure;
    }

    /**
     * Queues {@code frame} and starts sending if nothing is being sent.
     *
     * @return false when the frame was dropped: the queue is closed, or this frame overflowed it
     */
    boolean offer(String frame) {
        long size = utf8Length(frame);
        boolean overflow = false;
        boolean start = false;
        synchronized (this) {
            if (closed) {
                return false;
            }
            if (framesHeld + 1 > maxFrames || bytesHeld + size > maxBytes) {
                closeLocked();
                overflow = true;
            } else {
                pending.addLast(frame);
                framesHeld++;
                bytesHeld += size;
                if (!sending) {
                    sending = true;
                    start = true;
                }
            }
        }
        if (overflow) {
            onOverflow.run();
            return false;
        }
        if (start) {
            pump(nextOrIdle(false, 0));
        }
        return true;
    }

    /** Drops everything still queued; later offers are refused. */
    void close() {
        synchronized (this) {
            closeLocked();
        }
    }

    synchronized boolean isClosed() {
        return closed;
    }

    synchronized int framesHeld() {
        return framesHeld;
    }

    synchronized long bytesHeld() {
        return bytesHeld;
    }

    private void closeLocked() {
        closed = true;
        pending.clear();
        framesHeld = 0;
        bytesHeld = 0;
    }

    /**
     * Sends frames until one completes asynchronously; that completion then continues the loop. This keeps
     * the stack flat when the transport completes sends synchronously (a writable socket).
     */
    private void pump(String first) {
        String next = first;
        while (next != null) {
            var completion = new Completion(utf8Length(next));
            try {
                transport.send(next, completion);
            } catch (RuntimeException e) {
                completion.accept(e);
            }
            next = completion.continueInline();
        }
    }

    /** Accounts for the frame that just left and takes the next one, or marks the queue idle. */
    private String nextOrIdle(boolean sentOne, long sentBytes) {
        synchronized (this) {
            if (closed) {
                sending = false;
                return null;
            }
            if (sentOne) {
                framesHeld--;
                bytesHeld -= sentBytes;
            }
            String next = pending.pollFirst();
            if (next == null) {
                sending = false;
            }
            return next;
        }
    }

    private void failed(Throwable error) {
        boolean first;
        synchronized (this) {
            first = !closed;
            closeLocked();
            sending = false;
        }
        if (first) {
            onSendFailure.accept(error);
        }
    }

    private final class Completion implements Consumer<Throwable> {
        private static final int PENDING = 0;
        private static final int CALLER_LEFT = 1;
        private static final int DONE = 2;

        private final long bytes;
        private final AtomicInteger state = new AtomicInteger(PENDING);
        private volatile Throwable error;

        Completion(long bytes) {
            this.bytes = bytes;
        }

        @Override
        public void accept(Throwable failure) {
            error = failure;
            if (!state.compareAndSet(PENDING, DONE)) {
                // The sending thread already returned: this callback drives the queue from here.
                pump(advance());
            }
        }

        /** Called by the sending thread after {@code send} returned. */
        String continueInline() {
            if (state.compareAndSet(PENDING, CALLER_LEFT)) {
                return null;
            }
            return advance();
        }

        private String advance() {
            Throwable e = error;
            if (e != null) {
                failed(e);
                return null;
            }
            return nextOrIdle(true, bytes);
        }
    }

    /** UTF-8 size of {@code s} without encoding it. */
    static long utf8Length(String s) {
        long n = 0;
        for (int i = 0, len = s.length(); i < len; i++) {
            char c = s.charAt(i);
            if (c < 0x80) {
                n += 1;
            } else if (c < 0x800) {
                n += 2;
            } else if (Character.isHighSurrogate(c) && i + 1 < len && Character.isLowSurrogate(s.charAt(i + 1))) {
                n += 4;
                i++;
            } else {
                n += 3;
            }
        }
        return n;
    }
}

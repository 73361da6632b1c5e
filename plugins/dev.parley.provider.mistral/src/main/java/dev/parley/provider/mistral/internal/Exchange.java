package dev.parley.provider.mistral.internal;

import dev.parley.api.error.ParleyException;
import java.io.Closeable;
import java.io.IOException;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;

/**
 * One upstream HTTP exchange as {@link MistralTransport} runs it for a call: what aborts it (cancel, timeout, stop),
 * how large its answer may be, and the few raw facts of a stream the client library does not keep (the last event
 * with usage, the last with a finish reason).
 */
final class Exchange {

    private final long maxBytes;
    private final AtomicReference<ParleyException> aborted = new AtomicReference<>();
    private volatile Future<?> future;
    private volatile Closeable body;
    private volatile String lastUsageEvent;
    private volatile String lastFinishEvent;

    Exchange(long maxBytes) {
        this.maxBytes = maxBytes;
    }

    long maxBytes() {
        return maxBytes;
    }

    /** Stops the exchange with {@code reason}; only the first reason counts. Returns whether this call stopped it. */
    boolean abort(ParleyException reason) {
        if (!aborted.compareAndSet(null, reason)) {
            return false;
        }
        Future<?> f = future;
        if (f != null) {
            f.cancel(true);
        }
        closeBody();
        return true;
    }

    /** Why the exchange was stopped, or null while it runs. */
    ParleyException abortReason() {
        return aborted.get();
    }

    void attach(Future<?> f) {
        this.future = f;
        if (aborted.get() != null) {
            f.cancel(true);
        }
    }

    void attach(Closeable responseBody) {
        this.body = responseBody;
        if (aborted.get() != null) {
            closeBody();
        }
    }

    private void closeBody() {
        Closeable b = body;
        if (b != null) {
            try {
                b.close();
            } catch (IOException | RuntimeException ignored) {
                // closing is how the read is stopped; nothing else to do
            }
        }
    }

    /** Keeps the raw data of events that carry usage or a finish reason (cheap checks on every event). */
    void observe(String data) {
        if (data.contains("\"usage\"")) {
            lastUsageEvent = data;
        }
        if (data.contains("\"finish_reason\"") && !data.contains("\"finish_reason\":null")) {
            lastFinishEvent = data;
        }
    }

    String lastUsageEvent() {
        return lastUsageEvent;
    }

    String lastFinishEvent() {
        return lastFinishEvent;
    }
}

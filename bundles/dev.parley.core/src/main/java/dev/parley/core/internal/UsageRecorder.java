package dev.parley.core.internal;

import dev.parley.api.usage.UsageRecord;
import dev.parley.api.usage.UsageStore;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Writes usage records in batches, off every request's path: {@link #record} queues one (no I/O, no lock held
 * while storing), and one thread stores what is queued {@code flushInterval} after the first record of a batch came,
 * in one transaction (an idle server's flusher does not wake). A batch the
 * store refuses stays queued and is tried again later (ids make a retried batch count once); only when the queue is
 * full — the store has been failing for a long time — are the oldest records dropped, counted and logged. On close
 * what is queued is stored once more.
 */
final class UsageRecorder implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(UsageRecorder.class);

    private final Supplier<UsageStore> store;
    private final int capacity;
    private final int batchSize;
    private final ArrayDeque<UsageRecord> queue = new ArrayDeque<>();
    private final ScheduledExecutorService flusher;
    private final long flushIntervalMillis;
    /** A flush is scheduled and has not started yet; guarded by the queue's lock. */
    private boolean flushScheduled;
    private final AtomicLong dropped = new AtomicLong();
    private int failuresInARow;

    /**
     * @param store the store now, or null while there is none (records wait in the queue)
     */
    UsageRecorder(Supplier<UsageStore> store, long flushIntervalMillis, int capacity, int batchSize) {
        if (capacity < 1 || batchSize < 1 || flushIntervalMillis < 1) {
            throw new IllegalArgumentException("capacity, batchSize and flushIntervalMillis must be positive");
        }
        this.store = store;
        this.capacity = capacity;
        this.batchSize = batchSize;
        this.flushIntervalMillis = flushIntervalMillis;
        var n = new AtomicInteger();
        this.flusher = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "parley-core-usage-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        });
    }

    /** Queues {@code r}; never blocks, never throws for a store failure. */
    void record(UsageRecord r) {
        synchronized (queue) {
            if (queue.size() >= capacity) {
                queue.pollFirst();
                long n = dropped.incrementAndGet();
                if (Long.bitCount(n) == 1) { // 1, 2, 4, 8 …: a trace of the loss without a line per request
                    LOG.error("usage records dropped: the usage store has refused them for too long dropped={} "
                            + "capacity={}", n, capacity);
                }
            }
            queue.addLast(r);
        }
        scheduleFlush();
    }

    /** Schedules a flush one interval from now, unless one is pending or nothing waits. */
    private void scheduleFlush() {
        synchronized (queue) {
            if (flushScheduled || queue.isEmpty()) {
                return;
            }
            flushScheduled = true;
        }
        try {
            flusher.schedule(this::flushQuietly, flushIntervalMillis, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException closing) {
            // Closed: close() stores what is queued.
            synchronized (queue) {
                flushScheduled = false;
            }
        }
    }

    /** How many records are waiting to be stored. */
    int queued() {
        synchronized (queue) {
            return queue.size();
        }
    }

    /** How many records were dropped because the queue was full. */
    long dropped() {
        return dropped.get();
    }

    /** Stores everything queued now, in batches; returns false when the store refused (the rest stays queued). */
    boolean flush() {
        UsageStore s = store.get();
        if (s == null) {
            return false;
        }
        while (true) {
            List<UsageRecord> batch = new ArrayList<>(batchSize);
            synchronized (queue) {
                for (int i = 0; i < batchSize && !queue.isEmpty(); i++) {
                    batch.add(queue.pollFirst());
                }
            }
            if (batch.isEmpty()) {
                return true;
            }
            try {
                s.recordAll(batch);
                failuresInARow = 0;
            } catch (RuntimeException e) {
                requeue(batch);
                if (failuresInARow++ == 0) {
                    LOG.warn("storing usage records failed; they stay queued and are tried again queued={}", queued(), e);
                }
                return false;
            }
        }
    }

    private void flushQuietly() {
        synchronized (queue) {
            flushScheduled = false;
        }
        try {
            flush();
        } catch (RuntimeException e) {
            LOG.error("usage flush failed", e);
        }
        // What the store refused, or what came while storing, goes with the next flush.
        scheduleFlush();
    }

    /** Puts a refused batch back at the front, in order, within the capacity (the oldest go first when it is full). */
    private void requeue(List<UsageRecord> batch) {
        synchronized (queue) {
            for (int i = batch.size() - 1; i >= 0; i--) {
                if (queue.size() >= capacity) {
                    dropped.incrementAndGet();
                    continue;
                }
                queue.addFirst(batch.get(i));
            }
        }
    }

    /** Stops the timer and stores what is queued once more (bounded by the store's own timeouts). */
    @Override
    public void close() {
        flusher.shutdown();
        try {
            if (!flusher.awaitTermination(10, TimeUnit.SECONDS)) {
                flusher.shutdownNow();
            }
        } catch (InterruptedException e) {
            flusher.shutdownNow();
            Thread.currentThread().interrupt();
        }
        if (!flush()) {
            LOG.warn("usage records not stored at shutdown queued={}", queued());
        }
    }
}

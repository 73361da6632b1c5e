package dev.parley.audit.internal;

import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Stores audit rows off the caller's path, as the usage recorder does for usage records: {@link #offer} queues a row
 * (no I/O, never blocks, never throws for a store failure) and one writer thread stores what is queued in batches of
 * at most {@code batchSize}, one transaction each. A batch the store refuses is kept by the writer and tried again,
 * after a pause that doubles from {@code retryMin} to {@code retryMax}; the rows' ids make a batch tried twice count
 * once. Meanwhile the queue fills; when it is full a new row is not queued but written whole to the log at ERROR and
 * counted ({@code dropped}), never silently lost. {@link #close} stores what is queued before it returns, trying for
 * at most {@code stopTimeout}; what is still not stored then goes to the log the same way ({@code lost}).
 *
 * <p>The writer is never interrupted (H2 closes its file when a thread doing I/O is interrupted): it waits on a
 * condition that {@link #offer} and {@link #close} signal.
 */
final class AuditWriter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AuditWriter.class);

    /** Where batches go: stores all of them in one transaction or throws. */
    @FunctionalInterface
    interface Sink {
        void store(List<AuditRow> batch);
    }

    /** The writer's state for the health check. */
    record Status(long queued, long stored, long dropped, long lost, Instant failingSince, String lastProblem) {
        boolean failing() {
            return failingSince != null;
        }
    }

    private final Sink sink;
    private final int capacity;
    private final int batchSize;
    private final Duration retryMin;
    private final Duration retryMax;
    private final Duration stopTimeout;
    private final Supplier<AuditTelemetry> telemetry;
    private final Clock clock;

    private final ReentrantLock lock = new ReentrantLock();
    private final Condition changed = lock.newCondition();
    private final ArrayDeque<AuditRow> queue = new ArrayDeque<>();
    /** Guarded by lock. */
    private boolean stopping;
    /** Guarded by lock: set with stopping; after it, a failing store is no longer retried. */
    private Instant stopDeadline;
    /** Guarded by lock: the batch the writer holds (taken from the queue, not stored yet). */
    private int inFlight;

    private final AtomicLong stored = new AtomicLong();
    private final AtomicLong dropped = new AtomicLong();
    private final AtomicLong lost = new AtomicLong();
    private volatile Instant failingSince;
    private volatile String lastProblem = "";

    private final ExecutorService thread;

    AuditWriter(Sink sink, int capacity, int batchSize, Duration retryMin, Duration retryMax, Duration stopTimeout,
            Supplier<AuditTelemetry> telemetry, Clock clock) {
        if (capacity < 1 || batchSize < 1) {
            throw new IllegalArgumentException("queue size and batch size must be positive");
        }
        this.sink = sink;
        this.capacity = capacity;
        this.batchSize = batchSize;
        this.retryMin = retryMin;
        this.retryMax = retryMax;
        this.stopTimeout = stopTimeout;
        this.telemetry = telemetry;
        this.clock = clock;
        this.thread = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "parley-audit-writer");
            t.setDaemon(true);
            return t;
        });
        thread.execute(this::run);
    }

    /** Queues {@code row}; false when the queue is full (the row is then logged and counted, not stored). */
    boolean offer(AuditRow row) {
        lock.lock();
        try {
            if (!stopping && queue.size() < capacity) {
                queue.addLast(row);
                changed.signalAll();
                return true;
            }
        } finally {
            lock.unlock();
        }
        dropped.incrementAndGet();
        telemetry.get().dropped();
        logUnstored(stopping() ? "the audit writer has stopped" : "the audit queue is full (capacity " + capacity
                + "): the database has refused events for a while", row);
        return false;
    }

    Status status() {
        lock.lock();
        try {
            return new Status(queue.size() + inFlight, stored.get(), dropped.get(), lost.get(), failingSince,
                    lastProblem);
        } finally {
            lock.unlock();
        }
    }

    private boolean stopping() {
        lock.lock();
        try {
            return stopping;
        } finally {
            lock.unlock();
        }
    }

    private void run() {
        Duration pause = retryMin;
        List<AuditRow> batch = List.of();
        while (true) {
            lock.lock();
            try {
                if (batch.isEmpty()) {
                    while (queue.isEmpty() && !stopping) {
                        changed.awaitUninterruptibly();
                    }
                    if (queue.isEmpty()) {
                        return; // stopping, nothing left
                    }
                    var next = new ArrayList<AuditRow>(Math.min(batchSize, queue.size()));
                    while (next.size() < batchSize && !queue.isEmpty()) {
                        next.add(queue.pollFirst());
                    }
                    batch = next;
                    inFlight = batch.size();
                }
            } finally {
                lock.unlock();
            }
            try {
                sink.store(batch);
                stored.addAndGet(batch.size());
                telemetry.get().stored(batch.size());
                if (failingSince != null) {
                    LOG.info("audit events are stored again failingSince={} queued={}", failingSince, status().queued());
                    failingSince = null;
                    lastProblem = "";
                }
                pause = retryMin;
                batch = List.of();
                clearInFlight();
            } catch (RuntimeException e) {
                if (failingSince == null) {
                    failingSince = clock.instant();
                    LOG.warn("storing audit events failed; they stay queued and are tried again queued={}",
                            status().queued(), e);
                }
                lastProblem = String.valueOf(e.getMessage());
                if (!waitBeforeRetry(pause)) {
                    giveUp(batch);
                    return;
                }
                pause = pause.multipliedBy(2).compareTo(retryMax) > 0 ? retryMax : pause.multipliedBy(2);
            }
        }
    }

    private void clearInFlight() {
        lock.lock();
        try {
            inFlight = 0;
        } finally {
            lock.unlock();
        }
    }

    /**
     * Waits {@code pause}, or less when stopping (until the stop deadline). False when the deadline has passed: the
     * writer stops trying.
     */
    private boolean waitBeforeRetry(Duration pause) {
        lock.lock();
        try {
            long nanos = pause.toNanos();
            while (nanos > 0) {
                if (stopping) {
                    long left = Duration.between(clock.instant(), stopDeadline).toNanos();
                    if (left <= 0) {
                        return false;
                    }
                    changed.awaitNanos(Math.min(nanos, left));
                    return true;
                }
                nanos = changed.awaitNanos(nanos);
            }
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        } finally {
            lock.unlock();
        }
    }

    /** Stopping and the store still refuses: what is left goes to the log, whole, and is counted as lost. */
    private void giveUp(List<AuditRow> batch) {
        List<AuditRow> left = new ArrayList<>(batch);
        lock.lock();
        try {
            left.addAll(queue);
            queue.clear();
            inFlight = 0;
        } finally {
            lock.unlock();
        }
        lost.addAndGet(left.size());
        telemetry.get().lost(left.size());
        LOG.error("audit events not stored at shutdown: the database refused them count={} lastProblem={}",
                left.size(), lastProblem);
        for (AuditRow row : left) {
            logUnstored("not stored at shutdown", row);
        }
    }

    /** The event, whole, in the log: the only record left of it. */
    private static void logUnstored(String why, AuditRow row) {
        var e = row.event();
        LOG.error("audit event not stored ({}): id={} at={} actor={} tenant={} action={} target={} outcome={} "
                + "source={} detail={}", why, row.id(), e.at(), e.actor(), e.tenantId(), e.action(), e.target(),
                e.outcome(), e.sourceAddress(), e.detail());
    }

    /**
     * Stops taking rows and stores what is queued, trying for at most the stop timeout after a failure; returns when
     * the writer has finished.
     */
    @Override
    public void close() {
        lock.lock();
        try {
            if (!stopping) {
                stopping = true;
                stopDeadline = clock.instant().plus(stopTimeout);
            }
            changed.signalAll();
        } finally {
            lock.unlock();
        }
        thread.shutdown();
        try {
            // Generous beyond the stop timeout: one store call in progress is bounded by the database's own timeouts.
            if (!thread.awaitTermination(stopTimeout.toMillis() + 30_000, TimeUnit.MILLISECONDS)) {
                LOG.error("the audit writer did not finish in time queued={}", status().queued());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

package dev.parley.core.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The streams that are running, so shutdown can stop taking new ones, wait for the running ones on a
 * condition (no polling), and cancel what is left.
 */
final class InFlight<T> {
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition emptied = lock.newCondition();
    private final Set<T> running = new HashSet<>();
    private boolean draining;

    /** @return false when draining: the caller must refuse the work */
    boolean tryEnter(T item) {
        lock.lock();
        try {
            if (draining) {
                return false;
            }
            running.add(item);
            return true;
        } finally {
            lock.unlock();
        }
    }

    void exit(T item) {
        lock.lock();
        try {
            if (running.remove(item) && running.isEmpty()) {
                emptied.signalAll();
            }
        } finally {
            lock.unlock();
        }
    }

    boolean draining() {
        lock.lock();
        try {
            return draining;
        } finally {
            lock.unlock();
        }
    }

    int size() {
        lock.lock();
        try {
            return running.size();
        } finally {
            lock.unlock();
        }
    }

    /**
     * Refuses new work from now on and waits until everything running has exited or {@code timeout} passed.
     *
     * @return what is still running (empty when all finished in time)
     */
    List<T> drain(Duration timeout) throws InterruptedException {
        lock.lock();
        try {
            draining = true;
            long nanos = timeout.toNanos();
            while (!running.isEmpty() && nanos > 0) {
                nanos = emptied.awaitNanos(nanos);
            }
            return new ArrayList<>(running);
        } finally {
            lock.unlock();
        }
    }

    /** Snapshot without waiting, for cancelling after an interrupted drain. */
    List<T> snapshot() {
        lock.lock();
        try {
            return new ArrayList<>(running);
        } finally {
            lock.unlock();
        }
    }
}

package dev.parley.web.rest.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;

/**
 * Counts the chat requests a resource is serving, so that when the resource stops (server shutdown: the web
 * bundles stop first) it can refuse new ones and let the running ones finish, for a bounded time, before the
 * providers and core behind it go away.
 */
final class InFlightRequests {
    private int running;
    private boolean draining;

    /** Registers a request; refuses it once draining started. Pair every call with {@link #exit()}. */
    synchronized void enter() {
        if (draining) {
            throw new ParleyException(ErrorCode.UNAVAILABLE, "server shutting down");
        }
        running++;
    }

    synchronized void exit() {
        running--;
        notifyAll();
    }

    synchronized int running() {
        return running;
    }

    synchronized boolean draining() {
        return draining;
    }

    /** Refuses new requests and waits until the running ones ended or {@code timeout} passed. @return still running */
    synchronized int drain(Duration timeout) throws InterruptedException {
        draining = true;
        long deadline = System.nanoTime() + timeout.toNanos();
        while (running > 0) {
            long left = deadline - System.nanoTime();
            if (left <= 0) {
                break;
            }
            TimeUnit.NANOSECONDS.timedWait(this, left);
        }
        return running;
    }

    /** Drains {@code requests} for the configured time and logs what was still running. */
    static void drain(InFlightRequests requests, RestLimits limits, String resource, Logger log)
            throws InterruptedException {
        int left = requests.drain(limits.drainTimeout());
        if (left > 0) {
            log.warn("drain timed out resource={} stillRunning={}", resource, left);
        }
    }
}

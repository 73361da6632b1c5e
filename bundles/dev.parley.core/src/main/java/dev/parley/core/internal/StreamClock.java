package dev.parley.core.internal;

import java.time.Duration;

/** Latency and time to first token, measured on the monotonic clock from the moment a turn was accepted. */
final class StreamClock {
    private final long startNanos = System.nanoTime();
    private long firstTokenNanos = -1;

    void token() {
        if (firstTokenNanos < 0) {
            firstTokenNanos = System.nanoTime();
        }
    }

    boolean sawToken() {
        return firstTokenNanos >= 0;
    }

    Duration elapsed() {
        return Duration.ofNanos(System.nanoTime() - startNanos);
    }

    /** @return null when no token came */
    Duration timeToFirstToken() {
        return firstTokenNanos < 0 ? null : Duration.ofNanos(firstTokenNanos - startNanos);
    }
}

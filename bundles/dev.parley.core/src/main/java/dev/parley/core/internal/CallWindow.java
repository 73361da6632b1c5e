package dev.parley.core.internal;

/**
 * Calls and failures of one plugin over a sliding window of time, in twelve buckets: what the quarantine rule reads.
 * One lock per plugin; a call takes it once, for a few field writes.
 */
final class CallWindow {
    private static final int BUCKETS = 12;

    private final long[] epochs = new long[BUCKETS];
    private final long[] calls = new long[BUCKETS];
    private final long[] failures = new long[BUCKETS];

    /** Counts one call ending at {@code nowNanos}; a window change starts the counting over. */
    synchronized void record(boolean failed, long nowNanos, long windowNanos) {
        long width = Math.max(1, windowNanos / BUCKETS);
        long epoch = Math.floorDiv(nowNanos, width);
        int i = (int) Math.floorMod(epoch, (long) BUCKETS);
        if (epochs[i] != epoch) {
            epochs[i] = epoch;
            calls[i] = 0;
            failures[i] = 0;
        }
        calls[i]++;
        if (failed) {
            failures[i]++;
        }
    }

    /** {calls, failures} within the window ending at {@code nowNanos}. */
    synchronized long[] totals(long nowNanos, long windowNanos) {
        long width = Math.max(1, windowNanos / BUCKETS);
        long epoch = Math.floorDiv(nowNanos, width);
        long c = 0;
        long f = 0;
        for (int i = 0; i < BUCKETS; i++) {
            if (epochs[i] > epoch - BUCKETS && epochs[i] <= epoch && (calls[i] > 0 || failures[i] > 0)) {
                c += calls[i];
                f += failures[i];
            }
        }
        return new long[] { c, f };
    }
}

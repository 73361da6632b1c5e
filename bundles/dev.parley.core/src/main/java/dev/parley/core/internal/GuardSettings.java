package dev.parley.core.internal;

import java.util.concurrent.TimeUnit;

/** The plugin call guard's settings ({@link PluginGuardConfig}), with bounds applied. */
record GuardSettings(long callTimeoutMillis, int maxConcurrentCalls, long modelsRefreshMillis, long modelsWaitMillis,
        long embedTimeoutMillis, boolean quarantine, int quarantineFailures, int quarantineFailureRatePercent,
        int quarantineWindowSeconds, int quarantineStuckSeconds) {

    static final GuardSettings DEFAULTS = new GuardSettings(5000, 32, 1000, 200, 120_000, true, 5, 50, 60, 30);

    static GuardSettings of(PluginGuardConfig c) {
        return new GuardSettings(Math.max(1, c.callTimeoutMillis()), Math.max(1, c.maxConcurrentCalls()),
                Math.max(0, c.modelsRefreshMillis()), Math.max(0, c.modelsWaitMillis()),
                Math.max(0, c.embedTimeoutMillis()), c.quarantine(), Math.max(1, c.quarantineFailures()),
                Math.max(1, Math.min(100, c.quarantineFailureRatePercent())), Math.max(1, c.quarantineWindowSeconds()),
                Math.max(0, c.quarantineStuckSeconds()));
    }

    long callTimeoutNanos() {
        return TimeUnit.MILLISECONDS.toNanos(callTimeoutMillis);
    }

    GuardSettings withCallTimeout(long millis) {
        return new GuardSettings(millis, maxConcurrentCalls, modelsRefreshMillis, modelsWaitMillis, embedTimeoutMillis,
                quarantine, quarantineFailures, quarantineFailureRatePercent, quarantineWindowSeconds,
                quarantineStuckSeconds);
    }

    GuardSettings withModelsRefresh(long refreshMillis, long waitMillis) {
        return new GuardSettings(callTimeoutMillis, maxConcurrentCalls, refreshMillis, waitMillis, embedTimeoutMillis,
                quarantine, quarantineFailures, quarantineFailureRatePercent, quarantineWindowSeconds,
                quarantineStuckSeconds);
    }

    GuardSettings withMaxConcurrentCalls(int max) {
        return new GuardSettings(callTimeoutMillis, max, modelsRefreshMillis, modelsWaitMillis, embedTimeoutMillis,
                quarantine, quarantineFailures, quarantineFailureRatePercent, quarantineWindowSeconds,
                quarantineStuckSeconds);
    }

    GuardSettings withQuarantine(int failures, int ratePercent, int windowSeconds, int stuckSeconds) {
        return new GuardSettings(callTimeoutMillis, maxConcurrentCalls, modelsRefreshMillis, modelsWaitMillis,
                embedTimeoutMillis, true, failures, ratePercent, windowSeconds, stuckSeconds);
    }
}

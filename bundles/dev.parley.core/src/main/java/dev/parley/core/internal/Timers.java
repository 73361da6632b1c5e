package dev.parley.core.internal;

import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

/**
 * The router's one timer thread: retry backoff, fallback hand-over, first-token and answer timeouts, state refresh.
 * An interface so tests can run time by hand instead of waiting.
 */
interface Timers {
    /** A scheduled task that can be called off; cancelling one that ran or was cancelled does nothing. */
    interface Task {
        void cancel();
    }

    Task schedule(Runnable task, long delayNanos);

    /** Runs {@code task} soon on the timer thread (never on the caller's: callers are provider I/O threads). */
    default void execute(Runnable task) {
        schedule(task, 0);
    }

    Task scheduleAtFixedRate(Runnable task, long periodNanos);

    void shutdown();

    /** The production timers: one daemon thread; cancelled tasks leave the queue at once. */
    static Timers scheduled() {
        ScheduledThreadPoolExecutor executor = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "parley-router-timer");
            t.setDaemon(true);
            return t;
        });
        executor.setRemoveOnCancelPolicy(true);
        executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
        return new Timers() {
            @Override
            public Task schedule(Runnable task, long delayNanos) {
                ScheduledFuture<?> f = executor.schedule(task, Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
                return () -> f.cancel(false);
            }

            @Override
            public Task scheduleAtFixedRate(Runnable task, long periodNanos) {
                ScheduledFuture<?> f = executor.scheduleAtFixedRate(task, periodNanos, periodNanos,
                        TimeUnit.NANOSECONDS);
                return () -> f.cancel(false);
            }

            @Override
            public void shutdown() {
                executor.shutdownNow();
            }
        };
    }
}

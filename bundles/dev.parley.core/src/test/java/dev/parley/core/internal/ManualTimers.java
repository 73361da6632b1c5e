package dev.parley.core.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/**
 * Timers whose time a test moves: tasks due now run at once on one thread of their own (as the router's timer thread
 * would), later ones wait until {@link #advance} passes their time. Every requested delay is recorded.
 */
final class ManualTimers implements Timers {
    private final ExecutorService thread = Executors.newSingleThreadExecutor(r -> {
        Thread t = new Thread(r, "manual-timer");
        t.setDaemon(true);
        return t;
    });
    private final List<Scheduled> waiting = new ArrayList<>();
    /** Delays of every task with a delay, in the order they were asked for. */
    final List<Duration> delays = new java.util.concurrent.CopyOnWriteArrayList<>();
    private long nowNanos;

    private final class Scheduled implements Task {
        final Runnable task;
        final long dueNanos;
        boolean cancelled;

        Scheduled(Runnable task, long dueNanos) {
            this.task = task;
            this.dueNanos = dueNanos;
        }

        @Override
        public void cancel() {
            synchronized (ManualTimers.this) {
                cancelled = true;
                waiting.remove(this);
            }
        }
    }

    @Override
    public synchronized Task schedule(Runnable task, long delayNanos) {
        Scheduled s = new Scheduled(task, nowNanos + Math.max(0, delayNanos));
        if (delayNanos <= 0) {
            thread.execute(() -> {
                synchronized (ManualTimers.this) {
                    if (s.cancelled) {
                        return;
                    }
                }
                task.run();
            });
        } else {
            delays.add(Duration.ofNanos(delayNanos));
            waiting.add(s);
        }
        return s;
    }

    @Override
    public Task scheduleAtFixedRate(Runnable task, long periodNanos) {
        return () -> {
        };
    }

    /** Moves time on by {@code d} and runs, on the timer thread, what fell due. */
    void advance(Duration d) {
        List<Scheduled> due = new ArrayList<>();
        synchronized (this) {
            nowNanos += d.toNanos();
            for (Scheduled s : List.copyOf(waiting)) {
                if (s.dueNanos <= nowNanos) {
                    waiting.remove(s);
                    due.add(s);
                }
            }
        }
        for (Scheduled s : due) {
            thread.execute(s.task);
        }
    }

    synchronized int waitingCount() {
        return waiting.size();
    }

    @Override
    public void shutdown() {
        thread.shutdownNow();
    }
}

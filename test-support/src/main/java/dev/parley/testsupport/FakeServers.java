package dev.parley.testsupport;

import java.io.IOException;
import java.time.Duration;
import java.util.concurrent.ThreadFactory;
import java.util.concurrent.atomic.AtomicInteger;

/** What every fake vendor server in this module does the same way: its threads, simulated latency, cut streams. */
public final class FakeServers {
    /** How long a server waits before dropping a connection, so the client reads what was sent before the cut. */
    public static final Duration CUT_PAUSE = Duration.ofMillis(150);

    private FakeServers() {
    }

    /** Thrown inside a handler to drop the connection on purpose, mid-answer. */
    public static final class StreamCut extends IOException {
        private static final long serialVersionUID = 1L;

        StreamCut() {
            super("stream cut on purpose");
        }
    }

    /** Daemon threads named {@code prefix-1}, {@code prefix-2}, … for a server's handlers. */
    public static ThreadFactory daemonThreads(String prefix) {
        AtomicInteger n = new AtomicInteger();
        return r -> {
            Thread t = new Thread(r, prefix + "-" + n.incrementAndGet());
            t.setDaemon(true);
            return t;
        };
    }

    /** Simulated model latency, not synchronisation; null, zero or negative: no pause. */
    public static void pause(Duration d) throws IOException {
        if (d == null || d.isZero() || d.isNegative()) {
            return;
        }
        try {
            Thread.sleep(d.toMillis());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted while pausing", e);
        }
    }

    /** Drops the connection after {@link #CUT_PAUSE}, which lets the client read what was sent before. */
    public static void cut() throws IOException {
        pause(CUT_PAUSE);
        throw new StreamCut();
    }
}

package dev.parley.streams.internal;

import dev.parley.api.stream.StreamEntry;
import dev.parley.api.stream.StreamFollower;
import dev.parley.api.stream.StreamLog;
import dev.parley.api.stream.StreamWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.LongSupplier;

/**
 * The stream log in this process: each stream's entries in memory, handed to followers as they are appended. A
 * finished stream is kept {@code retainNanos}, one that never finished {@code maxStreamNanos}; {@link #sweep} drops
 * the rest. Its producer is always this process, so no stream here is ever "gone": it ends, or the process does.
 */
final class LocalStreamLog implements StreamLog {
    private final Map<String, LocalStream> streams = new ConcurrentHashMap<>();
    private final long retainNanos;
    private final long maxStreamNanos;
    private final LongSupplier clock;

    LocalStreamLog(long retainNanos, long maxStreamNanos, LongSupplier clock) {
        this.retainNanos = retainNanos;
        this.maxStreamNanos = maxStreamNanos;
        this.clock = clock;
    }

    @Override
    public StreamWriter open(String streamId) {
        LocalStream stream = new LocalStream(clock.getAsLong());
        streams.put(streamId, stream);
        return stream;
    }

    @Override
    public AutoCloseable follow(String streamId, long after, StreamFollower follower) {
        LocalStream stream = streams.get(streamId);
        if (stream == null) {
            follower.onNotFound();
            return () -> { };
        }
        return stream.follow(after, follower);
    }

    @Override
    public CompletionStage<List<StreamEntry>> entries(String streamId) {
        LocalStream stream = streams.get(streamId);
        return CompletableFuture.completedFuture(stream == null ? List.of() : stream.entries());
    }

    @Override
    public boolean shared() {
        return false;
    }

    int size() {
        return streams.size();
    }

    /** Drops finished streams older than the retention, and unfinished ones older than the longest stream. */
    void sweep() {
        long now = clock.getAsLong();
        streams.values().removeIf(s -> s.expired(now));
    }

    private final class LocalStream implements StreamWriter {
        private final long openedAt;
        // Guarded by this.
        private final List<StreamEntry> entries = new ArrayList<>();
        private final List<StreamFollower> followers = new ArrayList<>();
        private boolean ended;
        private long endedAt;

        LocalStream(long openedAt) {
            this.openedAt = openedAt;
        }

        @Override
        public void append(String type, String data, Runnable durable) {
            if (add(type, data, false)) {
                durable.run();
            }
        }

        @Override
        public void end(String type, String data, Runnable durable) {
            if (add(type, data, true)) {
                durable.run();
            }
        }

        /** Followers get the entry under the lock, so each sees every entry once and in order. */
        private synchronized boolean add(String type, String data, boolean last) {
            if (ended) {
                return false;
            }
            StreamEntry entry = new StreamEntry(entries.size() + 1L, type, data);
            entries.add(entry);
            for (StreamFollower f : followers) {
                f.onEntry(entry);
            }
            if (last) {
                ended = true;
                endedAt = clock.getAsLong();
                for (StreamFollower f : followers) {
                    f.onEnd();
                }
                followers.clear();
            }
            return true;
        }

        synchronized AutoCloseable follow(long after, StreamFollower follower) {
            for (int i = (int) Math.min(after, entries.size()); i < entries.size(); i++) {
                follower.onEntry(entries.get(i));
            }
            if (ended) {
                follower.onEnd();
                return () -> { };
            }
            followers.add(follower);
            return () -> {
                synchronized (LocalStream.this) {
                    followers.remove(follower);
                }
            };
        }

        synchronized List<StreamEntry> entries() {
            return List.copyOf(entries);
        }

        synchronized boolean expired(long now) {
            return ended ? now - endedAt > retainNanos : now - openedAt > maxStreamNanos;
        }
    }
}

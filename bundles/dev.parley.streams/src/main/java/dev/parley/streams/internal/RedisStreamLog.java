package dev.parley.streams.internal;

import dev.parley.api.stream.StreamEntry;
import dev.parley.api.stream.StreamFollower;
import dev.parley.api.stream.StreamLog;
import dev.parley.api.stream.StreamWriter;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.Range;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisURI;
import io.lettuce.core.SetArgs;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.StreamMessage;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.XAddArgs;
import io.lettuce.core.XReadArgs;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.async.RedisAsyncCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.resource.ClientResources;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The stream log in Redis Streams, shared by every node on the same Redis and key prefix. A stream is the key
 * {@code <prefix><streamId>}, one entry per event with the explicit id {@code 0-<seq>} (fields {@code t} type,
 * {@code d} data; the first entry also {@code n}, the writing process; the last {@code e}). Entries are appended
 * on one shared connection, pipelined; each entry's {@code durable} runs in order once Redis took it (or failed to:
 * the stream then stops being logged, and the producer goes on without it).
 *
 * <p>Each process writes a heartbeat key {@code <prefix>node:<process id>} that expires after the producer timeout.
 * A reader blocks on {@code XREAD} on a connection of its own; when nothing comes for a poll, it checks the writer's
 * heartbeat: gone means the writer's node is gone, and the stream will not go on.
 */
final class RedisStreamLog implements StreamLog, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RedisStreamLog.class);
    private static final int READ_COUNT = 512;

    private final String prefix;
    private final String processId = UUID.randomUUID().toString();
    private final long retainSeconds;
    private final long maxStreamSeconds;
    private final long heartbeatMillis;
    private final long producerTimeoutMillis;
    private final long maxIdleNanos;
    private final int maxFollowers;
    private final Duration timeout;
    private final RedisURI uri;
    private final ClientResources resources;
    private final RedisClient client;
    private final ScheduledExecutorService heartbeat;
    private final AtomicInteger followers = new AtomicInteger();
    private final AtomicBoolean writeFailureLogged = new AtomicBoolean();
    private volatile StatefulRedisConnection<String, String> connection;
    private volatile boolean closed;

    RedisStreamLog(String redisUri, String password, StreamLogConfig config) {
        this.prefix = config.keyPrefix();
        this.retainSeconds = config.retainSeconds();
        this.maxStreamSeconds = config.maxStreamSeconds();
        this.heartbeatMillis = config.heartbeatMillis();
        this.producerTimeoutMillis = Math.max(config.producerTimeoutMillis(), 2 * config.heartbeatMillis());
        this.maxIdleNanos = TimeUnit.SECONDS.toNanos(config.maxIdleSeconds());
        this.maxFollowers = config.maxFollowers();
        this.timeout = Duration.ofMillis(config.timeoutMillis());
        try {
            this.uri = RedisURI.create(redisUri);
        } catch (RuntimeException e) {
            // The parser's message may quote the URI, password and all.
            throw new IllegalArgumentException("Stream log redisUri is not a Redis URI (redis://host:port)");
        }
        if (password != null && !password.isEmpty()) {
            uri.setAuthentication(password.toCharArray());
        }
        this.resources = ClientResources.builder().ioThreadPoolSize(2).computationThreadPoolSize(2).build();
        this.client = RedisClient.create(resources);
        client.setOptions(ClientOptions.builder()
                .autoReconnect(true)
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .socketOptions(SocketOptions.builder().connectTimeout(timeout).build())
                // A reader's blocking XREAD waits one heartbeat: its connection's timeout is set above that.
                .timeoutOptions(TimeoutOptions.enabled(timeout))
                .build());
        this.heartbeat = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "parley-streams-heartbeat");
            t.setDaemon(true);
            return t;
        });
        LOG.info("Stream log uses Redis host={} port={} keyPrefix={} process={} producerTimeoutMs={}", uri.getHost(),
                uri.getPort(), prefix, processId, producerTimeoutMillis);
        // The first connection at activation (bounded by the timeout), so that the first answers are logged; while Redis
        // cannot be reached, answers stream without being resumable and each heartbeat tries again.
        beat();
        heartbeat.scheduleWithFixedDelay(this::beat, heartbeatMillis, heartbeatMillis, TimeUnit.MILLISECONDS);
    }

    /**
     * This process's heartbeat; also the only place the shared connection is opened (until it is there; Lettuce
     * reconnects it by itself after that), so that no producer's thread ever waits for a connect.
     */
    private void beat() {
        try {
            if (connection == null && !closed) {
                connection = client.connect(StringCodec.UTF8, uri);
                LOG.info("Stream log connected to Redis");
            }
            commands().set(nodeKey(processId), "1", SetArgs.Builder.px(producerTimeoutMillis));
        } catch (RuntimeException e) {
            LOG.debug("stream log heartbeat failed: {}", e.toString());
        }
    }

    /** The shared connection's commands; fails at once while there is none yet (Redis not reached since start). */
    private RedisAsyncCommands<String, String> commands() {
        StatefulRedisConnection<String, String> c = connection;
        if (c == null) {
            throw new IllegalStateException("no connection to Redis yet");
        }
        return c.async();
    }

    String processId() {
        return processId;
    }

    String key(String streamId) {
        return prefix + streamId;
    }

    private String nodeKey(String process) {
        return prefix + "node:" + process;
    }

    @Override
    public StreamWriter open(String streamId) {
        return new Writer(key(streamId));
    }

    @Override
    public AutoCloseable follow(String streamId, long after, StreamFollower follower) {
        if (followers.incrementAndGet() > maxFollowers) {
            followers.decrementAndGet();
            follower.onFailure("this node follows " + maxFollowers + " resumed streams already");
            return () -> { };
        }
        Follow follow = new Follow(key(streamId), after, follower);
        follow.start();
        return follow;
    }

    @Override
    public CompletionStage<List<StreamEntry>> entries(String streamId) {
        CompletableFuture<List<StreamEntry>> result = new CompletableFuture<>();
        try {
            commands().xrange(key(streamId), Range.create("-", "+")).whenComplete((messages, failure) -> {
                if (failure != null) {
                    result.completeExceptionally(failure);
                    return;
                }
                List<StreamEntry> entries = new ArrayList<>(messages.size());
                for (StreamMessage<String, String> m : messages) {
                    entries.add(entry(m));
                }
                result.complete(entries);
            });
        } catch (RuntimeException e) {
            result.completeExceptionally(e);
        }
        return result;
    }

    @Override
    public boolean shared() {
        return true;
    }

    @Override
    public void close() {
        closed = true;
        heartbeat.shutdownNow();
        StatefulRedisConnection<String, String> c = connection;
        if (c != null) {
            try {
                // A stopped node's streams end now for their readers, not after the producer timeout.
                c.sync().del(nodeKey(processId));
            } catch (RuntimeException e) {
                LOG.debug("stream log could not remove its heartbeat: {}", e.toString());
            }
            c.close();
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        resources.shutdown(0, 2, TimeUnit.SECONDS);
    }

    private static StreamEntry entry(StreamMessage<String, String> m) {
        String id = m.getId();
        long seq = Long.parseLong(id.substring(id.indexOf('-') + 1));
        Map<String, String> body = m.getBody();
        return new StreamEntry(seq, body.getOrDefault("t", ""), body.get("d"));
    }

    /** One stream's writer: appends pipelined, {@code durable} callbacks in append order. */
    private final class Writer implements StreamWriter {
        private final String key;
        // Guarded by this.
        private final ArrayDeque<Pending> pending = new ArrayDeque<>();
        private boolean draining;
        private long seq;
        private boolean ended;
        private volatile boolean broken;

        Writer(String key) {
            this.key = key;
        }

        @Override
        public void append(String type, String data, Runnable durable) {
            add(type, data, false, durable);
        }

        @Override
        public void end(String type, String data, Runnable durable) {
            add(type, data, true, durable);
        }

        private void add(String type, String data, boolean last, Runnable durable) {
            Pending p = new Pending(durable);
            long s;
            synchronized (this) {
                if (ended) {
                    return;
                }
                ended = last;
                s = ++seq;
                pending.add(p);
            }
            if (broken) {
                done(p);
                return;
            }
            Map<String, String> body = new HashMap<>(4);
            body.put("t", type);
            body.put("d", data == null ? "" : data);
            if (s == 1) {
                body.put("n", processId);
            }
            if (last) {
                body.put("e", "1");
            }
            try {
                RedisAsyncCommands<String, String> redis = commands();
                redis.xadd(key, new XAddArgs().id("0-" + s), body).whenComplete((id, failure) -> {
                    if (failure != null) {
                        lost(failure);
                    }
                    done(p);
                });
                if (s == 1 || last) {
                    redis.expire(key, last ? retainSeconds : maxStreamSeconds);
                }
            } catch (RuntimeException e) {
                lost(e);
                done(p);
            }
        }

        private void lost(Throwable failure) {
            broken = true;
            if (writeFailureLogged.compareAndSet(false, true)) {
                LOG.warn("stream log write failed: streams go on without being resumable until Redis answers "
                        + "again stream={} error={}", key, failure.toString());
            } else {
                LOG.debug("stream log write failed stream={} error={}", key, failure.toString());
            }
        }

        /** Marks {@code p} done and runs the callbacks at the head that are done, one thread at a time, in order. */
        private void done(Pending p) {
            synchronized (this) {
                p.done = true;
                if (draining) {
                    return;
                }
                draining = true;
            }
            while (true) {
                Pending head;
                synchronized (this) {
                    head = pending.peek();
                    if (head == null || !head.done) {
                        draining = false;
                        return;
                    }
                    pending.poll();
                }
                try {
                    head.durable.run();
                } catch (RuntimeException e) {
                    LOG.debug("stream log durable callback failed", e);
                }
            }
        }
    }

    private static final class Pending {
        final Runnable durable;
        boolean done;

        Pending(Runnable durable) {
            this.durable = durable;
        }
    }

    /** One reader, on a connection of its own: first entry (is there a stream, who writes it), then XREAD BLOCK. */
    private final class Follow implements AutoCloseable {
        private final String key;
        private final StreamFollower follower;
        private final AtomicBoolean over = new AtomicBoolean();
        private long last;
        private String writer;
        private long lastProgress = System.nanoTime();
        private volatile StatefulRedisConnection<String, String> own;

        Follow(String key, long after, StreamFollower follower) {
            this.key = key;
            this.last = after;
            this.follower = follower;
        }

        void start() {
            client.connectAsync(StringCodec.UTF8, uri).whenComplete((c, failure) -> {
                if (failure != null) {
                    fail("cannot connect to Redis: " + failure);
                    return;
                }
                own = c;
                c.setTimeout(Duration.ofMillis(heartbeatMillis).plus(timeout));
                if (over.get()) {
                    c.closeAsync();
                    return;
                }
                c.async().xrange(key, Range.create("0-1", "0-1")).whenComplete((first, error) -> {
                    if (error != null) {
                        fail(error.toString());
                    } else if (first.isEmpty()) {
                        finish(StreamFollower::onNotFound);
                    } else {
                        writer = first.get(0).getBody().get("n");
                        readUnlessPastTheEnd(c);
                    }
                });
            });
        }

        /** A client that has the last entry already: the end, not a wait for entries that never come. */
        private void readUnlessPastTheEnd(StatefulRedisConnection<String, String> c) {
            c.async().xrevrange(key, Range.create("-", "+"), io.lettuce.core.Limit.from(1))
                    .whenComplete((lastEntries, error) -> {
                        if (error != null) {
                            fail(error.toString());
                        } else if (!lastEntries.isEmpty() && lastEntries.get(0).getBody().containsKey("e")
                                && entry(lastEntries.get(0)).seq() <= last) {
                            finish(StreamFollower::onEnd);
                        } else {
                            read();
                        }
                    });
        }

        private void read() {
            StatefulRedisConnection<String, String> c = own;
            if (over.get() || c == null) {
                return;
            }
            c.async().xread(XReadArgs.Builder.block(heartbeatMillis).count(READ_COUNT),
                    XReadArgs.StreamOffset.from(key, "0-" + last)).whenComplete((messages, error) -> {
                        if (error != null) {
                            fail(error.toString());
                            return;
                        }
                        if (messages == null || messages.isEmpty()) {
                            quiet();
                            return;
                        }
                        lastProgress = System.nanoTime();
                        if (!deliver(messages)) {
                            read();
                        }
                    });
        }

        /**
         * Hands the entries after the last one delivered to the follower, in order; true when this follow is over (the
         * stream's last entry came, or it was closed).
         */
        private boolean deliver(List<StreamMessage<String, String>> messages) {
            for (StreamMessage<String, String> m : messages) {
                StreamEntry entry = entry(m);
                if (entry.seq() <= last) {
                    continue;
                }
                last = entry.seq();
                if (over.get()) {
                    return true;
                }
                follower.onEntry(entry);
                if (m.getBody().containsKey("e")) {
                    finish(StreamFollower::onEnd);
                    return true;
                }
            }
            return over.get();
        }

        /** Nothing came for a poll: is the writer still there? */
        private void quiet() {
            StatefulRedisConnection<String, String> c = own;
            if (over.get() || c == null) {
                return;
            }
            if (System.nanoTime() - lastProgress > maxIdleNanos) {
                finish(f -> f.onProducerGone("no new entry for " + TimeUnit.NANOSECONDS.toSeconds(maxIdleNanos)
                        + " s"));
                return;
            }
            c.async().exists(nodeKey(writer == null ? "" : writer)).whenComplete((alive, error) -> {
                if (error != null) {
                    fail(error.toString());
                } else if (alive == 0) {
                    drainThenGone(c, "its node stopped sending heartbeats");
                } else {
                    read();
                }
            });
        }

        /**
         * The writer is gone: whatever it wrote after the last poll (between that poll and its death) goes to the
         * follower first, so that the partial answer the follower stores is exactly what its client was sent.
         */
        private void drainThenGone(StatefulRedisConnection<String, String> c, String reason) {
            c.async().xread(XReadArgs.Builder.count(Integer.MAX_VALUE), XReadArgs.StreamOffset.from(key, "0-" + last))
                    .whenComplete((messages, error) -> {
                        if (error != null) {
                            fail(error.toString());
                            return;
                        }
                        if (!deliver(messages == null ? List.of() : messages)) {
                            finish(f -> f.onProducerGone(reason));
                        }
                    });
        }

        private void fail(String message) {
            finish(f -> f.onFailure(message));
        }

        private void finish(java.util.function.Consumer<StreamFollower> end) {
            if (over.compareAndSet(false, true)) {
                followers.decrementAndGet();
                try {
                    end.accept(follower);
                } finally {
                    StatefulRedisConnection<String, String> c = own;
                    if (c != null) {
                        c.closeAsync();
                    }
                }
            }
        }

        @Override
        public void close() {
            if (over.compareAndSet(false, true)) {
                followers.decrementAndGet();
                StatefulRedisConnection<String, String> c = own;
                if (c != null) {
                    c.closeAsync();
                }
            }
        }
    }
}

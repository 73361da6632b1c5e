package dev.parley.ratelimit.internal;

import dev.parley.api.limits.RateDecision;
import dev.parley.api.limits.RateLimit;
import dev.parley.api.limits.RateLimiter;
import dev.parley.api.limits.RateRequest;
import io.lettuce.core.ClientOptions;
import io.lettuce.core.ConnectionFuture;
import io.lettuce.core.RedisClient;
import io.lettuce.core.RedisException;
import io.lettuce.core.RedisNoScriptException;
import io.lettuce.core.RedisURI;
import io.lettuce.core.ScriptOutputType;
import io.lettuce.core.SocketOptions;
import io.lettuce.core.TimeoutOptions;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import io.lettuce.core.codec.StringCodec;
import io.lettuce.core.resource.ClientResources;
import io.lettuce.core.resource.Delay;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * GCRA in Redis, shared by every node that uses the same Redis and key prefix: one Lua script ({@code gcra.lua}) reads
 * and writes a bucket atomically on the server's clock; another ({@code gcra_all.lua}) decides several buckets in one
 * call, all or nothing. A script touching several keys needs them on one server: a standalone Redis (or a primary with
 * replicas), not a Redis Cluster, whose slots Parley's bucket names do not arrange. Called by EVALSHA, with EVAL when the server does not know the
 * script yet (a restart, a SCRIPT FLUSH). Each call waits at most the configured timeout; a call that times out, or
 * finds no connection, is a degraded decision by the fail mode. The first connection is opened in the background
 * (activation does not wait for Redis; the component is immediate, so it is there long before the first request);
 * until it succeeds a new attempt starts at most once a second, off the caller's thread. Once connected, Lettuce
 * reconnects by itself. An outage is logged once when it begins and once when it ends.
 */
final class RedisRateLimiter implements RateLimiter, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(RedisRateLimiter.class);
    private static final String SCRIPT = loadScript("gcra.lua");
    private static final String SCRIPT_SHA = sha1(SCRIPT);
    private static final String SCRIPT_ALL = loadScript("gcra_all.lua");
    private static final String SCRIPT_ALL_SHA = sha1(SCRIPT_ALL);
    private static final long CONNECT_RETRY_NANOS = TimeUnit.SECONDS.toNanos(1);
    private static final Pattern USER_INFO = Pattern.compile("^([a-zA-Z][a-zA-Z0-9+.-]*://)([^@/?#]*)@");

    private final String keyPrefix;
    private final boolean failOpen;
    private final Duration timeout;
    private final String maskedUri;
    private final RedisURI uri;
    private final ClientResources resources;
    private final RedisClient client;
    private final AtomicLong lastConnectAttempt = new AtomicLong();
    private final AtomicBoolean reachable = new AtomicBoolean(true);
    private final AtomicLong outages = new AtomicLong();
    private volatile ConnectionFuture<StatefulRedisConnection<String, String>> connecting;
    private volatile StatefulRedisConnection<String, String> connection;
    private volatile String lastProblem = "";

    RedisRateLimiter(String redisUri, String password, String keyPrefix, boolean failOpen, Duration timeout) {
        this.keyPrefix = keyPrefix;
        this.failOpen = failOpen;
        this.timeout = timeout;
        this.maskedUri = mask(redisUri);
        try {
            this.uri = RedisURI.create(redisUri);
        } catch (RuntimeException e) {
            // The parser's message may quote the URI, password and all.
            throw new IllegalArgumentException("Rate limiter redisUri is not a Redis URI: " + maskedUri);
        }
        uri.setTimeout(timeout);
        if (password != null && !password.isEmpty()) {
            uri.setAuthentication(password.toCharArray());
        }
        // Reconnection is Lettuce's: quick at first (an outage of a second costs a second), at most every 2 s later.
        this.resources = ClientResources.builder().ioThreadPoolSize(2).computationThreadPoolSize(2)
                .reconnectDelay(Delay.exponential(Duration.ofMillis(50), Duration.ofSeconds(2), 2,
                        TimeUnit.MILLISECONDS))
                .build();
        this.client = RedisClient.create(resources);
        client.setOptions(ClientOptions.builder()
                .autoReconnect(true)
                // Without a connection a command fails at once instead of queueing until the timeout.
                .disconnectedBehavior(ClientOptions.DisconnectedBehavior.REJECT_COMMANDS)
                .socketOptions(SocketOptions.builder()
                        .connectTimeout(Duration.ofMillis(Math.max(1000, timeout.toMillis()))).build())
                .timeoutOptions(TimeoutOptions.enabled(timeout))
                .build());
        LOG.info("Rate limiter uses Redis uri={} keyPrefix={} failMode={} timeoutMs={}", maskedUri, keyPrefix,
                failOpen ? "open" : "closed", timeout.toMillis());
        connect(System.nanoTime());
    }

    @Override
    public RateDecision acquire(String key, RateLimit limit, long cost) {
        Gcra.checkAcquire(key, limit, cost);
        List<Object> result = run(key, limit, cost, "acquire");
        if (result == null) {
            return Gcra.degraded(limit, failOpen);
        }
        boolean allowed = "1".equals(result.get(0));
        return Gcra.decision(limit, allowed, micros(result.get(1)) * 1000, micros(result.get(2)) * 1000);
    }

    @Override
    public List<RateDecision> acquireAll(List<RateRequest> requests) {
        Gcra.checkAcquireAll(requests);
        String[] keys = new String[requests.size()];
        String[] args = new String[3 * requests.size()];
        for (int i = 0; i < keys.length; i++) {
            RateRequest r = requests.get(i);
            keys[i] = keyPrefix + r.key();
            args[3 * i] = Double.toString(Gcra.intervalNanos(r.limit()) / 1000);
            args[3 * i + 1] = Long.toString(r.limit().burst());
            args[3 * i + 2] = Long.toString(r.cost());
        }
        List<Object> result = eval(SCRIPT_ALL_SHA, SCRIPT_ALL, keys, args);
        List<RateDecision> decisions = new ArrayList<>(keys.length);
        if (result == null) {
            for (RateRequest r : requests) {
                decisions.add(Gcra.degraded(r.limit(), failOpen));
            }
            return decisions;
        }
        boolean allowed = "1".equals(result.get(0));
        for (int i = 0; i < keys.length; i++) {
            double before = micros(result.get(2 * i + 1)) * 1000;
            double after = micros(result.get(2 * i + 2)) * 1000;
            decisions.add(Gcra.decision(requests.get(i).limit(), allowed, allowed ? after : before, after));
        }
        return decisions;
    }

    @Override
    public RateDecision charge(String key, RateLimit limit, long units) {
        Gcra.checkRelease(key, limit, units);
        if (units == 0) {
            return Gcra.charge(limit, 0, 0).decision(); // nothing asked of Redis; the bucket is not known
        }
        List<Object> result = run(key, limit, units, "charge");
        if (result == null) {
            return Gcra.degraded(limit, true);
        }
        double ahead = micros(result.get(1)) * 1000;
        return Gcra.decision(limit, true, ahead, ahead);
    }

    @Override
    public void release(String key, RateLimit limit, long units) {
        Gcra.checkRelease(key, limit, units);
        if (units > 0) {
            run(key, limit, units, "release"); // unreachable: the units stay taken until the bucket refills
        }
    }

    /** Whether Redis answers now (a PING within the timeout); also how an outage's end is noticed without traffic. */
    boolean probe() {
        StatefulRedisConnection<String, String> c = connection();
        if (c == null) {
            return false;
        }
        try {
            c.sync().ping();
            up();
            return true;
        } catch (RedisException e) {
            down(e);
            return false;
        }
    }

    /** Outages seen (each logged once), for tests. */
    long outages() {
        return outages.get();
    }

    boolean failOpen() {
        return failOpen;
    }

    String maskedUri() {
        return maskedUri;
    }

    /** What went wrong last, for health; empty while Redis answers. */
    String lastProblem() {
        return reachable.get() ? "" : lastProblem;
    }

    private List<Object> run(String key, RateLimit limit, long units, String operation) {
        String[] keys = { keyPrefix + key };
        String[] args = { Double.toString(Gcra.intervalNanos(limit) / 1000), Long.toString(limit.burst()),
                Long.toString(units), operation };
        return eval(SCRIPT_SHA, SCRIPT, keys, args);
    }

    /** One script call: by its SHA, or whole when the server does not know it; null when Redis did not answer. */
    private List<Object> eval(String sha, String script, String[] keys, String[] args) {
        StatefulRedisConnection<String, String> c = connection();
        if (c == null) {
            down(new RedisException("not connected"));
            return null;
        }
        RedisCommands<String, String> commands = c.sync();
        try {
            List<Object> result;
            try {
                result = commands.evalsha(sha, ScriptOutputType.MULTI, keys, args);
            } catch (RedisNoScriptException e) {
                result = commands.eval(script, ScriptOutputType.MULTI, keys, args);
            }
            up();
            return result;
        } catch (RedisException e) {
            down(e);
            return null;
        }
    }

    private StatefulRedisConnection<String, String> connection() {
        StatefulRedisConnection<String, String> c = connection;
        if (c != null) {
            return c;
        }
        ConnectionFuture<StatefulRedisConnection<String, String>> pending = connecting;
        if (pending != null && pending.isDone()) {
            try {
                c = pending.toCompletableFuture().join();
                connection = c;
                return c;
            } catch (CompletionException e) {
                down(e.getCause() == null ? e : e.getCause());
                connect(System.nanoTime());
            }
        }
        return null;
    }

    /** Starts a connection attempt unless one is under way or the last began less than a second ago. */
    private void connect(long now) {
        long last = lastConnectAttempt.get();
        ConnectionFuture<StatefulRedisConnection<String, String>> pending = connecting;
        if (pending != null && (!pending.isDone() || now - last < CONNECT_RETRY_NANOS)) {
            return;
        }
        if (lastConnectAttempt.compareAndSet(last, now)) {
            connecting = client.connectAsync(StringCodec.UTF8, uri);
        }
    }

    private void up() {
        if (reachable.compareAndSet(false, true)) {
            LOG.info("Rate limiter reaches Redis again uri={}: decisions come from Redis", maskedUri);
        }
    }

    private void down(Throwable cause) {
        lastProblem = cause.getClass().getSimpleName() + ": " + cause.getMessage();
        if (reachable.compareAndSet(true, false)) {
            outages.incrementAndGet();
            LOG.warn("Rate limiter cannot reach Redis uri={} failMode={}: every decision is {} until it is back ({})",
                    maskedUri, failOpen ? "open" : "closed", failOpen ? "allowed" : "refused", lastProblem);
        }
    }

    @Override
    public void close() {
        ConnectionFuture<StatefulRedisConnection<String, String>> pending = connecting;
        StatefulRedisConnection<String, String> c = connection;
        if (c != null) {
            c.close();
        } else if (pending != null) {
            pending.thenAccept(StatefulRedisConnection::close);
        }
        client.shutdown(Duration.ZERO, Duration.ofSeconds(2));
        resources.shutdown(0, 2, TimeUnit.SECONDS).awaitUninterruptibly(3, TimeUnit.SECONDS);
    }

    /** The URI with its password (or the whole user info when it is just a password) replaced by {@code ****}. */
    static String mask(String uri) {
        var m = USER_INFO.matcher(uri);
        if (!m.find()) {
            return uri;
        }
        String userInfo = m.group(2);
        int colon = userInfo.indexOf(':');
        String masked = colon < 0 ? "****" : userInfo.substring(0, colon) + ":****";
        return m.group(1) + masked + "@" + uri.substring(m.end());
    }

    private static double micros(Object value) {
        return Double.parseDouble(String.valueOf(value));
    }

    private static String loadScript(String name) {
        try (InputStream in = RedisRateLimiter.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException(name + " is missing from the bundle");
            }
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String sha1(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-1").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

package dev.parley.ratelimit.internal;

import io.lettuce.core.KeyScanCursor;
import io.lettuce.core.RedisClient;
import io.lettuce.core.ScanArgs;
import io.lettuce.core.ScanCursor;
import io.lettuce.core.api.StatefulRedisConnection;
import io.lettuce.core.api.sync.RedisCommands;
import java.util.UUID;

/**
 * The local Redis (127.0.0.1:6379) as the tests see it: a key prefix of their own per run, a client of their own to
 * look at keys, and cleanup of every key under the prefix.
 */
final class RedisTestSupport implements AutoCloseable {
    static final String HOST = "127.0.0.1";
    static final int PORT = 6379;
    static final String URI = "redis://" + HOST + ":" + PORT;

    final String prefix = "parley-test:rl:" + UUID.randomUUID() + ":";
    private final RedisClient client = RedisClient.create(URI);
    private final StatefulRedisConnection<String, String> connection = client.connect();

    RedisCommands<String, String> commands() {
        return connection.sync();
    }

    @Override
    public void close() {
        try {
            ScanCursor cursor = ScanCursor.INITIAL;
            do {
                KeyScanCursor<String> page = commands().scan(cursor, ScanArgs.Builder.matches(prefix + "*").limit(500));
                if (!page.getKeys().isEmpty()) {
                    commands().del(page.getKeys().toArray(String[]::new));
                }
                cursor = page;
            } while (!cursor.isFinished());
        } finally {
            connection.close();
            client.shutdown();
        }
    }
}

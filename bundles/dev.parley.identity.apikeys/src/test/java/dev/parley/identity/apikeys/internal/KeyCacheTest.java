package dev.parley.identity.apikeys.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.identity.Role;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

class KeyCacheTest {
    private final AtomicLong nanos = new AtomicLong(1_000);
    private final AtomicInteger loads = new AtomicInteger();
    private final KeyCache cache = new KeyCache(TimeUnit.SECONDS.toNanos(30), 100, nanos::get);

    static StoredKey key(String id, Instant revokedAt) {
        return new StoredKey(id, "acme", "alice", "iss", "ci", "0".repeat(64), Set.of(Role.MEMBER), List.of(),
                Instant.EPOCH, null, revokedAt, revokedAt == null ? null : "bob", null);
    }

    private final Function<String, Optional<StoredKey>> db = id -> {
        loads.incrementAndGet();
        return Optional.of(key(id, null));
    };

    @Test
    void aKeyIsReadOnceWithinItsTimeToLive() {
        for (int i = 0; i < 50; i++) {
            assertThat(cache.get("k1", db)).isPresent();
        }
        assertThat(loads).hasValue(1);
        nanos.addAndGet(TimeUnit.SECONDS.toNanos(30) - 1);
        cache.get("k1", db);
        assertThat(loads).hasValue(1);
        nanos.addAndGet(1);
        cache.get("k1", db);
        assertThat(loads).hasValue(2);
    }

    @Test
    void anUnknownKeyIsRememberedAsUnknownToo() {
        Function<String, Optional<StoredKey>> none = id -> {
            loads.incrementAndGet();
            return Optional.empty();
        };
        assertThat(cache.get("nope", none)).isEmpty();
        assertThat(cache.get("nope", none)).isEmpty();
        assertThat(loads).hasValue(1);
    }

    @Test
    void invalidationMakesTheNextCheckReadAgain() {
        cache.get("k1", db);
        cache.invalidate("k1");
        cache.get("k1", db);
        assertThat(loads).hasValue(2);
    }

    @Test
    void aReadThatOverlapsAnInvalidationIsNotKept() {
        // The read saw the key before its revocation committed; the revocation invalidates while it is in flight.
        Optional<StoredKey> stale = cache.get("k1", id -> {
            loads.incrementAndGet();
            cache.invalidate("k1");
            return Optional.of(key(id, null));
        });
        assertThat(stale).isPresent(); // this one request raced the revocation
        Optional<StoredKey> next = cache.get("k1", id -> {
            loads.incrementAndGet();
            return Optional.of(key(id, Instant.EPOCH));
        });
        assertThat(next.orElseThrow().revoked()).isTrue();
        assertThat(loads).hasValue(2);
    }

    @Test
    void aZeroTimeToLiveReadsEveryTime() {
        KeyCache none = new KeyCache(0, 100, nanos::get);
        none.get("k1", db);
        none.get("k1", db);
        assertThat(loads).hasValue(2);
        assertThat(none.size()).isZero();
    }

    @Test
    void theCacheStaysWithinItsSize() {
        for (int i = 0; i < 1_000; i++) {
            cache.get("k" + i, db);
            assertThat(cache.size()).isLessThanOrEqualTo(100);
        }
    }

    @Test
    void whenFullStaleEntriesGoFirst() {
        for (int i = 0; i < 99; i++) {
            cache.get("old" + i, db);
        }
        nanos.addAndGet(TimeUnit.SECONDS.toNanos(31));
        cache.get("new1", db); // 100 entries now
        cache.get("new2", db); // full: the 99 stale ones go, new1 stays
        assertThat(cache.size()).isEqualTo(2);
        int before = loads.get();
        cache.get("new1", db);
        assertThat(loads).hasValue(before);
    }
}

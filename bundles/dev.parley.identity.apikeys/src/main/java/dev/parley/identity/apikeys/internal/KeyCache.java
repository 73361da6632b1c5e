package dev.parley.identity.apikeys.internal;

import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * This node's short-lived copy of the keys it checked, by key id, so that a program's requests cost no query each:
 * an entry (the key's row, or that there is none) is used for at most {@code ttlNanos} after it was read. Revoking
 * a key on this node drops its entry at once ({@link #invalidate}); another node's copy lives out its time to live,
 * which is the bound on how long a key revoked elsewhere still works there.
 *
 * <p>A read that started before an invalidation is not cached when it ends (it may have seen the row before the
 * revocation committed), so a revocation on this node cannot be undone by a request in flight.
 */
final class KeyCache {
    private record Entry(Optional<StoredKey> key, long loadedAt) {
    }

    private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();
    /** Counts invalidations; a load caches its result only when no invalidation happened while it ran. */
    private final AtomicLong invalidations = new AtomicLong();
    private final long ttlNanos;
    private final int maxEntries;
    private final LongSupplier ticker;

    /**
     * @param ttlNanos   how long an entry is used; 0 disables the cache (every check reads the database)
     * @param maxEntries at most this many entries: when full, stale ones are dropped, and all if that is not enough
     * @param ticker     monotonic nanoseconds ({@code System::nanoTime})
     */
    KeyCache(long ttlNanos, int maxEntries, LongSupplier ticker) {
        this.ttlNanos = ttlNanos;
        this.maxEntries = maxEntries;
        this.ticker = ticker;
    }

    /** The key with {@code id}: from this cache while its entry is fresh, else from {@code load}. */
    Optional<StoredKey> get(String id, Function<String, Optional<StoredKey>> load) {
        long now = ticker.getAsLong();
        Entry e = entries.get(id);
        if (e != null && now - e.loadedAt() < ttlNanos) {
            return e.key();
        }
        long generation = invalidations.get();
        Optional<StoredKey> key = load.apply(id);
        if (ttlNanos > 0) {
            if (entries.size() >= maxEntries) {
                evict(now);
            }
            entries.put(id, new Entry(key, now));
            if (invalidations.get() != generation) {
                // Invalidated while loading: what was read may predate it. The next check reads again.
                entries.remove(id);
            }
        }
        return key;
    }

    /** Drops the entry of {@code id}: the next check of that key reads the database. */
    void invalidate(String id) {
        invalidations.incrementAndGet();
        entries.remove(id);
    }

    int size() {
        return entries.size();
    }

    private void evict(long now) {
        entries.values().removeIf(e -> now - e.loadedAt() >= ttlNanos);
        if (entries.size() >= maxEntries) {
            entries.clear();
        }
    }
}

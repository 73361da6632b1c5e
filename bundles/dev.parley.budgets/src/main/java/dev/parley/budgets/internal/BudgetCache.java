package dev.parley.budgets.internal;

import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.LongSupplier;

/**
 * Each tenant's budget definitions on this node, kept for a few seconds, so that a caller with no budget costs no
 * database round trip. Dropped at once for a tenant whose budgets this node changed; other nodes see a change when
 * their entry ages out.
 */
final class BudgetCache {
    private record Entry(List<Budget> budgets, long loadedAt) {
    }

    private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();
    /** Bumped by every invalidation: a load that began before one is not kept (it may predate the change). */
    private final AtomicLong generation = new AtomicLong();
    private final long ttlNanos;
    private final int maxTenants;
    private final LongSupplier ticker;

    BudgetCache(long ttlNanos, int maxTenants, LongSupplier ticker) {
        this.ttlNanos = ttlNanos;
        this.maxTenants = maxTenants;
        this.ticker = ticker;
    }

    /**
     * The budgets of {@code tenantId}, loaded with {@code loader} when absent or older than the time to live. When
     * loading fails and an older entry exists, the older entry is used (and kept until a load succeeds).
     */
    List<Budget> get(String tenantId, Function<String, List<Budget>> loader) {
        long now = ticker.getAsLong();
        Entry e = entries.get(tenantId);
        if (e != null && now - e.loadedAt() < ttlNanos) {
            return e.budgets();
        }
        long gen = generation.get();
        List<Budget> loaded;
        try {
            loaded = loader.apply(tenantId);
        } catch (RuntimeException failure) {
            if (e != null) {
                return e.budgets();
            }
            throw failure;
        }
        if (ttlNanos > 0 && generation.get() == gen) {
            if (entries.size() >= maxTenants && !entries.containsKey(tenantId)) {
                entries.clear();
            }
            entries.put(tenantId, new Entry(loaded, now));
        }
        return loaded;
    }

    void invalidate(String tenantId) {
        generation.incrementAndGet();
        entries.remove(tenantId);
    }

    int size() {
        return entries.size();
    }
}

package dev.parley.modelaccess.internal;

import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Function;
import java.util.function.LongSupplier;
import java.util.function.Supplier;

/**
 * Each tenant's view on this node, kept for the cache time, so that a request costs a map look-up and no query. The
 * plugin rules (few, shared by all tenants) are one snapshot with the same time to live; a tenant's view is rebuilt
 * from its cached settings when the snapshot changes. Dropped at once on the node that changes them (and where the
 * change event is delivered); other nodes read them again when their entries age out. A load that fails keeps what
 * was there; with nothing there it fails (refused, not guessed open).
 */
final class AccessCache {
    private record Rules(Map<String, PluginRule> byPlugin, long loadedAt) {
    }

    private record Entry(TenantView view, Rules rules, long loadedAt) {
    }

    private final ConcurrentHashMap<String, Entry> entries = new ConcurrentHashMap<>();
    /** Bumped by every invalidation: a load that began before one is not kept (it may predate the change). */
    private final AtomicLong generation = new AtomicLong();
    private final long ttlNanos;
    private final int maxTenants;
    private final LongSupplier ticker;
    private final Supplier<Map<String, PluginRule>> ruleLoader;
    private final Function<String, TenantSettings> settingsLoader;
    private final ProviderPlugins plugins;
    private volatile Rules rules;

    AccessCache(long ttlNanos, int maxTenants, LongSupplier ticker, Supplier<Map<String, PluginRule>> ruleLoader,
            Function<String, TenantSettings> settingsLoader, ProviderPlugins plugins) {
        this.ttlNanos = ttlNanos;
        this.maxTenants = maxTenants;
        this.ticker = ticker;
        this.ruleLoader = ruleLoader;
        this.settingsLoader = settingsLoader;
        this.plugins = plugins;
    }

    TenantView get(String tenantId) {
        long now = ticker.getAsLong();
        Entry e = entries.get(tenantId);
        Rules r = rules(now);
        if (e != null && e.rules() == r && fresh(e.loadedAt(), now)) {
            return e.view();
        }
        long gen = generation.get();
        TenantSettings settings;
        long loadedAt;
        if (e != null && fresh(e.loadedAt(), now)) {
            // Only the plugin rules changed: the tenant's own settings are still fresh.
            settings = e.view().settings();
            loadedAt = e.loadedAt();
        } else {
            try {
                settings = settingsLoader.apply(tenantId);
                loadedAt = now;
            } catch (RuntimeException failure) {
                if (e == null) {
                    throw failure;
                }
                settings = e.view().settings();
                loadedAt = e.loadedAt();
            }
        }
        TenantView view = new TenantView(denied(r.byPlugin(), tenantId), settings, plugins);
        if (ttlNanos > 0 && generation.get() == gen) {
            if (entries.size() >= maxTenants && !entries.containsKey(tenantId)) {
                entries.clear();
            }
            entries.put(tenantId, new Entry(view, r, loadedAt));
        }
        return view;
    }

    private boolean fresh(long loadedAt, long now) {
        return now - loadedAt < ttlNanos;
    }

    private Rules rules(long now) {
        Rules r = rules;
        if (r != null && fresh(r.loadedAt(), now)) {
            return r;
        }
        synchronized (this) {
            r = rules;
            if (r != null && fresh(r.loadedAt(), now)) {
                return r;
            }
            long gen = generation.get();
            Map<String, PluginRule> loaded;
            try {
                loaded = ruleLoader.get();
            } catch (RuntimeException failure) {
                if (r != null) {
                    return r;
                }
                throw failure;
            }
            Rules next = new Rules(Map.copyOf(loaded), now);
            if (ttlNanos > 0 && generation.get() == gen) {
                rules = next;
            }
            return next;
        }
    }

    /** The plugins whose rules keep {@code tenantId} out. */
    static Set<String> denied(Map<String, PluginRule> rules, String tenantId) {
        if (rules.isEmpty()) {
            return Set.of();
        }
        Set<String> out = new HashSet<>();
        for (PluginRule rule : rules.values()) {
            if (!rule.allows(tenantId)) {
                out.add(rule.pluginId());
            }
        }
        return out;
    }

    void invalidate(String tenantId) {
        generation.incrementAndGet();
        entries.remove(tenantId);
    }

    void invalidateAll() {
        generation.incrementAndGet();
        synchronized (this) {
            rules = null;
        }
        entries.clear();
    }

    int size() {
        return entries.size();
    }
}

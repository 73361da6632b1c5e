package dev.parley.core.internal;

import dev.parley.api.routing.RouterStateStore;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Which plugin each provider id belongs to (ADR 29). The first plugin whose bundle registers a chat or embedding
 * provider with an id binds the id; a registration of that id from another plugin is not used while the binding
 * stands, so a plugin cannot take another plugin's traffic by reusing its provider id, not even across a restart
 * that starts the plugins in another order: bindings are kept in the database ({@link RouterStateStore}) and shared
 * by every node. Another version of the same plugin (an upgrade beside the running one) has the same plugin id.
 * Uninstalling a plugin frees its ids ({@link #release}).
 *
 * <p>Registrations of platform bundles bind too (as {@code bundle:<symbolic name>}), so a plugin cannot take the id
 * of a provider the platform registers either. Reads are one map look-up; writes go to the database off the
 * caller's thread, on the router's timer thread.
 */
final class ProviderBindings {
    private static final Logger LOG = LoggerFactory.getLogger(ProviderBindings.class);

    private final RouterStateStore store;
    private final Timers timers;
    /** Provider id to the plugin (origin) it belongs to. */
    private final Map<String, String> bound = new ConcurrentHashMap<>();
    /** Bindings this node made that the database has not confirmed yet. */
    private final Set<String> unwritten = ConcurrentHashMap.newKeySet();
    private final List<Runnable> listeners = new CopyOnWriteArrayList<>();

    ProviderBindings(RouterStateStore store, Timers timers) {
        this.store = store;
        this.timers = timers;
    }

    /** {@code listener} runs (on the timer thread) whenever a binding changed other than by {@link #bind}. */
    void onChange(Runnable listener) {
        listeners.add(listener);
    }

    /**
     * Binds {@code providerId} to {@code origin} unless it is bound.
     *
     * @return the origin that holds the id afterwards; null when {@code origin} is null (nothing known, not checked)
     */
    String bind(String providerId, String origin) {
        if (origin == null || providerId == null) {
            return null;
        }
        String holder = bound.get(providerId);
        if (holder != null) {
            return holder;
        }
        unwritten.add(providerId);
        holder = bound.putIfAbsent(providerId, origin);
        if (holder != null) {
            return holder;
        }
        LOG.info("provider id bound provider={} plugin={}", providerId, origin);
        persist(providerId, origin);
        return origin;
    }

    /** The origin {@code providerId} belongs to; null when it is not bound. */
    String holder(String providerId) {
        return providerId == null ? null : bound.get(providerId);
    }

    /** Whether a registration of {@code providerId} from {@code origin} may serve: unbound, or bound to it. */
    boolean allows(String providerId, String origin) {
        String holder = holder(providerId);
        return origin == null || holder == null || holder.equals(origin);
    }

    /** {@code origin}'s plugin was uninstalled: every provider id it held is free (here and in the database). */
    void release(String origin) {
        boolean changed = false;
        for (Map.Entry<String, String> e : Map.copyOf(bound).entrySet()) {
            if (e.getValue().equals(origin) && bound.remove(e.getKey(), origin)) {
                unwritten.remove(e.getKey());
                changed = true;
                String providerId = e.getKey();
                LOG.info("provider id released provider={} plugin={}", providerId, origin);
                timers.execute(() -> {
                    try {
                        store.releaseProvider(providerId, origin);
                    } catch (RuntimeException ex) {
                        LOG.error("event=provider_release_store_failed provider={} plugin={}", providerId, origin, ex);
                    }
                });
            }
        }
        if (changed) {
            changed();
        }
    }

    /** The database's bindings: the truth for every id it has; this node's unwritten ones are written again. */
    void load(Map<String, String> stored) {
        boolean changed = false;
        for (Map.Entry<String, String> e : stored.entrySet()) {
            if (!Objects.equals(bound.put(e.getKey(), e.getValue()), e.getValue())) {
                changed = true;
            }
        }
        for (String providerId : Set.copyOf(bound.keySet())) {
            if (!stored.containsKey(providerId) && !unwritten.contains(providerId)) {
                bound.remove(providerId);
                changed = true;
            }
        }
        for (String providerId : Set.copyOf(unwritten)) {
            String origin = bound.get(providerId);
            if (stored.containsKey(providerId) || origin == null) {
                unwritten.remove(providerId);
            } else {
                persist(providerId, origin);
            }
        }
        if (changed) {
            changed();
        }
    }

    /** Bound provider ids and their plugins, for the admin view and tests. */
    Map<String, String> all() {
        return Map.copyOf(bound);
    }

    private void persist(String providerId, String origin) {
        timers.execute(() -> {
            try {
                String winner = store.bindProviderIfAbsent(providerId, origin);
                unwritten.remove(providerId);
                if (winner != null && !winner.equals(origin) && bound.replace(providerId, origin, winner)) {
                    LOG.info("provider id bound earlier elsewhere provider={} plugin={}", providerId, winner);
                    changed();
                }
            } catch (RuntimeException e) {
                LOG.error("event=provider_binding_store_failed provider={} plugin={} hint=\"kept in memory; written at "
                        + "the next refresh\"", providerId, origin, e);
            }
        });
    }

    private void changed() {
        for (Runnable l : listeners) {
            try {
                l.run();
            } catch (RuntimeException e) {
                LOG.error("event=provider_binding_listener_failed", e);
            }
        }
    }
}

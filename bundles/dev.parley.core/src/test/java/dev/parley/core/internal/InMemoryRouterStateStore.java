package dev.parley.core.internal;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import dev.parley.api.routing.RouterStateStore;

/** The router's state as a database would keep it across restarts: tests hand one instance to several routers. */
class InMemoryRouterStateStore implements RouterStateStore {
    final Map<String, String> claims = new ConcurrentHashMap<>();
    final Map<String, String> aliases = new ConcurrentHashMap<>();
    final Map<String, String> providerPlugins = new ConcurrentHashMap<>();
    final AtomicInteger loads = new AtomicInteger();

    @Override
    public State load() {
        loads.incrementAndGet();
        return new State(claims, aliases);
    }

    @Override
    public String claimIfAbsent(String modelId, String providerId) {
        String previous = claims.putIfAbsent(modelId, providerId);
        return previous == null ? providerId : previous;
    }

    @Override
    public void putClaim(String modelId, String providerId) {
        claims.put(modelId, providerId);
    }

    @Override
    public boolean deleteClaim(String modelId) {
        return claims.remove(modelId) != null;
    }

    @Override
    public void putAlias(String name, String definition) {
        aliases.put(name, definition);
    }

    @Override
    public boolean deleteAlias(String name) {
        return aliases.remove(name) != null;
    }

    @Override
    public Map<String, String> providerPlugins() {
        return Map.copyOf(providerPlugins);
    }

    @Override
    public String bindProviderIfAbsent(String providerId, String pluginId) {
        String previous = providerPlugins.putIfAbsent(providerId, pluginId);
        return previous == null ? pluginId : previous;
    }

    @Override
    public boolean releaseProvider(String providerId, String pluginId) {
        return providerPlugins.remove(providerId, pluginId);
    }
}

package dev.parley.api.routing;

import java.util.Map;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Where the router keeps what must survive a restart and be the same on every node: which provider claimed which
 * bare model id, the aliases an admin defined and (1.3) which plugin each provider id belongs to. The router reads it at start and now and then (to see other
 * nodes' changes), never per request. Implementations throw {@link dev.parley.api.error.ParleyException} with
 * {@code STORE_FAILURE} when the database fails.
 */
@ProviderType
public interface RouterStateStore {
    /** Everything stored. */
    State load();

    /**
     * Claims {@code modelId} for {@code providerId} unless some provider claimed it already (on any node).
     *
     * @return the provider that holds the claim afterwards: {@code providerId}, or the earlier claimant
     */
    String claimIfAbsent(String modelId, String providerId);

    /** Sets the claim on {@code modelId} to {@code providerId}, replacing any (an admin's reassignment). */
    void putClaim(String modelId, String providerId);

    /** @return whether there was a claim to remove */
    boolean deleteClaim(String modelId);

    /** Stores the admin alias {@code name} with its definition (the syntax of {@link ModelRoutingAdmin#putAlias}). */
    void putAlias(String name, String definition);

    /** @return whether there was an admin alias to remove */
    boolean deleteAlias(String name);

    /**
     * Which plugin each provider id belongs to: the first plugin whose bundle registered a provider with that id
     * (ADR 29). A registration of the id from another plugin is not used while the binding stands.
     *
     * @return provider id to plugin id
     * @since 1.3
     */
    Map<String, String> providerPlugins();

    /**
     * Binds {@code providerId} to {@code pluginId} unless it is bound already (on any node).
     *
     * @return the plugin the provider id is bound to afterwards: {@code pluginId}, or the earlier one
     * @since 1.3
     */
    String bindProviderIfAbsent(String providerId, String pluginId);

    /**
     * Releases {@code providerId} if it is bound to {@code pluginId} (that plugin was uninstalled).
     *
     * @return whether a binding was removed
     * @since 1.3
     */
    boolean releaseProvider(String providerId, String pluginId);

    /**
     * The stored state.
     *
     * @param claims  model id to provider id
     * @param aliases alias name to definition
     */
    record State(Map<String, String> claims, Map<String, String> aliases) {
        public State {
            claims = Map.copyOf(claims);
            aliases = Map.copyOf(aliases);
        }
    }
}

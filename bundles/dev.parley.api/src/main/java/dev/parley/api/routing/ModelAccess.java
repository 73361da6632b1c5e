package dev.parley.api.routing;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Which models each tenant may use: the plugins the operator made available to it, and the models and aliases its
 * own admin enabled. Core asks it for every chat and embedding request and every model list, so an implementation
 * answers {@link #forTenant} from memory (a per-node cache), never with a database round trip per call.
 *
 * <p>Without this service every tenant may use every model (a laptop runs without restrictions).
 */
@ProviderType
public interface ModelAccess {
    /**
     * Event Admin topic posted on the node where a tenant's models or a plugin's tenants change; other nodes see the
     * change when their cache refreshes. Property {@link #TENANT}: the tenant whose models changed, or {@code "*"}
     * when a plugin's availability changed (it may concern every tenant).
     */
    String CHANGED = "dev/parley/routing/MODEL_ACCESS_CHANGED";
    /** Property of {@link #CHANGED}: the tenant, or {@code "*"}. */
    String TENANT = "tenant";

    /**
     * What {@code tenantId} may use now. Throws {@link dev.parley.api.error.ParleyException} {@code UNAVAILABLE}
     * when it cannot be known (the database is down and nothing is cached): refused, never guessed open.
     */
    TenantModels forTenant(String tenantId);

    /** One tenant's view; immutable, cheap to ask. */
    @ProviderType
    interface TenantModels {
        /** True when nothing restricts this tenant: every other method answers true. */
        boolean unrestricted();

        /**
         * Whether the tenant's admin left the alias (or listed model id) {@code name} enabled: its own setting, else
         * the tenant's default. Says nothing about the targets behind an alias; check each with {@link #allowsTarget}.
         */
        boolean allowsName(String name);

        /**
         * Whether the tenant may use {@code modelId} of the provider {@code providerId}: the provider's plugin is
         * available to the tenant, and its admin left the model enabled (the setting of {@code providerId/modelId}
         * if there is one, else that of {@code modelId}, else the tenant's default).
         */
        boolean allowsTarget(String providerId, String modelId);

        /**
         * Whether the operator makes the plugin {@code pluginId} (its {@code Parley-Plugin} id) available to the
         * tenant: what decides whether the tenant's admin may run its own instance of it.
         *
         * @since 1.2
         */
        default boolean allowsPlugin(String pluginId) {
            return true;
        }
    }

    /** Every tenant may use everything. */
    TenantModels UNRESTRICTED = new TenantModels() {
        @Override
        public boolean unrestricted() {
            return true;
        }

        @Override
        public boolean allowsName(String name) {
            return true;
        }

        @Override
        public boolean allowsTarget(String providerId, String modelId) {
            return true;
        }

        @Override
        public String toString() {
            return "TenantModels[unrestricted]";
        }
    };
}

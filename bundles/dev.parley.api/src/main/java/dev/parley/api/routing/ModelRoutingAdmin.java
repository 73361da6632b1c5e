package dev.parley.api.routing;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The router as an admin sees it. Changes take effect at once, on every node that shares the database (after its
 * next refresh), and survive restarts. Invalid input is refused with a
 * {@link dev.parley.api.error.ParleyException}: {@code INVALID_REQUEST} for bad syntax or an unknown provider,
 * {@code NOT_FOUND} for an alias or claim that does not exist, {@code CONFLICT} for an alias that comes from
 * configuration and can only be changed there.
 */
@ProviderType
public interface ModelRoutingAdmin {
    /** Providers, targets and their health, aliases, claims and prices, as they are now. */
    RouterView view();

    /**
     * Defines (or replaces) the alias {@code name} as an admin alias, which wins over one of the same name from
     * configuration.
     *
     * @param definition {@code strategy:target,target,...}, the strategy ({@code priority}, {@code weighted},
     *                   {@code least-latency}, {@code cost}) optional (priority), each target
     *                   {@code providerId/modelId} with an optional {@code @weight} (a whole number, default 1)
     */
    AliasView putAlias(String name, String definition);

    /** Removes the admin alias {@code name}; an alias of the same name from configuration applies again. */
    void deleteAlias(String name);

    /** Assigns the bare model id {@code modelId} to the provider {@code providerId}, replacing any earlier claim. */
    Claim putClaim(String modelId, String providerId);

    /** Forgets the claim on {@code modelId}; the next provider seen serving it claims it again. */
    void deleteClaim(String modelId);
}

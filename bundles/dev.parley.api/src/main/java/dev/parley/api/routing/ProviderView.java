package dev.parley.api.routing;

import java.util.List;

/**
 * A provider id the router knows: one that is registered now ({@code up}) or one that claims models but is not
 * running ({@code up == false}, no models).
 *
 * @param registrations  how many services carry this id now (2 while a plugin is upgraded side by side)
 * @param owner          the tenant whose own instance this is (its service property
 *                       {@link dev.parley.api.llm.ChatModelProvider#TENANT_PROPERTY}); null for the operator's
 *                       providers (since 1.2)
 * @param plugin         the plugin the provider id belongs to: the first plugin whose bundle registered it
 *                       ({@code bundle:<symbolic name>} for a platform bundle); null when it is not bound (since 1.3)
 * @param refusedPlugins other plugins that registered a provider with this id: their registrations serve nothing while
 *                       the id belongs to {@code plugin} (since 1.3)
 */
public record ProviderView(String id, boolean up, int registrations, List<String> models, String owner, String plugin,
        List<String> refusedPlugins) {
    public ProviderView {
        models = List.copyOf(models);
        refusedPlugins = refusedPlugins == null ? List.of() : List.copyOf(refusedPlugins);
    }

    /** An operator's provider, as before 1.2. */
    public ProviderView(String id, boolean up, int registrations, List<String> models) {
        this(id, up, registrations, models, null);
    }

    /** As before 1.3: no plugin known. */
    public ProviderView(String id, boolean up, int registrations, List<String> models, String owner) {
        this(id, up, registrations, models, owner, null, List.of());
    }
}

package dev.parley.api.routing;

import java.util.List;

/**
 * A provider id the router knows: one that is registered now ({@code up}) or one that claims models but is not
 * running ({@code up == false}, no models).
 *
 * @param registrations how many services carry this id now (2 while a plugin is upgraded side by side)
 * @param owner         the tenant whose own instance this is (its service property
 *                      {@link dev.parley.api.llm.ChatModelProvider#TENANT_PROPERTY}); null for the operator's
 *                      providers (since 1.2)
 */
public record ProviderView(String id, boolean up, int registrations, List<String> models, String owner) {
    public ProviderView {
        models = List.copyOf(models);
    }

    /** An operator's provider, as before 1.2. */
    public ProviderView(String id, boolean up, int registrations, List<String> models) {
        this(id, up, registrations, models, null);
    }
}

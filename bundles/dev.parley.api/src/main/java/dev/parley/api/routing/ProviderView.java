package dev.parley.api.routing;

import java.util.List;

/**
 * A provider id the router knows: one that is registered now ({@code up}) or one that claims models but is not
 * running ({@code up == false}, no models).
 *
 * @param registrations how many services carry this id now (2 while a plugin is upgraded side by side)
 */
public record ProviderView(String id, boolean up, int registrations, List<String> models) {
    public ProviderView {
        models = List.copyOf(models);
    }
}

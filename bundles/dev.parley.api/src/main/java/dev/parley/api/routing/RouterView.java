package dev.parley.api.routing;

import java.util.List;

/** Everything the router knows, for the admin API. */
public record RouterView(List<ProviderView> providers, List<TargetHealth> targets, List<AliasView> aliases,
        List<Claim> claims, List<ModelPrice> prices) {
    public RouterView {
        providers = List.copyOf(providers);
        targets = List.copyOf(targets);
        aliases = List.copyOf(aliases);
        claims = List.copyOf(claims);
        prices = List.copyOf(prices);
    }
}

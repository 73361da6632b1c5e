package dev.parley.web.rest.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.routing.AliasView;
import dev.parley.api.routing.BreakerState;
import dev.parley.api.routing.Claim;
import dev.parley.api.routing.ModelPrice;
import dev.parley.api.routing.ModelRoutingAdmin;
import dev.parley.api.routing.ProviderView;
import dev.parley.api.routing.RouterView;
import dev.parley.api.routing.RoutingStrategy;
import dev.parley.api.routing.TargetHealth;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * Stands in for core's router behind the admin resource: two providers, one configured alias, and the router's
 * error classes for bad input (core's own tests cover the real rules; this one checks what HTTP makes of them).
 */
final class ScriptedRoutingAdmin implements ModelRoutingAdmin {
    final Map<String, AliasView> aliases = new TreeMap<>();
    final Map<String, String> claims = new TreeMap<>();
    private final Map<String, List<String>> providers = Map.of("openai", List.of("gpt-4o", "gpt-4o-mini"),
            "ollama", List.of("meta-llama/Llama-3-8B"));

    ScriptedRoutingAdmin() {
        aliases.put("default", new AliasView("default", RoutingStrategy.PRIORITY,
                List.of(new AliasView.Target("openai", "gpt-4o-mini", 1)), "priority:openai/gpt-4o-mini",
                "configuration"));
        claims.put("gpt-4o", "openai");
    }

    @Override
    public RouterView view() {
        List<ProviderView> ps = new ArrayList<>();
        new TreeMap<>(providers).forEach((id, models) -> ps.add(new ProviderView(id, true, 1, models)));
        ps.add(new ProviderView("anthropic", false, 0, List.of()));
        return new RouterView(ps,
                List.of(new TargetHealth("openai/gpt-4o", BreakerState.OPEN, 75.0f, 420, 10, 30, 2)),
                List.copyOf(aliases.values()),
                claims.entrySet().stream().map(e -> new Claim(e.getKey(), e.getValue(), true)).toList(),
                List.of(new ModelPrice("gpt-4o", 2.5, 10)));
    }

    @Override
    public AliasView putAlias(String name, String definition) {
        String[] parts = definition.split(":", 2);
        RoutingStrategy strategy = parts.length == 2 ? RoutingStrategy.of(parts[0]) : RoutingStrategy.PRIORITY;
        if (strategy == null) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "alias " + name + ": unknown strategy '" + parts[0]
                    + "'");
        }
        List<AliasView.Target> targets = new ArrayList<>();
        for (String t : parts[parts.length - 1].split(",")) {
            int slash = t.indexOf('/');
            if (slash <= 0) {
                throw new ParleyException(ErrorCode.INVALID_REQUEST, "alias " + name + ": target '" + t
                        + "' is not 'provider/model'");
            }
            String provider = t.substring(0, slash).strip();
            if (!providers.containsKey(provider)) {
                throw new ParleyException(ErrorCode.INVALID_REQUEST, "alias " + name + ": unknown provider '"
                        + provider + "'");
            }
            targets.add(new AliasView.Target(provider, t.substring(slash + 1).strip(), 1));
        }
        AliasView a = new AliasView(name, strategy, targets, definition, "admin");
        aliases.put(name, a);
        return a;
    }

    @Override
    public void deleteAlias(String name) {
        AliasView a = aliases.get(name);
        if (a == null) {
            throw new ParleyException(ErrorCode.NOT_FOUND, "unknown alias " + name);
        }
        if (a.source().equals("configuration")) {
            throw new ParleyException(ErrorCode.CONFLICT, "alias " + name + " comes from configuration");
        }
        aliases.remove(name);
    }

    @Override
    public Claim putClaim(String modelId, String providerId) {
        if (!providers.containsKey(providerId)) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "unknown provider '" + providerId + "'");
        }
        claims.put(modelId, providerId);
        return new Claim(modelId, providerId, true);
    }

    @Override
    public void deleteClaim(String modelId) {
        if (claims.remove(modelId) == null) {
            throw new ParleyException(ErrorCode.NOT_FOUND, "model " + modelId + " has no claim");
        }
    }
}

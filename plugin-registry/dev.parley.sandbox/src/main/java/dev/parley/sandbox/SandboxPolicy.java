package dev.parley.sandbox;

import java.util.EnumMap;
import java.util.Map;
import java.util.Optional;

/**
 * The policy of every tier, and which tier a plugin is in: the tier that names its id in {@code plugins} (an admin's
 * choice); else its publisher's: the tier that names the publisher; else, for a publisher an
 * admin added to the registry, the tier with {@value TierPolicy#ANY_REGISTERED}; else none, and its plugins are
 * refused (a publisher nobody added cannot have uploaded anything, so its plugins are not admitted at all).
 */
public record SandboxPolicy(Map<Tier, TierPolicy> tiers) {
    public SandboxPolicy {
        EnumMap<Tier, TierPolicy> copy = new EnumMap<>(Tier.class);
        copy.putAll(tiers);
        for (Tier t : Tier.values()) {
            if (!copy.containsKey(t)) {
                throw new PolicyException("the policy has no tier " + t.slug());
            }
        }
        tiers = java.util.Collections.unmodifiableMap(copy);
    }

    public TierPolicy tier(Tier tier) {
        return tiers.get(tier);
    }

    /**
     * @param pluginId   the plugin's id
     * @param publisher  the publisher named in the plugin's {@code Parley-Plugin} header
     * @param registered whether the registry knows the publisher (an admin added its key)
     */
    public Optional<Tier> tierOf(String pluginId, String publisher, boolean registered) {
        for (TierPolicy p : tiers.values()) {
            if (pluginId != null && p.plugins().contains(pluginId)) {
                return Optional.of(p.tier());
            }
        }
        return tierOf(publisher, registered);
    }

    /**
     * The tier of a publisher's plugins that no tier names by id.
     *
     * @param publisher  the publisher named in the plugin's {@code Parley-Plugin} header
     * @param registered whether the registry knows the publisher (an admin added its key)
     */
    public Optional<Tier> tierOf(String publisher, boolean registered) {
        for (TierPolicy p : tiers.values()) {
            if (p.publishers().contains(publisher)) {
                return Optional.of(p.tier());
            }
        }
        if (registered) {
            for (TierPolicy p : tiers.values()) {
                if (p.publishers().contains(TierPolicy.ANY_REGISTERED)) {
                    return Optional.of(p.tier());
                }
            }
        }
        return Optional.empty();
    }
}

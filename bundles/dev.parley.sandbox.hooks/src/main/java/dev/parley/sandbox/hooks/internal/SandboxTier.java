package dev.parley.sandbox.hooks.internal;

import dev.parley.sandbox.hooks.Confinement;
import java.util.Arrays;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.stream.Collectors;
import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;

/**
 * One tier of trust, from a factory configuration {@code dev.parley.sandbox.hooks.tier~<name>}: its plugins get its rules
 * instead of the default ones (or the default ones narrowed by its own). The sandbox policy
 * ({@code dev.parley.sandbox}) writes one per tier from its files ({@code sandbox-policy/}) and its admins' changes.
 */
@Component(configurationPid = SandboxTierConfig.PID, configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = SandboxTierConfig.class, factory = true)
public final class SandboxTier {
    private final Policy policy;
    private final String key;

    @Activate
    public SandboxTier(@Reference Policy policy, SandboxTierConfig config, Map<String, Object> properties) {
        this.policy = policy;
        this.key = String.valueOf(properties.get(Constants.SERVICE_PID));
        apply(config);
        policy.applied(key, properties.get(Confinement.REVISION_PROPERTY));
    }

    @Modified
    void modified(SandboxTierConfig config, Map<String, Object> properties) {
        apply(config);
        policy.applied(key, properties.get(Confinement.REVISION_PROPERTY));
    }

    @Deactivate
    void deactivate() {
        policy.removeTier(key);
        policy.removeApplied(key);
    }

    private void apply(SandboxTierConfig config) {
        String name = config.name() == null || config.name().isBlank() ? nameOf(key) : config.name().strip();
        Set<String> plugins = names(config.plugins());
        Set<String> publishers = names(config.publishers());
        Rules rules;
        try {
            rules = Rules.of(name, config);
        } catch (IllegalArgumentException e) {
            // Fail closed: a tier is usually stricter than the default, so its plugins do not fall back to it.
            Log.get().error("event=sandbox_config_invalid pid={} reason=\"{}\" hint=\"until it is fixed, this tier's "
                    + "plugins may wire to nothing and see no service\"", key, e.getMessage());
            policy.tier(key, new Policy.Tier(Rules.closed(name), plugins, publishers, false));
            return;
        }
        Log.get().info("event=sandbox_tier_configured tier={} plugins={} publishers={} narrowsDefaults={} "
                + "allowedPackages=\"{}\" jdkPackages=\"{}\" visibleServices=\"{}\" providedServices=\"{}\" enforce={}",
                name, plugins, publishers, config.narrowsDefaults(), rules.packages(), rules.jdkPackages(),
                config.narrowsDefaults() ? "the defaults'" : rules.visible(),
                config.narrowsDefaults() ? "the defaults'" : rules.provided(), rules.enforce());
        policy.tier(key, new Policy.Tier(rules, plugins, publishers, config.narrowsDefaults()));
    }

    private static Set<String> names(String[] values) {
        return Arrays.stream(Objects.requireNonNullElse(values, new String[0])).filter(Objects::nonNull)
                .map(String::strip).filter(s -> !s.isEmpty()).collect(Collectors.toUnmodifiableSet());
    }

    /** {@code dev.parley.sandbox.hooks.tier~verified} → {@code verified}; a generated PID is used whole. */
    static String nameOf(String pid) {
        int tilde = pid.indexOf('~');
        return tilde >= 0 ? pid.substring(tilde + 1) : pid;
    }
}

package dev.parley.core.internal;

import java.util.Map;
import org.osgi.framework.Constants;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;

/**
 * One tier's call limits, from a factory configuration {@code dev.parley.plugin.guard.tier~<name>}, handed to the
 * guard; a change applies to the calls that start after it, a removed configuration takes the tier away.
 */
@Component(configurationPid = GuardTierConfig.PID, configurationPolicy = ConfigurationPolicy.REQUIRE)
@Designate(ocd = GuardTierConfig.class, factory = true)
public final class GuardTier {
    private final PluginGuard guard;
    private final String key;

    @Activate
    public GuardTier(@Reference PluginGuard guard, GuardTierConfig config, Map<String, Object> properties) {
        this.guard = guard;
        this.key = String.valueOf(properties.get(Constants.SERVICE_PID));
        guard.tier(key, TierLimits.of(nameOf(key), config));
    }

    @Modified
    void modified(GuardTierConfig config) {
        guard.tier(key, TierLimits.of(nameOf(key), config));
    }

    @Deactivate
    void deactivate() {
        guard.removeTier(key);
    }

    /** {@code dev.parley.plugin.guard.tier~verified} → {@code verified}; a generated PID is used whole. */
    static String nameOf(String pid) {
        int tilde = pid.indexOf('~');
        return tilde >= 0 ? pid.substring(tilde + 1) : pid;
    }
}

package dev.parley.sandbox.hooks.internal;

import dev.parley.sandbox.hooks.Confinement;
import java.util.Map;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;

/**
 * Applies {@code dev.parley.sandbox.hooks} (the rules of plugins in no tier) to the hooks. Without a configuration the
 * built-in defaults hold; a malformed entry leaves the rules as they were and says why.
 */
@Component(configurationPid = SandboxConfig.PID, immediate = true)
@Designate(ocd = SandboxConfig.class)
public final class SandboxSettings {
    private final Policy policy;

    @Activate
    public SandboxSettings(@Reference Policy policy, SandboxConfig config, Map<String, Object> properties) {
        this.policy = policy;
        apply(config);
        policy.applied(SandboxConfig.PID, properties.get(Confinement.REVISION_PROPERTY));
    }

    @Modified
    void modified(SandboxConfig config, Map<String, Object> properties) {
        apply(config);
        policy.applied(SandboxConfig.PID, properties.get(Confinement.REVISION_PROPERTY));
    }

    private void apply(SandboxConfig config) {
        Rules rules;
        try {
            rules = Rules.of(Rules.DEFAULT, config);
        } catch (IllegalArgumentException e) {
            Log.get().error("event=sandbox_config_invalid pid={} reason=\"{}\" hint=\"the rules in force are kept\"",
                    SandboxConfig.PID, e.getMessage());
            return;
        }
        if (!rules.equals(Rules.defaults())) {
            Log.get().info("event=sandbox_configured allowedPackages=\"{}\" jdkPackages=\"{}\" visibleServices=\"{}\" "
                    + "providedServices=\"{}\" enforce={}", rules.packages(), rules.jdkPackages(), rules.visible(),
                    rules.provided(), rules.enforce());
        }
        policy.defaults(rules);
    }
}

package dev.parley.core.internal;

import org.apache.felix.hc.api.FormattingResultLog;
import org.apache.felix.hc.api.HealthCheck;
import org.apache.felix.hc.api.Result;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;

/**
 * Readiness: the chat service is up and takes turns. Kept apart from the chat service so it stays registered
 * (and says CRITICAL) while the chat service is missing, e.g. without a store, or stopping. No provider is
 * still ready: the server then runs in offline mode.
 */
@Component(service = HealthCheck.class, property = {
        HealthCheck.NAME + "=Parley core",
        HealthCheck.TAGS + "=ready" })
public final class CoreHealthCheck implements HealthCheck {
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile CoreStatus status;

    public CoreHealthCheck() {
    }

    CoreHealthCheck(CoreStatus status) {
        this.status = status;
    }

    @Override
    public Result execute() {
        FormattingResultLog log = new FormattingResultLog();
        CoreStatus s = status;
        if (s == null) {
            log.critical("chat service is not active (waiting for a conversation store?)");
        } else if (!s.accepting()) {
            log.critical("chat service is draining: turnsInFlight={}", s.turnsInFlight());
        } else {
            int providers = s.providerCount();
            log.info("chat service active: providers={} models={} turnsInFlight={}", providers, s.modelCount(),
                    s.turnsInFlight());
            if (providers == 0) {
                log.info("no model provider: offline mode");
            }
            // Readiness never waits for a plugin: model counts come from the guard's cached lists, and a
            // quarantined plugin is reported, not a reason to stop serving the others.
            s.quarantinedPlugins().forEach((plugin, reason) -> log.info("plugin {} is quarantined on this node: {}",
                    plugin, reason));
        }
        return new Result(log);
    }
}

package dev.parley.web.rest.internal;

import java.time.Duration;
import java.util.List;

/** {@link RestConfig} as plain values, so the resources can be built outside OSGi (tests). */
record RestLimits(long maxBodyBytes, int maxPageSize, int defaultPageSize, Duration requestTimeout,
        Duration sseHeartbeat, List<String> requiredReadyChecks, Duration drainTimeout) {

    RestLimits {
        if (maxBodyBytes <= 0 || maxPageSize <= 0 || defaultPageSize <= 0 || defaultPageSize > maxPageSize) {
            throw new IllegalArgumentException("need positive limits and defaultPageSize <= maxPageSize");
        }
        if (requestTimeout.isNegative() || requestTimeout.isZero() || sseHeartbeat.isNegative() || sseHeartbeat.isZero()) {
            throw new IllegalArgumentException("timeouts must be positive");
        }
        requiredReadyChecks = List.copyOf(requiredReadyChecks);
        if (drainTimeout.isNegative()) {
            throw new IllegalArgumentException("drainTimeout must not be negative");
        }
    }

    static RestLimits from(RestConfig config) {
        return new RestLimits(config.maxBodyBytes(), config.maxPageSize(), config.defaultPageSize(),
                Duration.ofSeconds(config.requestTimeoutSeconds()), Duration.ofSeconds(config.sseHeartbeatSeconds()),
                config.requiredReadyChecks() == null ? List.of() : List.of(config.requiredReadyChecks()),
                Duration.ofSeconds(config.drainTimeoutSeconds()));
    }
}

package ${package}.internal;

import java.time.Duration;
import java.util.Objects;

/** The configuration as plain values, so the provider can be built without a framework in unit tests. */
record PluginSettings(Duration tokenDelay, String prefix, Duration drainTimeout) {

    static final PluginSettings DEFAULTS = new PluginSettings(Duration.ZERO, "[${pluginId} {version}]", Duration.ofSeconds(30));

    PluginSettings {
        Objects.requireNonNull(prefix, "prefix");
        if (tokenDelay.isNegative() || drainTimeout.isNegative()) {
            throw new IllegalArgumentException("tokenDelay and drainTimeout must not be negative");
        }
    }

    static PluginSettings of(PluginConfig config) {
        return new PluginSettings(
                Duration.ofMillis(Math.max(0, config.tokenDelayMs())),
                config.prefix() == null ? DEFAULTS.prefix() : config.prefix(),
                Duration.ofSeconds(Math.max(0, config.drainTimeoutSeconds())));
    }
}

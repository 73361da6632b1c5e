package dev.parley.example.echo.internal;

import java.time.Duration;
import java.util.Objects;

/** The configuration as plain values, so the provider can be built without a framework in unit tests. */
record EchoSettings(Duration tokenDelay, String prefix, Duration drainTimeout) {

    static final EchoSettings DEFAULTS = new EchoSettings(Duration.ofMillis(EchoConfig.DEFAULT_TOKEN_DELAY_MS),
            EchoConfig.DEFAULT_PREFIX, Duration.ofSeconds(EchoConfig.DEFAULT_DRAIN_TIMEOUT_SECONDS));

    EchoSettings {
        Objects.requireNonNull(prefix, "prefix");
        if (tokenDelay.isNegative() || drainTimeout.isNegative()) {
            throw new IllegalArgumentException("tokenDelay and drainTimeout must not be negative");
        }
    }

    static EchoSettings of(EchoConfig config) {
        return new EchoSettings(
                Duration.ofMillis(Math.max(0, config.tokenDelayMs())),
                config.prefix() == null ? DEFAULTS.prefix() : config.prefix(),
                Duration.ofSeconds(Math.max(0, config.drainTimeoutSeconds())));
    }
}

package dev.parley.example.echo.internal;

import java.time.Duration;
import java.util.Objects;

/** The configuration as plain values, so the provider can be built without a framework in unit tests. */
record EchoSettings(Duration tokenDelay, String prefix, Duration drainTimeout) {

    static final EchoSettings DEFAULTS = new EchoSettings(Duration.ZERO, "[echo {version}]", Duration.ofSeconds(30));

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

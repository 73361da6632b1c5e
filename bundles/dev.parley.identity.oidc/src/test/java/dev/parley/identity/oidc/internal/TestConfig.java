package dev.parley.identity.oidc.internal;

import java.lang.reflect.Proxy;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Map;

/** An {@link OidcConfig} as Configuration Admin would give it: the values set, defaults for the others. */
final class TestConfig {
    private TestConfig() {
    }

    static OidcConfig config(Map<String, Object> values) {
        Map<String, Object> v = new HashMap<>(values);
        return (OidcConfig) Proxy.newProxyInstance(OidcConfig.class.getClassLoader(),
                new Class<?>[] { OidcConfig.class }, (proxy, method, args) -> {
                    if (v.containsKey(method.getName())) {
                        return v.get(method.getName());
                    }
                    Object d = method.getDefaultValue();
                    if (d == null && method.getDeclaringClass() == OidcConfig.class) {
                        throw new IllegalStateException("no value for " + method.getName());
                    }
                    return d;
                });
    }

    /** A clock the test moves; starts at the real time, since the issuer signs with real times. */
    static final class MovableClock extends Clock {
        private volatile Instant now = Instant.now();

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public ZoneId getZone() {
            return ZoneOffset.UTC;
        }

        @Override
        public Clock withZone(ZoneId zone) {
            return this;
        }

        @Override
        public Instant instant() {
            return now;
        }
    }
}

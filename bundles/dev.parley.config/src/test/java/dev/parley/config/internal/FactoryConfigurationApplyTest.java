package dev.parley.config.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * How {@code StartupConfiguration.apply} reaches Configuration Admin: a plain PID through {@code getConfiguration},
 * {@code factoryPid~name} through {@code getFactoryConfiguration} (Configuration Admin 1.6 named factory
 * configurations). Configuration Admin is a recording stand-in here, not a real one.
 */
class FactoryConfigurationApplyTest {

    final List<String> calls = new ArrayList<>();
    final List<Dictionary<String, Object>> updates = new ArrayList<>();

    @Test
    void aTildePidIsANamedFactoryConfiguration() {
        StartupConfiguration.apply(admin(), "dev.parley.provider.ollama~default",
                Map.of("baseUrl", "http://127.0.0.1:11434"), false);
        assertThat(calls).containsExactly("getFactoryConfiguration dev.parley.provider.ollama default ?");
        assertThat(updates).hasSize(1);
        assertThat(updates.get(0).get("baseUrl")).isEqualTo("http://127.0.0.1:11434");
    }

    @Test
    void aPlainPidIsAPlainConfiguration() {
        StartupConfiguration.apply(admin(), "dev.parley.router", Map.of("retryMaxAttempts", 2), false);
        assertThat(calls).containsExactly("getConfiguration dev.parley.router ?");
        assertThat(updates).hasSize(1);
    }

    @SuppressWarnings("unchecked")
    private ConfigurationAdmin admin() {
        Configuration config = (Configuration) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {Configuration.class}, (p, m, args) -> switch (m.getName()) {
                    case "getProperties" -> null;
                    case "update" -> {
                        updates.add((Dictionary<String, Object>) args[0]);
                        yield null;
                    }
                    default -> throw new UnsupportedOperationException(m.getName());
                });
        return (ConfigurationAdmin) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ConfigurationAdmin.class}, (p, m, args) -> {
                    StringBuilder call = new StringBuilder(m.getName());
                    for (Object a : args) {
                        call.append(' ').append(a);
                    }
                    calls.add(call.toString());
                    if (m.getName().equals("getConfiguration") || m.getName().equals("getFactoryConfiguration")) {
                        return config;
                    }
                    throw new UnsupportedOperationException(m.getName());
                });
    }
}

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

/** A PID written factoryPid~name reaches Configuration Admin as a named factory configuration. */
class FactoryConfigurationTest {

    final List<String> calls = new ArrayList<>();
    final List<Dictionary<String, Object>> updates = new ArrayList<>();

    @Test
    void aTildePidIsANamedFactoryConfigurationAndAPlainPidIsNot() {
        ConfigurationAdmin admin = admin();
        StartupConfiguration.apply(admin, "dev.parley.provider.azure~default", Map.of("endpoint", "https://x"), false);
        StartupConfiguration.apply(admin, "dev.parley.core", Map.of("defaultModel", "m"), false);
        assertThat(calls).containsExactly("getFactoryConfiguration dev.parley.provider.azure default ?",
                "getConfiguration dev.parley.core ?");
        assertThat(updates).hasSize(2);
        assertThat(updates.get(0).get("endpoint")).isEqualTo("https://x");
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
                    default -> null;
                });
        return (ConfigurationAdmin) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ConfigurationAdmin.class}, (p, m, args) -> {
                    calls.add(m.getName() + " " + String.join(" ", java.util.Arrays.stream(args).map(String::valueOf)
                            .toList()));
                    return config;
                });
    }
}

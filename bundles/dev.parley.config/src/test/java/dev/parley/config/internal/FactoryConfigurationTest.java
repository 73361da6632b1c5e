package dev.parley.config.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/** {@code factoryPid~name} is applied as a named factory configuration; any other PID as a plain one. */
class FactoryConfigurationTest {

    final List<String> calls = new ArrayList<>();

    /** Records which Configuration Admin look-up was made; answers a configuration that does nothing. */
    final ConfigurationAdmin admin = (ConfigurationAdmin) Proxy.newProxyInstance(getClass().getClassLoader(),
            new Class<?>[] {ConfigurationAdmin.class}, (proxy, method, args) -> {
                calls.add(method.getName() + List.of(args));
                return Proxy.newProxyInstance(getClass().getClassLoader(), new Class<?>[] {Configuration.class},
                        (p, m, a) -> null);
            });

    @Test
    void aTildeNamesAFactoryInstance() throws Exception {
        StartupConfiguration.configurationFor(admin, "dev.parley.provider.gemini~default");
        assertThat(calls).containsExactly("getFactoryConfiguration[dev.parley.provider.gemini, default, ?]");
    }

    @Test
    void anyOtherPidIsASingletonConfiguration() throws Exception {
        StartupConfiguration.configurationFor(admin, "dev.parley.provider.openai");
        StartupConfiguration.configurationFor(admin, "odd~");
        assertThat(calls).containsExactly("getConfiguration[dev.parley.provider.openai, ?]", "getConfiguration[odd~, ?]");
    }
}

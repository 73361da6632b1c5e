package dev.parley.sandbox.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.sandbox.SandboxPolicy;
import dev.parley.sandbox.Tier;
import dev.parley.sandbox.TierPolicy;
import java.lang.reflect.Proxy;
import java.util.Collections;
import java.util.Dictionary;
import java.util.EnumMap;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.Test;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/** What the policy of each tier becomes in the framework hooks' and the call guard's tier configurations. */
class TierConfigurationsTest {
    static final SandboxPolicy SHIPPED = PolicyJson.defaults(TierConfigurationsTest.class.getClassLoader());

    @Test
    void aTiersImportsPublishersPluginsAndRunTimeChecksBecomeTheHooksConfiguration() {
        TierPolicy u = SHIPPED.tier(Tier.UNTRUSTED);
        TierPolicy moved = new TierPolicy(Tier.UNTRUSTED, "", List.of("shady"), List.of("acme.tool"), u.imports(),
                u.permissions(), u.bytecode(), u.limits(), new TierPolicy.RuntimeChecks("report"));

        Hashtable<String, Object> hooks = TierConfigurations.hooks(moved);

        assertThat(hooks.get("name")).isEqualTo("untrusted");
        assertThat((String[]) hooks.get("plugins")).containsExactly("acme.tool");
        assertThat((String[]) hooks.get("publishers")).containsExactly("shady");
        assertThat((String[]) hooks.get("allowedPackages")).containsExactly("dev.parley.api.*", "org.slf4j", "java.*");
        assertThat((String[]) hooks.get("jdkPackages")).isEmpty();
        assertThat(hooks.get("narrowsDefaults")).isEqualTo(true);
        assertThat(hooks.get("enforce")).isEqualTo("report");
        assertThat(hooks).doesNotContainKeys("visibleServices", "providedServices");
        assertThat(hooks.get(TierConfigurations.SOURCE_KEY)).isEqualTo(TierConfigurations.SOURCE);

        Hashtable<String, Object> verified = TierConfigurations.hooks(SHIPPED.tier(Tier.VERIFIED));
        assertThat((String[]) verified.get("publishers")).containsExactly("*");
        assertThat(verified.get("enforce")).as("trusted's scan reports, but every shipped tier's checks refuse")
                .isEqualTo("refuse");
        assertThat(TierConfigurations.hooks(SHIPPED.tier(Tier.TRUSTED)).get("enforce")).isEqualTo("refuse");
    }

    @Test
    void aTiersLimitsBecomeTheGuardsConfiguration() {
        TierPolicy v = SHIPPED.tier(Tier.VERIFIED);
        TierPolicy limited = new TierPolicy(Tier.VERIFIED, "", v.publishers(), List.of("acme.tool"), v.imports(),
                v.permissions(), v.bytecode(), new TierPolicy.Limits(1500, 2, false, 0, 0, 0));

        Hashtable<String, Object> guard = TierConfigurations.guard(limited);

        assertThat(guard.get("name")).isEqualTo("verified");
        assertThat((String[]) guard.get("publishers")).containsExactly("*");
        assertThat((String[]) guard.get("plugins")).containsExactly("acme.tool");
        assertThat(guard.get("callTimeoutMillis")).isEqualTo(1500L);
        assertThat(guard.get("maxConcurrentCalls")).isEqualTo(2);
    }

    @Test
    void everyTierIsWrittenOnceAndAgainOnlyWhenItChanged() {
        var cm = new FakeConfigAdmin();
        var tiers = new TierConfigurations(cm.proxy());

        tiers.write(SHIPPED);
        assertThat(cm.configurations.keySet()).containsExactlyInAnyOrder(
                "dev.parley.sandbox.hooks.tier~trusted", "dev.parley.sandbox.hooks.tier~verified",
                "dev.parley.sandbox.hooks.tier~untrusted", "dev.parley.plugin.guard.tier~trusted",
                "dev.parley.plugin.guard.tier~verified", "dev.parley.plugin.guard.tier~untrusted");
        assertThat(cm.updates.get()).isEqualTo(6);

        tiers.write(SHIPPED);
        assertThat(cm.updates.get()).as("the same policy again").isEqualTo(6);

        Map<Tier, TierPolicy> changed = new EnumMap<>(SHIPPED.tiers());
        TierPolicy v = SHIPPED.tier(Tier.VERIFIED);
        changed.put(Tier.VERIFIED, new TierPolicy(Tier.VERIFIED, "", v.publishers(), v.imports(), v.permissions(),
                v.bytecode(), new TierPolicy.Limits(1500, 0, false, 0, 0, 0)));
        tiers.write(new SandboxPolicy(changed));
        assertThat(cm.updates.get()).as("only the guard's configuration of verified changed").isEqualTo(7);
        assertThat(cm.configurations.get("dev.parley.plugin.guard.tier~verified").get("callTimeoutMillis"))
                .isEqualTo(1500L);
    }

    /** Configuration Admin as far as the writer uses it: factory configurations by name, updated if different. */
    static final class FakeConfigAdmin {
        final Map<String, Dictionary<String, Object>> configurations = new HashMap<>();
        final AtomicInteger updates = new AtomicInteger();

        ConfigurationAdmin proxy() {
            return (ConfigurationAdmin) Proxy.newProxyInstance(getClass().getClassLoader(),
                    new Class<?>[] {ConfigurationAdmin.class}, (p, m, args) -> {
                        if (!m.getName().equals("getFactoryConfiguration") || args.length != 3) {
                            throw new UnsupportedOperationException(m.getName());
                        }
                        return configuration(args[0] + "~" + args[1]);
                    });
        }

        private Configuration configuration(String pid) {
            return (Configuration) Proxy.newProxyInstance(getClass().getClassLoader(),
                    new Class<?>[] {Configuration.class}, (p, m, args) -> switch (m.getName()) {
                        case "getPid" -> pid;
                        case "updateIfDifferent" -> {
                            @SuppressWarnings("unchecked")
                            var props = (Dictionary<String, Object>) args[0];
                            var old = configurations.get(pid);
                            if (old != null && same(old, props)) {
                                yield false;
                            }
                            configurations.put(pid, props);
                            updates.incrementAndGet();
                            yield true;
                        }
                        default -> throw new UnsupportedOperationException(m.getName());
                    });
        }

        private static boolean same(Dictionary<String, Object> a, Dictionary<String, Object> b) {
            if (a.size() != b.size()) {
                return false;
            }
            for (String k : Collections.list(a.keys())) {
                if (!java.util.Objects.deepEquals(a.get(k), b.get(k))) {
                    return false;
                }
            }
            return true;
        }
    }
}

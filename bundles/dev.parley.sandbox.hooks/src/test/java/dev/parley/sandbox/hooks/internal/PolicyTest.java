package dev.parley.sandbox.hooks.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.annotation.Annotation;
import java.lang.reflect.Method;
import java.lang.reflect.Proxy;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** The patterns, the rules each plugin gets, and the configuration components that set them. */
class PolicyTest {
    @Test
    void patternsMatchNamesAndWholeSubtrees() {
        Patterns p = Patterns.of("dev.parley.api.*", "org.osgi.framework", " ", "java.*");

        assertThat(p.allows("dev.parley.api")).isTrue();
        assertThat(p.allows("dev.parley.api.llm")).isTrue();
        assertThat(p.allows("dev.parley.apix")).isFalse();
        assertThat(p.allows("dev.parley.db")).isFalse();
        assertThat(p.allows("org.osgi.framework")).isTrue();
        assertThat(p.allows("org.osgi.framework.hooks.weaving")).as("subpackages are other packages").isFalse();
        assertThat(p.allowsAll(new String[] {"java.util", "dev.parley.api.llm"})).isTrue();
        assertThat(p.allowsAll(new String[] {"java.util", "dev.parley.db"})).isFalse();
        assertThat(p.allowsAll(new String[0])).isFalse();
        assertThat(Patterns.of("*").allows("anything.at.all")).isTrue();
        assertThat(Patterns.NONE.allows("java.lang")).isFalse();
        assertThatThrownBy(() -> Patterns.of("org..h2")).hasMessageContaining("org..h2");
        assertThatThrownBy(() -> Patterns.of("org.*.h2")).hasMessageContaining("org.*.h2");
    }

    @Test
    void theDefaultsKeepPluginsOnTheApi() {
        Rules d = Rules.defaults();

        assertThat(d.allowsPackage("dev.parley.api.llm", false)).isTrue();
        assertThat(d.allowsPackage("org.slf4j", false)).isTrue();
        assertThat(d.allowsPackage("java.net.http", true)).isTrue();
        assertThat(d.allowsPackage("javax.net.ssl", true)).isTrue();
        assertThat(d.allowsPackage("javax.net.ssl", false)).as("javax.* only from the JDK").isFalse();
        for (String internal : List.of("dev.parley.db", "dev.parley.plugins.internal", "dev.parley.registry",
                "dev.parley.web.rest.admin", "org.h2.tools", "com.zaxxer.hikari", "org.osgi.framework.hooks.weaving",
                "org.osgi.framework.wiring", "org.osgi.service.cm", "org.apache.felix.scr.impl", "sun.misc",
                "com.fasterxml.jackson.databind")) {
            assertThat(d.allowsPackage(internal, true)).as(internal).isFalse();
        }
        assertThat(d.visible().allows("dev.parley.api.telemetry.TraceHeaders")).isTrue();
        for (String hidden : List.of("dev.parley.db.Database", "dev.parley.api.secrets.SecretSealer",
                "org.osgi.service.cm.ConfigurationAdmin", "dev.parley.plugins.internal.PluginOperations",
                "dev.parley.registry.PluginRegistry", "dev.parley.api.identity.BearerAuthenticator",
                "dev.parley.api.identity.TenantDirectory", "dev.parley.api.audit.AuditLog",
                "org.osgi.service.component.runtime.ServiceComponentRuntime", "org.osgi.service.event.EventAdmin",
                "dev.parley.api.chat.ChatService", "dev.parley.api.llm.ChatModelProvider")) {
            assertThat(d.visible().allows(hidden)).as(hidden).isFalse();
        }
        assertThat(d.provided().allowsAll(new String[] {"dev.parley.api.llm.ChatModelProvider"})).isTrue();
        assertThat(d.provided().allows("dev.parley.api.identity.BearerAuthenticator")).isFalse();
    }

    @Test
    void aTiersDefaultsAreTheSandboxsDefaults() throws Exception {
        for (String list : List.of("allowedPackages", "jdkPackages", "visibleServices", "providedServices")) {
            Method a = SandboxConfig.class.getMethod(list);
            Method b = SandboxTierConfig.class.getMethod(list);
            assertThat((String[]) b.getDefaultValue()).as(list).containsExactly((String[]) a.getDefaultValue());
        }
    }

    @Test
    void eachPluginGetsItsTiersRulesAndTwoTiersForOnePluginAreResolvedByName() {
        List<String> conflicts = new ArrayList<>();
        Policy policy = new Policy(Rules.defaults(), conflicts::add);
        Rules verified = Rules.closed("verified");
        Rules alpha = Rules.closed("alpha");
        policy.tier("dev.parley.sandbox.hooks.tier~verified", new Policy.Tier(verified, Set.of("a", "both")));
        policy.tier("dev.parley.sandbox.hooks.tier~alpha", new Policy.Tier(alpha, Set.of("both")));

        assertThat(policy.rules("a")).isSameAs(verified);
        assertThat(policy.rules("both")).isSameAs(alpha);
        assertThat(conflicts).singleElement().asString().contains("both").contains("gets tier alpha");
        assertThat(policy.rules("none").name()).isEqualTo(Rules.DEFAULT);
        assertThat(policy.rules(null).name()).isEqualTo(Rules.DEFAULT);

        policy.removeTier("dev.parley.sandbox.hooks.tier~alpha");
        assertThat(policy.rules("both")).isSameAs(verified);
    }

    @Test
    void aPluginIsInTheTierNamingItsIdElseItsPublisherElseTheTierOfEveryPublisher() {
        List<String> conflicts = new ArrayList<>();
        Policy policy = new Policy(Rules.defaults(), conflicts::add);
        Rules trusted = Rules.closed("trusted");
        Rules verified = Rules.closed("verified");
        Rules untrusted = Rules.closed("untrusted");
        policy.tier("t~trusted", new Policy.Tier(trusted, Set.of(), Set.of("parley"), false));
        policy.tier("t~verified", new Policy.Tier(verified, Set.of(), Set.of("*"), false));
        policy.tier("t~untrusted", new Policy.Tier(untrusted, Set.of("acme.moved"), Set.of("shady"), false));

        assertThat(policy.rules("openai", "parley")).isSameAs(trusted);
        assertThat(policy.rules("x", "shady")).isSameAs(untrusted);
        assertThat(policy.rules("x", "acme")).as("a publisher no tier names").isSameAs(verified);
        assertThat(policy.rules("acme.moved", "acme")).as("its id before its publisher").isSameAs(untrusted);
        assertThat(policy.rulesOf(new PluginBundles.Kind(true, "acme.moved", "parley"))).isSameAs(untrusted);
        assertThat(policy.rules("probe", null).name()).as("a plugin without a publisher").isEqualTo(Rules.DEFAULT);
        assertThat(conflicts).isEmpty();

        policy.tier("t~alpha", new Policy.Tier(Rules.closed("alpha"), Set.of(), Set.of("*", "shady"), false));
        assertThat(policy.rules("x", "acme").name()).as("two tiers with *: the first by name").isEqualTo("alpha");
        assertThat(policy.rules("x", "shady").name()).isEqualTo("alpha");
        assertThat(conflicts).hasSize(2);
    }

    @Test
    void aTierThatNarrowsTheDefaultsAllowsOnlyWhatBothAllowAndHasTheDefaultsServices() {
        Policy policy = new Policy(Rules.defaults(), c -> { });
        // As the sandbox policy writes trusted: far wider than the defaults, and report at run time.
        Rules wide = new Rules("trusted", Patterns.of("dev.parley.api.*", "org.osgi.framework", "org.osgi.framework.*",
                "sun.misc", "javax.*", "java.*"), Patterns.NONE, Patterns.of("dev.parley.db.Database"), Patterns.NONE,
                Rules.REPORT);
        policy.tier("t~trusted", new Policy.Tier(wide, Set.of(), Set.of("parley"), true));
        Rules r = policy.rules("openai", "parley");

        assertThat(r.name()).isEqualTo("trusted");
        assertThat(r.enforce()).isEqualTo(Rules.REPORT);
        assertThat(r.allowsPackage("dev.parley.api.llm", false)).isTrue();
        assertThat(r.allowsPackage("org.osgi.framework", false)).isTrue();
        assertThat(r.allowsPackage("org.osgi.framework.hooks.weaving", false)).as("not in the defaults").isFalse();
        assertThat(r.allowsPackage("sun.misc", true)).as("not in the defaults").isFalse();
        assertThat(r.allowsPackage("javax.net.ssl", true)).isTrue();
        assertThat(r.allowsPackage("javax.net.ssl", false)).as("the defaults take javax.* from the JDK only").isFalse();
        assertThat(r.allowsPackage("org.slf4j", false)).as("in the defaults, not in the tier").isFalse();
        assertThat(r.visible()).isEqualTo(Rules.defaults().visible());
        assertThat(r.provided()).isEqualTo(Rules.defaults().provided());

        // The defaults change: the narrowed tier follows.
        policy.defaults(new Rules(Rules.DEFAULT, Patterns.of("dev.parley.api.*", "org.osgi.framework.*", "java.*"),
                Patterns.NONE, Patterns.of("dev.parley.api.telemetry.TraceHeaders"), Patterns.NONE));
        r = policy.rules("openai", "parley");
        assertThat(r.allowsPackage("org.osgi.framework.hooks.weaving", false)).isTrue();
        assertThat(r.visible()).isEqualTo(Patterns.of("dev.parley.api.telemetry.TraceHeaders"));
    }

    @Test
    void thePublisherIsReadFromTheParleyPluginHeader() {
        assertThat(PluginBundles.publisherOfHeader("openai;type=provider;name=\"OpenAI; compatible, too\";"
                + "publisher=parley")).isEqualTo("parley");
        assertThat(PluginBundles.publisherOfHeader("x;publisher=\"acme\";type=provider")).isEqualTo("acme");
        assertThat(PluginBundles.publisherOfHeader("x;type=provider")).isNull();
        assertThat(PluginBundles.publisherOfHeader("x;name=\"publisher=fake\"")).isNull();
    }

    @Test
    void aTierComponentReadsPublishersAndWhetherItNarrowsTheDefaults() {
        Policy policy = new Policy(Rules.defaults(), c -> { });
        new SandboxTier(policy, config(SandboxTierConfig.class, Map.of("publishers", new String[] {" acme ", "*"},
                "narrowsDefaults", true, "allowedPackages", new String[] {"dev.parley.api.*", "org.h2.*", "java.*"},
                "enforce", "report")), Map.of("service.pid", "dev.parley.sandbox.hooks.tier~verified"));

        Rules r = policy.rules("x", "acme");
        assertThat(r.name()).isEqualTo("verified");
        assertThat(r.enforce()).isEqualTo(Rules.REPORT);
        assertThat(r.allowsPackage("org.h2.tools", false)).as("narrowed by the defaults").isFalse();
        assertThat(r.allowsPackage("org.osgi.framework", false)).as("not in the tier").isFalse();
        assertThat(policy.rules("y", "other").name()).isEqualTo("verified");
    }

    @Test
    void theSettingsComponentAppliesTheConfigurationAndKeepsTheRulesOnAMalformedOne() {
        Policy policy = new Policy(Rules.defaults(), c -> { });
        SandboxSettings settings = new SandboxSettings(policy, config(SandboxConfig.class, Map.of(
                "allowedPackages", new String[] {"dev.parley.api.*", "java.*", "org.h2.*"})), Map.of());
        assertThat(policy.rules("x").allowsPackage("org.h2.tools", false)).isTrue();

        settings.modified(config(SandboxConfig.class, Map.of("allowedPackages", new String[] {"not a package"})),
                Map.of());
        assertThat(policy.rules("x").allowsPackage("org.h2.tools", false)).isTrue();

        settings.modified(config(SandboxConfig.class, Map.of()), Map.of());
        assertThat(policy.rules("x")).isEqualTo(Rules.defaults());
    }

    @Test
    void aTierComponentAddsItsPluginsAndRemovesThemWhenItGoesAndAMalformedTierAllowsNothing() {
        Policy policy = new Policy(Rules.defaults(), c -> { });
        SandboxTier tier = new SandboxTier(policy, config(SandboxTierConfig.class, Map.of("plugins",
                new String[] {" acme.tool ", ""}, "allowedPackages", new String[] {"dev.parley.api.*", "java.*"},
                "jdkPackages", new String[0])), Map.of("service.pid", "dev.parley.sandbox.hooks.tier~untrusted"));

        assertThat(policy.rules("acme.tool").name()).isEqualTo("untrusted");
        assertThat(policy.rules("acme.tool").allowsPackage("javax.net.ssl", true)).isFalse();

        tier.modified(config(SandboxTierConfig.class, Map.of("plugins", new String[] {"acme.tool"},
                "visibleServices", new String[] {"bad name!"})), Map.of());
        assertThat(policy.rules("acme.tool")).isEqualTo(Rules.closed("untrusted"));

        tier.deactivate();
        assertThat(policy.rules("acme.tool").name()).isEqualTo(Rules.DEFAULT);
        assertThat(SandboxTier.nameOf("dev.parley.sandbox.hooks.tier~verified")).isEqualTo("verified");
    }

    @Test
    void eachAppliedConfigurationWithARevisionIsToldAfterItsRulesAreInForceAndForgottenWhenItGoes() {
        Policy policy = new Policy(Rules.defaults(), c -> { });
        List<List<String>> told = new java.util.ArrayList<>();
        List<String> rulesWhenTold = new java.util.ArrayList<>();
        policy.onApplied(applied -> {
            told.add(applied);
            rulesWhenTold.add(policy.rules("acme.tool").name());
        });
        assertThat(told).containsExactly(List.of());

        String pid = "dev.parley.sandbox.hooks.tier~untrusted";
        SandboxTier tier = new SandboxTier(policy, config(SandboxTierConfig.class, Map.of("plugins",
                new String[] {"acme.tool"})), Map.of("service.pid", pid, "parley.sandbox.revision", "1"));
        tier.modified(config(SandboxTierConfig.class, Map.of("plugins", new String[] {"acme.tool"})),
                Map.of("parley.sandbox.revision", "2"));
        new SandboxSettings(policy, config(SandboxConfig.class, Map.of()), Map.of("parley.sandbox.revision", "3"));
        // A configuration without a revision (as the server's own) is applied without being told.
        new SandboxTier(policy, config(SandboxTierConfig.class, Map.of()), Map.of("service.pid", "x~verified"));
        tier.deactivate();

        assertThat(told).containsExactly(List.of(), List.of(pid + "=1"), List.of(pid + "=2"),
                List.of("dev.parley.sandbox.hooks=3", pid + "=2"), List.of("dev.parley.sandbox.hooks=3"));
        assertThat(rulesWhenTold.subList(1, 4)).as("the tier's rules were in force when it was told")
                .containsOnly("untrusted");
    }

    @Test
    void aClassNamedLikeScrsTrackerThatScrDidNotLoadDoesNotCount() {
        assertThat(new ScrConfigLookup().getAsBoolean()).isFalse();
        assertThat(org.apache.felix.scr.impl.helper.ConfigAdminTracker.lookUp()).isFalse();
        assertThat(org.apache.felix.scr.impl.helper.ConfigAdminTracker.sawItself()).isTrue();
    }

    /** A configuration as DS hands it over: the values given, the annotation's defaults for the rest. */
    static <A extends Annotation> A config(Class<A> type, Map<String, Object> values) {
        A defaults = Defaults.of(type);
        return type.cast(Proxy.newProxyInstance(type.getClassLoader(), new Class<?>[] {type}, (proxy, m, args) -> {
            if (values.containsKey(m.getName())) {
                return values.get(m.getName());
            }
            return m.invoke(defaults);
        }));
    }
}

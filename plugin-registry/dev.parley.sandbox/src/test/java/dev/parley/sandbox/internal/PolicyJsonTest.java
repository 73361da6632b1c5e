package dev.parley.sandbox.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.sandbox.PolicyException;
import dev.parley.sandbox.SandboxPolicy;
import dev.parley.sandbox.Tier;
import dev.parley.sandbox.TierPolicy;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PolicyJsonTest {
    static final String VALID = """
            {"tier": "untrusted", "description": "d", "publishers": ["evil"], "imports": ["dev.parley.api.*"],
             "permissions": ["network"], "bytecode": {"enforce": "refuse", "reportOnly": ["environment"]},
             "limits": {"callTimeoutMs": 1000, "maxConcurrentCalls": 2, "outOfProcess": true, "heapMb": 64,
                        "cpuMillicores": 500, "maxThreads": 4}}
            """;

    @Test
    void theHostsThreadCapIsReadAndWrittenAndZeroWithoutIt() {
        TierPolicy without = PolicyJson.parse(VALID);
        assertThat(without.limits().maxHostThreads()).isZero();
        TierPolicy with = PolicyJson.parse(VALID.replace("\"maxThreads\": 4", "\"maxThreads\": 4, \"maxHostThreads\": 96"));
        assertThat(with.limits().maxHostThreads()).isEqualTo(96);
        assertThat(PolicyJson.parse(PolicyJson.write(with)).limits()).isEqualTo(with.limits());
        assertThatThrownBy(() -> PolicyJson.parse(VALID.replace("\"maxThreads\": 4", "\"maxThreads\": 4, "
                + "\"maxHostThreads\": -1"))).isInstanceOf(PolicyException.class).hasMessageContaining("maxHostThreads");
        assertThat(PolicyJson.defaults(PolicyJson.class.getClassLoader()).tier(Tier.UNTRUSTED).limits()
                .maxHostThreads()).isEqualTo(80);
    }

    @Test
    void theShippedFilesLoadAndHoldTogether() {
        SandboxPolicy defaults = PolicyJson.defaults(PolicyJson.class.getClassLoader());

        assertThat(defaults.tierOf("parley", true)).contains(Tier.TRUSTED);
        assertThat(defaults.tierOf("acme", true)).as("a publisher an admin added").contains(Tier.VERIFIED);
        assertThat(defaults.tierOf("acme", false)).as("a publisher nobody added").isEmpty();
        TierPolicy trusted = defaults.tier(Tier.TRUSTED);
        assertThat(trusted.bytecode().reportsOnly()).isTrue();
        TierPolicy verified = defaults.tier(Tier.VERIFIED);
        assertThat(verified.bytecode().refuses("exit")).isTrue();
        assertThat(verified.allowsImport("dev.parley.api.llm")).isTrue();
        assertThat(verified.allowsImport("java.util.concurrent")).isTrue();
        assertThat(verified.allowsImport("dev.parley.registry")).isFalse();
        assertThat(verified.allowsImport("org.osgi.framework.wiring")).isFalse();
        TierPolicy untrusted = defaults.tier(Tier.UNTRUSTED);
        assertThat(untrusted.grants("thread")).isFalse();
        assertThat(untrusted.grants("file")).isFalse();
        assertThat(untrusted.limits().outOfProcess()).isTrue();
    }

    @Test
    void theRunTimeChecksAreOptionalRefuseByDefaultAndTakeOnlyRefuseOrReport() {
        assertThat(PolicyJson.parse(VALID).runtime().enforce()).as("a file without runtime").isEqualTo("refuse");
        String report = VALID.replace("\"limits\"", "\"runtime\": {\"enforce\": \"report\"}, \"limits\"");
        TierPolicy p = PolicyJson.parse(report);
        assertThat(p.runtime().enforce()).isEqualTo("report");
        assertThat(PolicyJson.parse(PolicyJson.write(p))).isEqualTo(p);
        assertThatThrownBy(() -> PolicyJson.parse(report.replace("\"report\"}", "\"allow\"}")))
                .isInstanceOf(PolicyException.class).hasMessageContaining("runtime.enforce must be refuse or report");
        SandboxPolicy defaults = PolicyJson.defaults(PolicyJson.class.getClassLoader());
        for (TierPolicy t : defaults.tiers().values()) {
            assertThat(t.runtime().enforce()).as(t.tier().slug()).isEqualTo("refuse");
            assertThat(t.limits().callTimeoutMs()).as("the guard's own bound").isZero();
        }
    }

    @Test
    void aPolicyReadsAndWritesTheSame() {
        TierPolicy p = PolicyJson.parse(VALID);

        assertThat(p.tier()).isEqualTo(Tier.UNTRUSTED);
        assertThat(p.publishers()).containsExactly("evil");
        assertThat(p.bytecode().refuses("environment")).isFalse();
        assertThat(p.bytecode().refuses("exit")).isTrue();
        assertThat(p.limits()).isEqualTo(new TierPolicy.Limits(1000, 2, true, 64, 500, 4));
        assertThat(PolicyJson.parse(PolicyJson.write(p))).isEqualTo(p);
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            unknown field            | "tier": "untrusted"          | "tier": "untrusted", "colour": "red"  | Unrecognized field "colour"
            unknown tier             | "tier": "untrusted"          | "tier": "sandboxed"                   | tier must be one of trusted, verified, untrusted
            bad publisher            | "publishers": ["evil"]       | "publishers": ["Evil Corp"]           | 'Evil Corp' is not a publisher id
            bad plugin id            | "publishers": ["evil"]       | "publishers": ["evil"], "plugins": ["../x"] | '../x' is not a plugin id
            bad import               | "imports": ["dev.parley.api.*"] | "imports": ["dev..api"]            | 'dev..api' is not a package name
            unknown permission       | "permissions": ["network"]   | "permissions": ["process"]            | 'process' is not a permission kind
            missing list             | "permissions": ["network"],  | ""                                     | permissions is missing
            bad enforcement          | "enforce": "refuse"          | "enforce": "warn"                     | bytecode.enforce must be refuse or report
            unknown rule             | ["environment"]              | ["telepathy"]                         | 'telepathy' is not a rule
            negative limit           | "maxConcurrentCalls": 2      | "maxConcurrentCalls": -1              | limits.maxConcurrentCalls must be between 0
            not json                 | {"tier"                      | ["tier"                               | not a tier policy
            """)
    void anInvalidPolicyIsRefusedWithTheReason(String name, String from, String to, String reason) {
        String json = VALID.replace(from, to.equals("\"\"") ? "" : to);

        assertThatThrownBy(() -> PolicyJson.parse(json)).isInstanceOf(PolicyException.class).hasMessageContaining(reason);
    }

    @Test
    void aPublisherIsInOneTierAndTheDistributionIsTrusted() {
        SandboxPolicy defaults = PolicyJson.defaults(PolicyJson.class.getClassLoader());
        Map<Tier, TierPolicy> tiers = new EnumMap<>(defaults.tiers());
        TierPolicy u = defaults.tier(Tier.UNTRUSTED);
        tiers.put(Tier.UNTRUSTED, new TierPolicy(Tier.UNTRUSTED, "", List.of("parley"), u.imports(), u.permissions(),
                u.bytecode(), u.limits()));
        assertThatThrownBy(() -> PolicyJson.validate(new SandboxPolicy(tiers)))
                .hasMessageContaining("publisher 'parley' is in both");

        TierPolicy t = defaults.tier(Tier.TRUSTED);
        tiers.put(Tier.UNTRUSTED, u);
        tiers.put(Tier.TRUSTED, new TierPolicy(Tier.TRUSTED, "", List.of(), t.imports(), t.permissions(), t.bytecode(),
                t.limits()));
        assertThatThrownBy(() -> PolicyJson.validate(new SandboxPolicy(tiers)))
                .hasMessageContaining("'parley' (the plugins the server ships) must be in trusted");

        tiers.put(Tier.TRUSTED, t);
        tiers.put(Tier.UNTRUSTED, new TierPolicy(Tier.UNTRUSTED, "", List.of("*"), u.imports(), u.permissions(),
                u.bytecode(), u.limits()));
        assertThatThrownBy(() -> PolicyJson.validate(new SandboxPolicy(tiers)))
                .hasMessageContaining("'*' (every registered publisher no tier names) is in both");
    }

    @Test
    void aNamedPublisherComesBeforeTheCatchAll() {
        SandboxPolicy defaults = PolicyJson.defaults(PolicyJson.class.getClassLoader());
        Map<Tier, TierPolicy> tiers = new EnumMap<>(defaults.tiers());
        TierPolicy u = defaults.tier(Tier.UNTRUSTED);
        tiers.put(Tier.UNTRUSTED, new TierPolicy(Tier.UNTRUSTED, "", List.of("evil"), u.imports(), u.permissions(),
                u.bytecode(), u.limits()));
        SandboxPolicy policy = PolicyJson.validate(new SandboxPolicy(tiers));

        assertThat(policy.tierOf("evil", true)).contains(Tier.UNTRUSTED);
        assertThat(policy.tierOf("evil", false)).as("named: its tier whether registered or not").contains(Tier.UNTRUSTED);
        assertThat(policy.tierOf("acme", true)).contains(Tier.VERIFIED);
    }

    @Test
    void aPluginAnAdminPlacesInATierIsThereWhateverItsPublisher() {
        SandboxPolicy defaults = PolicyJson.defaults(PolicyJson.class.getClassLoader());
        Map<Tier, TierPolicy> tiers = new EnumMap<>(defaults.tiers());
        TierPolicy u = defaults.tier(Tier.UNTRUSTED);
        tiers.put(Tier.UNTRUSTED, new TierPolicy(Tier.UNTRUSTED, "", u.publishers(), List.of("shady-tool"),
                u.imports(), u.permissions(), u.bytecode(), u.limits()));
        SandboxPolicy policy = PolicyJson.validate(new SandboxPolicy(tiers));

        assertThat(policy.tierOf("shady-tool", "parley", true)).contains(Tier.UNTRUSTED);
        assertThat(policy.tierOf("openai", "parley", true)).as("others: their publisher's").contains(Tier.TRUSTED);
        assertThat(PolicyJson.parse(PolicyJson.write(policy.tier(Tier.UNTRUSTED))).plugins())
                .containsExactly("shady-tool");

        TierPolicy v = defaults.tier(Tier.VERIFIED);
        tiers.put(Tier.VERIFIED, new TierPolicy(Tier.VERIFIED, "", v.publishers(), List.of("shady-tool"),
                v.imports(), v.permissions(), v.bytecode(), v.limits()));
        assertThatThrownBy(() -> PolicyJson.validate(new SandboxPolicy(tiers)))
                .hasMessageContaining("plugin 'shady-tool' is in both");
    }
}

package dev.parley.sandbox.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.db.internal.PooledDatabase;
import dev.parley.registry.Permission;
import dev.parley.sandbox.HeldUpgrades.Held;
import dev.parley.sandbox.PolicyException;
import dev.parley.sandbox.SandboxPolicies.Stored;
import dev.parley.sandbox.Tier;
import dev.parley.sandbox.TierPolicy;
import java.sql.PreparedStatement;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The policy and held upgrades in the real Database on embedded H2, as two nodes sharing it see them. */
class SandboxPolicyServiceTest {
    PooledDatabase database;
    SandboxPolicyService node1;
    SandboxPolicyService node2;

    @BeforeEach
    void open() {
        database = new PooledDatabase("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "", "", 4, 5000);
        node1 = new SandboxPolicyService(database, Duration.ZERO, Clock.systemUTC());
        node2 = new SandboxPolicyService(database, Duration.ZERO, Clock.systemUTC());
    }

    @AfterEach
    void close() {
        database.close();
    }

    static TierPolicy untrustedNaming(TierPolicy u, String publisher) {
        return new TierPolicy(Tier.UNTRUSTED, "changed", List.of(publisher), u.imports(), u.permissions(), u.bytecode(),
                u.limits());
    }

    @Test
    void thePolicyInForceIsHandedOnAtStartAtOnceAfterAChangeHereAndAtTheNextReadAfterOneElsewhere() {
        List<dev.parley.sandbox.SandboxPolicy> here = new java.util.concurrent.CopyOnWriteArrayList<>();
        List<dev.parley.sandbox.SandboxPolicy> there = new java.util.concurrent.CopyOnWriteArrayList<>();
        var a = new SandboxPolicyService(database, Duration.ZERO, Clock.systemUTC(), here::add, false);
        var b = new SandboxPolicyService(database, Duration.ZERO, Clock.systemUTC(), there::add, false);
        assertThat(here).singleElement().isEqualTo(a.defaults());

        a.replace(untrustedNaming(a.current().tier(Tier.UNTRUSTED), "evil"), "alice");
        assertThat(here).hasSize(2);
        assertThat(here.get(1).tierOf("evil", true)).contains(Tier.UNTRUSTED);

        b.publish(); // what its timer does every cacheSeconds
        assertThat(there.get(there.size() - 1).tierOf("evil", true)).contains(Tier.UNTRUSTED);

        a.reset(Tier.UNTRUSTED, "alice");
        assertThat(here.get(here.size() - 1)).isEqualTo(a.defaults());
    }

    @Test
    void aChangeOnOneNodeAppliesOnEveryNodeAndAResetPutsTheDefaultBack() {
        assertThat(node1.current().tierOf("evil", true)).contains(Tier.VERIFIED);

        Stored stored = node1.replace(untrustedNaming(node1.current().tier(Tier.UNTRUSTED), "evil"), "alice");

        assertThat(stored.source()).isEqualTo(Stored.DATABASE);
        assertThat(stored.generation()).isEqualTo(1);
        assertThat(stored.updatedBy()).isEqualTo("alice");
        assertThat(node2.current().tierOf("evil", true)).contains(Tier.UNTRUSTED);
        assertThat(node2.stored()).filteredOn(s -> s.policy().tier() == Tier.UNTRUSTED).singleElement()
                .satisfies(s -> assertThat(s.policy().description()).isEqualTo("changed"));

        assertThat(node2.replace(untrustedNaming(node1.current().tier(Tier.UNTRUSTED), "evil2"), "bob").generation())
                .isEqualTo(2);

        Stored reset = node1.reset(Tier.UNTRUSTED, "alice");
        assertThat(reset.source()).isEqualTo(Stored.DEFAULT);
        assertThat(node2.current().tier(Tier.UNTRUSTED)).isEqualTo(node2.defaults().tier(Tier.UNTRUSTED));
    }

    @Test
    void aChangeThatBreaksThePolicyAsAWholeIsRefusedAndNothingChanges() {
        TierPolicy u = node1.current().tier(Tier.UNTRUSTED);

        assertThatThrownBy(() -> node1.replace(untrustedNaming(u, "parley"), "alice"))
                .isInstanceOf(PolicyException.class).hasMessageContaining("'parley' is in both trusted and untrusted");
        assertThat(node1.stored()).allSatisfy(s -> assertThat(s.source()).isEqualTo(Stored.DEFAULT));
    }

    @Test
    void aStoredPolicyThatNoLongerReadsFallsBackToTheDefault() {
        node1.replace(untrustedNaming(node1.current().tier(Tier.UNTRUSTED), "evil"), "alice");
        database.inTransaction("break", c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE sandbox_policy SET policy = '{\"tier\": 1}'")) {
                return ps.executeUpdate();
            }
        });

        assertThat(node2.current().tier(Tier.UNTRUSTED)).isEqualTo(node2.defaults().tier(Tier.UNTRUSTED));
    }

    @Test
    void anUpgradeIsHeldUntilReleasedAndANewerRequestReplacesIt() {
        Permission net = new Permission("network", "evil.example:443", "");
        node1.hold(new Held("acme.weather", "1.0.0", "2.0.0", List.of(net), "alice", Instant.parse("2026-01-01T00:00:00Z")));

        assertThat(node2.held("acme.weather")).hasValueSatisfying(h -> {
            assertThat(h.toVersion()).isEqualTo("2.0.0");
            assertThat(h.permissionsAdded()).containsExactly(net);
            assertThat(h.requestedBy()).isEqualTo("alice");
        });
        node2.hold(new Held("acme.weather", "1.0.0", "3.0.0", List.of(net), "bob", Instant.now()));
        assertThat(node1.all()).singleElement().satisfies(h -> assertThat(h.toVersion()).isEqualTo("3.0.0"));

        node1.release("acme.weather");
        assertThat(node2.held("acme.weather")).isEmpty();
    }
}

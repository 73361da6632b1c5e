package dev.parley.plugins.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.plugins.internal.PluginStateStore.Desired;
import dev.parley.plugins.internal.ShippedSeeding.Decision;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The seeding rules of ADR 11, decided from a plugin's desired state. */
class ShippedSeedingTest {
    private static Optional<Desired> desired(String version, String by) {
        return Optional.of(new Desired("ollama", version, true, null, Map.of(), 3, Instant.now(), by));
    }

    @Test
    void aPluginNobodyTouchedIsInstalled() {
        assertThat(ShippedSeeding.decide(Optional.empty(), false, "1.0.0")).isEqualTo(Decision.INSTALL);
    }

    @Test
    void aPluginAnAdminUninstalledStaysUninstalled() {
        assertThat(ShippedSeeding.decide(Optional.empty(), true, "1.0.0")).isEqualTo(Decision.LEAVE);
        assertThat(ShippedSeeding.decide(Optional.empty(), true, "2.0.0")).isEqualTo(Decision.LEAVE);
    }

    @Test
    void aNewerShippedVersionUpgradesWhatTheDistributionInstalled() {
        assertThat(ShippedSeeding.decide(desired("1.0.0", "distribution"), false, "1.1.0")).isEqualTo(Decision.UPGRADE);
        assertThat(ShippedSeeding.decide(desired("1.0.0.SNAPSHOT", "distribution"), false, "1.0.1.SNAPSHOT"))
                .isEqualTo(Decision.UPGRADE);
    }

    @Test
    void theSameOrAnOlderShippedVersionChangesNothing() {
        assertThat(ShippedSeeding.decide(desired("1.1.0", "distribution"), false, "1.1.0")).isEqualTo(Decision.CURRENT);
        // A node of the previous server version, restarted during a rolling upgrade, does not move it back.
        assertThat(ShippedSeeding.decide(desired("1.1.0", "distribution"), false, "1.0.0")).isEqualTo(Decision.CURRENT);
    }

    @Test
    void whatAnAdminSetIsNeverUpgraded() {
        // Installed, upgraded or pinned, disabled or configured by an admin: the last writer is the admin.
        assertThat(ShippedSeeding.decide(desired("1.0.0", "admin"), false, "2.0.0")).isEqualTo(Decision.LEAVE);
        assertThat(ShippedSeeding.decide(desired("0.9.0", "ops-team"), false, "1.0.0")).isEqualTo(Decision.LEAVE);
    }
}

package dev.parley.sandbox;

import java.time.Instant;
import java.util.List;
import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

import dev.parley.registry.Permission;

/**
 * Upgrades held because the new version asks for permissions the running one was not granted: kept in the database
 * (every node shows the same), until an admin approves (the upgrade then runs) or another change makes it moot.
 */
@ProviderType
public interface HeldUpgrades {

    /** One held upgrade: from the running version to the one asking for more. */
    record Held(String pluginId, String fromVersion, String toVersion, List<Permission> permissionsAdded,
            String requestedBy, Instant requestedAt) {
        public Held {
            permissionsAdded = List.copyOf(permissionsAdded);
        }
    }

    /** Holds an upgrade, replacing any earlier held upgrade of the plugin. */
    void hold(Held held);

    Optional<Held> held(String pluginId);

    List<Held> all();

    /** Drops the plugin's held upgrade, if any. */
    void release(String pluginId);
}

package dev.parley.plugins.internal;

import dev.parley.plugins.internal.PluginStateStore.Desired;
import java.util.Optional;
import org.osgi.framework.Version;

/** The rules by which a plugin the server ships reaches a node's desired state (ADR 11). */
final class ShippedSeeding {
    /** Who the desired state names when the distribution set it. */
    static final String ACTOR = "distribution";

    enum Decision {
        /** Nobody has installed or uninstalled it: install the shipped version. */
        INSTALL,
        /** The distribution installed an older version and nobody has changed it since: move to the shipped one. */
        UPGRADE,
        /** Already at the shipped version or a newer one that the distribution set. */
        CURRENT,
        /** An admin installed, upgraded, disabled, configured or uninstalled it: the admin's choice stands. */
        LEAVE
    }

    private ShippedSeeding() {
    }

    /**
     * @param current     the plugin's desired state, if it has one
     * @param uninstalled whether an admin uninstalled it (only asked when there is no desired state)
     */
    static Decision decide(Optional<Desired> current, boolean uninstalled, String shippedVersion) {
        if (current.isEmpty()) {
            return uninstalled ? Decision.LEAVE : Decision.INSTALL;
        }
        Desired d = current.get();
        if (!ACTOR.equals(d.updatedBy())) {
            return Decision.LEAVE;
        }
        return Version.parseVersion(shippedVersion).compareTo(Version.parseVersion(d.version())) > 0
                ? Decision.UPGRADE : Decision.CURRENT;
    }
}

package dev.parley.sandbox;

import java.time.Instant;
import java.util.List;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The sandbox policy: shipped defaults (one file per tier under {@code sandbox-policy/}), and the changes admins made
 * through the admin API, kept in the database so every node applies the same policy.
 */
@ProviderType
public interface SandboxPolicies {

    /** One tier's policy in force and where it comes from. */
    record Stored(TierPolicy policy, String source, long generation, Instant updatedAt, String updatedBy) {
        /** The shipped file's policy: no admin changed the tier, or an admin reset it. */
        public static final String DEFAULT = "default";
        /** An admin's change, kept in the database. */
        public static final String DATABASE = "database";
    }

    /** The policy in force (admins' changes over the defaults); on other nodes than the changing one at most a few seconds old. */
    SandboxPolicy current();

    /** The policy the server ships. */
    SandboxPolicy defaults();

    /** Each tier's policy in force, with its source. */
    List<Stored> stored();

    /**
     * Replaces one tier's policy on every node.
     *
     * @throws PolicyException when the tier's policy, or the whole policy with it, is not valid (nothing changes)
     */
    Stored replace(TierPolicy policy, String actor);

    /** Puts one tier back to the shipped default. */
    Stored reset(Tier tier, String actor);
}

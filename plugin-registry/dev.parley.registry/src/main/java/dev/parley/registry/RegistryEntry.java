package dev.parley.registry;

import java.time.Instant;
import java.util.List;
import java.util.Map;

/**
 * One published plugin version.
 *
 * @param id            the plugin id from the {@code Parley-Plugin} header
 * @param version       the Bundle-Version (OSGi semantic version, e.g. {@code 1.2.0})
 * @param symbolicName  the Bundle-SymbolicName
 * @param type          provider, tool, … ({@code PluginType} name in lower case)
 * @param apiImports    imported {@code dev.parley.api.*} packages and the version range asked for
 * @param apiRange      for display: the range all API imports share (e.g. {@code [1.0,2)}), or each package's range
 * @param sha256        lower-case hex digest of the artifact
 * @param signature     base64 of the publisher's Ed25519 signature over the artifact; null for a plugin the server
 *                      distribution ships ({@link #DISTRIBUTION})
 * @param origin        how the version entered the registry: {@link #PUBLISHED} (a signed upload) or
 *                      {@link #DISTRIBUTION} (shipped inside the server, trusted as the server's own code is)
 * @since 1.1
 */
public record RegistryEntry(
        String id,
        String version,
        String symbolicName,
        String type,
        String displayName,
        String description,
        String publisher,
        String channel,
        boolean yanked,
        String yankReason,
        Map<String, String> apiImports,
        String apiRange,
        List<Permission> permissions,
        String sha256,
        long size,
        String signature,
        Instant publishedAt,
        String origin) {

    public static final String STABLE = "stable";
    public static final String BETA = "beta";
    /** Origin of a version uploaded with its publisher's signature. */
    public static final String PUBLISHED = "published";
    /** Origin of a version the server distribution ships (no signature; see {@link PluginRegistry#publishShipped}). */
    public static final String DISTRIBUTION = "distribution";

    public RegistryEntry {
        // Entries recorded before origins existed were all signed uploads.
        origin = origin == null || origin.isBlank() ? PUBLISHED : origin;
    }

    /** A signed upload ({@link #PUBLISHED}): the shape of entries before 1.1. */
    public RegistryEntry(String id, String version, String symbolicName, String type, String displayName,
            String description, String publisher, String channel, boolean yanked, String yankReason,
            Map<String, String> apiImports, String apiRange, List<Permission> permissions, String sha256, long size,
            String signature, Instant publishedAt) {
        this(id, version, symbolicName, type, displayName, description, publisher, channel, yanked, yankReason,
                apiImports, apiRange, permissions, sha256, size, signature, publishedAt, PUBLISHED);
    }

    /** Shipped inside the server distribution rather than uploaded by a publisher. */
    public boolean shipped() {
        return DISTRIBUTION.equals(origin);
    }

    /** This entry with new mutable fields (channel, yanked, yank reason); everything else stays. */
    public RegistryEntry withStatus(String newChannel, boolean newYanked, String newYankReason) {
        return new RegistryEntry(id, version, symbolicName, type, displayName, description, publisher, newChannel,
                newYanked, newYankReason, apiImports, apiRange, permissions, sha256, size, signature, publishedAt, origin);
    }

    /** On the stable channel and not yanked: what "the newest version" means for installs and listings. */
    public boolean stableRelease() {
        return !yanked && STABLE.equals(channel);
    }
}

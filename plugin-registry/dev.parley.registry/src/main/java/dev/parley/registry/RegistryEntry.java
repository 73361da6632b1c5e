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
 * @param signature     base64 of the publisher's Ed25519 signature over the artifact
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
        Instant publishedAt) {

    public static final String STABLE = "stable";
    public static final String BETA = "beta";

    /** On the stable channel and not yanked: what "the newest version" means for installs and listings. */
    public boolean stableRelease() {
        return !yanked && STABLE.equals(channel);
    }
}

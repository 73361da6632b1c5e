package dev.parley.registry;

import java.util.List;
import java.util.Optional;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Versioned plugin artifacts with their metadata. A version once published never changes: its bytes, digest and
 * signature are fixed; it can only be yanked (hidden from new installs, still downloadable for rollback).
 */
@ProviderType
public interface PluginRegistry {

    /**
     * Verifies and stores a plugin version.
     *
     * @param artifact  the plugin jar
     * @param signature the publisher's detached Ed25519 signature over {@code artifact}
     * @param channel   {@code stable} or {@code beta}; null means stable
     * @throws RegistryException INVALID_PLUGIN, UNKNOWN_PUBLISHER, BAD_SIGNATURE, ALREADY_PUBLISHED, TOO_LARGE, STORAGE
     */
    RegistryEntry publish(byte[] artifact, byte[] signature, String channel);

    /**
     * The publisher id the plugins shipped inside the server name in their {@code Parley-Plugin} header. Reserved:
     * {@link #addPublisher} refuses it and {@link #publish} refuses uploads naming it, so nobody can sign a plugin
     * as the distribution.
     */
    String DISTRIBUTION_PUBLISHER = "parley";

    /**
     * Stores a plugin version the server distribution ships, with {@link RegistryEntry#DISTRIBUTION origin
     * distribution} and no signature: it is trusted as the server's own code is. Java API only, for the component
     * that seeds the shipped plugins; no REST resource reaches it. Idempotent: a version already stored with the
     * same bytes is returned as it is. The size limit of {@link #publish} applies.
     *
     * @param artifact the plugin jar, whose {@code Parley-Plugin} header names publisher {@value #DISTRIBUTION_PUBLISHER}
     * @return the entry as stored (new, or the one already there with the same digest)
     * @throws RegistryException INVALID_PLUGIN, TOO_LARGE, SHIPPED_DIGEST_CONFLICT (the id and version are stored
     *                           with another digest), STORAGE
     * @since 1.1
     */
    RegistryEntry publishShipped(byte[] artifact);

    /** Every version of every plugin, by id then version descending. */
    List<RegistryEntry> entries();

    /**
     * The publisher a plugin id belongs to: the first publisher that published it (an id the server ships belongs to
     * {@value #DISTRIBUTION_PUBLISHER}). {@link #publish} refuses another publisher's upload of the id
     * ({@link RegistryException.Reason#PLUGIN_ID_TAKEN}).
     *
     * @return empty when the id was never published
     * @since 1.2
     */
    Optional<String> owner(String pluginId);

    /** Every version of one plugin, newest first; empty if unknown. */
    List<RegistryEntry> versions(String pluginId);

    Optional<RegistryEntry> entry(String pluginId, String version);

    /**
     * The stored bytes of a version, as stored: callers that install them verify digest and signature
     * ({@link Signatures#verifyArtifact}) rather than trust storage.
     *
     * @throws RegistryException NOT_FOUND, STORAGE
     */
    byte[] artifact(String pluginId, String version);

    /** Hides a version from new installs; installed copies and rollbacks still work. */
    RegistryEntry yank(String pluginId, String version, String reason);

    /** Publishers whose signatures this registry accepts. */
    List<Publisher> publishers();

    Optional<Publisher> publisher(String publisherId);

    /**
     * Adds a publisher key. Re-adding the same id with the same key is a no-op; with another key it is refused
     * (ALREADY_PUBLISHED), so a key cannot be swapped under published artifacts; {@value #DISTRIBUTION_PUBLISHER}
     * is refused (RESERVED_PUBLISHER).
     */
    Publisher addPublisher(String publisherId, String publicKeyBase64);

    /** The OSGi R5 repository index (XML) of all versions that are not yanked, with download URLs below {@code baseUrl}. */
    String r5Index(String baseUrl);
}

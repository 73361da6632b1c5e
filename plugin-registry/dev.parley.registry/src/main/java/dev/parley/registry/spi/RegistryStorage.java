package dev.parley.registry.spi;

import java.util.Comparator;
import java.util.List;
import java.util.Optional;

import org.osgi.annotation.versioning.ConsumerType;

import dev.parley.registry.Publisher;
import dev.parley.registry.RegistryEntry;

/**
 * Storage behind the registry. Registered as a service with {@value #KIND_PROPERTY} ({@code local}, {@code s3});
 * the registry binds the one its configuration names. Artifacts are keyed by id, version and digest, so two racing
 * publishes of one version never overwrite each other's bytes: {@link #insert} decides the winner and the loser's
 * bytes are deleted.
 */
@ConsumerType
public interface RegistryStorage {
    String KIND_PROPERTY = "parley.registry.storage";

    /** Stores the bytes of a version under its digest; idempotent. */
    void putArtifact(String pluginId, String version, String sha256, byte[] artifact);

    /** @return the stored bytes, empty if there are none */
    Optional<byte[]> artifact(String pluginId, String version, String sha256);

    void deleteArtifact(String pluginId, String version, String sha256);

    /** Records a version; false if id+version already exists (nothing changed). */
    boolean insert(RegistryEntry entry);

    /** Replaces the mutable fields (yanked, yank reason, channel) of an existing entry. */
    void update(RegistryEntry entry);

    List<RegistryEntry> entries();

    Optional<RegistryEntry> entry(String pluginId, String version);

    /** False if the id exists already. */
    boolean insertPublisher(Publisher publisher);

    List<Publisher> publishers();

    /**
     * Binds a plugin id to its first publisher and answers who owns it. The first call for an id records
     * {@code publisher} as its owner (for an id published before owners were recorded: the publisher of its earliest
     * version); every later call answers that owner, whoever asks. A storage decides the first claim atomically, so of
     * two publishers uploading a new id at once exactly one owns it. This default, for a storage that records no
     * owners, derives the owner from the entries and cannot separate two racing first uploads.
     *
     * @return the owner: {@code publisher} when it is (now) the owner, another publisher's id when that one is
     * @since 1.1
     */
    default String claimOwner(String pluginId, String publisher) {
        return owner(pluginId).orElse(publisher);
    }

    /**
     * The owner {@link #claimOwner} recorded, or for an id published before owners were recorded the publisher of its
     * earliest version; empty when the id was never published or claimed.
     *
     * @since 1.1
     */
    default Optional<String> owner(String pluginId) {
        return entries().stream().filter(e -> e.id().equals(pluginId))
                .min(Comparator.comparing(RegistryEntry::publishedAt)).map(RegistryEntry::publisher);
    }
}

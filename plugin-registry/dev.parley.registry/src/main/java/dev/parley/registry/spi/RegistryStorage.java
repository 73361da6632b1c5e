package dev.parley.registry.spi;

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
}

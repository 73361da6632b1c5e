package dev.parley.plugins.internal;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Optional;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Verified plugin artifacts this node has installed, by id, version and digest, so a rollback or a restart does not
 * depend on the registry being reachable. Bytes read back are verified again before use.
 */
final class ArtifactCache {
    private static final Logger LOG = LoggerFactory.getLogger(ArtifactCache.class);
    private final Path dir;

    ArtifactCache(Path dir) {
        this.dir = dir;
    }

    Optional<byte[]> get(String pluginId, String version, String sha256) {
        Path file = file(pluginId, version, sha256);
        try {
            return Files.isRegularFile(file) ? Optional.of(Files.readAllBytes(file)) : Optional.empty();
        } catch (IOException e) {
            LOG.warn("event=plugin_cache_unreadable file={} reason=\"{}\"", file, e.getMessage());
            return Optional.empty();
        }
    }

    void put(String pluginId, String version, String sha256, byte[] artifact) {
        Path file = file(pluginId, version, sha256);
        try {
            Files.createDirectories(file.getParent());
            Path tmp = Files.createTempFile(file.getParent(), "artifact", ".tmp");
            Files.write(tmp, artifact);
            Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            // The cache only saves a download; failing to fill it must not fail the install.
            LOG.warn("event=plugin_cache_write_failed file={} reason=\"{}\"", file, e.getMessage());
        }
    }

    private Path file(String pluginId, String version, String sha256) {
        return dir.resolve(pluginId).resolve(version).resolve(sha256 + ".jar");
    }
}

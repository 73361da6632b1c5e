package dev.parley.plugins.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

/** A node's name: configured, or generated once (host name + random suffix) and kept in the data directory. */
final class NodeIdentity {
    private NodeIdentity() {
    }

    static String resolve(String configured, Path file) {
        if (configured != null && !configured.isBlank()) {
            return configured.strip();
        }
        try {
            if (Files.isRegularFile(file)) {
                String id = Files.readString(file, StandardCharsets.UTF_8).strip();
                if (!id.isEmpty()) {
                    return id;
                }
            }
            String id = host() + "-" + UUID.randomUUID().toString().substring(0, 8);
            Files.createDirectories(file.toAbsolutePath().getParent());
            try {
                Files.writeString(file, id + "\n", StandardCharsets.UTF_8, java.nio.file.StandardOpenOption.CREATE_NEW);
            } catch (FileAlreadyExistsException raced) {
                return Files.readString(file, StandardCharsets.UTF_8).strip();
            }
            return id;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or create the node id file " + file, e);
        }
    }

    private static String host() {
        try {
            return InetAddress.getLocalHost().getHostName().replaceAll("[^A-Za-z0-9.-]", "");
        } catch (IOException e) {
            return "node";
        }
    }
}

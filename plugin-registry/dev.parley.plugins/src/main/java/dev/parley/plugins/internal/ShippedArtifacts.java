package dev.parley.plugins.internal;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.registry.Signatures;
import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.List;
import java.util.regex.Pattern;
import java.util.zip.ZipEntry;
import java.util.zip.ZipFile;

/**
 * The plugin jars the server distribution carries and their index, generated at build time
 * ({@code parley-plugin index}): {@value #INDEX} with each plugin's id, version, SHA-256, size and file name. They
 * live under {@value #FOLDER} in the server jar, or in a directory (a server run from unpacked classes).
 */
final class ShippedArtifacts {
    static final String FOLDER = "plugins/";
    static final String INDEX = "index.json";
    private static final Pattern FILE = Pattern.compile("[A-Za-z0-9][A-Za-z0-9._-]*\\.jar");

    /** One shipped plugin as the index describes it. */
    record Shipped(String id, String version, String sha256, long size, String file) {
    }

    record Index(List<Shipped> plugins) {
    }

    private final Path location;
    private final ObjectMapper json = new ObjectMapper().disable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);

    /** @param location the server jar (entries under {@value #FOLDER}) or a directory holding the index and jars */
    ShippedArtifacts(Path location) {
        this.location = location;
    }

    Path location() {
        return location;
    }

    List<Shipped> index() throws IOException {
        Index index = json.readValue(read(INDEX), Index.class);
        if (index == null || index.plugins() == null) {
            throw new IOException(INDEX + " in " + location + " lists no plugins");
        }
        for (Shipped s : index.plugins()) {
            if (s.id() == null || s.version() == null || s.sha256() == null || s.file() == null
                    || !FILE.matcher(s.file()).matches()) {
                throw new IOException(INDEX + " in " + location + " has an incomplete entry: " + s);
            }
        }
        return index.plugins();
    }

    /** The jar's bytes, checked against the index's digest: a damaged server jar must not seed a plugin. */
    byte[] artifact(Shipped s) throws IOException {
        byte[] bytes = read(s.file());
        String digest = Signatures.sha256Hex(bytes);
        if (!digest.equals(s.sha256())) {
            throw new IOException("shipped " + s.file() + " has SHA-256 " + digest + " but the index says " + s.sha256()
                    + "; the server jar is damaged");
        }
        return bytes;
    }

    private byte[] read(String name) throws IOException {
        if (Files.isDirectory(location)) {
            return Files.readAllBytes(location.resolve(name));
        }
        try (ZipFile jar = new ZipFile(location.toFile())) {
            ZipEntry entry = jar.getEntry(FOLDER + name);
            if (entry == null) {
                throw new NoSuchFileException(location + "!/" + FOLDER + name);
            }
            try (InputStream in = jar.getInputStream(entry)) {
                return in.readAllBytes();
            }
        }
    }
}

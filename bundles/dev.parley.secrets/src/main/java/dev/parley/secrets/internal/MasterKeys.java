package dev.parley.secrets.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import javax.crypto.SecretKey;
import javax.crypto.spec.SecretKeySpec;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The master keys: the current one, which seals, and previous ones, which only open. Each has an id that sealed
 * values carry. Errors name the setting and the key id, never key material.
 */
final class MasterKeys {
    static final String DEFAULT_FILE_NAME = "master-key";
    static final int KEY_BYTES = 32;
    private static final Pattern ID = Pattern.compile("[A-Za-z0-9_-]{1,32}");
    private static final Logger LOG = LoggerFactory.getLogger(MasterKeys.class);

    private final String currentId;
    private final Map<String, SecretKey> byId;

    private MasterKeys(String currentId, Map<String, SecretKey> byId) {
        this.currentId = currentId;
        this.byId = Map.copyOf(byId);
    }

    String currentId() {
        return currentId;
    }

    SecretKey current() {
        return byId.get(currentId);
    }

    /** The key with this id, or null. */
    SecretKey get(String id) {
        return byId.get(id);
    }

    /**
     * From the configuration: the master key if set, else the key file if set, else the default file under
     * {@code dataDir} (created with a new random key when missing); previous keys are added to either.
     */
    static MasterKeys from(SecretsConfig config, Path dataDir) {
        List<String> lines = new ArrayList<>();
        String source;
        String masterKey = config._masterKey() == null ? "" : config._masterKey().strip();
        String file = config.masterKeyFile() == null ? "" : config.masterKeyFile().strip();
        if (!masterKey.isEmpty()) {
            lines.add(masterKey);
            source = "setting .masterKey";
        } else if (!file.isEmpty()) {
            lines.addAll(readKeyFile(Path.of(file)));
            source = "file " + file;
        } else {
            Path defaultFile = dataDir.resolve(DEFAULT_FILE_NAME);
            lines.addAll(readOrCreate(defaultFile));
            source = "file " + defaultFile;
        }
        if (lines.isEmpty()) {
            throw new IllegalArgumentException("No master key in " + source);
        }
        int previousFrom = lines.size();
        if (config._previousKeys() != null) {
            for (String k : config._previousKeys()) {
                if (k != null && !k.isBlank()) {
                    lines.add(k.strip());
                }
            }
        }
        Map<String, SecretKey> keys = new LinkedHashMap<>();
        String currentId = null;
        for (int i = 0; i < lines.size(); i++) {
            String where = i < previousFrom ? source + (lines.size() > 1 ? " (key " + (i + 1) + ")" : "")
                    : "setting .previousKeys (key " + (i - previousFrom + 1) + ")";
            ParsedKey k = parse(lines.get(i), where);
            SecretKey known = keys.get(k.id());
            if (known != null && !MessageDigest.isEqual(known.getEncoded(), k.key().getEncoded())) {
                throw new IllegalArgumentException("Two different master keys have the id " + k.id() + " (" + where
                        + "); give each key its own id");
            }
            keys.putIfAbsent(k.id(), k.key());
            if (currentId == null) {
                currentId = k.id();
            }
        }
        LOG.info("master keys loaded current={} previous={} source=\"{}\"", currentId, keys.size() - 1, source);
        return new MasterKeys(currentId, keys);
    }

    record ParsedKey(String id, SecretKey key) {
    }

    /** {@code <id>:<base64>}, or a bare base64 key whose id is derived from it (not secret: a hash prefix). */
    static ParsedKey parse(String line, String where) {
        String text = line.strip();
        int colon = text.indexOf(':');
        String id = colon < 0 ? null : text.substring(0, colon);
        String encoded = colon < 0 ? text : text.substring(colon + 1);
        if (id != null && !ID.matcher(id).matches()) {
            throw new IllegalArgumentException("Master key id in " + where
                    + " must be 1-32 letters, digits, '-' or '_'");
        }
        byte[] bytes;
        try {
            bytes = Base64.getDecoder().decode(encoded.strip());
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("Master key in " + where + " is not base64", null);
        }
        if (bytes.length != KEY_BYTES) {
            throw new IllegalArgumentException("Master key in " + where + " must be " + KEY_BYTES
                    + " bytes (base64 of 32 random bytes), not " + bytes.length);
        }
        return new ParsedKey(id == null ? derivedId(bytes) : id, new SecretKeySpec(bytes, "AES"));
    }

    private static String derivedId(byte[] key) {
        try {
            byte[] digest = MessageDigest.getInstance("SHA-256").digest(key);
            return "k" + HexFormat.of().formatHex(digest, 0, 4);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }

    private static List<String> readKeyFile(Path file) {
        try {
            return Files.readAllLines(file, StandardCharsets.UTF_8).stream().map(String::strip)
                    .filter(l -> !l.isEmpty() && !l.startsWith("#")).toList();
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot read the master key file " + file, e);
        }
    }

    /** The default key file: read, or created owner-only with a new random key (a concurrent creator wins). */
    static List<String> readOrCreate(Path file) {
        if (Files.isRegularFile(file)) {
            return readKeyFile(file);
        }
        byte[] random = new byte[KEY_BYTES];
        new SecureRandom().nextBytes(random);
        String line = derivedId(random) + ":" + Base64.getEncoder().encodeToString(random);
        try {
            Path dir = file.toAbsolutePath().getParent();
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, DEFAULT_FILE_NAME, ".tmp");
            try {
                ownerOnly(tmp);
                Files.writeString(tmp, "# Parley's master key: it opens the secrets stored in the database. Back it up"
                        + " apart from the database.\n" + line + "\n", StandardCharsets.UTF_8);
                Files.move(tmp, file);
            } catch (FileAlreadyExistsException raced) {
                Files.deleteIfExists(tmp);
                return readKeyFile(file);
            }
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot create the master key file " + file, e);
        }
        LOG.info("master key created file={} hint=\"back it up apart from the database; in production set "
                + "PARLEY_MASTER_KEY or PARLEY_MASTER_KEY_FILE\"", file.toAbsolutePath());
        return List.of(line);
    }

    private static void ownerOnly(Path file) throws IOException {
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException notPosix) {
            // Windows: the data directory's ACL applies.
        }
    }
}

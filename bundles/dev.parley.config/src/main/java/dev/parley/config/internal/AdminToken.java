package dev.parley.config.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.util.Base64;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The admin API's credential when {@code PARLEY_ADMIN_TOKEN} is not set: a random token kept in the data directory,
 * readable by the owner only, so a laptop install is protected from the first start without a setup step.
 */
final class AdminToken {
    static final String FILE_NAME = "admin-token";
    private static final Logger LOG = LoggerFactory.getLogger(AdminToken.class);

    private AdminToken() {
    }

    static String readOrCreate(Path file) {
        try {
            if (Files.isRegularFile(file)) {
                String token = Files.readString(file, StandardCharsets.UTF_8).strip();
                if (!token.isEmpty()) {
                    LOG.info("admin token read file={}", file.toAbsolutePath());
                    return token;
                }
            }
            byte[] random = new byte[32];
            new SecureRandom().nextBytes(random);
            String token = Base64.getUrlEncoder().withoutPadding().encodeToString(random);
            Files.createDirectories(file.toAbsolutePath().getParent());
            Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), FILE_NAME, ".tmp");
            try {
                ownerOnly(tmp);
                Files.writeString(tmp, token + "\n", StandardCharsets.UTF_8);
                Files.move(tmp, file); // no REPLACE_EXISTING: a token written by another start wins
            } catch (FileAlreadyExistsException raced) {
                Files.deleteIfExists(tmp);
                return Files.readString(file, StandardCharsets.UTF_8).strip();
            }
            LOG.info("admin token created file={} hint=\"send it as 'Authorization: Bearer <token>' to /api/v1/admin\"",
                    file.toAbsolutePath());
            return token;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read or create the admin token file " + file, e);
        }
    }

    private static void ownerOnly(Path file) throws IOException {
        try {
            Files.setPosixFilePermissions(file, PosixFilePermissions.fromString("rw-------"));
        } catch (UnsupportedOperationException notPosix) {
            // Windows: the data directory's ACL applies.
        }
    }
}

package dev.parley.identity.internal;

import dev.parley.api.audit.AuditEvent;
import dev.parley.api.audit.AuditOutcome;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import dev.parley.db.Database;
import dev.parley.db.Sql;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.SecureRandom;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The first start: the operator tenant and, while it has no user at all, user {@code admin} with role owner. The
 * password is the configured one, or a generated one written owner-only to the data directory (never logged: the
 * log names the file). Nodes starting together create one admin: the insert runs in a transaction and the
 * (tenant, username) unique constraint lets only one commit; the loser's generated password file is discarded.
 */
final class Bootstrap {
    static final String ADMIN = "admin";
    static final String PASSWORD_FILE = "bootstrap-admin-password";
    static final String OPERATOR_TENANT_NAME = "Operator";
    private static final String ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";
    private static final Logger LOG = LoggerFactory.getLogger(Bootstrap.class);

    private final Database database;
    private final PasswordHasher hasher;
    private final Clock clock;
    private final Notices notices;

    Bootstrap(Database database, PasswordHasher hasher, Clock clock, Notices notices) {
        this.database = database;
        this.hasher = hasher;
        this.clock = clock;
        this.notices = notices;
    }

    /**
     * Creates what a first start needs. Returns whether this node created the admin.
     *
     * @param configuredPassword the configured password, or empty to generate one into {@code dataDir}
     */
    boolean run(String configuredPassword, Path dataDir) {
        ensureOperatorTenant();
        if (database.inTransaction("look for users", c -> IdentityStore.anyUser(c, Principal.OPERATOR_TENANT))) {
            return false;
        }
        boolean generated = configuredPassword == null || configuredPassword.isEmpty();
        String password;
        if (generated) {
            password = generatePassword();
        } else {
            try {
                hasher.checkNewPassword(configuredPassword, "password");
            } catch (ParleyException e) {
                throw new IllegalArgumentException("PARLEY_BOOTSTRAP_ADMIN_PASSWORD (.bootstrapAdminPassword) is "
                        + "not usable: " + e.getMessage());
            }
            password = configuredPassword;
        }
        Path file = dataDir.resolve(PASSWORD_FILE).toAbsolutePath();
        Path pending = generated ? writePending(file, password) : null;
        Instant now = clock.instant();
        IdentityStore.User admin = new IdentityStore.User(UUID.randomUUID().toString(), Principal.OPERATOR_TENANT,
                ADMIN, hasher.hash(password), Set.of(Role.OWNER), 0, null, false, now, now);
        boolean created;
        try {
            created = database.inTransaction("create the first admin", c -> {
                if (IdentityStore.anyUser(c, Principal.OPERATOR_TENANT)) {
                    return false;
                }
                IdentityStore.insertUser(c, admin);
                return true;
            });
        } catch (ParleyException e) {
            if (!uniqueViolation(e)) {
                deleteQuietly(pending);
                throw e;
            }
            created = false; // another node made it first
        }
        if (!created) {
            deleteQuietly(pending);
            return false;
        }
        if (pending != null) {
            try {
                Files.move(pending, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
            } catch (IOException e) {
                throw new UncheckedIOException("Cannot write the bootstrap admin password to " + file, e);
            }
            LOG.info("bootstrap admin created tenant={} user={} passwordFile={} hint=\"sign in as admin with the "
                    + "password in that file, change it, then delete the file\"", Principal.OPERATOR_TENANT, ADMIN,
                    file);
        } else {
            LOG.info("bootstrap admin created tenant={} user={} password=\"from PARLEY_BOOTSTRAP_ADMIN_PASSWORD\"",
                    Principal.OPERATOR_TENANT, ADMIN);
        }
        notices.audit(new AuditEvent(now, "system", Principal.OPERATOR_TENANT, "user.create", admin.id(),
                AuditOutcome.SUCCESS, "", Map.of("username", ADMIN, "roles", Role.OWNER.slug(), "bootstrap", "true")));
        return true;
    }

    private void ensureOperatorTenant() {
        Instant now = clock.instant();
        try {
            database.inTransaction("create the operator tenant", c -> {
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO identity_tenants (id, name, created_at) "
                        + "SELECT ?, ?, ? WHERE NOT EXISTS (SELECT 1 FROM identity_tenants WHERE id = ?)")) {
                    ps.setString(1, Principal.OPERATOR_TENANT);
                    ps.setString(2, OPERATOR_TENANT_NAME);
                    ps.setObject(3, Sql.timestamp(now));
                    ps.setString(4, Principal.OPERATOR_TENANT);
                    ps.executeUpdate();
                }
                return null;
            });
        } catch (ParleyException e) {
            if (!uniqueViolation(e)) {
                throw e;
            }
        }
    }

    private static Path writePending(Path file, String password) {
        try {
            Path dir = file.getParent();
            Files.createDirectories(dir);
            Path tmp = Files.createTempFile(dir, PASSWORD_FILE, ".tmp");
            try {
                Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-------"));
            } catch (UnsupportedOperationException notPosix) {
                // Windows: the data directory's ACL applies.
            }
            Files.writeString(tmp, password + "\n", StandardCharsets.UTF_8);
            return tmp;
        } catch (IOException e) {
            throw new UncheckedIOException("Cannot write the bootstrap admin password to " + file, e);
        }
    }

    private static void deleteQuietly(Path file) {
        if (file != null) {
            try {
                Files.deleteIfExists(file);
            } catch (IOException e) {
                LOG.warn("could not delete file={} reason=\"{}\"", file, e.getMessage());
            }
        }
    }

    /** 24 characters from 57 unambiguous letters and digits: about 140 bits. */
    private static String generatePassword() {
        SecureRandom random = new SecureRandom();
        StringBuilder sb = new StringBuilder(24);
        for (int i = 0; i < 24; i++) {
            sb.append(ALPHABET.charAt(random.nextInt(ALPHABET.length())));
        }
        return sb.toString();
    }

    private static boolean uniqueViolation(ParleyException e) {
        return e.code() == ErrorCode.STORE_FAILURE && e.getCause() instanceof SQLException s
                && Sql.isUniqueViolation(s);
    }
}

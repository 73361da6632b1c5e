package dev.parley.identity.internal;

import dev.parley.api.identity.Role;
import dev.parley.db.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Collectors;

/**
 * The identity tables (migration {@code V1__identity.sql}): SQL only, each method on the caller's connection so that
 * the caller decides what one transaction holds. The same statements run on H2 and PostgreSQL.
 */
final class IdentityStore {
    static final String MODULE = "dev.parley.identity";
    static final String MIGRATIONS = "db/migration/" + MODULE + "/";
    static final List<String> MIGRATION_FILES = List.of("V1__identity.sql");

    record Tenant(String id, String name, Instant createdAt) {
    }

    record User(String id, String tenantId, String username, String passwordHash, Set<Role> roles,
            int failedAttempts, Instant lockedUntil, boolean disabled, Instant createdAt, Instant passwordChangedAt) {
        boolean lockedAt(Instant now) {
            return lockedUntil != null && lockedUntil.isAfter(now);
        }
    }

    record Session(String tokenHash, String familyId, String userId, String tenantId, Instant issuedAt,
            Instant expiresAt, Instant usedAt, Instant revokedAt) {
    }

    record SigningKeyRow(String kid, String sealedJwk, Instant createdAt, Instant retiredAt) {
    }

    /** A revoked session family and whose it was. */
    record RevokedFamily(String familyId, String userId, String tenantId, Instant revokedAt) {
    }

    private static final String USER_COLUMNS = "id, tenant_id, username, password_hash, roles, failed_attempts, "
            + "locked_until, disabled, created_at, password_changed_at";

    // --- tenants ----------------------------------------------------------------------------------------------------

    static void insertTenant(Connection c, Tenant t) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO identity_tenants (id, name, created_at) VALUES (?, ?, ?)")) {
            ps.setString(1, t.id());
            ps.setString(2, t.name());
            ps.setObject(3, Sql.timestamp(t.createdAt()));
            ps.executeUpdate();
        }
    }

    static Tenant tenant(Connection c, String id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT id, name, created_at FROM identity_tenants WHERE id = ?")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? new Tenant(rs.getString(1), rs.getString(2), Sql.instant(rs, 3)) : null;
            }
        }
    }

    /** The tenant's row, locked until the transaction ends: changes to its owners are made one at a time. */
    static boolean lockTenant(Connection c, String id) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT id FROM identity_tenants WHERE id = ? FOR UPDATE")) {
            ps.setString(1, id);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    static List<Tenant> tenants(Connection c, String after, int limit) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT id, name, created_at FROM identity_tenants "
                + "WHERE id > ? ORDER BY id FETCH FIRST " + limit + " ROWS ONLY")) {
            ps.setString(1, after == null ? "" : after);
            List<Tenant> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new Tenant(rs.getString(1), rs.getString(2), Sql.instant(rs, 3)));
                }
            }
            return out;
        }
    }

    // --- users ------------------------------------------------------------------------------------------------------

    static void insertUser(Connection c, User u) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO identity_users (" + USER_COLUMNS
                + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
            ps.setString(1, u.id());
            ps.setString(2, u.tenantId());
            ps.setString(3, u.username());
            ps.setString(4, u.passwordHash());
            ps.setString(5, rolesText(u.roles()));
            ps.setInt(6, u.failedAttempts());
            ps.setObject(7, Sql.timestamp(u.lockedUntil()));
            ps.setBoolean(8, u.disabled());
            ps.setObject(9, Sql.timestamp(u.createdAt()));
            ps.setObject(10, Sql.timestamp(u.passwordChangedAt()));
            ps.executeUpdate();
        }
    }

    static User userByName(Connection c, String tenantId, String username) throws SQLException {
        return one(c, "SELECT " + USER_COLUMNS + " FROM identity_users WHERE tenant_id = ? AND username = ?",
                tenantId, username);
    }

    static User user(Connection c, String tenantId, String id) throws SQLException {
        return one(c, "SELECT " + USER_COLUMNS + " FROM identity_users WHERE tenant_id = ? AND id = ?", tenantId, id);
    }

    static boolean anyUser(Connection c, String tenantId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "SELECT 1 FROM identity_users WHERE tenant_id = ? FETCH FIRST 1 ROWS ONLY")) {
            ps.setString(1, tenantId);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next();
            }
        }
    }

    /** A page of the tenant's users by username, after {@code after} (exclusive). */
    static List<User> users(Connection c, String tenantId, String after, int limit) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT " + USER_COLUMNS + " FROM identity_users "
                + "WHERE tenant_id = ? AND username > ? ORDER BY username FETCH FIRST " + limit + " ROWS ONLY")) {
            ps.setString(1, tenantId);
            ps.setString(2, after == null ? "" : after);
            List<User> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(user(rs));
                }
            }
            return out;
        }
    }

    /** How many enabled owners the tenant has besides {@code exceptUserId}. */
    static int otherEnabledOwners(Connection c, String tenantId, String exceptUserId) throws SQLException {
        int n = 0;
        try (PreparedStatement ps = c.prepareStatement("SELECT roles FROM identity_users WHERE tenant_id = ? "
                + "AND id <> ? AND disabled = FALSE AND roles LIKE ?")) {
            ps.setString(1, tenantId);
            ps.setString(2, exceptUserId);
            ps.setString(3, "%" + Role.OWNER.slug() + "%");
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    if (roles(rs.getString(1)).contains(Role.OWNER)) {
                        n++;
                    }
                }
            }
        }
        return n;
    }

    static void setRoles(Connection c, String userId, Set<Role> roles) throws SQLException {
        update(c, "UPDATE identity_users SET roles = ? WHERE id = ?", rolesText(roles), userId);
    }

    static void setDisabled(Connection c, String userId, boolean disabled) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE identity_users SET disabled = ? WHERE id = ?")) {
            ps.setBoolean(1, disabled);
            ps.setString(2, userId);
            ps.executeUpdate();
        }
    }

    static void unlock(Connection c, String userId) throws SQLException {
        update(c, "UPDATE identity_users SET failed_attempts = 0, locked_until = NULL WHERE id = ?", userId);
    }

    static void deleteUser(Connection c, String userId) throws SQLException {
        update(c, "DELETE FROM identity_users WHERE id = ?", userId);
    }

    static void setPassword(Connection c, String userId, String hash, Instant changedAt) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "UPDATE identity_users SET password_hash = ?, password_changed_at = ? WHERE id = ?")) {
            ps.setString(1, hash);
            ps.setObject(2, Sql.timestamp(changedAt));
            ps.setString(3, userId);
            ps.executeUpdate();
        }
    }

    /** Replaces the hash only (a re-hash under stronger parameters): the password itself did not change. */
    static void rehash(Connection c, String userId, String oldHash, String newHash) throws SQLException {
        update(c, "UPDATE identity_users SET password_hash = ? WHERE id = ? AND password_hash = ?", newHash, userId,
                oldHash);
    }

    /**
     * Counts one more failed attempt; at {@code threshold} the account is locked until {@code lockUntil} and the
     * count starts again. The row lock of the first update orders concurrent failures.
     *
     * @return whether this failure locked the account
     */
    static boolean recordFailure(Connection c, String userId, int threshold, Instant lockUntil) throws SQLException {
        update(c, "UPDATE identity_users SET failed_attempts = failed_attempts + 1 WHERE id = ?", userId);
        int failures;
        try (PreparedStatement ps = c.prepareStatement("SELECT failed_attempts FROM identity_users WHERE id = ?")) {
            ps.setString(1, userId);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return false;
                }
                failures = rs.getInt(1);
            }
        }
        if (failures < threshold) {
            return false;
        }
        try (PreparedStatement ps = c.prepareStatement(
                "UPDATE identity_users SET failed_attempts = 0, locked_until = ? WHERE id = ?")) {
            ps.setObject(1, Sql.timestamp(lockUntil));
            ps.setString(2, userId);
            ps.executeUpdate();
        }
        return true;
    }

    static void clearFailures(Connection c, String userId) throws SQLException {
        update(c, "UPDATE identity_users SET failed_attempts = 0, locked_until = NULL WHERE id = ? "
                + "AND (failed_attempts <> 0 OR locked_until IS NOT NULL)", userId);
    }

    /** Users whose tokens are refused now: disabled, or locked until after {@code now}, with when that ends. */
    static List<User> blockedUsers(Connection c, Instant now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT " + USER_COLUMNS + " FROM identity_users "
                + "WHERE disabled = TRUE OR locked_until > ?")) {
            ps.setObject(1, Sql.timestamp(now));
            List<User> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(user(rs));
                }
            }
            return out;
        }
    }

    // --- sessions ---------------------------------------------------------------------------------------------------

    static void insertSession(Connection c, Session s) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO identity_sessions (token_hash, family_id, user_id, "
                + "tenant_id, issued_at, expires_at) VALUES (?, ?, ?, ?, ?, ?)")) {
            ps.setString(1, s.tokenHash());
            ps.setString(2, s.familyId());
            ps.setString(3, s.userId());
            ps.setString(4, s.tenantId());
            ps.setObject(5, Sql.timestamp(s.issuedAt()));
            ps.setObject(6, Sql.timestamp(s.expiresAt()));
            ps.executeUpdate();
        }
    }

    /**
     * Uses a refresh token once: marks it used and replaced by {@code replacedBy} if it is neither used, revoked nor
     * expired. Atomic: of two concurrent uses, one wins.
     */
    static boolean useSession(Connection c, String tokenHash, String replacedBy, Instant now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("UPDATE identity_sessions SET used_at = ?, replaced_by = ? "
                + "WHERE token_hash = ? AND used_at IS NULL AND revoked_at IS NULL AND expires_at > ?")) {
            ps.setObject(1, Sql.timestamp(now));
            ps.setString(2, replacedBy);
            ps.setString(3, tokenHash);
            ps.setObject(4, Sql.timestamp(now));
            return ps.executeUpdate() == 1;
        }
    }

    static Session session(Connection c, String tokenHash) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT token_hash, family_id, user_id, tenant_id, issued_at, "
                + "expires_at, used_at, revoked_at FROM identity_sessions WHERE token_hash = ?")) {
            ps.setString(1, tokenHash);
            try (ResultSet rs = ps.executeQuery()) {
                if (!rs.next()) {
                    return null;
                }
                return new Session(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                        Sql.instant(rs, 5), Sql.instant(rs, 6), Sql.instant(rs, 7), Sql.instant(rs, 8));
            }
        }
    }

    /** Revokes every live token of the family; returns how many rows it touched. */
    static int revokeFamily(Connection c, String familyId, Instant now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "UPDATE identity_sessions SET revoked_at = ? WHERE family_id = ? AND revoked_at IS NULL")) {
            ps.setObject(1, Sql.timestamp(now));
            ps.setString(2, familyId);
            return ps.executeUpdate();
        }
    }

    /** Revokes every session of the user; returns the families revoked (those that had a live token). */
    static List<String> revokeUserSessions(Connection c, String userId, Instant now) throws SQLException {
        List<String> families = new ArrayList<>();
        try (PreparedStatement ps = c.prepareStatement("SELECT DISTINCT family_id FROM identity_sessions "
                + "WHERE user_id = ? AND revoked_at IS NULL")) {
            ps.setString(1, userId);
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    families.add(rs.getString(1));
                }
            }
        }
        try (PreparedStatement ps = c.prepareStatement(
                "UPDATE identity_sessions SET revoked_at = ? WHERE user_id = ? AND revoked_at IS NULL")) {
            ps.setObject(1, Sql.timestamp(now));
            ps.setString(2, userId);
            ps.executeUpdate();
        }
        return families;
    }

    /** Families with a token revoked after {@code since}. */
    static List<RevokedFamily> revokedSince(Connection c, Instant since) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT family_id, MIN(user_id), MIN(tenant_id), "
                + "MAX(revoked_at) FROM identity_sessions WHERE revoked_at > ? GROUP BY family_id")) {
            ps.setObject(1, Sql.timestamp(since));
            List<RevokedFamily> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new RevokedFamily(rs.getString(1), rs.getString(2), rs.getString(3), Sql.instant(rs, 4)));
                }
            }
            return out;
        }
    }

    /** Removes sessions that expired before {@code before}: no token of theirs can be valid any more. */
    static int purgeSessions(Connection c, Instant before) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("DELETE FROM identity_sessions WHERE expires_at < ?")) {
            ps.setObject(1, Sql.timestamp(before));
            return ps.executeUpdate();
        }
    }

    // --- signing keys -----------------------------------------------------------------------------------------------

    static void insertSigningKey(Connection c, SigningKeyRow k) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "INSERT INTO identity_signing_keys (kid, private_jwk, created_at) VALUES (?, ?, ?)")) {
            ps.setString(1, k.kid());
            ps.setString(2, k.sealedJwk());
            ps.setObject(3, Sql.timestamp(k.createdAt()));
            ps.executeUpdate();
        }
    }

    /** Retires every key but {@code currentKid}. */
    static void retireOthers(Connection c, String currentKid, Instant now) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(
                "UPDATE identity_signing_keys SET retired_at = ? WHERE retired_at IS NULL AND kid <> ?")) {
            ps.setObject(1, Sql.timestamp(now));
            ps.setString(2, currentKid);
            ps.executeUpdate();
        }
    }

    /** Keys not retired, or retired after {@code retiredAfter}, newest first. */
    static List<SigningKeyRow> signingKeys(Connection c, Instant retiredAfter) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("SELECT kid, private_jwk, created_at, retired_at "
                + "FROM identity_signing_keys WHERE retired_at IS NULL OR retired_at > ? "
                + "ORDER BY created_at DESC, kid DESC")) {
            ps.setObject(1, Sql.timestamp(retiredAfter));
            List<SigningKeyRow> out = new ArrayList<>();
            try (ResultSet rs = ps.executeQuery()) {
                while (rs.next()) {
                    out.add(new SigningKeyRow(rs.getString(1), rs.getString(2), Sql.instant(rs, 3),
                            Sql.instant(rs, 4)));
                }
            }
            return out;
        }
    }

    // --- mapping ----------------------------------------------------------------------------------------------------

    static String rolesText(Set<Role> roles) {
        return roles.stream().sorted().map(Role::slug).collect(Collectors.joining(","));
    }

    static Set<Role> roles(String text) {
        Set<Role> out = EnumSet.noneOf(Role.class);
        if (text != null) {
            for (String slug : text.split(",")) {
                Role r = Role.fromSlug(slug.strip());
                if (r != null) {
                    out.add(r);
                }
            }
        }
        return out;
    }

    private static User one(Connection c, String sql, String a, String b) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, a);
            ps.setString(2, b);
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? user(rs) : null;
            }
        }
    }

    private static User user(ResultSet rs) throws SQLException {
        return new User(rs.getString("id"), rs.getString("tenant_id"), rs.getString("username"),
                rs.getString("password_hash"), roles(rs.getString("roles")), rs.getInt("failed_attempts"),
                Sql.instant(rs, "locked_until"), rs.getBoolean("disabled"), Sql.instant(rs, "created_at"),
                Sql.instant(rs, "password_changed_at"));
    }

    private static void update(Connection c, String sql, String... args) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            for (int i = 0; i < args.length; i++) {
                ps.setString(i + 1, args[i]);
            }
            ps.executeUpdate();
        }
    }

    private IdentityStore() {
    }
}

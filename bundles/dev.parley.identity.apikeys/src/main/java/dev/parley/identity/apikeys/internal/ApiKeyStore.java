package dev.parley.identity.apikeys.internal;

import dev.parley.api.identity.Role;
import dev.parley.db.Database;
import dev.parley.db.Sql;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/** The {@code api_keys} table (this bundle's V1 migration) in Parley's {@link Database}. */
final class ApiKeyStore {
    /** The module this bundle's migrations are recorded under: its symbolic name. */
    static final String MODULE = "dev.parley.identity.apikeys";
    static final String MIGRATIONS = "db/migration/" + MODULE + "/";
    /** Oldest first; add new files here too. */
    static final List<String> MIGRATION_FILES = List.of("V1__api_keys.sql");

    private static final String COLUMNS = "key_id, tenant_id, owner_subject, owner_issuer, name, secret_sha256, roles, "
            + "scopes, created_at, expires_at, revoked_at, revoked_by, last_used_at";

    private final Database database;

    ApiKeyStore(Database database) {
        this.database = database;
        database.migrate(MODULE, ApiKeyStore.class.getClassLoader(), MIGRATIONS, MIGRATION_FILES);
    }

    /**
     * Stores a new key.
     *
     * @return false when a key with its id exists already (the caller makes another id)
     */
    boolean insert(StoredKey k) {
        return database.inTransaction("store the API key", c -> {
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO api_keys (" + COLUMNS
                    + ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)")) {
                ps.setString(1, k.id());
                ps.setString(2, k.tenantId());
                ps.setString(3, k.ownerSubject());
                ps.setString(4, k.ownerIssuer());
                ps.setString(5, k.name());
                ps.setString(6, k.secretSha256());
                ps.setString(7, roles(k.roles()));
                ps.setString(8, String.join(" ", k.scopes()));
                ps.setObject(9, Sql.timestamp(k.createdAt()));
                ps.setObject(10, Sql.timestamp(k.expiresAt()));
                ps.setObject(11, Sql.timestamp(k.revokedAt()));
                ps.setString(12, k.revokedBy());
                ps.setObject(13, Sql.timestamp(k.lastUsedAt()));
                ps.executeUpdate();
                return true;
            } catch (SQLException e) {
                if (Sql.isUniqueViolation(e)) {
                    c.rollback();
                    return false;
                }
                throw e;
            }
        });
    }

    /** The key with {@code id}, whatever its tenant (for authentication: the id comes from the key itself). */
    Optional<StoredKey> find(String id) {
        return database.inTransaction("read the API key", c -> one(c, "SELECT " + COLUMNS
                + " FROM api_keys WHERE key_id = ?", id, null));
    }

    /** The key with {@code id} in {@code tenantId}; empty when there is none there. */
    Optional<StoredKey> find(String tenantId, String id) {
        return database.inTransaction("read the API key", c -> one(c, "SELECT " + COLUMNS
                + " FROM api_keys WHERE key_id = ? AND tenant_id = ?", id, tenantId));
    }

    /** The keys {@code query} asks for, newest first, and how many match in all; expiry is judged at {@code now}. */
    KeyPage page(KeyQuery query, Instant now) {
        StringBuilder where = new StringBuilder(" WHERE tenant_id = ?");
        List<Object> args = new ArrayList<>();
        args.add(query.tenantId());
        if (query.owner() != null) {
            where.append(" AND owner_subject = ?");
            args.add(query.owner());
        }
        if (query.revoked() != null) {
            where.append(query.revoked() ? " AND revoked_at IS NOT NULL" : " AND revoked_at IS NULL");
        }
        if (query.expired() != null) {
            where.append(query.expired() ? " AND expires_at IS NOT NULL AND expires_at <= ?"
                    : " AND (expires_at IS NULL OR expires_at > ?)");
            args.add(Sql.timestamp(now));
        }
        return database.inTransaction("list the API keys", c -> {
            long total;
            try (PreparedStatement ps = c.prepareStatement("SELECT COUNT(*) FROM api_keys" + where)) {
                bind(ps, args);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    total = rs.getLong(1);
                }
            }
            List<StoredKey> keys = new ArrayList<>();
            try (PreparedStatement ps = c.prepareStatement("SELECT " + COLUMNS + " FROM api_keys" + where
                    + " ORDER BY created_at DESC, key_id DESC LIMIT ? OFFSET ?")) {
                bind(ps, args);
                ps.setInt(args.size() + 1, query.limit());
                ps.setInt(args.size() + 2, query.offset());
                try (ResultSet rs = ps.executeQuery()) {
                    while (rs.next()) {
                        keys.add(key(rs));
                    }
                }
            }
            return new KeyPage(keys, total, query.offset(), query.limit());
        });
    }

    /**
     * Revokes the key {@code id} of {@code tenantId} unless it is revoked already, and reads it back, in one
     * transaction.
     *
     * @param owner when not null, only a key of this owner is revoked (and found)
     * @return the key as it is now, with {@code revoked} true when this call revoked it; empty when there is no
     *         such key
     */
    Optional<Revocation> revoke(String tenantId, String owner, String id, String by, Instant at) {
        return database.inTransaction("revoke the API key", c -> {
            int changed;
            try (PreparedStatement ps = c.prepareStatement("UPDATE api_keys SET revoked_at = ?, revoked_by = ? "
                    + "WHERE key_id = ? AND tenant_id = ? AND revoked_at IS NULL"
                    + (owner == null ? "" : " AND owner_subject = ?"))) {
                ps.setObject(1, Sql.timestamp(at));
                ps.setString(2, by);
                ps.setString(3, id);
                ps.setString(4, tenantId);
                if (owner != null) {
                    ps.setString(5, owner);
                }
                changed = ps.executeUpdate();
            }
            Optional<StoredKey> now = one(c, "SELECT " + COLUMNS + " FROM api_keys WHERE key_id = ? AND tenant_id = ?",
                    id, tenantId);
            return now.filter(k -> owner == null || owner.equals(k.ownerSubject()))
                    .map(k -> new Revocation(k, changed == 1));
        });
    }

    /** What {@link #revoke} did. */
    record Revocation(StoredKey key, boolean revokedNow) {
    }

    /**
     * Records when keys were last used, in one transaction of one batch; a time older than the one stored (another
     * node wrote a later use) changes nothing.
     */
    void recordLastUsed(Map<String, Instant> lastUse) {
        if (lastUse.isEmpty()) {
            return;
        }
        database.inTransaction("record when API keys were last used", c -> {
            try (PreparedStatement ps = c.prepareStatement("UPDATE api_keys SET last_used_at = ? "
                    + "WHERE key_id = ? AND (last_used_at IS NULL OR last_used_at < ?)")) {
                for (Map.Entry<String, Instant> e : lastUse.entrySet()) {
                    ps.setObject(1, Sql.timestamp(e.getValue()));
                    ps.setString(2, e.getKey());
                    ps.setObject(3, Sql.timestamp(e.getValue()));
                    ps.addBatch();
                }
                ps.executeBatch();
            }
            return null;
        });
    }

    private static Optional<StoredKey> one(Connection c, String sql, String id, String tenantId) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, id);
            if (tenantId != null) {
                ps.setString(2, tenantId);
            }
            try (ResultSet rs = ps.executeQuery()) {
                return rs.next() ? Optional.of(key(rs)) : Optional.empty();
            }
        }
    }

    private static void bind(PreparedStatement ps, List<Object> args) throws SQLException {
        for (int i = 0; i < args.size(); i++) {
            ps.setObject(i + 1, args.get(i));
        }
    }

    private static StoredKey key(ResultSet rs) throws SQLException {
        return new StoredKey(rs.getString("key_id"), rs.getString("tenant_id"), rs.getString("owner_subject"),
                rs.getString("owner_issuer"), rs.getString("name"), rs.getString("secret_sha256"),
                roles(rs.getString("roles")), split(rs.getString("scopes")), Sql.instant(rs, "created_at"),
                Sql.instant(rs, "expires_at"), Sql.instant(rs, "revoked_at"), rs.getString("revoked_by"),
                Sql.instant(rs, "last_used_at"));
    }

    static String roles(Set<Role> roles) {
        StringBuilder out = new StringBuilder();
        for (Role r : Role.values()) { // most powerful first, whatever the set's order
            if (roles.contains(r)) {
                out.append(out.isEmpty() ? "" : " ").append(r.slug());
            }
        }
        return out.toString();
    }

    static Set<Role> roles(String slugs) {
        EnumSet<Role> out = EnumSet.noneOf(Role.class);
        for (String s : split(slugs)) {
            Role r = Role.fromSlug(s);
            if (r != null) { // a role a later release removed grants nothing
                out.add(r);
            }
        }
        return out;
    }

    private static List<String> split(String spaced) {
        return spaced == null || spaced.isBlank() ? List.of() : Arrays.asList(spaced.trim().split(" +"));
    }
}

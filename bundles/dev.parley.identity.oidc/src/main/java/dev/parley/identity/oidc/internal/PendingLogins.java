package dev.parley.identity.oidc.internal;

import dev.parley.db.Database;
import dev.parley.db.Sql;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Instant;
import java.util.List;

/**
 * Browser sign-ins started and not yet finished, in Parley's database so that every node sees them: the issuer may
 * send the browser back to another node than the one that started the sign-in. Taking one deletes it, so a state is
 * used once even when two callbacks race on two nodes; expired rows are removed as new sign-ins start, and each
 * issuer has at most {@code maxPending} in progress.
 */
final class PendingLogins {
    static final String MODULE = "dev.parley.identity.oidc";
    static final String MIGRATIONS = "db/migration/dev.parley.identity.oidc/";
    static final List<String> MIGRATION_FILES = List.of("V1__pending_logins.sql");

    /** One started sign-in; {@code sealed} holds its PKCE verifier and nonce, sealed with the master key. */
    record Pending(String issuerName, String browserHash, String sealed, String redirectUri, String clientState,
            Instant createdAt, Instant expiresAt) {
    }

    private final Database database;

    PendingLogins(Database database) {
        this.database = database;
        database.migrate(MODULE, PendingLogins.class.getClassLoader(), MIGRATIONS, MIGRATION_FILES);
    }

    /**
     * Stores a started sign-in under its state's hash, after removing the expired ones.
     *
     * @return false when {@code maxPending} sign-ins through that issuer are already in progress
     */
    boolean add(String stateHash, Pending p, int maxPending, Instant now) {
        return database.inTransaction("store the started sign-in", c -> {
            try (PreparedStatement purge = c.prepareStatement(
                    "DELETE FROM oidc_pending_logins WHERE expires_at < ?")) {
                purge.setObject(1, Sql.timestamp(now));
                purge.executeUpdate();
            }
            try (PreparedStatement count = c.prepareStatement(
                    "SELECT COUNT(*) FROM oidc_pending_logins WHERE issuer_name = ?")) {
                count.setString(1, p.issuerName());
                try (ResultSet rs = count.executeQuery()) {
                    rs.next();
                    if (rs.getLong(1) >= maxPending) {
                        return false;
                    }
                }
            }
            try (PreparedStatement insert = c.prepareStatement("INSERT INTO oidc_pending_logins (state_hash, "
                    + "issuer_name, browser_hash, sealed, redirect_uri, client_state, created_at, expires_at) "
                    + "VALUES (?, ?, ?, ?, ?, ?, ?, ?)")) {
                insert.setString(1, stateHash);
                insert.setString(2, p.issuerName());
                insert.setString(3, p.browserHash());
                insert.setString(4, p.sealed());
                insert.setString(5, p.redirectUri());
                insert.setString(6, p.clientState());
                insert.setObject(7, Sql.timestamp(p.createdAt()));
                insert.setObject(8, Sql.timestamp(p.expiresAt()));
                insert.executeUpdate();
            }
            return true;
        });
    }

    /** Removes and returns the sign-in started with this state's hash; null when unknown or already taken. */
    Pending take(String stateHash) {
        return database.inTransaction("finish the sign-in", c -> {
            Pending found = null;
            try (PreparedStatement select = c.prepareStatement("SELECT issuer_name, browser_hash, sealed, "
                    + "redirect_uri, client_state, created_at, expires_at FROM oidc_pending_logins "
                    + "WHERE state_hash = ?")) {
                select.setString(1, stateHash);
                try (ResultSet rs = select.executeQuery()) {
                    if (rs.next()) {
                        found = new Pending(rs.getString(1), rs.getString(2), rs.getString(3), rs.getString(4),
                                rs.getString(5), Sql.instant(rs, 6), Sql.instant(rs, 7));
                    }
                }
            }
            if (found == null) {
                return null;
            }
            try (PreparedStatement delete = c.prepareStatement(
                    "DELETE FROM oidc_pending_logins WHERE state_hash = ?")) {
                delete.setString(1, stateHash);
                // Two callbacks with one state on two nodes: only the one whose delete removed the row goes on.
                return delete.executeUpdate() == 1 ? found : null;
            }
        });
    }

    /** How many sign-ins through {@code issuerName} are stored (for tests). */
    int count(String issuerName) {
        return database.inTransaction("count the started sign-ins", c -> {
            try (PreparedStatement count = c.prepareStatement(
                    "SELECT COUNT(*) FROM oidc_pending_logins WHERE issuer_name = ?")) {
                count.setString(1, issuerName);
                try (ResultSet rs = count.executeQuery()) {
                    rs.next();
                    return (int) rs.getLong(1);
                }
            }
        });
    }
}

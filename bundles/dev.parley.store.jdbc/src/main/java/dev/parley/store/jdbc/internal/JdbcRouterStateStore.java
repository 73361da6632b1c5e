package dev.parley.store.jdbc.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.routing.RouterStateStore;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Clock;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.Map;
import javax.sql.DataSource;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The model router's claims and admin aliases in the store's database (tables of migration V6), on the pool the
 * conversation store registers. Every write commits at once; a claim is taken with a plain insert that loses to an
 * earlier one on the primary key, so two nodes claiming together agree on one claimant.
 */
@Component(service = RouterStateStore.class)
public final class JdbcRouterStateStore implements RouterStateStore {
    /** Both H2 and PostgreSQL report a duplicate primary key with this SQL state. */
    private static final String UNIQUE_VIOLATION = "23505";

    private final DataSource dataSource;
    private final Clock clock;

    @Activate
    public JdbcRouterStateStore(@Reference(target = "(" + JdbcConversationStore.DATASOURCE_NAME_PROPERTY
            + "=parley)") DataSource dataSource) {
        this(dataSource, Clock.systemUTC());
    }

    JdbcRouterStateStore(DataSource dataSource, Clock clock) {
        this.dataSource = dataSource;
        this.clock = clock;
    }

    @Override
    public State load() {
        try (Connection c = dataSource.getConnection(); Statement st = c.createStatement()) {
            Map<String, String> claims = new HashMap<>();
            try (ResultSet rs = st.executeQuery("SELECT model_id, provider_id FROM router_claims")) {
                while (rs.next()) {
                    claims.put(rs.getString(1), rs.getString(2));
                }
            }
            Map<String, String> aliases = new HashMap<>();
            try (ResultSet rs = st.executeQuery("SELECT name, definition FROM router_aliases")) {
                while (rs.next()) {
                    aliases.put(rs.getString(1), rs.getString(2));
                }
            }
            endRead(c);
            return new State(claims, aliases);
        } catch (SQLException e) {
            throw failure("could not read the router state", e);
        }
    }

    @Override
    public String claimIfAbsent(String modelId, String providerId) {
        try (Connection c = dataSource.getConnection()) {
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO router_claims (model_id, provider_id, updated_at) VALUES (?, ?, ?)")) {
                ps.setString(1, modelId);
                ps.setString(2, providerId);
                ps.setObject(3, now());
                ps.executeUpdate();
                commit(c);
                return providerId;
            } catch (SQLException e) {
                if (!UNIQUE_VIOLATION.equals(e.getSQLState())) {
                    throw e;
                }
                rollback(c);
            }
            // Claimed already, on this node or another: the earlier claim stands.
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT provider_id FROM router_claims WHERE model_id = ?")) {
                ps.setString(1, modelId);
                try (ResultSet rs = ps.executeQuery()) {
                    String claimant = rs.next() ? rs.getString(1) : null;
                    endRead(c);
                    return claimant != null ? claimant : claimIfAbsent(modelId, providerId);
                }
            }
        } catch (SQLException e) {
            throw failure("could not claim model " + modelId, e);
        }
    }

    @Override
    public void putClaim(String modelId, String providerId) {
        upsert("UPDATE router_claims SET provider_id = ?, updated_at = ? WHERE model_id = ?",
                "INSERT INTO router_claims (provider_id, updated_at, model_id) VALUES (?, ?, ?)", providerId, modelId,
                "could not store the claim on model " + modelId);
    }

    @Override
    public boolean deleteClaim(String modelId) {
        return delete("DELETE FROM router_claims WHERE model_id = ?", modelId,
                "could not remove the claim on model " + modelId);
    }

    @Override
    public void putAlias(String name, String definition) {
        upsert("UPDATE router_aliases SET definition = ?, updated_at = ? WHERE name = ?",
                "INSERT INTO router_aliases (definition, updated_at, name) VALUES (?, ?, ?)", definition, name,
                "could not store alias " + name);
    }

    @Override
    public boolean deleteAlias(String name) {
        return delete("DELETE FROM router_aliases WHERE name = ?", name, "could not remove alias " + name);
    }

    /** Update, else insert; an insert that loses a race to another node's insert updates after all. */
    private void upsert(String update, String insert, String value, String key, String what) {
        try (Connection c = dataSource.getConnection()) {
            for (int attempt = 0; attempt < 3; attempt++) {
                if (run(c, update, value, key) == 1) {
                    commit(c);
                    return;
                }
                try {
                    run(c, insert, value, key);
                    commit(c);
                    return;
                } catch (SQLException e) {
                    if (!UNIQUE_VIOLATION.equals(e.getSQLState())) {
                        throw e;
                    }
                    rollback(c);
                }
            }
            throw new SQLException("row kept changing under concurrent writers");
        } catch (SQLException e) {
            throw failure(what, e);
        }
    }

    private int run(Connection c, String sql, String value, String key) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, value);
            ps.setObject(2, now());
            ps.setString(3, key);
            return ps.executeUpdate();
        }
    }

    private boolean delete(String sql, String key, String what) {
        try (Connection c = dataSource.getConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, key);
            int rows = ps.executeUpdate();
            commit(c);
            return rows > 0;
        } catch (SQLException e) {
            throw failure(what, e);
        }
    }

    private OffsetDateTime now() {
        return OffsetDateTime.ofInstant(clock.instant(), ZoneOffset.UTC);
    }

    /** The pool hands out connections with auto-commit off. */
    private static void commit(Connection c) throws SQLException {
        if (!c.getAutoCommit()) {
            c.commit();
        }
    }

    private static void endRead(Connection c) throws SQLException {
        if (!c.getAutoCommit()) {
            c.rollback();
        }
    }

    private static void rollback(Connection c) throws SQLException {
        if (!c.getAutoCommit()) {
            c.rollback();
        }
    }

    private static ParleyException failure(String what, SQLException e) {
        return new ParleyException(ErrorCode.STORE_FAILURE, what, e);
    }
}

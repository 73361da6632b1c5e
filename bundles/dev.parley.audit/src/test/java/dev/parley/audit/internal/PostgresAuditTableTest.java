package dev.parley.audit.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.audit.AuditOutcome;
import dev.parley.api.error.ParleyException;
import dev.parley.db.internal.PooledDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The contract on a real PostgreSQL server, in a schema of its own, plus the trigger that refuses UPDATE. Fails (never
 * skips) when the server is not there.
 */
class PostgresAuditTableTest extends AuditTableContract {
    private static final String BASE_URL = System.getenv().getOrDefault("PARLEY_TEST_PG_URL",
            "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");

    private String schema;

    @Override
    protected PooledDatabase open() throws SQLException {
        schema = "parley_audit_" + UUID.randomUUID().toString().replace("-", "");
        execute("CREATE SCHEMA " + schema);
        return new PooledDatabase(BASE_URL + (BASE_URL.contains("?") ? "&" : "?") + "currentSchema=" + schema, "", "",
                4, 5000);
    }

    @Override
    protected void afterClose() throws SQLException {
        execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    }

    @Test
    void theDatabaseRefusesAnyUpdateOfARow() throws Exception {
        table.insert(List.of(row(Instant.now(), "alice", "acme", "plugin.install", "p", AuditOutcome.SUCCESS)));

        assertThatThrownBy(() -> database.inTransaction("tamper with the audit trail", c -> {
            try (Statement st = c.createStatement()) {
                return st.executeUpdate("UPDATE parley_audit SET outcome = 'DENIED'");
            }
        })).isInstanceOf(ParleyException.class).hasMessage("Could not tamper with the audit trail")
                .cause().hasMessageContaining("append-only");
        assertThat(targets(query(null, null, false, AuditOutcome.SUCCESS, null, null, null))).containsExactly("p");
        // The purge's DELETE is not refused.
        assertThat(table.purge(Instant.now().plusSeconds(60), 10)).isEqualTo(1);
    }

    private static void execute(String sql) throws SQLException {
        var ds = new PGSimpleDataSource();
        ds.setURL(BASE_URL);
        try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }
}

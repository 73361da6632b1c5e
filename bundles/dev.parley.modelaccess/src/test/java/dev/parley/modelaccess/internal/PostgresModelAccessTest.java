package dev.parley.modelaccess.internal;

import dev.parley.db.internal.PooledDatabase;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;

/**
 * The contract on a real PostgreSQL server, each test in a schema of its own. Fails (never skips) when the server is
 * not there: CI starts one.
 */
class PostgresModelAccessTest extends ModelAccessContract {
    private static final String BASE_URL = System.getenv().getOrDefault("PARLEY_TEST_PG_URL",
            "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");

    private String schema;

    @Override
    protected PooledDatabase open() throws SQLException {
        schema = "parley_test_" + UUID.randomUUID().toString().replace("-", "");
        execute("CREATE SCHEMA " + schema);
        return new PooledDatabase(BASE_URL + (BASE_URL.contains("?") ? "&" : "?") + "currentSchema=" + schema, "", "",
                8, 5000);
    }

    @Override
    protected void afterDatabaseClosed() throws SQLException {
        execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    }

    private static void execute(String sql) throws SQLException {
        try (Connection c = DriverManager.getConnection(BASE_URL); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }
}

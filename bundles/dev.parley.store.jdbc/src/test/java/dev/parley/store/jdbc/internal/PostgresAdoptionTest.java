package dev.parley.store.jdbc.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;
import org.junit.jupiter.api.BeforeEach;
import org.postgresql.ds.PGSimpleDataSource;

/** Adoption on a real PostgreSQL server, in a schema of its own. Fails (never skips) when the server is not there. */
class PostgresAdoptionTest extends AdoptionContract {
    private static final String BASE_URL = System.getenv().getOrDefault("PARLEY_TEST_PG_URL",
            "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");

    private String schema;

    @BeforeEach
    void createSchema() throws SQLException {
        schema = "parley_adopt_" + UUID.randomUUID().toString().replace("-", "");
        execute(BASE_URL, "CREATE SCHEMA " + schema);
    }

    @Override
    protected void afterDatabasesClosed() throws SQLException {
        execute(BASE_URL, "DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    }

    @Override
    protected String url() {
        return BASE_URL + (BASE_URL.contains("?") ? "&" : "?") + "currentSchema=" + schema;
    }

    @Override
    protected Connection rawConnection() throws SQLException {
        var ds = new PGSimpleDataSource();
        ds.setURL(url());
        return ds.getConnection();
    }

    private static void execute(String url, String sql) throws SQLException {
        var ds = new PGSimpleDataSource();
        ds.setURL(url);
        try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }
}

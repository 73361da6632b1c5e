package dev.parley.db.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The contract on a real PostgreSQL server, each test in a schema of its own. Fails (never skips) when the server
 * is not there: CI starts one.
 */
class PostgresDatabaseTest extends DatabaseContract {
    private static final String BASE_URL = System.getenv().getOrDefault("PARLEY_TEST_PG_URL",
            "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");

    private String schema;

    @BeforeEach
    void createSchema() throws SQLException {
        schema = "parley_test_" + UUID.randomUUID().toString().replace("-", "");
        execute("CREATE SCHEMA " + schema);
    }

    @Override
    protected void afterDatabasesClosed() throws SQLException {
        execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    }

    @Override
    protected String url() {
        return BASE_URL + (BASE_URL.contains("?") ? "&" : "?") + "currentSchema=" + schema;
    }

    @Override
    protected String expectedDialect() {
        return "postgresql";
    }

    @Test
    void nodesStartingTogetherMigrateOnce() throws Exception {
        createLegacyHistory(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
        int nodes = 4;
        var databases = new ArrayList<PooledDatabase>();
        for (int i = 0; i < nodes; i++) {
            databases.add(open());
        }
        ExecutorService executor = Executors.newFixedThreadPool(nodes);
        try {
            var start = new CountDownLatch(1);
            var futures = new ArrayList<Future<?>>();
            for (PooledDatabase database : databases) {
                futures.add(executor.submit(() -> {
                    start.await();
                    migrateAlpha(database);
                    migrateBeta(database);
                    return null;
                }));
            }
            start.countDown();
            for (Future<?> f : futures) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            executor.shutdownNow();
        }

        assertThat(history()).hasSize(14).filteredOn(row -> row.startsWith("test.")).containsExactly(
                "test.alpha V1 alpha_items", "test.alpha V2 alpha_note", "test.beta V1 beta_items");
    }

    @Test
    void theDatabaseWorksInItsOwnSchemaOnly() throws SQLException {
        var database = open();
        migrateAlpha(database);
        migrateBeta(database);

        try (Connection c = rawConnection(); Statement st = c.createStatement();
                var rs = st.executeQuery("SELECT table_name FROM information_schema.tables WHERE table_schema = '"
                        + schema + "' ORDER BY table_name")) {
            List<String> tables = new ArrayList<>();
            while (rs.next()) {
                tables.add(rs.getString(1));
            }
            assertThat(tables).containsExactly("alpha_items", "beta_items", "parley_schema_history");
        }
    }

    private static void execute(String sql) throws SQLException {
        var ds = new PGSimpleDataSource();
        ds.setURL(BASE_URL);
        try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }
}

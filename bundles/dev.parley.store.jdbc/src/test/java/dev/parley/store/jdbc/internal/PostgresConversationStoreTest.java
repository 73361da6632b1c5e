package dev.parley.store.jdbc.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
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
class PostgresConversationStoreTest extends ConversationStoreContract {
    private static final String BASE_URL = System.getenv().getOrDefault("PARLEY_TEST_PG_URL",
            "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");

    private String schema;

    @BeforeEach
    void createSchema() throws SQLException {
        schema = "parley_test_" + UUID.randomUUID().toString().replace("-", "");
        execute("CREATE SCHEMA " + schema);
    }

    @Override
    protected void afterStoresClosed() throws SQLException {
        execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
    }

    @Override
    protected Map<String, Object> storeConfig() {
        return Map.of("url", BASE_URL + (BASE_URL.contains("?") ? "&" : "?") + "currentSchema=" + schema,
                "poolSize", 5, "connectionTimeoutMs", 3000);
    }

    @Override
    protected String dataDir() {
        return null;
    }

    @Test
    void nodesStartingTogetherMigrateOnce() throws Exception {
        int nodes = 4;
        ExecutorService executor = Executors.newFixedThreadPool(nodes);
        try {
            var start = new CountDownLatch(1);
            var futures = new ArrayList<Future<JdbcConversationStore>>();
            for (int i = 0; i < nodes; i++) {
                futures.add(executor.submit(() -> {
                    start.await();
                    return open();
                }));
            }
            start.countDown();
            var stores = new ArrayList<JdbcConversationStore>();
            for (Future<JdbcConversationStore> f : futures) {
                stores.add(f.get(60, TimeUnit.SECONDS));
            }

            assertThat(appliedVersions()).containsExactlyElementsOf(STORE_VERSIONS);
            assertThat(stores).allSatisfy(s -> assertThat(s.tenant(ConversationStoreContract.TENANT).list(0, 1).total()).isZero());
        } finally {
            executor.shutdownNow();
        }
    }

    @Test
    void storeWorksInItsOwnSchemaOnly() throws SQLException {
        open();

        try (Connection c = rawConnection(); Statement st = c.createStatement();
                var rs = st.executeQuery("SELECT table_name FROM information_schema.tables WHERE table_schema = '"
                        + schema + "' ORDER BY table_name")) {
            List<String> tables = new ArrayList<>();
            while (rs.next()) {
                tables.add(rs.getString(1));
            }
            // This bundle's tables and the history; the plugin and registry tables are their bundles' own.
            assertThat(tables).containsExactly("conversations", "messages", "parley_schema_history", "router_aliases",
                    "router_claims", "router_provider_plugins", "usage_attempts", "usage_records");
        }
        try (Connection c = rawConnection(); Statement st = c.createStatement();
                var rs = st.executeQuery("SELECT data_type, character_maximum_length, is_nullable FROM "
                        + "information_schema.columns WHERE table_schema = '" + schema + "' AND table_name = 'messages' "
                        + "AND column_name = 'node_id'")) {
            assertThat(rs.next()).as("messages.node_id from V5").isTrue();
            assertThat(List.of(rs.getString(1), rs.getInt(2), rs.getString(3)))
                    .containsExactly("character varying", 200, "YES");
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

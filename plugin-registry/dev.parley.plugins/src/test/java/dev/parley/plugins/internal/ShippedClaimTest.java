package dev.parley.plugins.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.db.internal.PooledDatabase;
import dev.parley.plugins.internal.PluginStateStore.Desired;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import javax.sql.DataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The desired-state row decides who installs a shipped plugin: on embedded H2 and on the real PostgreSQL server
 * ({@code PARLEY_TEST_PG_URL}, default the local {@code test} database; fails, never skips, when it is not there),
 * each in a fresh schema, every node with a database of its own as a process has.
 */
class ShippedClaimTest {
    static final String PG_URL = System.getenv().getOrDefault("PARLEY_TEST_PG_URL",
            "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");

    private final Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);
    private String pgSchema;
    private ExecutorService pool;
    private final List<PooledDatabase> databases = new ArrayList<>();

    @AfterEach
    void cleanUp() throws SQLException {
        if (pool != null) {
            pool.shutdownNow();
        }
        databases.forEach(PooledDatabase::close);
        if (pgSchema != null) {
            execute(pgRaw(null), "DROP SCHEMA IF EXISTS " + pgSchema + " CASCADE");
        }
    }

    /** A fresh database of {@code kind}: its URL, for each node to open. */
    private String database(String kind) throws Exception {
        if (kind.equals("h2")) {
            return "jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1";
        }
        pgSchema = "parley_shipped_" + UUID.randomUUID().toString().replace("-", "");
        execute(pgRaw(null), "CREATE SCHEMA " + pgSchema);
        return PG_URL + (PG_URL.contains("?") ? "&" : "?") + "currentSchema=" + pgSchema;
    }

    /** The plugin state store of one node on the database at {@code url}. */
    private PluginStateStore node(String url) {
        var database = new PooledDatabase(url, "", "", 4, 5000);
        databases.add(database);
        return new PluginStateStore(database, TestSealers.sealer(TestSealers.newKey("k1")));
    }

    private static PGSimpleDataSource pgRaw(String schema) {
        var ds = new PGSimpleDataSource();
        ds.setURL(schema == null ? PG_URL : PG_URL + (PG_URL.contains("?") ? "&" : "?") + "currentSchema=" + schema);
        return ds;
    }

    private static void execute(DataSource ds, String sql) throws SQLException {
        try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            st.execute(sql);
            if (!c.getAutoCommit()) {
                c.commit();
            }
        }
    }

    private Desired shipped(String id, String version) {
        return new Desired(id, version, true, null, Map.of(), 1, now, ShippedSeeding.ACTOR);
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgresql"})
    void aFreshDatabaseTakesTheShippedVersionOnce(String kind) throws Exception {
        var store = node(database(kind));

        assertThat(store.claimShipped(shipped("ollama", "1.0.0"))).isTrue();
        assertThat(store.claimShipped(shipped("ollama", "1.0.0"))).isFalse();

        Desired d = store.desired("ollama").orElseThrow();
        assertThat(d.version()).isEqualTo("1.0.0");
        assertThat(d.updatedBy()).isEqualTo("distribution");
        assertThat(d.generation()).isEqualTo(1);
        assertThat(d.enabled()).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgresql"})
    void anAdminsUninstallSurvivesTheNextStartsSeeding(String kind) throws Exception {
        var store = node(database(kind));
        store.claimShipped(shipped("ollama", "1.0.0"));

        store.uninstall("ollama", 1, "1.0.0", "admin", now);

        // The next start: no desired row, but history.
        assertThat(store.uninstalled("ollama")).isTrue();
        assertThat(ShippedSeeding.decide(store.desired("ollama"), store.uninstalled("ollama"), "1.0.0"))
                .isEqualTo(ShippedSeeding.Decision.LEAVE);
        assertThat(store.claimShipped(shipped("ollama", "1.0.0"))).isFalse();
        assertThat(store.desired("ollama")).isEmpty();

        // An admin installing it again is an admin's choice like any other.
        store.putDesired(new Desired("ollama", "1.0.0", true, null, Map.of(), 1, now, "admin"), 0);
        assertThat(ShippedSeeding.decide(store.desired("ollama"), false, "2.0.0")).isEqualTo(ShippedSeeding.Decision.LEAVE);
    }

    @ParameterizedTest
    @ValueSource(strings = {"h2", "postgresql"})
    void nodesSeedingAtOnceClaimEachPluginExactlyOnce(String kind) throws Exception {
        String db = database(kind);
        int nodes = 6;
        pool = Executors.newFixedThreadPool(nodes);
        CountDownLatch go = new CountDownLatch(1);
        List<Future<Integer>> claims = new ArrayList<>();
        for (int n = 0; n < nodes; n++) {
            var store = node(db); // one store per node, one database
            claims.add(pool.submit(() -> {
                go.await();
                int won = 0;
                for (String id : List.of("anthropic", "bedrock", "gemini", "mistral", "ollama")) {
                    if (store.claimShipped(shipped(id, "1.0.0"))) {
                        won++;
                    }
                }
                return won;
            }));
        }
        go.countDown();
        int total = 0;
        for (Future<Integer> f : claims) {
            total += f.get(30, TimeUnit.SECONDS);
        }

        assertThat(total).isEqualTo(5);
        var store = node(db);
        assertThat(store.desired()).extracting(Desired::pluginId)
                .containsExactly("anthropic", "bedrock", "gemini", "mistral", "ollama");
        assertThat(store.desired()).allSatisfy(d -> assertThat(d.generation()).isEqualTo(1));
    }
}

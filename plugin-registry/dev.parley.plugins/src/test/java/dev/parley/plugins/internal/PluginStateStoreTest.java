package dev.parley.plugins.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.db.internal.PooledDatabase;
import dev.parley.plugins.internal.PluginStateStore.Desired;
import dev.parley.plugins.internal.PluginStateStore.Event;
import dev.parley.plugins.internal.PluginStateStore.NodeStatus;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The plugin tables as this bundle's migrations create them, in the real Database on embedded H2. */
class PluginStateStoreTest {
    private PooledDatabase database;
    private PluginStateStore store;
    private final Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);

    @BeforeEach
    void setUp() {
        database = new PooledDatabase("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "", "", 8, 5000);
        store = new PluginStateStore(database);
    }

    @AfterEach
    void closeDatabase() {
        database.close();
    }

    @Test
    void itsTablesAreMigratedUnderThisBundlesNameFromEveryFileItCarries() throws Exception {
        Path dir = Path.of(getClass().getClassLoader().getResource(PluginStateStore.MIGRATIONS).toURI());
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(PluginStateStore.MIGRATION_FILES).containsExactlyInAnyOrderElementsOf(
                    files.map(f -> f.getFileName().toString()).toList());
        }
        new PluginStateStore(database); // a second start applies nothing

        List<String> history = database.inTransaction("read the history", c -> {
            var rows = new ArrayList<String>();
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                    "SELECT module, version, description FROM parley_schema_history ORDER BY version")) {
                while (rs.next()) {
                    rows.add(rs.getString(1) + " V" + rs.getInt(2) + " " + rs.getString(3));
                }
            }
            return rows;
        });
        assertThat(history).containsExactly("dev.parley.plugins V3 plugin_state",
                "dev.parley.plugins V9 plugin_uninstalled");
    }

    @Test
    void databaseFailuresAreStoreFailures() {
        database.close();

        assertThatThrownBy(() -> store.desired("echo")).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.STORE_FAILURE));
        assertThatThrownBy(() -> store.putDesired(desired("echo", "1.0.0", 1), 0))
                .isInstanceOfSatisfying(ParleyException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.STORE_FAILURE));
    }

    private Desired desired(String id, String version, long generation) {
        return new Desired(id, version, true, null, Map.of("pid.a", Map.of("x", 1, "name", "n")), generation, now, "admin");
    }

    @Test
    void desiredStateRoundTripsWithItsSettings() {
        store.putDesired(desired("echo", "1.0.0", 1), 0);

        Desired read = store.desired("echo").orElseThrow();
        assertThat(read.version()).isEqualTo("1.0.0");
        assertThat(read.config()).containsEntry("pid.a", Map.of("x", 1, "name", "n"));
        assertThat(read.updatedAt()).isEqualTo(now);
        assertThat(store.desired()).extracting(Desired::pluginId).containsExactly("echo");
    }

    @Test
    void aChangeBasedOnAStaleGenerationIsAConflictAndChangesNothing() {
        Desired first = desired("echo", "1.0.0", 1);
        store.putDesired(first, 0);
        store.putDesired(first.next("1.1.0", true, "1.0.0", Map.of(), now, "admin"), 1);

        assertThatThrownBy(() -> store.putDesired(first.next("2.0.0", true, "1.0.0", Map.of(), now, "other"), 1))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT));
        assertThatThrownBy(() -> store.putDesired(desired("echo", "3.0.0", 1), 0))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT));
        assertThatThrownBy(() -> store.uninstall("echo", 1, "1.1.0", "admin", now))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT));
        assertThat(store.desired("echo").orElseThrow().version()).isEqualTo("1.1.0");
        assertThat(store.uninstalled("echo")).isFalse();

        store.uninstall("echo", 2, "1.1.0", "admin", now);
        assertThat(store.desired("echo")).isEmpty();
        assertThat(store.uninstalled("echo")).isTrue();
    }

    @Test
    void racingInstallsOfOnePluginLetExactlyOneWin() throws Exception {
        var pool = Executors.newFixedThreadPool(8);
        try {
            var start = new CountDownLatch(1);
            List<Callable<Boolean>> attempts = new java.util.ArrayList<>();
            for (int i = 0; i < 8; i++) {
                String version = "1.0." + i;
                attempts.add(() -> {
                    start.await();
                    try {
                        store.putDesired(desired("race", version, 1), 0);
                        return true;
                    } catch (ParleyException e) {
                        assertThat(e.code()).isEqualTo(ErrorCode.CONFLICT);
                        return false;
                    }
                });
            }
            List<Future<Boolean>> results = attempts.stream().map(pool::submit).toList();
            start.countDown();
            long winners = 0;
            for (Future<Boolean> f : results) {
                winners += f.get() ? 1 : 0;
            }
            assertThat(winners).isEqualTo(1);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void eachNodeKeepsOneStatusRowPerPlugin() {
        store.putStatus(new NodeStatus("node-a", "echo", "1.0.0", 1, "active", null, now));
        store.putStatus(new NodeStatus("node-b", "echo", "1.0.0", 1, "failed", "boom", now));
        store.putStatus(new NodeStatus("node-a", "echo", "1.1.0", 2, "active", null, now));

        assertThat(store.statuses()).extracting(s -> s.nodeId() + ":" + s.version() + ":" + s.state())
                .containsExactly("node-a:1.1.0:active", "node-b:1.0.0:failed");
        store.deleteStatus("node-b", "echo");
        assertThat(store.statuses()).hasSize(1);
    }

    @Test
    void eventsComeBackNewestFirstAndLimited() {
        for (int i = 0; i < 5; i++) {
            store.record(new Event(0, "echo", "node-a", "upgrade", "1.0." + i, "1.0." + (i + 1), "ok", null, (long) i, now));
        }
        store.record(new Event(0, "other", "node-a", "install", null, "1.0.0", "ok", "detail", null, now));

        List<Event> events = store.events("echo", 3);
        assertThat(events).extracting(Event::toVersion).containsExactly("1.0.5", "1.0.4", "1.0.3");
        assertThat(store.events("other", 10).get(0).durationMs()).isNull();
    }
}

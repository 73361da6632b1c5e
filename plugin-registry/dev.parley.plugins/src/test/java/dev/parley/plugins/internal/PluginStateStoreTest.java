package dev.parley.plugins.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.plugins.internal.PluginStateStore.Desired;
import dev.parley.plugins.internal.PluginStateStore.Event;
import dev.parley.plugins.internal.PluginStateStore.NodeStatus;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The plugin tables as the store's migration creates them, on embedded H2. */
class PluginStateStoreTest {
    private PluginStateStore store;
    private final Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);

    @BeforeEach
    void setUp() throws Exception {
        var h2 = new JdbcDataSource();
        h2.setURL("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1");
        try (Connection c = h2.getConnection(); Statement st = c.createStatement()) {
            String withoutComments = (migration("V3__plugin_state.sql") + "\n" + migration("V9__plugin_uninstalled.sql")).lines().filter(l -> !l.strip().startsWith("--"))
                    .reduce("", (a, b) -> a + "\n" + b);
            for (String sql : withoutComments.split(";")) {
                if (!sql.isBlank()) {
                    st.execute(sql.strip());
                }
            }
        }
        // Like the store's pool: auto-commit off, every call commits itself.
        store = new PluginStateStore(new NoAutoCommit(h2));
    }

    static String migration(String file) throws IOException {
        try (InputStream in = PluginStateStoreTest.class.getClassLoader().getResourceAsStream("db/migration/" + file)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
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

    /** Hands out connections with auto-commit off, as HikariCP does for the store. */
    record NoAutoCommit(javax.sql.DataSource delegate) implements javax.sql.DataSource {
        @Override
        public Connection getConnection() throws SQLException {
            Connection c = delegate.getConnection();
            c.setAutoCommit(false);
            return c;
        }

        @Override
        public Connection getConnection(String user, String password) throws SQLException {
            return getConnection();
        }

        @Override
        public java.io.PrintWriter getLogWriter() {
            return null;
        }

        @Override
        public void setLogWriter(java.io.PrintWriter out) {
        }

        @Override
        public void setLoginTimeout(int seconds) {
        }

        @Override
        public int getLoginTimeout() {
            return 0;
        }

        @Override
        public java.util.logging.Logger getParentLogger() {
            return java.util.logging.Logger.getGlobal();
        }

        @Override
        public <T> T unwrap(Class<T> iface) throws SQLException {
            throw new SQLException("not a wrapper");
        }

        @Override
        public boolean isWrapperFor(Class<?> iface) {
            return false;
        }
    }
}

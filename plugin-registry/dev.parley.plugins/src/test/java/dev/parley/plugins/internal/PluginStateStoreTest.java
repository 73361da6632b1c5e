package dev.parley.plugins.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.secrets.SecretSealer;
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
    private final String key = TestSealers.newKey("k1");
    private final SecretSealer sealer = TestSealers.sealer(key);
    private final Instant now = Instant.now().truncatedTo(ChronoUnit.MILLIS);

    @BeforeEach
    void setUp() {
        database = new PooledDatabase("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "", "", 8, 5000);
        store = new PluginStateStore(database, sealer);
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
        new PluginStateStore(database, sealer); // a second start applies nothing

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
                "dev.parley.plugins V9 plugin_uninstalled", "dev.parley.plugins V10 tenant_providers",
                "dev.parley.plugins V11 plugin_node_guard");
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

    @Test
    void secretSettingsAreStoredSealedAndReadBackOpen() throws Exception {
        Map<String, Map<String, Object>> config = Map.of("dev.parley.provider.openai~work", Map.of(
                ".apiKey", "sk-live-PLAIN-123", "baseUrl", "http://work:1/v1", ".tokens", List.of("t-PLAIN-1", "t-PLAIN-2"),
                "models", List.of("gpt-4o")));
        store.putDesired(desired("openai", config), 0);

        String raw = rawConfig("openai");
        assertThat(raw).doesNotContain("PLAIN").contains("parley-sealed:v1:k1:").contains("http://work:1/v1")
                .contains("gpt-4o");
        assertThat(store.desired("openai")).hasValueSatisfying(d -> assertThat(d.config()).isEqualTo(config));
        assertThat(store.resealSecrets()).isZero();
    }

    @Test
    void aSealedSettingCopiedToAnotherPluginDoesNotOpen() throws Exception {
        store.putDesired(desired("a", Map.of("pid", Map.of(".apiKey", "sk-A"))), 0);
        store.putDesired(desired("b", Map.of("pid", Map.of(".apiKey", "sk-B"))), 0);
        String sealedForA = rawConfig("a");
        database.inTransaction("copy", c -> {
            try (var ps = c.prepareStatement("UPDATE plugin_desired SET config = ? WHERE plugin_id = 'b'")) {
                ps.setString(1, sealedForA);
                return ps.executeUpdate();
            }
        });
        // It does not open for b: b's row reads without it (and a's still does).
        assertThat(store.desired("b")).hasValueSatisfying(d -> assertThat(d.config().get("pid"))
                .doesNotContainKey(".apiKey"));
        assertThat(store.desired("a")).hasValueSatisfying(d -> assertThat(d.config().get("pid"))
                .containsEntry(".apiKey", "sk-A"));
    }

    @Test
    void plainSecretsOfEarlierBuildsAreReadAndThenSealed() throws Exception {
        database.inTransaction("a row as an earlier build wrote it", c -> {
            try (var ps = c.prepareStatement("INSERT INTO plugin_desired (plugin_id, version, enabled, previous_version, "
                    + "config, generation, updated_at, updated_by) VALUES ('old', '1.0.0', TRUE, NULL, ?, 1, ?, 'admin')")) {
                ps.setString(1, "{\"pid\":{\".apiKey\":\"sk-OLD-PLAIN\",\"baseUrl\":\"http://x\"}}");
                ps.setObject(2, dev.parley.db.Sql.timestamp(now));
                return ps.executeUpdate();
            }
        });
        assertThat(store.desired("old")).hasValueSatisfying(d -> assertThat(d.config().get("pid"))
                .containsEntry(".apiKey", "sk-OLD-PLAIN"));

        assertThat(store.resealSecrets()).isEqualTo(1);
        assertThat(rawConfig("old")).doesNotContain("sk-OLD-PLAIN").contains("parley-sealed:v1:k1:");
        assertThat(store.desired("old")).hasValueSatisfying(d -> {
            assertThat(d.config().get("pid")).containsEntry(".apiKey", "sk-OLD-PLAIN").containsEntry("baseUrl", "http://x");
            assertThat(d.generation()).isEqualTo(1); // nothing about the plugin changed
        });
        assertThat(store.resealSecrets()).isZero();
    }

    @Test
    void afterAKeyRotationSecretsAreSealedAgainWithTheNewKey() throws Exception {
        store.putDesired(desired("openai", Map.of("pid", Map.of(".apiKey", "sk-ROTATE"))), 0);
        assertThat(rawConfig("openai")).contains("parley-sealed:v1:k1:");

        String newKey = TestSealers.newKey("k2");
        var rotated = new PluginStateStore(database, TestSealers.sealer(newKey, key));
        assertThat(rotated.resealSecrets()).isEqualTo(1);
        assertThat(rawConfig("openai")).contains("parley-sealed:v1:k2:").doesNotContain(":k1:");

        var withoutOldKey = new PluginStateStore(database, TestSealers.sealer(newKey));
        assertThat(withoutOldKey.desired("openai")).hasValueSatisfying(d -> assertThat(d.config().get("pid"))
                .containsEntry(".apiKey", "sk-ROTATE"));
        // A node that has only the old key cannot open it: that secret is left out, the rest of the state reads,
        // and its re-seal leaves the row alone instead of failing or dropping the secret.
        store.putDesired(desired("other", Map.of("pid", Map.of(".apiKey", "sk-OTHER", "baseUrl", "http://o"))), 0);
        assertThat(store.desired()).extracting(PluginStateStore.Desired::pluginId).containsExactly("openai", "other");
        assertThat(store.desired("openai")).hasValueSatisfying(d -> assertThat(d.config().get("pid"))
                .doesNotContainKey(".apiKey"));
        assertThat(store.desired("other")).hasValueSatisfying(d -> assertThat(d.config().get("pid"))
                .containsEntry(".apiKey", "sk-OTHER"));
        String before = rawConfig("openai");
        var oldKeyOnly = new PluginStateStore(database, TestSealers.sealer(key));
        assertThat(oldKeyOnly.resealSecrets()).isZero();
        assertThat(rawConfig("openai")).isEqualTo(before);
        assertThat(withoutOldKey.desired("openai")).hasValueSatisfying(d -> assertThat(d.config().get("pid"))
                .containsEntry(".apiKey", "sk-ROTATE"));
    }

    private PluginStateStore.Desired desired(String pluginId, Map<String, Map<String, Object>> config) {
        return new PluginStateStore.Desired(pluginId, "1.0.0", true, null, config, 1, now, "admin");
    }

    private String rawConfig(String pluginId) {
        return database.inTransaction("read the stored settings", c -> {
            try (var ps = c.prepareStatement("SELECT config FROM plugin_desired WHERE plugin_id = ?")) {
                ps.setString(1, pluginId);
                try (ResultSet rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getString(1);
                }
            }
        });
    }
}

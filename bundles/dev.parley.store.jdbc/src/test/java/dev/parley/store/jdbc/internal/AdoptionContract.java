package dev.parley.store.jdbc.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.chat.MessageStatus;
import dev.parley.api.chat.Role;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.db.internal.PooledDatabase;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * A database the store bundle migrated alone (every table, one sequence V1 to V11 in {@code parley_schema_version}) is
 * taken over by the bundles that own its tables now. The old database is built here the old way, from the real files
 * of the three bundles (on this test's class path), with a copy of the old migrator's bookkeeping; then the new code
 * starts on it: the store as the framework starts it, the plugin and registry modules through {@code migrate} with
 * their own files, as their components call it.
 */
abstract class AdoptionContract {
    record Module(String name, List<String> files) {
        String location() {
            return "db/migration/" + name + "/";
        }
    }

    static final Module STORE = new Module(StoreSchema.MODULE, StoreSchema.FILES);
    static final Module PLUGINS = new Module("dev.parley.plugins",
            List.of("V3__plugin_state.sql", "V9__plugin_uninstalled.sql"));
    static final Module REGISTRY = new Module("dev.parley.registry.s3",
            List.of("V4__plugin_registry.sql", "V8__registry_origin.sql", "V10__registry_api_range.sql"));
    private static final Pattern FILE_NAME = Pattern.compile("V(\\d+)__(\\w+)\\.sql");
    private static final Pattern STATEMENT_END = Pattern.compile(";\\s*(?:\\R|$)");
    private static final Instant OLD_START = Instant.parse("2026-02-01T08:00:00.123456Z");

    private final List<PooledDatabase> opened = new ArrayList<>();
    private final TickingClock clock = new TickingClock(Instant.parse("2026-03-01T10:00:00Z"));

    /** The JDBC URL of this test's fresh database. */
    protected abstract String url();

    protected void afterDatabasesClosed() throws Exception {
    }

    @AfterEach
    final void closeDatabases() throws Exception {
        try {
            opened.forEach(PooledDatabase::close);
        } finally {
            afterDatabasesClosed();
        }
    }

    protected abstract Connection rawConnection() throws SQLException;

    // ---- the old way ----------------------------------------------------------------------------------------------

    /** The last migration the old single-sequence migrator knew; later files exist only per module. */
    static final int LAST_OLD_VERSION = 11;

    /** What the store's migrator did: every file up to {@code lastVersion}, in version order, in one table. */
    private void migrateTheOldWay(int lastVersion) throws SQLException {
        var files = new TreeMap<Integer, String[]>();
        for (Module module : List.of(STORE, PLUGINS, REGISTRY)) {
            for (String file : module.files()) {
                var m = FILE_NAME.matcher(file);
                assertThat(m.matches()).isTrue();
                int version = Integer.parseInt(m.group(1));
                if (version <= LAST_OLD_VERSION) {
                    files.put(version, new String[] {module.location() + file, m.group(2)});
                }
            }
        }
        assertThat(files.keySet()).containsExactly(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
        try (Connection c = rawConnection(); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            st.execute("CREATE TABLE IF NOT EXISTS parley_schema_version (version INTEGER PRIMARY KEY, "
                    + "description VARCHAR(200) NOT NULL, checksum VARCHAR(64) NOT NULL, "
                    + "applied_at TIMESTAMP WITH TIME ZONE NOT NULL)");
            for (var file : files.headMap(lastVersion, true).entrySet()) {
                String script = read(getClass().getClassLoader(), file.getValue()[0]);
                for (String sql : statements(script)) {
                    st.execute(sql);
                }
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO parley_schema_version "
                        + "(version, description, checksum, applied_at) VALUES (?, ?, ?, ?)")) {
                    ps.setInt(1, file.getKey());
                    ps.setString(2, file.getValue()[1]);
                    ps.setString(3, sha256(script));
                    ps.setObject(4, OffsetDateTime.ofInstant(OLD_START.plusSeconds(file.getKey()), ZoneOffset.UTC));
                    ps.executeUpdate();
                }
            }
            c.commit();
        }
    }

    private static String read(ClassLoader loader, String path) {
        try (InputStream in = loader.getResourceAsStream(path)) {
            assertThat(in).as(path + " on the test class path").isNotNull();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8).replace("\r\n", "\n");
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static List<String> statements(String script) {
        var withoutComments = new StringBuilder();
        script.lines().filter(line -> !line.strip().startsWith("--"))
                .forEach(line -> withoutComments.append(line).append('\n'));
        return Arrays.stream(STATEMENT_END.split(withoutComments)).map(String::strip).filter(s -> !s.isEmpty())
                .toList();
    }

    private static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(
                    MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Rows the old code wrote: a conversation with a message, and a plugin an admin uninstalled. */
    private void writeTheOldWay() throws SQLException {
        try (Connection c = rawConnection(); Statement st = c.createStatement()) {
            c.setAutoCommit(false);
            String at = "TIMESTAMP WITH TIME ZONE '2026-02-01 09:00:00+00'";
            st.execute("INSERT INTO conversations (id, title, created_at, updated_at) VALUES ('conv_old', 'from before', "
                    + at + ", " + at + ")");
            st.execute("INSERT INTO messages (id, conversation_id, seq, role, content, status, created_at) VALUES "
                    + "('msg_old', 'conv_old', 1, 'USER', 'hello', 'COMPLETE', " + at + ")");
            st.execute("INSERT INTO plugin_uninstalled (plugin_id, version, uninstalled_at, uninstalled_by) VALUES "
                    + "('ollama', '1.0.0', " + at + ", 'admin')");
            c.commit();
        }
    }

    // ---- the new code -------------------------------------------------------------------------------------------

    /** One process of the new code starting: its database, the store, and the other two modules' migrations. */
    private JdbcConversationStore startNewCode() {
        return startNewCode(getClass().getClassLoader());
    }

    private JdbcConversationStore startNewCode(ClassLoader pluginFiles) {
        var database = new PooledDatabase(url(), "", "", 4, 5000);
        opened.add(database);
        var store = new JdbcConversationStore(TestConfigs.store(Map.of()), database, clock);
        database.migrate(PLUGINS.name(), pluginFiles, PLUGINS.location(), PLUGINS.files());
        database.migrate(REGISTRY.name(), getClass().getClassLoader(), REGISTRY.location(), REGISTRY.files());
        return store;
    }

    /** version → "description checksum applied_at" of the old table. */
    private Map<Integer, String> legacyRows() throws SQLException {
        var rows = new TreeMap<Integer, String>();
        try (Connection c = rawConnection(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT version, description, checksum, applied_at "
                        + "FROM parley_schema_version")) {
            while (rs.next()) {
                rows.put(rs.getInt(1), rs.getString(2) + " " + rs.getString(3) + " "
                        + rs.getObject(4, OffsetDateTime.class).toInstant());
            }
        }
        return rows;
    }

    /** "module V<version>" → "description checksum applied_at" of the history, ordered by version. */
    private Map<String, String> historyRows() throws SQLException {
        var rows = new TreeMap<String, String>(
                Comparator.comparingInt(AdoptionContract::version).thenComparing(k -> k));
        try (Connection c = rawConnection(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT module, version, description, checksum, applied_at "
                        + "FROM parley_schema_history")) {
            while (rs.next()) {
                rows.put(rs.getString(1) + " V" + rs.getInt(2), rs.getString(3) + " " + rs.getString(4) + " "
                        + rs.getObject(5, OffsetDateTime.class).toInstant());
            }
        }
        return rows;
    }

    private static final List<String> OWNERS = List.of("dev.parley.store.jdbc V1", "dev.parley.store.jdbc V2",
            "dev.parley.plugins V3", "dev.parley.registry.s3 V4", "dev.parley.store.jdbc V5",
            "dev.parley.store.jdbc V6", "dev.parley.store.jdbc V7", "dev.parley.registry.s3 V8",
            "dev.parley.plugins V9", "dev.parley.registry.s3 V10", "dev.parley.store.jdbc V11");

    /** The history after the new code started: the adopted rows, then what came after the old migrator. */
    private static final List<String> AFTER_ADOPTION = java.util.stream.Stream.concat(OWNERS.stream(),
            java.util.stream.Stream.of("dev.parley.store.jdbc V12", "dev.parley.store.jdbc V13",
                    "dev.parley.store.jdbc V14", "dev.parley.store.jdbc V15")).toList();

    /**
     * {@link #AFTER_ADOPTION}, plus on PostgreSQL the store's PostgreSQL-only module (row-level security, ADR 24), which
     * a database of any age gets at the new code's first start; in the order of {@link #historyRows}.
     */
    private List<String> afterAdoption() throws SQLException {
        try (Connection c = rawConnection()) {
            if (!c.getMetaData().getDatabaseProductName().toLowerCase(java.util.Locale.ROOT).contains("postgres")) {
                return AFTER_ADOPTION;
            }
        }
        var out = new java.util.ArrayList<>(AFTER_ADOPTION);
        out.add(1, StoreSchema.POSTGRESQL_MODULE + " V1");
        return out;
    }

    /** The version of a "module V<version>" key. */
    private static int version(String key) {
        return Integer.parseInt(key.substring(key.indexOf(" V") + 2));
    }

    @Test
    void aDatabaseTheStoreMigratedAloneIsAdoptedAndNothingRunsAgain() throws SQLException {
        migrateTheOldWay(11);
        writeTheOldWay();
        Map<Integer, String> legacy = legacyRows();

        var store = startNewCode();

        Map<String, String> history = historyRows();
        assertThat(history.keySet()).containsExactlyElementsOf(afterAdoption());
        // Each row is the old one (description, checksum, time applied) under its module: nothing was applied again.
        for (String key : OWNERS) {
            assertThat(history.get(key)).as(key).isEqualTo(legacy.get(version(key)));
        }
        assertThat(legacyRows()).isEqualTo(legacy);
        // Conversations from before tenants belong to the operator's tenant.
        assertThat(store.tenant("default").find("conv_old")).hasValueSatisfying(c -> assertThat(c.title()).isEqualTo("from before"));
        assertThat(store.tenant("default").messages("conv_old")).extracting(m -> m.content()).containsExactly("hello");
        assertThat(store.tenant("default").append("conv_old", Role.ASSISTANT, "hi", MessageStatus.COMPLETE, null).seq()).isEqualTo(2);
        assertThat(count("SELECT COUNT(*) FROM plugin_uninstalled")).isEqualTo(1);
    }

    @Test
    void aLaterStartAppliesNothingAndChangesNoHistory() throws SQLException {
        migrateTheOldWay(11);
        startNewCode();
        opened.forEach(PooledDatabase::close);
        opened.clear();
        Map<String, String> afterAdoption = historyRows();
        Map<Integer, String> legacy = legacyRows();

        startNewCode();

        assertThat(historyRows()).isEqualTo(afterAdoption);
        assertThat(legacyRows()).isEqualTo(legacy).hasSize(11);
    }

    @Test
    void aChangedFileIsStillRefusedAfterAdoption() throws SQLException {
        migrateTheOldWay(11);
        String v3 = PLUGINS.location() + "V3__plugin_state.sql";
        var changed = new ClassLoader(getClass().getClassLoader()) {
            @Override
            public InputStream getResourceAsStream(String name) {
                return name.equals(v3) ? new ByteArrayInputStream((read(getParent(), v3) + "\n-- edited\n")
                        .getBytes(StandardCharsets.UTF_8)) : super.getResourceAsStream(name);
            }
        };

        assertThatThrownBy(() -> startNewCode(changed)).isInstanceOfSatisfying(ParleyException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.STORE_FAILURE);
            assertThat(e.getMessage()).contains("dev.parley.plugins", "V3", "plugin_state");
        });
        // The store's files are unchanged: its part was adopted, and the refusal was the plugin module's alone.
        assertThat(historyRows()).containsKeys("dev.parley.store.jdbc V1", "dev.parley.plugins V3");
    }

    @Test
    void aDatabaseOfAnOlderReleaseGetsTheRestFromEachModule() throws SQLException {
        migrateTheOldWay(6);
        Map<Integer, String> legacy = legacyRows();

        var store = startNewCode();

        Map<String, String> history = historyRows();
        assertThat(history.keySet()).containsExactlyElementsOf(afterAdoption());
        for (String key : OWNERS.subList(0, 6)) {
            assertThat(history.get(key)).as(key).isEqualTo(legacy.get(version(key)));
        }
        // V7 to V11 ran now, each in its own module; the old table stays as the old code left it.
        assertThat(legacyRows()).isEqualTo(legacy).hasSize(6);
        assertThat(count("SELECT COUNT(*) FROM usage_records")).isZero();
        assertThat(count("SELECT COUNT(*) FROM plugin_uninstalled")).isZero();
        assertThat(store.tenant("default").list(0, 1).total()).isZero();
    }

    private long count(String sql) throws SQLException {
        try (Connection c = rawConnection(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}

package dev.parley.db.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.db.Sql;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.data.LongPointData;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.testing.exporter.InMemoryMetricReader;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import javax.sql.DataSource;
import org.apache.felix.hc.api.Result;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * What every database behind {@link PooledDatabase} must show: transactions, the one mapping of times and unique
 * violations, per-module migrations and the adoption of the one store migrator's history, health, pool telemetry.
 * Subclasses hand each test a fresh, empty database.
 */
abstract class DatabaseContract {
    static final String ALPHA = "test.alpha";
    static final String BETA = "test.beta";
    private static final ClassLoader LOADER = DatabaseContract.class.getClassLoader();
    private static final List<String> ALPHA_FILES = List.of("V1__alpha_items.sql", "V2__alpha_note.sql");
    private static final List<String> BETA_FILES = List.of("V1__beta_items.sql");

    private final List<PooledDatabase> opened = new ArrayList<>();

    /** The JDBC URL of this test's database. */
    protected abstract String url();

    /** {@code h2} or {@code postgresql}. */
    protected abstract String expectedDialect();

    /** Called after every database of the test is closed. */
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

    protected PooledDatabase open() {
        return open(5, 5000);
    }

    protected PooledDatabase open(int poolSize, int connectionTimeoutMs) {
        var database = new PooledDatabase(url(), "", "", poolSize, connectionTimeoutMs);
        opened.add(database);
        return database;
    }

    protected void close(PooledDatabase database) {
        opened.remove(database);
        database.close();
    }

    /** A connection that bypasses the pool, to look at or prepare what the database holds. */
    protected Connection rawConnection() throws SQLException {
        String url = url();
        DataSource ds;
        if (url.startsWith("jdbc:h2:")) {
            var h2 = new JdbcDataSource();
            h2.setURL(url);
            ds = h2;
        } else {
            var pg = new PGSimpleDataSource();
            pg.setURL(url);
            ds = pg;
        }
        return ds.getConnection();
    }

    protected static void migrateAlpha(PooledDatabase database) {
        database.migrate(ALPHA, LOADER, "db/migration/test.alpha/", ALPHA_FILES);
    }

    protected static void migrateBeta(PooledDatabase database) {
        database.migrate(BETA, LOADER, "db/migration/test.beta/", BETA_FILES);
    }

    /** The history, one "module V<version> <description>" per row, ordered. */
    protected List<String> history() throws SQLException {
        try (Connection c = rawConnection(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT module, version, description, checksum, applied_at "
                        + "FROM parley_schema_history ORDER BY module, version")) {
            var rows = new ArrayList<String>();
            while (rs.next()) {
                assertThat(rs.getString(4)).hasSize(64);
                assertThat(Sql.instant(rs, 5)).isNotNull();
                rows.add(rs.getString(1) + " V" + rs.getInt(2) + " " + rs.getString(3));
            }
            return rows;
        }
    }

    protected long count(String sql) throws SQLException {
        try (Connection c = rawConnection(); Statement st = c.createStatement(); ResultSet rs = st.executeQuery(sql)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    private static void insert(Connection c, String id, Instant at) throws SQLException {
        try (PreparedStatement ps = c.prepareStatement("INSERT INTO alpha_items (id, created_at) VALUES (?, ?)")) {
            ps.setString(1, id);
            ps.setObject(2, Sql.timestamp(at));
            ps.executeUpdate();
        }
    }

    // ---- transactions ---------------------------------------------------------------------------------------------

    @Test
    void workIsCommittedWhenItReturnsAndRolledBackWhenItThrows() throws SQLException {
        var database = open();
        migrateAlpha(database);
        Instant at = Instant.parse("2026-03-01T10:00:00Z");

        String result = database.inTransaction("add a row", c -> {
            insert(c, "kept", at);
            return "done";
        });
        assertThat(result).isEqualTo("done");
        var bug = new IllegalStateException("a bug");
        assertThatThrownBy(() -> database.inTransaction("add a row", c -> {
            insert(c, "lost-to-a-bug", at);
            throw bug;
        })).isSameAs(bug);

        assertThat(count("SELECT COUNT(*) FROM alpha_items")).isEqualTo(1);
        String kept = database.inTransaction("read the row", c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT id FROM alpha_items")) {
                rs.next();
                return rs.getString(1);
            }
        });
        assertThat(kept).isEqualTo("kept");
    }

    @Test
    void sqlFailuresBecomeStoreFailuresWithoutSqlInTheMessage() throws SQLException {
        var database = open();
        migrateAlpha(database);
        String tooLong = "x".repeat(500);

        assertThatThrownBy(() -> database.inTransaction("add the row", c -> {
            insert(c, "first", Instant.now());
            insert(c, tooLong, Instant.now());
            return null;
        })).isInstanceOfSatisfying(ParleyException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.STORE_FAILURE);
            assertThat(e.getMessage()).isEqualTo("Could not add the row").doesNotContain("INSERT", tooLong);
            assertThat(e.getCause()).isInstanceOf(SQLException.class);
        });
        // The whole transaction was rolled back, the statement that worked too.
        assertThat(count("SELECT COUNT(*) FROM alpha_items")).isZero();
    }

    @Test
    void workMayRollBackAUniqueViolationAndGoOn() throws SQLException {
        var database = open();
        migrateAlpha(database);
        Instant at = Instant.parse("2026-03-01T10:00:00Z");
        database.inTransaction("add a row", c -> {
            insert(c, "taken", at);
            return null;
        });

        boolean violated = database.inTransaction("add rows", c -> {
            boolean unique;
            try {
                insert(c, "taken", at);
                unique = false;
            } catch (SQLException e) {
                unique = Sql.isUniqueViolation(e);
                // PostgreSQL refuses every further statement of an aborted transaction.
                c.rollback();
            }
            insert(c, "next", at);
            return unique;
        });
        boolean violatedInABatch = database.inTransaction("add rows in a batch", c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "INSERT INTO alpha_items (id, created_at) VALUES (?, ?)")) {
                for (String id : List.of("batch-1", "taken", "batch-2")) {
                    ps.setString(1, id);
                    ps.setObject(2, Sql.timestamp(at));
                    ps.addBatch();
                }
                ps.executeBatch();
                return false;
            } catch (SQLException e) {
                c.rollback();
                return Sql.isUniqueViolation(e);
            }
        });

        assertThat(violated).isTrue();
        assertThat(violatedInABatch).isTrue();
        assertThat(count("SELECT COUNT(*) FROM alpha_items")).isEqualTo(2);
    }

    @Test
    void timesRoundTripInUtcToTheMicrosecond() {
        var database = open();
        migrateAlpha(database);
        Instant written = Instant.parse("2026-03-01T23:59:59.123456789Z");

        List<Instant> read = database.inTransaction("round-trip a time", c -> {
            insert(c, "t", written);
            try (Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("SELECT created_at, created_at AS again FROM alpha_items")) {
                rs.next();
                return List.of(Sql.instant(rs, 1), Sql.instant(rs, "again"));
            }
        });
        Instant nullTime = database.inTransaction("read a missing time", c -> {
            try (Statement st = c.createStatement();
                    ResultSet rs = st.executeQuery("SELECT CAST(NULL AS TIMESTAMP WITH TIME ZONE)")) {
                rs.next();
                return Sql.instant(rs, 1);
            }
        });

        assertThat(read).containsExactly(Instant.parse("2026-03-01T23:59:59.123456Z"),
                Instant.parse("2026-03-01T23:59:59.123456Z"));
        assertThat(nullTime).isNull();
    }

    @Test
    void theDataSourceIsThePoolWithAutoCommitOffAndTheDialectNamesTheDatabase() throws SQLException {
        var database = open();

        try (Connection c = database.dataSource().getConnection()) {
            assertThat(c.getAutoCommit()).isFalse();
            c.rollback();
        }
        assertThat(database.dialect()).isEqualTo(expectedDialect());
    }

    // ---- migrations -----------------------------------------------------------------------------------------------

    @Test
    void eachModuleIsMigratedOnceUnderItsOwnName() throws SQLException {
        var database = open();

        migrateAlpha(database);
        migrateBeta(database);
        List<String> first = history();
        migrateAlpha(database);
        migrateBeta(database);

        assertThat(first).containsExactly("test.alpha V1 alpha_items", "test.alpha V2 alpha_note",
                "test.beta V1 beta_items");
        assertThat(history()).isEqualTo(first);
        assertThat(count("SELECT COUNT(*) FROM alpha_items")).isZero();
        assertThat(count("SELECT COUNT(*) FROM beta_items")).isZero();
    }

    @Test
    void aLaterStartAppliesOnlyTheNewFilesAndTheDataStays() throws SQLException {
        var first = open();
        first.migrate(ALPHA, LOADER, "db/migration/test.alpha/", List.of("V1__alpha_items.sql"));
        first.inTransaction("add a row", c -> {
            insert(c, "survives", Instant.now());
            return null;
        });
        close(first);

        var second = open();
        migrateAlpha(second);

        assertThat(history()).containsExactly("test.alpha V1 alpha_items", "test.alpha V2 alpha_note");
        assertThat(count("SELECT COUNT(*) FROM alpha_items WHERE id = 'survives' AND note IS NULL")).isEqualTo(1);
    }

    @Test
    void aChangedFileIsRefusedAndNothingAfterItRuns() throws SQLException {
        var database = open();
        database.migrate(ALPHA, LOADER, "db/migration/test.alpha/", List.of("V1__alpha_items.sql"));
        var changed = new FileLoader("db/migration/test.alpha/V1__alpha_items.sql",
                "CREATE TABLE alpha_items (id VARCHAR(64) PRIMARY KEY);\n");

        assertThatThrownBy(() -> database.migrate(ALPHA, changed, "db/migration/test.alpha/", ALPHA_FILES))
                .isInstanceOfSatisfying(ParleyException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.STORE_FAILURE);
                    assertThat(e.getMessage()).contains("test.alpha", "V1", "alpha_items");
                });
        assertThat(history()).containsExactly("test.alpha V1 alpha_items");
        // The database still serves everyone else.
        migrateBeta(database);
        assertThat(database.execute().getStatus()).isEqualTo(Result.Status.OK);
    }

    @Test
    void aSchemaNewerThanTheFilesIsAcceptedAsItIs() throws SQLException {
        var database = open();
        migrateAlpha(database);

        database.migrate(ALPHA, LOADER, "db/migration/test.alpha/", List.of("V1__alpha_items.sql"));

        assertThat(history()).containsExactly("test.alpha V1 alpha_items", "test.alpha V2 alpha_note");
    }

    @Test
    void badMigrationArgumentsAreRefusedBeforeTheDatabaseIsTouched() throws SQLException {
        var database = open();

        assertThatThrownBy(() -> database.migrate(" ", LOADER, "db/migration/test.alpha/", ALPHA_FILES))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> database.migrate(ALPHA, LOADER, "db/migration/test.alpha/",
                List.of("V2__alpha_note.sql", "V1__alpha_items.sql"))).isInstanceOf(IllegalArgumentException.class);
        assertThat(count("SELECT COUNT(*) FROM information_schema.tables "
                + "WHERE LOWER(table_name) = 'parley_schema_history' AND table_schema = CURRENT_SCHEMA")).isZero();
    }

    /** Writes {@code parley_schema_version} as the one store migrator left it, with fake checksums. */
    protected void createLegacyHistory(int... versions) throws SQLException {
        try (Connection c = rawConnection(); Statement st = c.createStatement()) {
            st.execute("CREATE TABLE IF NOT EXISTS parley_schema_version (version INTEGER PRIMARY KEY, "
                    + "description VARCHAR(200) NOT NULL, checksum VARCHAR(64) NOT NULL, "
                    + "applied_at TIMESTAMP WITH TIME ZONE NOT NULL)");
            try (PreparedStatement ps = c.prepareStatement("INSERT INTO parley_schema_version (version, description, "
                    + "checksum, applied_at) VALUES (?, ?, ?, ?)")) {
                for (int v : versions) {
                    ps.setInt(1, v);
                    ps.setString(2, "legacy_" + v);
                    ps.setString(3, String.format("%064d", v));
                    ps.setObject(4, Sql.timestamp(Instant.parse("2026-01-01T00:00:00.000001Z").plusSeconds(v)));
                    ps.executeUpdate();
                }
            }
            if (!c.getAutoCommit()) {
                c.commit();
            }
        }
    }

    private List<String> legacyHistory() throws SQLException {
        try (Connection c = rawConnection(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT version, description, checksum, applied_at "
                        + "FROM parley_schema_version ORDER BY version")) {
            var rows = new ArrayList<String>();
            while (rs.next()) {
                rows.add(rs.getInt(1) + " " + rs.getString(2) + " " + rs.getString(3) + " " + Sql.instant(rs, 4));
            }
            return rows;
        }
    }

    private Map<String, String> adoptedRows() throws SQLException {
        try (Connection c = rawConnection(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT module, version, description, checksum, applied_at "
                        + "FROM parley_schema_history WHERE module NOT LIKE 'test.%' ORDER BY version")) {
            var rows = new java.util.LinkedHashMap<String, String>();
            while (rs.next()) {
                rows.put(rs.getString(1) + " V" + rs.getInt(2),
                        rs.getString(3) + " " + rs.getString(4) + " " + Sql.instant(rs, 5));
            }
            return rows;
        }
    }

    @Test
    void theOneStoreMigratorsHistoryIsAdoptedUnderEachVersionsOwnerOnceAndKept() throws SQLException {
        createLegacyHistory(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12);
        List<String> legacy = legacyHistory();
        var database = open();

        migrateBeta(database);
        Map<String, String> adopted = adoptedRows();
        migrateAlpha(database);
        migrateBeta(database);

        assertThat(adopted).containsOnlyKeys("dev.parley.store.jdbc V1", "dev.parley.store.jdbc V2",
                "dev.parley.plugins V3", "dev.parley.registry.s3 V4", "dev.parley.store.jdbc V5",
                "dev.parley.store.jdbc V6", "dev.parley.store.jdbc V7", "dev.parley.registry.s3 V8",
                "dev.parley.plugins V9", "dev.parley.registry.s3 V10", "dev.parley.store.jdbc V11");
        // Description, checksum and time of application are the old row's.
        assertThat(adopted.get("dev.parley.plugins V3")).isEqualTo(
                "legacy_3 " + String.format("%064d", 3) + " 2026-01-01T00:00:03.000001Z");
        assertThat(adoptedRows()).isEqualTo(adopted);
        assertThat(history()).filteredOn(row -> row.startsWith("test.")).containsExactly(
                "test.alpha V1 alpha_items", "test.alpha V2 alpha_note", "test.beta V1 beta_items");
        // The old table is left as it was, version 12 (which no module owns) included.
        assertThat(legacyHistory()).isEqualTo(legacy).hasSize(12);
    }

    @Test
    void modulesMigratingAtOnceOnOneDatabaseDoNotCollide() throws Exception {
        createLegacyHistory(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
        var database = open();
        ExecutorService executor = Executors.newFixedThreadPool(4);
        try {
            var start = new CountDownLatch(1);
            var futures = new ArrayList<Future<?>>();
            for (int i = 0; i < 4; i++) {
                boolean alpha = i % 2 == 0;
                futures.add(executor.submit(() -> {
                    start.await();
                    if (alpha) {
                        migrateAlpha(database);
                    } else {
                        migrateBeta(database);
                    }
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

    // ---- health, threads, telemetry ---------------------------------------------------------------------------

    @Test
    void healthCheckIsOkWhileOpenAndCriticalAfterClose() {
        var database = open();

        assertThat(database.execute().getStatus()).isEqualTo(Result.Status.OK);
        assertThat(database.execute().toString()).contains(expectedDialect());

        close(database);

        Result after = database.execute();
        assertThat(after.getStatus()).isEqualTo(Result.Status.CRITICAL);
        assertThat(after.isOk()).isFalse();
    }

    @Test
    void closingTheDatabaseLeavesNoThreadsBehind() {
        var before = liveThreads();
        var database = open();
        migrateAlpha(database);
        assertThat(poolThreads()).isNotEmpty();

        close(database);

        awaitNoPoolThreads();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(liveThreads())
                .filteredOn(t -> !before.contains(t)).extracting(Thread::getName)
                .filteredOn(name -> !name.startsWith("awaitility")).isEmpty());
    }

    @Test
    void thePoolsConnectionsMaximumAndWaitingCallersAreObserved() throws Exception {
        var reader = InMemoryMetricReader.create();
        var database = open(1, 30_000);
        database.bindOpenTelemetry(sdk(reader));
        Attributes pool = Attributes.of(PoolTelemetry.POOL_NAME, "parley");
        Attributes idle = pool.toBuilder().put(PoolTelemetry.CONNECTION_STATE, "idle").build();
        Attributes used = pool.toBuilder().put(PoolTelemetry.CONNECTION_STATE, "used").build();

        assertThat(poolValues(reader, "db.client.connection.max")).containsExactly(Map.entry(pool, 1L));
        assertThat(poolValues(reader, "db.client.connection.count")).containsOnly(Map.entry(idle, 1L), Map.entry(used, 0L));
        assertThat(poolValues(reader, "db.client.connection.pending_requests")).containsExactly(Map.entry(pool, 0L));
        assertThat(reader.collectAllMetrics()).extracting(m -> m.getInstrumentationScopeInfo().getName())
                .containsOnly("dev.parley.db");

        ExecutorService caller = Executors.newSingleThreadExecutor();
        try {
            Future<Integer> waiting;
            try (Connection held = database.dataSource().getConnection()) {
                assertThat(poolValues(reader, "db.client.connection.count"))
                        .containsOnly(Map.entry(idle, 0L), Map.entry(used, 1L));
                waiting = caller.submit(() -> database.inTransaction("wait for the connection", c -> 1));
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                        assertThat(poolValues(reader, "db.client.connection.pending_requests"))
                                .containsExactly(Map.entry(pool, 1L)));
                held.rollback();
            }
            assertThat(waiting.get(30, TimeUnit.SECONDS)).isEqualTo(1);
        } finally {
            caller.shutdownNow();
        }
        assertThat(poolValues(reader, "db.client.connection.pending_requests")).containsExactly(Map.entry(pool, 0L));
        assertThat(poolValues(reader, "db.client.connection.count")).containsOnly(Map.entry(idle, 1L), Map.entry(used, 0L));
    }

    @Test
    void withoutTheOpenTelemetryServiceThePoolIsUnobservedAndAReplacementTakesOver() {
        var first = InMemoryMetricReader.create();
        var second = InMemoryMetricReader.create();
        var firstSdk = sdk(first);
        var secondSdk = sdk(second);
        var database = open();

        database.bindOpenTelemetry(firstSdk);
        assertThat(first.collectAllMetrics()).extracting(MetricData::getName).contains("db.client.connection.count");
        // A greedy replacement: the new service is bound before the old one is unbound.
        database.bindOpenTelemetry(secondSdk);
        database.unbindOpenTelemetry(firstSdk);

        assertThat(first.collectAllMetrics()).extracting(MetricData::getName).doesNotContain("db.client.connection.count");
        assertThat(second.collectAllMetrics()).extracting(MetricData::getName).contains("db.client.connection.count");

        database.unbindOpenTelemetry(secondSdk);

        assertThat(second.collectAllMetrics()).extracting(MetricData::getName).doesNotContain("db.client.connection.count");
        assertThat(database.execute().getStatus()).isEqualTo(Result.Status.OK);
    }

    private static OpenTelemetrySdk sdk(InMemoryMetricReader reader) {
        return OpenTelemetrySdk.builder()
                .setMeterProvider(SdkMeterProvider.builder().registerMetricReader(reader).build()).build();
    }

    /** Points of an asynchronous pool instrument: attributes → value. */
    private static Map<Attributes, Long> poolValues(InMemoryMetricReader reader, String name) {
        return reader.collectAllMetrics().stream().filter(m -> m.getName().equals(name))
                .flatMap(m -> m.getLongSumData().getPoints().stream())
                .collect(Collectors.toMap(LongPointData::getAttributes, LongPointData::getValue));
    }

    private static List<Thread> liveThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).toList();
    }

    static void awaitNoPoolThreads() {
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(poolThreads()).isEmpty());
    }

    private static List<String> poolThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(name -> name.startsWith(PooledDatabase.POOL_NAME)).toList();
    }
}

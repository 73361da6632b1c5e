package dev.parley.registry.s3.internal;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.UUID;
import java.util.regex.Pattern;
import javax.sql.DataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The real PostgreSQL server (as the store tests use it: {@code PARLEY_TEST_PG_URL}, default the local server's
 * {@code test} database), in a schema of its own with the store bundle's registry migrations applied. Pools are
 * configured like the store's: auto-commit off. Fails (never skips) when the server is not there.
 */
final class RegistryDatabase implements AutoCloseable {
    static final String BASE_URL = System.getenv().getOrDefault("PARLEY_TEST_PG_URL",
            "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");
    /** The store bundle's migration, read from its jar on the test classpath: the tables are the store's. */
    private static final java.util.List<String> MIGRATIONS = java.util.List.of("db/migration/V4__plugin_registry.sql",
            "db/migration/V8__registry_origin.sql", "db/migration/V10__registry_api_range.sql");
    private static final Pattern STATEMENT_END = Pattern.compile(";\\s*(?:\\R|$)");

    private final String schema = "parley_registry_s3_" + UUID.randomUUID().toString().replace("-", "");
    private final java.util.List<HikariDataSource> pools = new java.util.ArrayList<>();

    RegistryDatabase() throws SQLException, IOException {
        execute("CREATE SCHEMA " + schema);
        try (Connection c = rawConnection(schema); Statement st = c.createStatement()) {
            for (String migration : MIGRATIONS) {
                for (String sql : migrationStatements(migration)) {
                    st.execute(sql);
                }
            }
        }
    }

    /** A new pool on this schema, as a second Parley process would have. */
    DataSource newPool() {
        var config = new HikariConfig();
        config.setJdbcUrl(url(schema));
        config.setMaximumPoolSize(4);
        config.setAutoCommit(false);
        config.setConnectionTimeout(3000);
        config.setRegisterMbeans(false);
        var pool = new HikariDataSource(config);
        pools.add(pool);
        return pool;
    }

    /** A pool on an empty schema: every registry statement fails there. */
    DataSource poolWithoutTables() throws SQLException {
        String empty = schema + "_empty";
        execute("CREATE SCHEMA " + empty);
        var config = new HikariConfig();
        config.setJdbcUrl(url(empty));
        config.setMaximumPoolSize(1);
        config.setAutoCommit(false);
        config.setRegisterMbeans(false);
        var pool = new HikariDataSource(config);
        pools.add(pool);
        return pool;
    }

    void clear() throws SQLException {
        try (Connection c = rawConnection(schema); Statement st = c.createStatement()) {
            st.execute("DELETE FROM registry_entries");
            st.execute("DELETE FROM registry_publishers");
        }
    }

    long count(String table) throws SQLException {
        try (Connection c = rawConnection(schema); Statement st = c.createStatement();
                var rs = st.executeQuery("SELECT COUNT(*) FROM " + table)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    @Override
    public void close() throws SQLException {
        pools.forEach(HikariDataSource::close);
        execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        execute("DROP SCHEMA IF EXISTS " + schema + "_empty CASCADE");
    }

    private static java.util.List<String> migrationStatements(String migration) throws IOException {
        try (InputStream in = RegistryDatabase.class.getClassLoader().getResourceAsStream(migration)) {
            if (in == null) {
                throw new IllegalStateException(migration + " is not on the test classpath (dev.parley.store.jdbc)");
            }
            var withoutComments = new StringBuilder();
            new String(in.readAllBytes(), StandardCharsets.UTF_8).lines()
                    .filter(line -> !line.strip().startsWith("--"))
                    .forEach(line -> withoutComments.append(line).append('\n'));
            return java.util.Arrays.stream(STATEMENT_END.split(withoutComments)).map(String::strip)
                    .filter(s -> !s.isEmpty()).toList();
        }
    }

    private static String url(String schema) {
        return BASE_URL + (BASE_URL.contains("?") ? "&" : "?") + "currentSchema=" + schema;
    }

    private static Connection rawConnection(String schema) throws SQLException {
        var ds = new PGSimpleDataSource();
        ds.setURL(url(schema));
        return ds.getConnection();
    }

    private static void execute(String sql) throws SQLException {
        var ds = new PGSimpleDataSource();
        ds.setURL(BASE_URL);
        try (Connection c = ds.getConnection(); Statement st = c.createStatement()) {
            st.execute(sql);
        }
    }
}

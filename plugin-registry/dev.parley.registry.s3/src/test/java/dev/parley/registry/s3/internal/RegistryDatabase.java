package dev.parley.registry.s3.internal;

import dev.parley.db.Database;
import dev.parley.db.internal.PooledDatabase;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The real PostgreSQL server (as the store tests use it: {@code PARLEY_TEST_PG_URL}, default the local server's
 * {@code test} database), in a schema of its own with this bundle's migrations applied by {@link RegistryMetadata}, as
 * the storage applies them. Each {@link #newDatabase()} is the real {@link Database}, as a Parley process has one.
 * Fails (never skips) when the server is not there.
 */
final class RegistryDatabase implements AutoCloseable {
    static final String BASE_URL = System.getenv().getOrDefault("PARLEY_TEST_PG_URL",
            "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");

    private final String schema = "parley_registry_s3_" + UUID.randomUUID().toString().replace("-", "");
    private final List<PooledDatabase> databases = new ArrayList<>();

    RegistryDatabase() throws SQLException {
        execute("CREATE SCHEMA " + schema);
        new RegistryMetadata(newDatabase());
    }

    /** A new database on this schema, as a second Parley process would have. */
    Database newDatabase() {
        return open(schema, 4);
    }

    /** A database whose registry tables are gone after migrating: every registry statement fails there. */
    Database databaseWithoutTables() throws SQLException {
        String broken = schema + "_empty";
        execute("CREATE SCHEMA " + broken);
        Database database = open(broken, 1);
        new RegistryMetadata(database);
        try (Connection c = rawConnection(broken); Statement st = c.createStatement()) {
            st.execute("DROP TABLE registry_entries");
            st.execute("DROP TABLE registry_publishers");
        }
        return database;
    }

    void clear() throws SQLException {
        try (Connection c = rawConnection(schema); Statement st = c.createStatement()) {
            st.execute("DELETE FROM registry_entries");
            st.execute("DELETE FROM registry_publishers");
            st.execute("DELETE FROM registry_plugin_owners");
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
        databases.forEach(PooledDatabase::close);
        execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        execute("DROP SCHEMA IF EXISTS " + schema + "_empty CASCADE");
    }

    private PooledDatabase open(String schema, int poolSize) {
        var database = new PooledDatabase(url(schema), "", "", poolSize, 3000);
        databases.add(database);
        return database;
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

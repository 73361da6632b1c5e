package dev.parley.server;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.Map;
import java.util.UUID;

/**
 * A schema of its own on the local PostgreSQL server (127.0.0.1:5432, trust auth, database {@code test}; override
 * with {@code PARLEY_TEST_PG_URL}) for one test, and the environment that points a Parley process at it.
 * Closing drops it.
 */
final class PostgresSchema implements AutoCloseable {
    static final String BASE_URL = System.getenv().getOrDefault("PARLEY_TEST_PG_URL",
            "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");

    final String name;

    private PostgresSchema(String name) {
        this.name = name;
    }

    static PostgresSchema create(String prefix) throws SQLException {
        var schema = new PostgresSchema(prefix + UUID.randomUUID().toString().replace("-", "").substring(0, 12));
        try (var c = connect(); var s = c.createStatement()) {
            s.execute("CREATE SCHEMA " + schema.name);
        }
        return schema;
    }

    /** A connection to the database (not bound to the schema: qualify table names with {@link #name}). */
    static Connection connect() throws SQLException {
        return DriverManager.getConnection(BASE_URL);
    }

    /** PARLEY_DB_* for a server that keeps its tables in this schema. */
    Map<String, String> serverEnv() {
        return Map.of("PARLEY_DB_URL", BASE_URL.replace("?user=postgres", "") + "?currentSchema=" + name,
                "PARLEY_DB_USER", "postgres", "PARLEY_DB_PASSWORD", "unused-with-trust-auth");
    }

    @Override
    public void close() throws SQLException {
        try (var c = connect(); var s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS " + name + " CASCADE");
        }
    }
}

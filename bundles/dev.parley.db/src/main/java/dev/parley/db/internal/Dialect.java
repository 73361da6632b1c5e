package dev.parley.db.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The few things that differ between the supported databases. The vendor {@link DataSource} is built
 * directly because, inside OSGi, {@code DriverManager} cannot see drivers that live in other bundles.
 */
enum Dialect {
    H2("h2") {
        @Override
        DataSource dataSource(String url, String user, String password) {
            var ds = new JdbcDataSource();
            ds.setURL(url);
            ds.setUser(user);
            ds.setPassword(password);
            return ds;
        }

        @Override
        void lockForMigration(Connection connection) {
            // The embedded file database is opened by one process, whose one Database serialises its migrations.
        }
    },
    POSTGRESQL("postgresql") {
        @Override
        DataSource dataSource(String url, String user, String password) {
            var ds = new PGSimpleDataSource();
            ds.setURL(url);
            if (!user.isEmpty()) {
                ds.setUser(user);
            }
            if (!password.isEmpty()) {
                ds.setPassword(password);
            }
            return ds;
        }

        @Override
        void lockForMigration(Connection connection) throws SQLException {
            // Several nodes may start together against one database: the first migrates, the others wait here
            // and then find nothing left to do. The lock ends with the transaction.
            try (PreparedStatement ps = connection.prepareStatement("SELECT pg_advisory_xact_lock(?)")) {
                ps.setLong(1, MIGRATION_LOCK_KEY);
                ps.executeQuery().close();
            }
        }
    };

    /** "parley" in ASCII: an arbitrary, fixed advisory lock key for schema migrations. */
    static final long MIGRATION_LOCK_KEY = 0x7061726c6579L;

    private final String label;

    Dialect(String label) {
        this.label = label;
    }

    abstract DataSource dataSource(String url, String user, String password);

    /** Serialises concurrent migrations; called first in the migration transaction. */
    abstract void lockForMigration(Connection connection) throws SQLException;

    String label() {
        return label;
    }

    static Dialect of(String url) {
        if (url.startsWith("jdbc:h2:")) {
            return H2;
        }
        if (url.startsWith("jdbc:postgresql:")) {
            return POSTGRESQL;
        }
        throw new ParleyException(ErrorCode.STORE_FAILURE,
                "Unsupported database URL: use jdbc:h2:... or jdbc:postgresql://...");
    }
}

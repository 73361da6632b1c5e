package dev.parley.db;

import java.sql.Connection;
import java.sql.SQLException;
import org.osgi.annotation.versioning.ConsumerType;

/** Work on one connection inside a transaction of {@link Database#inTransaction}. */
@ConsumerType
@FunctionalInterface
public interface SqlWork<T> {
    /**
     * @param connection auto-commit off; do not close it, commit it or keep it: {@link Database#inTransaction} does.
     *                   Rolling back is allowed, to go on in a fresh transaction after a statement that failed on
     *                   purpose (a unique violation, for instance; PostgreSQL refuses further statements until then).
     */
    T run(Connection connection) throws SQLException;
}

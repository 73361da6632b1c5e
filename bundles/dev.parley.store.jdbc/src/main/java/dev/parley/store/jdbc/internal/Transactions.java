package dev.parley.store.jdbc.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.sql.Connection;
import java.sql.SQLException;
import javax.sql.DataSource;
import org.slf4j.Logger;

/** One transaction on a pooled connection (auto-commit off), as every store of this bundle runs its work. */
final class Transactions {
    private Transactions() {
    }

    @FunctionalInterface
    interface SqlWork<T> {
        T run(Connection c) throws SQLException;
    }

    /**
     * Runs {@code work} in one transaction; any SQL failure becomes a STORE_FAILURE whose message is safe to show. SQL
     * text and constraint details (which may quote user content) stay out of the message and the WARN line.
     */
    static <T> T inTransaction(DataSource dataSource, Logger log, String dialect, String action, SqlWork<T> work) {
        try (Connection c = dataSource.getConnection()) {
            try {
                T result = work.run(c);
                c.commit();
                return result;
            } catch (SQLException | RuntimeException e) {
                try {
                    c.rollback();
                } catch (SQLException suppressed) {
                    e.addSuppressed(suppressed);
                }
                throw e;
            }
        } catch (SQLException e) {
            log.warn("Store operation failed action=\"{}\" dialect={} sqlState={} vendorCode={}", action, dialect,
                    e.getSQLState(), e.getErrorCode());
            log.debug("Store operation failure detail action=\"{}\"", action, e);
            throw new ParleyException(ErrorCode.STORE_FAILURE, "Could not " + action, e);
        }
    }
}

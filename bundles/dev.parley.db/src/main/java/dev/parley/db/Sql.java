package dev.parley.db;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;

/**
 * The one way Parley's tables map times and constraint violations, the same on H2 and PostgreSQL. Times are columns
 * of type {@code TIMESTAMP WITH TIME ZONE}, written and read as {@link OffsetDateTime} in UTC.
 */
public final class Sql {
    /** SQL state of a unique or primary-key violation, in PostgreSQL and H2 alike. */
    private static final String UNIQUE_VIOLATION = "23505";

    private Sql() {
    }

    /**
     * Whether {@code e} reports a unique or primary-key violation: its SQL state, or that of an exception it chains
     * (a batch may report it in a next exception or a cause), is {@code 23505}.
     */
    public static boolean isUniqueViolation(SQLException e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            for (SQLException s = t instanceof SQLException q ? q : null; s != null; s = s.getNextException()) {
                if (UNIQUE_VIOLATION.equals(s.getSQLState())) {
                    return true;
                }
            }
        }
        return false;
    }

    /**
     * The value to bind for {@code instant} ({@code PreparedStatement.setObject}): UTC, truncated to the microseconds
     * both databases keep, so that what is read back equals what was written. Null for null.
     */
    public static OffsetDateTime timestamp(Instant instant) {
        return instant == null ? null : instant.truncatedTo(ChronoUnit.MICROS).atOffset(ZoneOffset.UTC);
    }

    /** The instant in column {@code column} (1-based) of the current row; null for SQL NULL. */
    public static Instant instant(ResultSet rs, int column) throws SQLException {
        OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
        return value == null ? null : value.toInstant();
    }

    /** The instant in the column labelled {@code column} of the current row; null for SQL NULL. */
    public static Instant instant(ResultSet rs, String column) throws SQLException {
        OffsetDateTime value = rs.getObject(column, OffsetDateTime.class);
        return value == null ? null : value.toInstant();
    }
}

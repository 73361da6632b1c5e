package dev.parley.db;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.BatchUpdateException;
import java.sql.SQLException;
import java.time.Instant;
import java.time.ZoneOffset;
import org.junit.jupiter.api.Test;

class SqlTest {
    @Test
    void aUniqueViolationIsFoundInTheExceptionItsCausesAndItsNextExceptions() {
        var direct = new SQLException("duplicate", "23505");
        var batch = new BatchUpdateException("batch failed", "XX000", new int[0]);
        batch.setNextException(new SQLException("duplicate in row 2", "23505"));
        var wrapped = new SQLException("wrapped", "08000", new SQLException("duplicate", "23505"));

        assertThat(Sql.isUniqueViolation(direct)).isTrue();
        assertThat(Sql.isUniqueViolation(batch)).isTrue();
        assertThat(Sql.isUniqueViolation(wrapped)).isTrue();
        assertThat(Sql.isUniqueViolation(new SQLException("foreign key", "23503"))).isFalse();
        assertThat(Sql.isUniqueViolation(new SQLException("no state"))).isFalse();
    }

    @Test
    void timestampsAreUtcAndKeepMicroseconds() {
        Instant instant = Instant.parse("2026-03-01T10:15:30.123456789Z");

        assertThat(Sql.timestamp(instant).getOffset()).isEqualTo(ZoneOffset.UTC);
        assertThat(Sql.timestamp(instant).toInstant()).isEqualTo(Instant.parse("2026-03-01T10:15:30.123456Z"));
        assertThat(Sql.timestamp(null)).isNull();
    }
}

package dev.parley.db.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

class JdbcUrlTest {
    @Test
    void emptyUrlMeansEmbeddedH2UnderTheDataDirectory() {
        String url = PooledDatabase.jdbcUrl("", "/srv/parley");

        assertThat(url).isEqualTo("jdbc:h2:file:" + Path.of("/srv/parley/db/parley").toAbsolutePath()
                + ";LOCK_TIMEOUT=10000;DB_CLOSE_ON_EXIT=FALSE");
        assertThat(Dialect.of(url)).isEqualTo(Dialect.H2);
    }

    @Test
    void withoutDataDirectoryTheDatabaseLivesUnderDotData() {
        String url = PooledDatabase.jdbcUrl("  ", null);

        assertThat(url).startsWith("jdbc:h2:file:" + Path.of("data", "db", "parley").toAbsolutePath());
    }

    @Test
    void configuredUrlIsUsedAsGiven() {
        String pg = "jdbc:postgresql://db.internal:5432/parley?sslmode=require";

        assertThat(PooledDatabase.jdbcUrl(pg, "/ignored")).isEqualTo(pg);
        assertThat(Dialect.of(pg)).isEqualTo(Dialect.POSTGRESQL);
    }

    @Test
    void unsupportedDatabasesAreRefusedWithoutEchoingTheUrl() {
        String url = "jdbc:mysql://db/parley?password=hunter2";

        assertThatThrownBy(() -> new PooledDatabase(url, "", "", 2, 500))
                .isInstanceOfSatisfying(ParleyException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.STORE_FAILURE);
                    assertThat(e.getMessage()).doesNotContain("hunter2");
                });
    }

    @Test
    void unreachableDatabaseFailsWithinTheTimeoutAndLeavesNoPoolBehind() {
        // Port 1 on loopback: nothing listens, the connection is refused at once.
        String url = "jdbc:postgresql://127.0.0.1:1/none?user=x&password=hunter2";

        assertThatThrownBy(() -> new PooledDatabase(url, "", "", 2, 500))
                .isInstanceOfSatisfying(ParleyException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.STORE_FAILURE);
                    assertThat(e.getMessage()).doesNotContain("hunter2", "127.0.0.1");
                });
        DatabaseContract.awaitNoPoolThreads();
    }
}

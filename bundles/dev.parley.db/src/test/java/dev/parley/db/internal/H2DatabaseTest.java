package dev.parley.db.internal;

import java.nio.file.Path;
import org.junit.jupiter.api.io.TempDir;

/** The contract on the embedded default: a file database under the data directory. */
class H2DatabaseTest extends DatabaseContract {
    @TempDir
    Path dataDir;

    @Override
    protected String url() {
        return PooledDatabase.jdbcUrl("", dataDir.toString());
    }

    @Override
    protected String expectedDialect() {
        return "h2";
    }
}

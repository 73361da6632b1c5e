package dev.parley.store.jdbc.internal;

import dev.parley.db.internal.PooledDatabase;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.SQLException;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.io.TempDir;

/** Adoption of the embedded default's file database, as an upgraded server finds it in its data directory. */
class H2AdoptionTest extends AdoptionContract {
    @TempDir
    Path dataDir;

    @Override
    protected String url() {
        return PooledDatabase.jdbcUrl("", dataDir.toString());
    }

    @Override
    protected Connection rawConnection() throws SQLException {
        var ds = new JdbcDataSource();
        ds.setURL(url());
        return ds.getConnection();
    }
}

package dev.parley.modelaccess.internal;

import dev.parley.db.internal.PooledDatabase;
import java.util.UUID;

/** The contract on embedded H2, the default database. */
class H2ModelAccessTest extends ModelAccessContract {
    @Override
    protected PooledDatabase open() {
        return new PooledDatabase("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "", "", 8, 5000);
    }
}

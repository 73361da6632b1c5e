package dev.parley.audit.internal;

import dev.parley.db.internal.PooledDatabase;
import java.util.UUID;

class H2AuditTableTest extends AuditTableContract {
    @Override
    protected PooledDatabase open() {
        return new PooledDatabase("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "", "", 4, 5000);
    }
}

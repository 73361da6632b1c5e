package dev.parley.store.jdbc.internal;

import dev.parley.db.Database;
import java.util.List;

/**
 * The tables of this bundle (conversations and messages, the router's state, usage records) and the migrations that
 * make them. Each component of the bundle migrates before it touches them: they activate in any order, and after the
 * first the call applies nothing.
 */
final class StoreSchema {
    /** The module the migrations are recorded under: this bundle's symbolic name. */
    static final String MODULE = "dev.parley.store.jdbc";
    static final String LOCATION = "db/migration/" + MODULE + "/";
    /** Oldest first; add new files here too. The gaps are other bundles' versions from when this one migrated all. */
    static final List<String> FILES = List.of("V1__conversations.sql", "V2__messages.sql", "V5__message_node.sql",
            "V6__router_state.sql", "V7__usage_records.sql", "V11__usage_single_attempt.sql",
            "V12__conversation_tenant.sql", "V13__usage_cut.sql");

    private StoreSchema() {
    }

    static void migrate(Database database) {
        database.migrate(MODULE, StoreSchema.class.getClassLoader(), LOCATION, FILES);
    }
}

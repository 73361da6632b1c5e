package dev.parley.store.jdbc.internal;

import dev.parley.db.Database;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.List;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

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
            "V12__conversation_tenant.sql", "V13__usage_cut.sql", "V14__conversation_owner.sql",
            "V15__router_provider_plugins.sql");

    /** PostgreSQL only: row-level security on the tenant-scoped tables (ADR 24), a module of its own. */
    static final String POSTGRESQL_MODULE = MODULE + ".postgresql";
    static final List<String> POSTGRESQL_FILES = List.of("V1__row_level_security.sql");

    private static final Logger LOG = LoggerFactory.getLogger(StoreSchema.class);

    private StoreSchema() {
    }

    static void migrate(Database database) {
        database.migrate(MODULE, StoreSchema.class.getClassLoader(), LOCATION, FILES);
        if ("postgresql".equals(database.dialect())) {
            database.migrate(POSTGRESQL_MODULE, StoreSchema.class.getClassLoader(),
                    "db/migration/" + POSTGRESQL_MODULE + "/", POSTGRESQL_FILES);
            warnWhenExempt(database);
        }
    }

    /** Row-level security binds no superuser and no role with BYPASSRLS, however it is forced: say so. */
    private static void warnWhenExempt(Database database) {
        String exempt = database.inTransaction("read the database role", c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT current_user FROM pg_roles WHERE rolname = "
                    + "current_user AND (rolsuper OR rolbypassrls)");
                    ResultSet rs = ps.executeQuery()) {
                return rs.next() ? rs.getString(1) : null;
            }
        });
        if (exempt != null) {
            LOG.warn("event=row_level_security_bypassed role={} hint=\"the database role is a superuser or has "
                    + "BYPASSRLS, so tenant row-level security does not apply; connect as a role without them\"",
                    exempt);
        }
    }
}

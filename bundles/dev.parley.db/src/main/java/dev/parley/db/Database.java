package dev.parley.db;

import java.sql.PreparedStatement;
import java.util.List;
import java.util.Objects;
import javax.sql.DataSource;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Parley's database: one connection pool for the process, shared by every platform bundle that keeps tables in it
 * (embedded H2 by default, or PostgreSQL). A bundle migrates its own tables with {@link #migrate} before it uses them
 * and does its work through {@link #inTransaction}.
 */
@ProviderType
public interface Database {
    /**
     * Runs {@code work} in one transaction on a pooled connection: committed when {@code work} returns, rolled back
     * when it throws. Any {@link java.sql.SQLException} becomes a {@link dev.parley.api.error.ParleyException} with
     * code {@code STORE_FAILURE} and the message {@code "Could not " + action}, the SQL exception as its cause; the
     * log gets the action, SQL state and vendor code at WARN. Neither the message nor the log line carries SQL text or
     * constraint details, which may quote user content. A {@link RuntimeException} from {@code work} is rethrown as
     * it is, after the rollback.
     *
     * @param action what the work does, completing "Could not …" (e.g. {@code "append the message"})
     */
    <T> T inTransaction(String action, SqlWork<T> work);

    /** The transaction-local setting that names the tenant of a {@link #inTenantTransaction tenant transaction}. */
    String TENANT_SETTING = "parley.tenant";

    /**
     * {@link #inTransaction} for work on behalf of one tenant. On PostgreSQL the transaction first sets
     * {@value #TENANT_SETTING} to {@code tenantId} for itself only ({@code set_config(…, true)}), and the row-level
     * security policies of the tenant-scoped tables let its statements see and write that tenant's rows only: a second
     * line behind the {@code tenant_id} every such statement names. Transactions that set nothing (platform work: crash
     * recovery, usage batches, purges) stay unrestricted. The setting ends with the transaction, and also with a full
     * {@link java.sql.Connection#rollback()} inside {@code work} (a rollback to a savepoint keeps it). Embedded H2 has
     * no row-level security: there this is {@link #inTransaction}.
     *
     * @param tenantId the tenant, never blank
     * @since 1.1
     */
    default <T> T inTenantTransaction(String tenantId, String action, SqlWork<T> work) {
        if (Objects.requireNonNull(tenantId, "tenantId").isBlank()) {
            throw new IllegalArgumentException("a tenant id is required");
        }
        if (!"postgresql".equals(dialect())) {
            return inTransaction(action, work);
        }
        return inTransaction(action, c -> {
            try (PreparedStatement ps = c.prepareStatement("SELECT set_config('" + TENANT_SETTING + "', ?, true)")) {
                ps.setString(1, tenantId);
                ps.execute();
            }
            return work.run(c);
        });
    }

    /**
     * Brings the tables of {@code module} up to date: applies those of {@code files} not yet recorded for the module,
     * in order, each recorded with its checksum in {@code parley_schema_history} under ({@code module}, version).
     * Runs under the database's migration lock (on PostgreSQL an advisory lock, so nodes starting together migrate
     * once) in one transaction. Call it before using the module's tables; calling it again is cheap and applies
     * nothing.
     *
     * <p>File names look like {@code V<version>__<description>.sql}; versions increase along {@code files} and are the
     * module's own (another module may use the same numbers). A file must never change once released: an applied file
     * whose checksum differs refuses the migration (add a new version instead). Statements end with {@code ;} at the
     * end of a line; lines starting with {@code --} are comments.
     *
     * @param module    the owner of the tables, by convention the owning bundle's symbolic name
     * @param loader    where the files are, normally the owning bundle's class loader
     * @param location  the folder of the files in {@code loader}, e.g. {@code "db/migration/dev.parley.plugins/"}
     * @param files     the file names, oldest first
     * @throws dev.parley.api.error.ParleyException STORE_FAILURE when an applied file changed or the database fails
     * @throws IllegalArgumentException when a file name is malformed, a file is missing or versions do not increase
     */
    void migrate(String module, ClassLoader loader, String location, List<String> files);

    /** The database's kind: {@code h2} or {@code postgresql} (also its {@code db.system.name} in telemetry). */
    String dialect();

    /**
     * The pool itself, for code that must hand a {@link DataSource} to a library. Connections come with auto-commit
     * off; whoever takes one commits or rolls back and closes it. Prefer {@link #inTransaction}.
     */
    DataSource dataSource();
}

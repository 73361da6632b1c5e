package dev.parley.db.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * Where Parley's database is and how many connections its pool opens. The PID is the store's of old, so existing
 * configurations and the {@code PARLEY_DB_*} environment variables keep working; the store reads its {@code nodeId}
 * from the same configuration.
 */
@ObjectClassDefinition(name = "Parley database",
        description = "The database every platform bundle keeps its tables in: an embedded H2 file database by "
                + "default, or PostgreSQL.")
public @interface DatabaseConfig {
    /** The configuration PID of the database (shared with the conversation store's node id). */
    String PID = "dev.parley.store.jdbc";

    @AttributeDefinition(name = "JDBC URL", required = false,
            description = "jdbc:h2:... or jdbc:postgresql://host:port/database. Empty: an embedded H2 file "
                    + "database at <parley.data.dir>/db/parley (parley.data.dir defaults to ./data).")
    String url() default "";

    @AttributeDefinition(name = "User", required = false, description = "Database user; empty to use the URL's.")
    String user() default "";

    // DS publishes configuration properties as service properties; keys starting with a dot are private, so the
    // password is the key ".password" (method _password), never visible to other bundles.
    @AttributeDefinition(name = "Password", required = false, type = AttributeType.PASSWORD,
            description = "Database password (configuration key \".password\"). Put credentials here, not in the URL.")
    String _password() default "";

    @AttributeDefinition(name = "Pool size", description = "Most connections open at once.", min = "1")
    int poolSize() default 10;

    @AttributeDefinition(name = "Connection timeout",
            description = "Milliseconds to wait for a connection (also for the database at start-up).", min = "250")
    int connectionTimeoutMs() default 5000;
}

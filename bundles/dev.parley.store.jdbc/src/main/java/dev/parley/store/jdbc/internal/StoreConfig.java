package dev.parley.store.jdbc.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Parley JDBC store",
        description = "Where conversations and messages are kept: an embedded H2 file database by default, "
                + "or PostgreSQL.")
public @interface StoreConfig {
    /** The configuration PID of the store. */
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

    @AttributeDefinition(name = "Node id", required = false,
            description = "This process's node id (PARLEY_NODE_ID; the configuration bundle sets it, the same id as "
                    + "in plugin status). Answers this node streams are tagged with it, and crash recovery at start "
                    + "marks interrupted only this node's streaming answers (and untagged ones written before tagging "
                    + "existed), never those of another node sharing the database. Empty: answers are left untagged.")
    String nodeId() default "";
}

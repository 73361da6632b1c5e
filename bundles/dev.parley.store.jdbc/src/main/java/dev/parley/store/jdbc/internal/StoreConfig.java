package dev.parley.store.jdbc.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The conversation store's own setting. Its PID is also the database's (dev.parley.db reads url, user, .password,
 * poolSize and connectionTimeoutMs from it), so one configuration keeps configuring both, as it did when the store held
 * the pool.
 */
@ObjectClassDefinition(name = "Parley conversation store",
        description = "Conversations and messages in Parley's database (the database itself: \"Parley database\", "
                + "same PID).")
public @interface StoreConfig {
    /** The configuration PID of the store, shared with the database. */
    String PID = "dev.parley.store.jdbc";

    @AttributeDefinition(name = "Node id", required = false,
            description = "This process's node id (PARLEY_NODE_ID; the configuration bundle sets it, the same id as "
                    + "in plugin status). Answers this node streams are tagged with it, and crash recovery at start "
                    + "marks interrupted only this node's streaming answers (and untagged ones written before tagging "
                    + "existed), never those of another node sharing the database. Empty: answers are left untagged.")
    String nodeId() default "";
}

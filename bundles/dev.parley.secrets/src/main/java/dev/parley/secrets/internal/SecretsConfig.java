package dev.parley.secrets.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.AttributeType;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Parley secrets at rest",
        description = "The master key that seals provider keys and plugin secret settings before they are stored. "
                + "Keys are written <id>:<base64 of 32 random bytes>, e.g. made with "
                + "'echo \"k2026:$(openssl rand -base64 32)\"'.")
public @interface SecretsConfig {
    /** The configuration PID. */
    String PID = "dev.parley.secrets";

    // Keys starting with a dot are never copied into service properties (as the store's ".password").
    @AttributeDefinition(name = "Master key", required = false, type = AttributeType.PASSWORD,
            description = "The current master key (configuration key \".masterKey\", PARLEY_MASTER_KEY): new values "
                    + "are sealed with it. Takes precedence over the key file.")
    String _masterKey() default "";

    @AttributeDefinition(name = "Previous master keys", required = false, type = AttributeType.PASSWORD,
            description = "Keys that only open what they sealed earlier (configuration key \".previousKeys\", "
                    + "PARLEY_MASTER_KEY_PREVIOUS, comma-separated): keep a rotated-out key here until every value "
                    + "has been sealed again with the current one.")
    String[] _previousKeys() default {};

    @AttributeDefinition(name = "Master key file", required = false,
            description = "A file of key lines (PARLEY_MASTER_KEY_FILE): the first line is the current key, the "
                    + "others previous ones; blank lines and lines starting with # are ignored. Used when no master "
                    + "key is set. Neither set: <parley.data.dir>/master-key, created owner-only at the first start.")
    String masterKeyFile() default "";
}

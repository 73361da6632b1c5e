package dev.parley.logging.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Parley log levels", description = "The levels loggers start with. The admin API"
        + " (/api/v1/admin/loggers) changes them at run time, on this node, until the next start or configuration change.")
public @interface LoggingConfig {
    String PID = "dev.parley.logging";

    @AttributeDefinition(name = "Root level", required = false, description = "TRACE, DEBUG, INFO, WARN, ERROR or OFF"
            + " (any case). Empty: the level the log started with (PARLEY_LOG_LEVEL, else INFO).")
    String rootLevel() default "";

    @AttributeDefinition(name = "Logger levels", required = false, description = "Entries 'logger=LEVEL', e.g."
            + " 'dev.parley.core=DEBUG' (an entry may hold several, separated by commas). A logger named here and no"
            + " longer named after a change inherits its level again.")
    String[] levels() default {};
}

package dev.parley.core.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * The call limits of one tier of trust (factory configuration {@code dev.parley.plugin.guard.tier~<name>}): which
 * plugins are in it, and the bounds the guard applies to calls into them. The sandbox policy writes one per tier from
 * its files' {@code limits} ({@code sandbox-policy/}); a tier's bound only narrows the guard's own
 * ({@link PluginGuardConfig}), which stays the default and the ceiling.
 */
@ObjectClassDefinition(name = "Parley plugin call guard tier", description = "Call limits of the plugins of one "
        + "tier of trust; the sandbox policy writes one configuration per tier. A tier's bound applies when it is "
        + "tighter than the guard's own (PID dev.parley.plugin.guard), which is the default and the ceiling.")
public @interface GuardTierConfig {
    String PID = "dev.parley.plugin.guard.tier";

    @AttributeDefinition(name = "Name", description = "The tier's name (trusted, verified, untrusted, ...); by "
            + "default the configuration's name.")
    String name() default "";

    @AttributeDefinition(name = "Plugins", description = "Ids of the plugins placed in this tier whatever their "
            + "publisher. A plugin two tiers name gets the tier whose name sorts first.")
    String[] plugins() default {};

    @AttributeDefinition(name = "Publishers", description = "Publishers (the publisher attribute of a plugin's "
            + "Parley-Plugin header) whose plugins are in this tier; * stands for every publisher no tier names.")
    String[] publishers() default {};

    @AttributeDefinition(name = "Call timeout (ms)", description = "Longest a call into a plugin of the tier may "
            + "run; applied when it is below the guard's callTimeoutMillis. 0: the guard's.", min = "0")
    long callTimeoutMillis() default 0;

    @AttributeDefinition(name = "Calls at once per plugin", description = "How many calls may run in one plugin of "
            + "the tier at once; applied when it is below the guard's maxConcurrentCalls. 0: the guard's.", min = "0")
    int maxConcurrentCalls() default 0;
}

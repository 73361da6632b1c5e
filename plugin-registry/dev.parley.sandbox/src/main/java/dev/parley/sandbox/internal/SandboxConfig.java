package dev.parley.sandbox.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Parley plugin sandbox",
        description = "How long each node keeps the sandbox policy before reading admins' changes again, and the "
                + "limits of the bytecode scan at admission.")
public @interface SandboxConfig {
    String PID = "dev.parley.sandbox";

    @AttributeDefinition(description = "Seconds a node keeps the policy before reading it again (a change made on "
            + "another node applies here within this time; on the node that made it, at once).", min = "0")
    int cacheSeconds() default 5;

    @AttributeDefinition(description = "Most class files the scan reads in one plugin, embedded jars included; a "
            + "plugin with more is refused.", min = "1")
    int maxClasses() default 100_000;

    @AttributeDefinition(description = "Most zip entries in one plugin, embedded jars included.", min = "1")
    int maxEntries() default 200_000;

    @AttributeDefinition(description = "Most megabytes one plugin may inflate to, embedded jars included (a zip "
            + "bomb is refused when it reaches this).", min = "1")
    int maxInflatedMb() default 1024;

    @AttributeDefinition(description = "Largest class file, in kilobytes.", min = "1")
    int maxClassKb() default 8192;

    @AttributeDefinition(description = "How deep jars inside the plugin jar are read (1: the jars inside it).", min = "0")
    int maxJarDepth() default 2;
}

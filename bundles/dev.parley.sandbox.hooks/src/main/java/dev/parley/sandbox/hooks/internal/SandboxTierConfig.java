package dev.parley.sandbox.hooks.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/**
 * One tier of trust (factory configuration {@code dev.parley.sandbox.hooks.tier~<name>}): the plugins in it and what they
 * may use, the same lists as {@link SandboxConfig}. A list a tier leaves out has the built-in default (not the value
 * of {@code dev.parley.sandbox.hooks}), unless the tier narrows the defaults. The sandbox policy writes one
 * configuration per tier from its files (plugins, publishers, imports, {@code runtime.enforce}), narrowing the
 * defaults.
 */
@ObjectClassDefinition(name = "Parley plugin sandbox tier",
        description = "What the plugins of one tier may wire to, see and offer (ADR 29); one configuration per tier.")
public @interface SandboxTierConfig {
    String PID = "dev.parley.sandbox.hooks.tier";

    @AttributeDefinition(name = "Name", description = "The tier's name (trusted, verified, untrusted, ...); by "
            + "default the configuration's name.")
    String name() default "";

    @AttributeDefinition(name = "Plugins", description = "Ids of the plugins in this tier. A plugin named by two "
            + "tiers gets the one whose name sorts first, and an ERROR says so.")
    String[] plugins() default {};

    @AttributeDefinition(name = "Publishers", description = "Publishers (the publisher attribute of a plugin's "
            + "Parley-Plugin header) whose plugins are in this tier, unless a tier names the plugin's id; * stands "
            + "for every publisher no tier names.")
    String[] publishers() default {};

    @AttributeDefinition(name = "Narrows the defaults", description = "Whether this tier's packages only narrow "
            + "those of dev.parley.sandbox.hooks (a package must be allowed by both) and its services are those of "
            + "dev.parley.sandbox.hooks, instead of its own lists replacing them. The sandbox policy writes its tiers "
            + "so: the policy's imports narrow what the framework lets any plugin wire to.")
    boolean narrowsDefaults() default false;

    @AttributeDefinition(name = "Allowed packages")
    String[] allowedPackages() default {"dev.parley.api.*", "org.slf4j.*", "org.osgi.framework",
        "org.osgi.service.component", "org.osgi.service.log", "java.*"};

    @AttributeDefinition(name = "Allowed JDK packages")
    String[] jdkPackages() default {"javax.*", "org.ietf.jgss", "org.w3c.dom.*", "org.xml.sax.*"};

    @AttributeDefinition(name = "Visible services")
    String[] visibleServices() default {"dev.parley.api.telemetry.TraceHeaders", "org.osgi.service.condition.Condition",
        "org.osgi.service.log.LoggerFactory", "org.osgi.service.log.LogService"};

    @AttributeDefinition(name = "Provided services")
    String[] providedServices() default {"dev.parley.api.llm.ChatModelProvider",
        "dev.parley.api.embedding.EmbeddingProvider"};

    @AttributeDefinition(name = "Enforce", description = "What the run-time checks woven into plugin classes do with "
            + "a call the plugin's Parley-Permissions do not cover (exit, process, environment, undeclared hosts, "
            + "files outside its grants, threads beyond its grant, reflection that breaks encapsulation): refuse it "
            + "(SecurityException), or report it (log once per plugin and rule, count it, let it run).",
            options = {@Option(label = "refuse", value = "refuse"), @Option(label = "report", value = "report")})
    String enforce() default "refuse";
}

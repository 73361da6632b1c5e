package dev.parley.sandbox.hooks.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.osgi.service.metatype.annotations.Option;

/**
 * What every plugin bundle may use unless a tier ({@link SandboxTierConfig}) names it. Each list is an allow-list:
 * what it does not name, a plugin does not get. Entries are names, {@code name.*} (the name and everything under it)
 * or {@code *}.
 */
@ObjectClassDefinition(name = "Parley plugin sandbox",
        description = "What plugin bundles may wire to, see and offer in the framework (ADR 29). A plugin in a tier "
                + "(factory configuration dev.parley.sandbox.hooks.tier) gets that tier's lists instead.")
public @interface SandboxConfig {
    String PID = "dev.parley.sandbox.hooks";

    @AttributeDefinition(name = "Allowed packages", description = "Packages a plugin may import from any bundle "
            + "that is not a plugin (a plugin never wires to another plugin). Default: the Parley API, SLF4J, the "
            + "OSGi packages Declarative Services components use (org.osgi.framework for an injected BundleContext, "
            + "org.osgi.service.component, org.osgi.service.log) and java.*.")
    String[] allowedPackages() default {"dev.parley.api.*", "org.slf4j.*", "org.osgi.framework",
        "org.osgi.service.component", "org.osgi.service.log", "java.*"};

    @AttributeDefinition(name = "Allowed JDK packages", description = "Packages a plugin may import only from the "
            + "system bundle, that is from the JDK (TLS, crypto, XML). sun.misc (Unsafe) is not among them: an "
            + "optional import of it is left unwired.")
    String[] jdkPackages() default {"javax.*", "org.ietf.jgss", "org.w3c.dom.*", "org.xml.sax.*"};

    @AttributeDefinition(name = "Visible services", description = "Service interfaces a plugin may find among the "
            + "platform's services; a registration is visible only if every interface it is registered under is "
            + "listed. Everything else (the database, secrets, Configuration Admin, the plugin runtime, identity and "
            + "admin services, the component runtime, Event Admin) stays hidden. A plugin always sees its own.")
    String[] visibleServices() default {"dev.parley.api.telemetry.TraceHeaders", "org.osgi.service.condition.Condition",
        "org.osgi.service.log.LoggerFactory", "org.osgi.service.log.LogService"};

    @AttributeDefinition(name = "Provided services", description = "Service interfaces a plugin's registrations may "
            + "be seen under by other bundles; a plugin's registration under anything else (an authenticator, a "
            + "servlet filter, an event handler, a hook) is seen only by the plugin itself.")
    String[] providedServices() default {"dev.parley.api.llm.ChatModelProvider",
        "dev.parley.api.embedding.EmbeddingProvider"};

    @AttributeDefinition(name = "Enforce", description = "What the run-time checks woven into plugin classes do with "
            + "a call the plugin's Parley-Permissions do not cover (exit, process, environment, undeclared hosts, "
            + "files outside its grants, threads beyond its grant, reflection that breaks encapsulation): refuse it "
            + "(SecurityException), or report it (log once per plugin and rule, count it, let it run).",
            options = {@Option(label = "refuse", value = "refuse"), @Option(label = "report", value = "report")})
    String enforce() default "refuse";
}

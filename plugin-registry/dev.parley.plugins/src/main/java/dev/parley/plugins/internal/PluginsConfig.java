package dev.parley.plugins.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Parley plugins",
        description = "How this node installs, upgrades and reconciles plugins from the registry.")
public @interface PluginsConfig {
    String PID = "dev.parley.plugins";

    @AttributeDefinition(description = "This node's name in per-node plugin status. Set by the configuration bundle "
            + "to the process's one node id (PARLEY_NODE_ID, else a name generated once and kept in the data "
            + "directory's node-id file), the same id the store tags streaming answers with; required.")
    String nodeId() default "";

    @AttributeDefinition(description = "Seconds between two reconciliations of this node with the desired state.", min = "1")
    int reconcileIntervalSeconds() default 5;

    @AttributeDefinition(description = "Longest wait, in seconds, for a new plugin version's components to come up "
            + "before the step is rolled back.", min = "1")
    int healthGateTimeoutSeconds() default 15;

    @AttributeDefinition(description = "Seconds after which a reconcile step that failed on this node (e.g. the "
            + "registry storage was unreachable) is tried again.", min = "1")
    int retryFailedSeconds() default 30;

    @AttributeDefinition(description = "Start level of plugin bundles (providers run at 5, so the web front ends stop "
            + "and drain before them on shutdown).", min = "1")
    int startLevel() default 5;

    @AttributeDefinition(description = "Starts of a plugin in a row that failed (its activation or health gate) or "
            + "ended with the server (a crash, a kill or an exit while it was starting or in its probation) after which "
            + "it stays installed but disabled on this node, with the reason, until an admin enables it again. "
            + "Environment: PARLEY_PLUGIN_MAX_FAILED_STARTS.", min = "1")
    int maxFailedStarts() default 3;

    @AttributeDefinition(description = "Seconds a plugin must stay up after passing its health gate before its start "
            + "counts as healthy (the failed-start count starts over); a server that ends within them counts as a "
            + "crashed start. Environment: PARLEY_PLUGIN_START_PROBATION_SECONDS.", min = "1")
    int startProbationSeconds() default 30;

    @AttributeDefinition(description = "Which of the plugins the server ships are published to the registry and "
            + "installed at start (PARLEY_SHIPPED_PLUGINS): 'all', 'none', or plugin ids separated by commas. A plugin "
            + "an admin has installed, changed or uninstalled is never touched.")
    String shippedPlugins() default "all";
}

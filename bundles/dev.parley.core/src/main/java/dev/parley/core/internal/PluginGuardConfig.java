package dev.parley.core.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

@ObjectClassDefinition(name = "Parley plugin call guard", description = "Bounds of every call core makes into a "
        + "provider plugin's code (model lists, ids, token estimates, the start of an answer or an embedding): a "
        + "timeout, a limit on calls at once per plugin, and when a plugin that keeps failing or timing out is "
        + "quarantined (stopped on this node until an admin enables it again). Streams after their start are bounded "
        + "by the router's first-token and answer timeouts.")
public @interface PluginGuardConfig {
    /** The configuration PID of the guard. */
    String PID = "dev.parley.plugin.guard";

    @AttributeDefinition(name = "Call timeout (ms)", description = "Longest a call into plugin code may run before "
            + "core stops waiting for it: the caller gets its answer without it (the last known model list, the "
            + "default token estimate, or the next target of the route), and the call counts as timed out. The "
            + "default and the ceiling: a plugin's tier (dev.parley.plugin.guard.tier, written from the sandbox "
            + "policy's limits.callTimeoutMs) applies a shorter one. Environment: PARLEY_PLUGIN_CALL_TIMEOUT_MS.",
            min = "1")
    long callTimeoutMillis() default 5000;

    @AttributeDefinition(name = "Calls at once per plugin", description = "How many calls may run in one plugin's "
            + "code at the same time (each on a thread of the plugin's own, never on the caller's); more are refused "
            + "at once as overloaded, and the router falls back. The default and the ceiling: a plugin's tier "
            + "(dev.parley.plugin.guard.tier, from the sandbox policy's limits.maxConcurrentCalls) applies a lower "
            + "one. Environment: PARLEY_PLUGIN_MAX_CONCURRENT_CALLS.",
            min = "1")
    int maxConcurrentCalls() default 32;

    @AttributeDefinition(name = "Model list refresh (ms)", description = "How old a provider's model list may be "
            + "before core asks the provider again. 0: ask at every use.", min = "0")
    long modelsRefreshMillis() default 1000;

    @AttributeDefinition(name = "Model list wait (ms)", description = "How long a request waits for a provider's "
            + "fresh model list; then it uses the last list the provider gave (none, if it never answered).",
            min = "0")
    long modelsWaitMillis() default 200;

    @AttributeDefinition(name = "Embedding answer timeout (ms)", description = "Longest an embedding provider may "
            + "take to answer one batch; then the request fails with upstream-timeout. 0: no limit.", min = "0")
    long embedTimeoutMillis() default 120000;

    @AttributeDefinition(name = "Quarantine", description = "Whether a plugin that keeps failing or timing out is "
            + "quarantined. Off: it is only logged. Environment: PARLEY_PLUGIN_QUARANTINE.")
    boolean quarantine() default true;

    @AttributeDefinition(name = "Quarantine after failures", description = "Failed calls (an exception thrown from "
            + "plugin code, or a call past the call timeout) within the window that quarantine the plugin, when they "
            + "are also at least the failure rate of its calls.", min = "1")
    int quarantineFailures() default 5;

    @AttributeDefinition(name = "Quarantine failure rate (%)", description = "Share of the plugin's calls within the "
            + "window that must have failed.", min = "1", max = "100")
    int quarantineFailureRatePercent() default 50;

    @AttributeDefinition(name = "Quarantine window (s)", description = "How far back failures and calls are "
            + "counted.", min = "1")
    int quarantineWindowSeconds() default 60;

    @AttributeDefinition(name = "Quarantine a stuck call after (s)", description = "A call into plugin code that "
            + "has not returned after this long quarantines the plugin at once. 0: never for that alone.", min = "0")
    int quarantineStuckSeconds() default 30;
}

package dev.parley.api.plugin;

/**
 * Event Admin topics and properties between core, which calls into plugins and decides when one must stop, and the
 * plugin runtime, which starts and stops plugin bundles. Core posts {@link #QUARANTINE} when a plugin keeps failing or
 * timing out in calls core makes into it; the runtime stops that plugin on the node that posted it, records the
 * reason and keeps it stopped there until an admin enables it again.
 *
 * @since 1.1 (package {@code dev.parley.api.plugin} 1.1.0)
 */
public final class PluginGuardEvents {
    /** A plugin is quarantined on this node: stop it and keep it stopped, with {@link #REASON}. */
    public static final String QUARANTINE = "dev/parley/plugin/QUARANTINE";

    /** The plugin's id (its {@value PluginInfo#HEADER} id, or its bundle's symbolic name when it has none). */
    public static final String PLUGIN_ID = "pluginId";
    /** The id of the bundle whose services misbehaved ({@code Long}). */
    public static final String BUNDLE_ID = "bundleId";
    /** Why, in words an admin reads: which call, how often it failed or how long it did not return. */
    public static final String REASON = "reason";

    private PluginGuardEvents() {
    }
}

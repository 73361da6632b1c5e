package dev.parley.modelaccess.internal;

/** Which plugin (its {@code Parley-Plugin} id) a running provider id belongs to. */
@FunctionalInterface
interface ProviderPlugins {
    /** The plugin id of {@code providerId}; null when no running provider has that id or its bundle is no plugin. */
    String pluginOf(String providerId);
}

/**
 * Plugin metadata: the Parley-Plugin manifest header and what it declares; 1.1: {@link PluginGuardEvents}, the events
 * between core's call guard and the plugin runtime (quarantine), and {@code PluginInfo.LOCATION_PREFIX}.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package dev.parley.api.plugin;

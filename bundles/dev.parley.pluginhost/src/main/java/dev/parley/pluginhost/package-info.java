/**
 * The out-of-process tier (ADR 31), platform-internal: the plugin runtime and the tests run a plugin in a plugin-host
 * JVM by installing the stand-in bundle {@link dev.parley.pluginhost.PluginHosts#standIn} makes from the plugin's jar.
 */
@Export
@Version("1.2.0")
package dev.parley.pluginhost;

import org.osgi.annotation.bundle.Export;
import org.osgi.annotation.versioning.Version;

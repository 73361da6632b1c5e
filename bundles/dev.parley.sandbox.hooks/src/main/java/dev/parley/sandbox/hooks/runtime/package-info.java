/**
 * What the sandbox weaves into plugin classes (ADR 30): {@link dev.parley.sandbox.hooks.runtime.PluginChecks}, the
 * static checks that replace or precede calls to the JDK's exit, process, environment, network, file, thread and
 * reflection APIs in classes a plugin's class loader defines, and the check at each turn of a loop that ends a
 * stopped plugin's code ({@link dev.parley.sandbox.hooks.runtime.PluginStopped}). Woven classes reach this package
 * through a dynamic import the weaving hook adds; plugin authors never call it (a call made directly checks the same
 * things).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package dev.parley.sandbox.hooks.runtime;

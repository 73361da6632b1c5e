/** Plugin metadata: the Parley-Plugin manifest header and what it declares. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package dev.parley.api.plugin;

/**
 * The plugin registry as the runtime and the tools see it: published plugin versions, their metadata and
 * artifacts, the publishers they are signed by, and how a plugin jar is described and verified.
 * Platform-internal: plugins never import this package.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.2.0")
package dev.parley.registry;

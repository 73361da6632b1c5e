/**
 * What the plugin sandbox tells the platform about a bundle (ADR 29): whether the framework treats it as a plugin,
 * and what the sandbox refused it. Implemented by this bundle; used by the plugin runtime, never by plugins (they
 * cannot see the service).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package dev.parley.sandbox.hooks;

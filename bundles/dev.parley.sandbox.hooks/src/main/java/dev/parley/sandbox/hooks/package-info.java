/**
 * What the plugin sandbox tells the platform about a bundle (ADR 29): whether the framework treats it as a plugin,
 * what the sandbox refused it, and how many of its calls the run-time checks refused (1.1), and which of its configurations are in force (1.2). Implemented by this bundle; used by the plugin runtime, never by plugins (they
 * cannot see the service).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.2.0")
package dev.parley.sandbox.hooks;

/**
 * Usage records: one per model request (a turn, a completion, a message), saying who asked for what, which provider
 * answered after which attempts, the tokens and the cost. Core writes them; the usage API and reports read them.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("2.0.0")
package dev.parley.api.usage;

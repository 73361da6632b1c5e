/**
 * Usage records: one per model request (a turn, a completion, a message), saying who asked for what, which provider
 * answered after which attempts, the tokens and the cost. Core writes them; the usage API and reports read them.
 *
 * <p>2.1: {@link dev.parley.api.usage.UsageRecord#cut()}: the tokens of a stream cut before the provider reported its
 * usage are what Parley counted of what arrived.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("2.1.0")
package dev.parley.api.usage;

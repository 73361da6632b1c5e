/**
 * Telemetry a plugin may take part in without depending on a telemetry library: today, carrying the current trace
 * to the servers it calls.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package dev.parley.api.telemetry;

/**
 * Parley's one database, for the platform bundles that keep tables in it: the {@link dev.parley.db.Database} service
 * (one transaction per call, each bundle's schema migrations under the bundle's own module name) and {@link
 * dev.parley.db.Sql}, the one way to map times and constraint violations. Implemented by {@code dev.parley.db} only;
 * plugins do not use it.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package dev.parley.db;

/**
 * Parley's one database, for the platform bundles that keep tables in it: the {@link dev.parley.db.Database} service
 * (one transaction per call, each bundle's schema migrations under the bundle's own module name) and {@link
 * dev.parley.db.Sql}, the one way to map times and constraint violations. Implemented by {@code dev.parley.db} only;
 * plugins do not use it.
 *
 * <p>1.1: {@link dev.parley.db.Database#inTenantTransaction}: transactions on behalf of one tenant, which PostgreSQL's
 * row-level security confines to that tenant's rows.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package dev.parley.db;

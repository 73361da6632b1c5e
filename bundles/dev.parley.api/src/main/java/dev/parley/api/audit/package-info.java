/**
 * The audit trail: an append-only record of who did what (sign-ins and their failures, API keys, roles and tenants,
 * plugins, the router and policies), written by the bundles that do it through {@link dev.parley.api.audit.AuditLog}.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package dev.parley.api.audit;

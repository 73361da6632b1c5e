/**
 * Who is calling: a verified {@link dev.parley.api.identity.Principal} (subject, tenant, roles, how it signed in),
 * produced at the edge by a {@link dev.parley.api.identity.BearerAuthenticator} from a bearer credential (Parley's
 * own access tokens, an organisation's OIDC tokens, API keys) and checked again in core for every operation.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.3.0")
package dev.parley.api.identity;

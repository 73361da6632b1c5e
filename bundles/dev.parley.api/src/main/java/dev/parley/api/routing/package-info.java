/**
 * The model router's admin view and its persisted state. {@link dev.parley.api.routing.ModelRoutingAdmin} is what an
 * admin front end calls (list providers, breaker states, aliases, claims and prices; change aliases and claims);
 * {@link dev.parley.api.routing.RouterStateStore} is where the router keeps the claims and the admin's aliases so that
 * they survive restarts and are shared by every node on one database; {@link dev.parley.api.routing.ModelAccess}
 * (1.1) says which models each tenant may use; {@link dev.parley.api.routing.ProviderView#owner()} (1.2) names the
 * tenant whose own instance a provider is; {@code RouterStateStore.providerPlugins} (1.3) keeps which plugin each
 * provider id belongs to, and {@link dev.parley.api.routing.ProviderView#plugin()} (1.3) shows it. All are implemented by platform bundles (core, the store, model
 * access), never by plugins.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.3.0")
package dev.parley.api.routing;

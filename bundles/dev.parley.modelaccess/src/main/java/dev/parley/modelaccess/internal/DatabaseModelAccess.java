package dev.parley.modelaccess.internal;

import dev.parley.api.embedding.EmbeddingProvider;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Permission;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.TenantDirectory;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.routing.ModelAccess;
import dev.parley.api.routing.ModelRoutingAdmin;
import dev.parley.api.routing.ProviderView;
import dev.parley.db.Database;
import dev.parley.web.rest.admin.AdminAudit;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventAdmin;
import org.osgi.service.event.EventConstants;
import org.osgi.service.event.EventHandler;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link ModelAccess} over Parley's database, and the operations of the two admin APIs. Views come from a per-node
 * {@link AccessCache}; the provider id → plugin id map is the router's (which plugin each provider id it serves belongs
 * to), so a plugin's rule covers every instance of it.
 *
 * <p>Also an {@link EventHandler} of {@link ModelAccess#CHANGED}: a change this node learns of drops its cache.
 */
@Component(service = { ModelAccess.class, DatabaseModelAccess.class, EventHandler.class },
        configurationPid = ModelAccessConfig.PID,
        property = EventConstants.EVENT_TOPIC + "=" + ModelAccess.CHANGED)
@Designate(ocd = ModelAccessConfig.class)
public final class DatabaseModelAccess implements ModelAccess, EventHandler {
    static final Duration RETRY_WHEN_UNAVAILABLE = Duration.ofSeconds(5);
    static final String ALL_TENANTS = "*";
    private static final Logger LOG = LoggerFactory.getLogger(DatabaseModelAccess.class);


    private final AccessStore store;
    private final AccessCache cache;
    private final Clock clock;
    /** Provider id → plugin id, rebuilt when a provider service comes or goes and on a miss; read per request. */
    private volatile Map<String, String> pluginByProvider = Map.of();
    /** Every provider id the router listed at the last rebuild, those of no plugin included. */
    private volatile Set<String> knownProviders = Set.of();
    /** A provider service came or went since the last rebuild. */
    private volatile boolean stale = true;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile EventAdmin eventAdmin;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile TenantDirectory tenants;

    /**
     * The router: which plugin a provider id belongs to when bundles of two plugins register it (ADR 29). Only that
     * plugin's registrations serve, so only its rule may decide who uses the id's models.
     */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ModelRoutingAdmin routing;

    @Activate
    public DatabaseModelAccess(@Reference Database database, ModelAccessConfig config) {
        this(new AccessStore(database), config, Clock.systemUTC(), System::nanoTime);
    }

    DatabaseModelAccess(AccessStore store, ModelAccessConfig config, Clock clock, LongSupplier ticker) {
        this.store = store;
        this.clock = clock;
        this.cache = new AccessCache(TimeUnit.SECONDS.toNanos(Math.max(0, config.cacheSeconds())),
                Math.max(100, config.cacheMaxTenants()), ticker, store::pluginRules, store::tenantSettings,
                this::pluginOf);
    }

    // --- ModelAccess ----------------------------------------------------------------------------------------------

    @Override
    public TenantModels forTenant(String tenantId) {
        try {
            return cache.get(tenantId);
        } catch (ParleyException e) {
            LOG.warn("model access could not be read tenant={}: {}", tenantId, e.getMessage());
            throw new ParleyException(ErrorCode.UNAVAILABLE, "Which models this tenant may use cannot be read "
                    + "right now; try again shortly.", RETRY_WHEN_UNAVAILABLE, e);
        }
    }

    String pluginOf(String providerId) {
        if (stale || providerId != null && !knownProviders.contains(providerId)
                && !pluginByProvider.containsKey(providerId)) {
            // The router registers a provider on its plugin's thread, after the service event that marked this stale:
            // an id it had not listed yet is looked up again, at once, rather than left without its plugin.
            rebuild();
        }
        return pluginByProvider.get(providerId);
    }

    // --- providers and their plugins ------------------------------------------------------------------------------

    /*
     * Provider services are bound by reference only: this bundle never calls into a plugin (a provider's id() that
     * blocks would hold the bind, outside the plugin call guard, ADR 28), and does not get the service (which would
     * activate the plugin's component on its behalf). Which provider id belongs to which plugin is the router's
     * word: it read the id once, through the guard, and knows which plugin the id is bound to (ADR 29).
     */
    @Reference(service = ChatModelProvider.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY, unbind = "providerLeft")
    void providerCame(ServiceReference<ChatModelProvider> ref) {
        stale = true;
    }

    void providerLeft(ServiceReference<ChatModelProvider> ref) {
        stale = true;
    }

    @Reference(service = EmbeddingProvider.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY,
            unbind = "embeddingProviderLeft")
    void embeddingProviderCame(ServiceReference<EmbeddingProvider> ref) {
        stale = true;
    }

    void embeddingProviderLeft(ServiceReference<EmbeddingProvider> ref) {
        stale = true;
    }

    private synchronized void rebuild() {
        stale = false;
        Map<String, String> plugins = new TreeMap<>();
        Set<String> known = new TreeSet<>();
        ModelRoutingAdmin router = routing;
        if (router != null) {
            for (ProviderView p : router.view().providers()) {
                known.add(p.id());
                // "bundle:<symbolic name>": a platform bundle's provider, which no plugin rule covers.
                if (p.plugin() != null && !p.plugin().startsWith("bundle:")) {
                    plugins.put(p.id(), p.plugin());
                }
            }
        }
        pluginByProvider = Map.copyOf(plugins);
        knownProviders = Set.copyOf(known);
    }

    /** Installed plugins (of running providers) and their provider ids. */
    Map<String, Set<String>> installedPlugins() {
        if (stale) {
            rebuild();
        }
        Map<String, Set<String>> out = new TreeMap<>();
        pluginByProvider.forEach((provider, plugin) -> out.computeIfAbsent(plugin, k -> new TreeSet<>()).add(provider));
        return out;
    }

    // --- Event Admin ----------------------------------------------------------------------------------------------

    @Override
    public void handleEvent(Event event) {
        Object tenant = event.getProperty(TENANT);
        if (tenant == null || ALL_TENANTS.equals(tenant)) {
            cache.invalidateAll();
        } else {
            cache.invalidate(String.valueOf(tenant));
        }
    }

    private void changed(String tenant) {
        if (ALL_TENANTS.equals(tenant)) {
            cache.invalidateAll();
        } else {
            cache.invalidate(tenant);
        }
        EventAdmin admin = eventAdmin;
        if (admin != null) {
            try {
                admin.postEvent(new Event(CHANGED, Map.of(TENANT, tenant)));
            } catch (RuntimeException e) {
                LOG.debug("posting the model access change failed", e);
            }
        }
    }

    // --- the admin APIs -------------------------------------------------------------------------------------------

    /**
     * The tenant whose models {@code actor} acts on: its own, or (for the operator tenant's admins) the one it names,
     * which must exist.
     */
    String tenantFor(Principal actor, String requested) {
        TenantDirectory directory = tenants;
        return AdminAudit.tenantFor(actor, requested, Permission.MODELS_ADMIN, "models",
                t -> directory == null || directory.exists(t));
    }

    /** Refuses a tenant the tenant directory does not know (without a directory, any well-formed id is taken). */
    void requireTenant(String tenantId, String param) {
        TenantDirectory directory = tenants;
        if (directory != null && !directory.exists(tenantId)) {
            throw new ParleyException(ErrorCode.NOT_FOUND, "No tenant '" + AccessRules.shorten(tenantId) + "'.",
                    null, null, param);
        }
    }

    /** The tenant's settings as stored (not cached). */
    TenantSettings settings(String tenantId) {
        return store.tenantSettings(tenantId);
    }

    /** What the tenant's admin sees: its settings and the plugins the operator keeps from it. */
    TenantView view(String tenantId) {
        return new TenantView(AccessCache.denied(store.pluginRules(), tenantId), store.tenantSettings(tenantId),
                this::pluginOf);
    }

    TenantSettings putSettings(Principal actor, String tenantId, boolean defaultEnabled, Map<String, Boolean> models) {
        TenantSettings s = new TenantSettings(tenantId, defaultEnabled, models, clock.instant(), actor.subject());
        store.putTenantSettings(s);
        changed(tenantId);
        LOG.info("tenant models set tenant={} default={} models={} by={}", tenantId,
                defaultEnabled ? "enabled" : "disabled", models.size(), actor.subject());
        return s;
    }

    Map<String, PluginRule> pluginRules() {
        return store.pluginRules();
    }

    /** @return whether the rule was created (not replaced) */
    boolean putPluginRule(Principal actor, String pluginId, boolean restricted, Set<String> allowed,
            Set<String> denied) {
        boolean created = store.putPluginRule(new PluginRule(pluginId, restricted, allowed, denied, clock.instant(),
                actor.subject()));
        changed(ALL_TENANTS);
        LOG.info("plugin tenants {} plugin={} restricted={} allowed={} denied={} by={}",
                created ? "set" : "replaced", pluginId, restricted, allowed.size(), denied.size(), actor.subject());
        return created;
    }

    boolean deletePluginRule(Principal actor, String pluginId) {
        boolean removed = store.deletePluginRule(pluginId);
        if (removed) {
            changed(ALL_TENANTS);
            LOG.info("plugin tenants removed plugin={} by={}", pluginId, actor.subject());
        }
        return removed;
    }

    AccessCache cache() {
        return cache;
    }
}

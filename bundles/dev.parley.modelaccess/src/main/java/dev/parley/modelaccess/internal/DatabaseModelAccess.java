package dev.parley.modelaccess.internal;

import dev.parley.api.embedding.EmbeddingProvider;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Permission;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.TenantDirectory;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.plugin.PluginInfo;
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
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.function.LongSupplier;
import org.osgi.framework.Bundle;
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
 * {@link AccessCache}; the provider id → plugin id map is kept from the running providers' bundles (their
 * {@code Parley-Plugin} header), so a plugin's rule covers every instance of it.
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

    private record Registration(String providerId, String pluginId) {
    }

    private final AccessStore store;
    private final AccessCache cache;
    private final Clock clock;
    /** Every running provider registration (chat and embedding), by the service object's identity. */
    private final Map<Object, Registration> registrations = new ConcurrentHashMap<>();
    /** Provider id → plugin id, rebuilt on every bind and unbind; read per request. */
    private volatile Map<String, String> pluginByProvider = Map.of();

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
        return pluginByProvider.get(providerId);
    }

    // --- providers and their plugins ------------------------------------------------------------------------------

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindChat")
    void bindChat(ChatModelProvider provider, ServiceReference<ChatModelProvider> ref) {
        register(provider, safeId(provider), ref);
    }

    void unbindChat(ChatModelProvider provider) {
        unregister(provider);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindEmbedding")
    void bindEmbedding(EmbeddingProvider provider, ServiceReference<EmbeddingProvider> ref) {
        register(new EmbeddingKey(provider), safeId(provider), ref);
    }

    void unbindEmbedding(EmbeddingProvider provider) {
        unregister(new EmbeddingKey(provider));
    }

    /** One object may be both a chat and an embedding provider: its two registrations are kept apart. */
    private record EmbeddingKey(EmbeddingProvider provider) {
        @Override
        public boolean equals(Object o) {
            return o instanceof EmbeddingKey k && k.provider == provider;
        }

        @Override
        public int hashCode() {
            return System.identityHashCode(provider);
        }
    }

    private void register(Object key, String providerId, ServiceReference<?> ref) {
        registrations.put(key, new Registration(providerId, pluginId(ref == null ? null : ref.getBundle())));
        rebuild();
    }

    private void unregister(Object key) {
        registrations.remove(key);
        rebuild();
    }

    void register(Object key, String providerId, String pluginId) {
        registrations.put(key, new Registration(providerId, pluginId));
        rebuild();
    }

    private synchronized void rebuild() {
        Map<String, Set<String>> plugins = new TreeMap<>();
        for (Registration r : registrations.values()) {
            if (r.pluginId() != null) {
                plugins.computeIfAbsent(r.providerId(), k -> new TreeSet<>()).add(r.pluginId());
            }
        }
        Map<String, String> next = new TreeMap<>();
        Map<String, String> holders = null;
        for (Map.Entry<String, Set<String>> e : plugins.entrySet()) {
            Set<String> candidates = e.getValue();
            if (candidates.size() == 1) {
                next.put(e.getKey(), candidates.iterator().next());
                continue;
            }
            // Two plugins register one provider id: the router serves only the one the id belongs to.
            if (holders == null) {
                holders = holders();
            }
            String holder = holders.get(e.getKey());
            String chosen = holder != null && candidates.contains(holder) ? holder : candidates.iterator().next();
            if (holder == null) {
                LOG.warn("event=provider_plugin_unknown provider={} plugins={} plugin={} hint=\"the router did not say "
                        + "which plugin the provider id belongs to; rules of plugin {} apply\"", e.getKey(), candidates,
                        chosen, chosen);
            }
            next.put(e.getKey(), chosen);
        }
        pluginByProvider = Map.copyOf(next);
    }

    /** Provider id → the plugin it belongs to, from the router; empty without one. */
    private Map<String, String> holders() {
        ModelRoutingAdmin r = routing;
        Map<String, String> out = new TreeMap<>();
        if (r != null) {
            for (ProviderView p : r.view().providers()) {
                if (p.plugin() != null) {
                    out.put(p.id(), p.plugin());
                }
            }
        }
        return out;
    }

    /** The plugin id in a bundle's {@code Parley-Plugin} header ({@code id;type=…}); null without one. */
    static String pluginId(Bundle bundle) {
        if (bundle == null) {
            return null;
        }
        String header = bundle.getHeaders("").get(PluginInfo.HEADER);
        return pluginIdOf(header);
    }

    static String pluginIdOf(String header) {
        if (header == null || header.isBlank()) {
            return null;
        }
        int end = header.length();
        for (char c : new char[] {';', ','}) {
            int i = header.indexOf(c);
            if (i >= 0 && i < end) {
                end = i;
            }
        }
        String id = header.substring(0, end).strip();
        return id.isEmpty() ? null : id;
    }

    /** Installed plugins (of running providers) and their provider ids. */
    Map<String, Set<String>> installedPlugins() {
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

    private static String safeId(ChatModelProvider p) {
        try {
            return p.id();
        } catch (RuntimeException e) {
            return p.getClass().getName();
        }
    }

    private static String safeId(EmbeddingProvider p) {
        try {
            return p.id();
        } catch (RuntimeException e) {
            return p.getClass().getName();
        }
    }
}

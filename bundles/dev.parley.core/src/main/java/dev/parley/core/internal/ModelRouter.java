package dev.parley.core.internal;

import java.time.Clock;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import java.util.stream.Collectors;

import io.github.resilience4j.core.IntervalFunction;
import io.opentelemetry.api.OpenTelemetry;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleEvent;
import org.osgi.framework.BundleListener;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.routing.AliasView;
import dev.parley.api.routing.AliasView.Target;
import dev.parley.api.routing.Claim;
import dev.parley.api.routing.ModelPrice;
import dev.parley.api.routing.ModelRoutingAdmin;
import dev.parley.api.routing.ProviderView;
import dev.parley.api.routing.RouterStateStore;
import dev.parley.api.routing.RouterView;
import dev.parley.api.routing.RoutingStrategy;
import dev.parley.api.routing.TargetHealth;

/**
 * Decides which provider answers a request, by configuration and persisted claims, never by the order in which
 * providers were bound.
 *
 * <ul>
 * <li>An <b>alias</b> (configured, or defined by an admin) lists {@code provider/model} targets, ordered per request by
 * its strategy; targets whose breaker is open are skipped.</li>
 * <li>A <b>bare model id</b> goes to the provider that <b>claimed</b> it: the first provider id seen serving it. Claims
 * are kept in the database ({@link RouterStateStore}), so a restart, whatever the bind order, changes nothing, and
 * only an admin moves a claim. Among registrations of one provider id (a plugin upgraded side by side) the newest
 * answers.</li>
 * <li>A <b>provider id belongs to one plugin</b> ({@link ProviderBindings}, ADR 29): the first plugin whose bundle
 * registered it. A registration of the id from another plugin waits, unused, while that plugin is installed, so a
 * plugin cannot take another's traffic by reusing its provider id; uninstalling the first plugin frees the id.</li>
 * <li>{@code provider/model} names one target directly.</li>
 * </ul>
 *
 * <p>A provider registered with the service property {@link ChatModelProvider#TENANT_PROPERTY} is that tenant's own
 * instance: it never claims a bare model id (its models are listed and named only as {@code provider/model}), only
 * callers of its tenant reach it ({@link #planFor}), and it is never an alias target (aliases are platform-wide: an
 * admin alias naming it is refused, a configured one leaves it out).
 *
 * <p>Claims and aliases are cached here and read from the database at start and every
 * {@code stateRefreshSeconds}; requests never touch the database.
 */
@Component(service = { ModelRouter.class, ModelRoutingAdmin.class }, configurationPid = RouterConfig.PID)
@Designate(ocd = RouterConfig.class)
public final class ModelRouter implements ModelRoutingAdmin {
    /** When no provider was ever seen: the offline mode's hint. */
    static final String NO_PROVIDER_MESSAGE = "no model provider configured — set OPENAI_API_KEY/OPENAI_BASE_URL";
    static final String ADMIN_HINT = "install or enable a provider plugin (admin API /api/v1/admin/plugins) or "
            + "configure one (e.g. OPENAI_API_KEY/OPENAI_BASE_URL)";
    static final String DEFAULT_ALIAS = "default";
    /** Provider id of the descriptors that list aliases in {@link #models()}. */
    static final String ALIAS_PROVIDER = "parley-alias";
    /** The widths of the claims table's columns (store migration V6). */
    static final int MAX_MODEL_ID = 300;
    static final int MAX_PROVIDER_ID = 200;

    private static final Logger LOG = LoggerFactory.getLogger(ModelRouter.class);

    /**
     * A target that can be called now: the provider object, its model, what the router measured of it, and the
     * provider's registration in the plugin guard (every call into it goes through the guard).
     */
    record Candidate(ChatModelProvider provider, ModelDescriptor model, TargetState state,
            PluginGuard.Registration<ModelDescriptor> guarded) {
        String providerId() {
            return guarded.id();
        }
    }

    /** A provider service as bound: the object, and its registration in the plugin guard (its id, read once). */
    record Bound(ChatModelProvider provider, PluginGuard.Registration<ModelDescriptor> guarded) {
        String id() {
            return guarded.id();
        }
    }

    /**
     * The targets of one request, in the order they are tried.
     *
     * @param alias null unless {@code requested} named an alias
     * @param first the first target's candidate, resolved up front (its model sizes the context window)
     */
    record Plan(String requested, String alias, List<Target> targets, Candidate first) {
        int size() {
            return targets.size();
        }

        Target target(int i) {
            return targets.get(i);
        }

        String describe() {
            return alias != null ? "alias " + alias : "model " + requested;
        }
    }

    private final RouterStateStore store;
    private final Timers timers;
    private final Clock clock;
    /** Null: a thread-local generator per call. */
    private final RandomGenerator random;
    /** In bind order: the oldest registration first. */
    private final List<Bound> providers = new CopyOnWriteArrayList<>();
    /**
     * Registrations refused because another instance of the same plugin (same class) already serves their provider
     * id: two factory configurations left with one id. One of them takes over when the serving one goes.
     */
    private final List<Bound> duplicates = new CopyOnWriteArrayList<>();
    /**
     * Provider id to the tenant that owns it ({@link ChatModelProvider#TENANT_PROPERTY}); the operator's providers are
     * not in it, so with no tenant instance bound every ownership check is one look-up in an empty map.
     */
    private final Map<String, String> owners = new ConcurrentHashMap<>();
    /** The owner of each registration bound or waiting (null: the operator's), by identity. Guarded by this. */
    private final Map<ChatModelProvider, String> registrationOwners = new IdentityHashMap<>();
    /**
     * The plugin each registration bound or waiting comes from ({@link PluginOrigin}; null: not known, as for a
     * provider bound directly in a test), by identity. Guarded by this.
     */
    private final Map<ChatModelProvider, String> registrationOrigins = new IdentityHashMap<>();
    /** Which plugin each provider id belongs to; shared with the embedding service. */
    private final ProviderBindings bindings;
    private BundleContext context;
    private BundleListener uninstalls;
    /** Bare model id to the provider id that claimed it. */
    private final Map<String, String> claims = new ConcurrentHashMap<>();
    /** Claims this node made that the database has not confirmed yet (written off the request thread). */
    private final Set<String> unwritten = ConcurrentHashMap.newKeySet();
    private final Map<String, TargetState> targets = new ConcurrentHashMap<>();
    private volatile Map<String, AliasView> adminAliases = Map.of();
    /** Configured aliases with the admin's over them: recomputed on every change, read per request. */
    private volatile Map<String, AliasView> effectiveAliases = Map.of();
    private volatile RouterSettings settings;
    private volatile IntervalFunction backoff;
    private volatile ModelPrices prices = ModelPrices.NONE;
    private volatile RouterTelemetry telemetry = RouterTelemetry.NOOP;
    private volatile boolean everBound;
    private Timers.Task refresh;
    /** Every call into a provider's code goes through it: ids, model lists, token estimates, answer starts. */
    private final PluginGuard guard;
    /** Whether this router made its guard (tests) and stops it. */
    private final boolean ownsGuard;
    /**
     * Provider ids whose plugin was quarantined on this node, with the plugin and why: the error a request for their
     * models gets until a provider of that id binds again.
     */
    private final Map<String, String[]> quarantinedProviders = new ConcurrentHashMap<>();
    private final java.util.function.Consumer<PluginGuard.Quarantine> quarantineListener = this::quarantined;

    @Activate
    public ModelRouter(@Reference RouterStateStore store, @Reference PluginGuard guard, RouterConfig config,
            BundleContext context) {
        this(store, guard, false, RouterSettings.of(config).report(), Timers.scheduled(), Clock.systemUTC(), null);
        watchUninstalls(context);
    }

    /** With calls into providers made on the caller's thread, as before the guard (tests of routing). */
    ModelRouter(RouterStateStore store, RouterSettings settings, Timers timers, Clock clock, RandomGenerator random) {
        this(store, PluginGuard.direct(), true, settings, timers, clock, random);
    }

    ModelRouter(RouterStateStore store, PluginGuard guard, boolean ownsGuard, RouterSettings settings, Timers timers,
            Clock clock, RandomGenerator random) {
        this.store = store;
        this.guard = guard;
        this.ownsGuard = ownsGuard;
        guard.onQuarantine(quarantineListener);
        this.timers = timers;
        this.clock = clock;
        this.random = random;
        this.bindings = new ProviderBindings(store, timers);
        bindings.onChange(this::reevaluate);
        apply(settings);
        load();
        scheduleRefresh();
    }

    /**
     * When the last bundle of a plugin is uninstalled (not when an upgrade retires the old version beside the new
     * one, nor when the plugin is only stopped), its provider ids are free: another plugin's registration of one may
     * serve.
     */
    private void watchUninstalls(BundleContext context) {
        this.context = context;
        this.uninstalls = event -> {
            if (event.getType() != BundleEvent.UNINSTALLED) {
                return;
            }
            String origin = PluginOrigin.of(event.getBundle());
            if (PluginOrigin.isPlugin(origin)) {
                long gone = event.getBundle().getBundleId();
                timers.execute(() -> {
                    if (!installed(origin, gone)) {
                        bindings.release(origin);
                    }
                });
            }
        };
        context.addBundleListener(uninstalls);
    }

    /** Whether a bundle of {@code origin} other than {@code except} is installed. */
    private boolean installed(String origin, long except) {
        BundleContext c = context;
        if (c == null) {
            return false;
        }
        try {
            for (Bundle b : c.getBundles()) {
                if (b.getBundleId() != except && b.getState() != Bundle.UNINSTALLED
                        && origin.equals(PluginOrigin.of(b))) {
                    return true;
                }
            }
        } catch (IllegalStateException e) {
            return true; // this bundle is stopping: decide nothing
        }
        return false;
    }

    @Modified
    void modified(RouterConfig config) {
        apply(RouterSettings.of(config).report());
        scheduleRefresh();
    }

    @Deactivate
    void deactivate() {
        if (context != null && uninstalls != null) {
            try {
                context.removeBundleListener(uninstalls);
            } catch (IllegalStateException e) {
                // the bundle is stopping
            }
        }
        synchronized (this) {
            if (refresh != null) {
                refresh.cancel();
            }
        }
        timers.shutdown();
        telemetry.close();
        guard.removeQuarantineListener(quarantineListener);
        for (Bound b : providers) {
            guard.unregister(b.guarded());
        }
        for (Bound b : duplicates) {
            guard.unregister(b.guarded());
        }
        if (ownsGuard) {
            guard.deactivate();
        }
    }

    PluginGuard guard() {
        return guard;
    }

    private void apply(RouterSettings s) {
        RouterSettings previous = settings;
        settings = s;
        mergeAliases();
        warnOwnedAliasTargets();
        backoff = s.retryBaseMillis() == 0 ? null
                : IntervalFunction.ofExponentialRandomBackoff(s.retryBaseMillis(), 2.0, 0.5,
                        Math.max(s.retryBaseMillis(), s.retryMaxMillis()));
        if (previous != null && !s.sameBreaker(previous)) {
            // New thresholds: breakers start over (closed); answers in progress report to the new ones.
            targets.values().forEach(t -> t.reconfigure(s, clock));
        }
        LOG.info("router configured aliases={} fallbackOn={} attemptsPerTarget={} firstTokenTimeoutMs={} "
                + "answerTimeoutMs={}", s.aliases().keySet(), s.fallbackOn(), s.attemptsPerTarget(),
                s.firstTokenTimeoutMillis(), s.answerTimeoutMillis());
    }

    private synchronized void scheduleRefresh() {
        if (refresh != null) {
            refresh.cancel();
            refresh = null;
        }
        int seconds = settings.stateRefreshSeconds();
        if (seconds > 0) {
            refresh = timers.scheduleAtFixedRate(this::load, TimeUnit.SECONDS.toNanos(seconds));
        }
    }

    /** Reads claims and admin aliases from the database; this node's claims the database lacks are written to it. */
    void load() {
        RouterStateStore.State state;
        Map<String, String> providerPlugins;
        try {
            state = store.load();
            providerPlugins = store.providerPlugins();
        } catch (RuntimeException e) {
            LOG.error("event=router_state_load_failed hint=\"routing uses the claims and aliases it has; retried every "
                    + "{} s\"", settings.stateRefreshSeconds(), e);
            return;
        }
        Map<String, AliasView> aliases = new LinkedHashMap<>();
        state.aliases().forEach((name, definition) -> {
            try {
                aliases.put(name, AliasSyntax.alias(name, definition, RouterSettings.SOURCE_ADMIN));
            } catch (IllegalArgumentException e) {
                LOG.error("event=router_alias_invalid alias={} reason=\"{}\"", name, e.getMessage());
            }
        });
        adminAliases = Map.copyOf(aliases);
        mergeAliases();
        bindings.load(providerPlugins);
        // The database is the truth for every claim it has seen: a claim another node moved or removed changes here
        // too. Only this node's claims not yet written are kept (and written again).
        Map<String, String> stored = state.claims();
        claims.putAll(stored);
        claims.keySet().removeIf(model -> !stored.containsKey(model) && !unwritten.contains(model));
        for (String model : unwritten) {
            String provider = claims.get(model);
            if (stored.containsKey(model) || provider == null) {
                unwritten.remove(model);
            } else {
                persistClaim(model, provider);
            }
        }
    }

    // --- providers ---

    /**
     * Every provider service; its owner, if any, is its {@link ChatModelProvider#TENANT_PROPERTY}, and its plugin the
     * bundle that registered it (for the plugin guard, and for who owns its provider id).
     */
    @Reference(name = "Provider", cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindProvider", updated = "updatedProvider")
    void bindRegistration(ChatModelProvider provider, ServiceReference<ChatModelProvider> ref,
            Map<String, Object> properties) {
        PluginGuard.PluginRef plugin = PluginGuard.PluginRef.of(ref);
        bindProvider(provider, ownerOf(properties), plugin != null ? plugin : PluginGuard.PluginRef.unbundled(provider),
                PluginOrigin.of(ref == null ? null : ref.getBundle()));
    }

    /** A provider service outside a framework (tests): its plugin is its class. */
    void providerAdded(ChatModelProvider provider, Map<String, Object> properties) {
        bindProvider(provider, ownerOf(properties));
    }

    /** A provider whose owner changed is taken out and bound again; any other change needs nothing here. */
    synchronized void updatedProvider(ChatModelProvider provider, Map<String, Object> properties) {
        String owner = ownerOf(properties);
        if (registrationOwners.containsKey(provider) && !java.util.Objects.equals(registrationOwners.get(provider),
                owner)) {
            // Its registration in the guard stays (calls counted, quarantine kept); only the binding is made again.
            Bound b = remove(provider);
            if (b != null) {
                bind(b, owner);
            }
        }
    }

    /** The operator's provider (no owning tenant), from no known plugin. */
    void bindProvider(ChatModelProvider provider) {
        bindProvider(provider, (String) null);
    }

    /** @param owner the tenant whose own instance this is; null for the operator's */
    void bindProvider(ChatModelProvider provider, String owner) {
        bindProvider(provider, owner, PluginGuard.PluginRef.unbundled(provider), null);
    }

    /**
     * @param owner  the tenant whose own instance this is; null for the operator's
     * @param origin the plugin it comes from ({@link PluginOrigin}); null when not known (not checked)
     */
    void bindProvider(ChatModelProvider provider, String owner, String origin) {
        bindProvider(provider, owner, PluginGuard.PluginRef.unbundled(provider), origin);
    }

    void bindProvider(ChatModelProvider provider, String owner, PluginGuard.PluginRef plugin) {
        bindProvider(provider, owner, plugin, null);
    }

    /**
     * Puts the provider under the plugin guard (its id and first model list are read on the plugin's own thread,
     * each waited for at most the guard's call timeout, before the router's lock is taken), then binds it.
     *
     * @param origin the plugin it comes from ({@link PluginOrigin}); null when not known (not checked)
     */
    void bindProvider(ChatModelProvider provider, String owner, PluginGuard.PluginRef plugin, String origin) {
        PluginGuard.Registration<ModelDescriptor> guarded = guard.register(plugin, provider, provider::id,
                provider::models, "models()");
        synchronized (this) {
            registrationOrigins.put(provider, origin);
        }
        bind(new Bound(provider, guarded), owner);
    }

    private synchronized void bind(Bound bound, String owner) {
        ChatModelProvider provider = bound.provider();
        everBound = true;
        String id = bound.id();
        quarantinedProviders.remove(id);
        registrationOwners.put(provider, owner);
        String origin = registrationOrigins.get(provider);
        Bound serving = blocking(bound, owner);
        if (serving != null) {
            duplicates.add(bound);
            if (serving.provider().getClass() == provider.getClass()) {
                // A newer version of a plugin is another bundle, so another class: that is an upgrade side by side.
                // The same class under the same id is a second instance of one plugin configured with the id of the
                // first; letting it in would silently hide the first one's models.
                LOG.error("event=provider_id_duplicate provider={} hint=\"two instances of one provider plugin have "
                        + "the id '{}': give each configuration its own id; this one is not used while the other "
                        + "runs\"", id, id);
            } else {
                // One id, two owners: whichever came second would take over (or hand to another tenant) the first
                // one's models and its callers.
                LOG.error("event=provider_owner_conflict provider={} owner={} running_owner={} hint=\"a provider id "
                        + "belongs to one owner: this registration is not used while the other runs\"", id,
                        owner == null ? "operator" : owner,
                        ownerOrOperator(registrationOwners.get(serving.provider())));
            }
            return;
        }
        String holder = bindings.bind(id, origin);
        if (origin != null && !origin.equals(holder)) {
            duplicates.add(bound);
            logTaken(id, origin, holder);
            return;
        }
        addProvider(bound, id, owner);
    }

    private static void logTaken(String id, String origin, String holder) {
        // A plugin reusing another plugin's provider id would take that plugin's models and callers.
        LOG.error("event=provider_id_taken provider={} plugin={} bound_plugin={} hint=\"provider id '{}' belongs to "
                + "{}: this registration from {} is not used while {} is installed; uninstall one of them, or give "
                + "this provider another id\"", id, origin, holder, id, holder, origin, holder);
    }

    synchronized void unbindProvider(ChatModelProvider provider) {
        Bound b = remove(provider);
        registrationOrigins.remove(provider);
        if (b != null) {
            guard.unregister(b.guarded());
        }
    }

    /** Takes a registration out of routing; its registration in the guard is the caller's to end or keep. */
    private synchronized Bound remove(ChatModelProvider provider) {
        // By identity: two registrations of equal providers are still two services. Calls in progress keep the object.
        Bound waiting = find(duplicates, provider);
        if (waiting != null) {
            duplicates.remove(waiting);
            registrationOwners.remove(provider);
            return waiting;
        }
        Bound bound = find(providers, provider);
        if (bound == null) {
            return null;
        }
        removeBound(bound);
        registrationOwners.remove(provider);
        LOG.info("model provider unbound provider={}", bound.id());
        promoteWaiting();
        return bound;
    }

    private void removeBound(Bound bound) {
        providers.remove(bound);
        String id = bound.id();
        if (!registered(id)) {
            owners.remove(id);
        }
    }

    /** Waiting registrations that nothing keeps out any more are bound, in the order they came. */
    private void promoteWaiting() {
        for (Bound waiting : List.copyOf(duplicates)) {
            ChatModelProvider p = waiting.provider();
            String owner = registrationOwners.get(p);
            String origin = registrationOrigins.get(p);
            String id = waiting.id();
            if (blocking(waiting, owner) == null && (origin == null || origin.equals(bindings.bind(id, origin)))) {
                duplicates.remove(waiting);
                addProvider(waiting, id, owner);
            }
        }
    }

    /**
     * The provider bindings changed (a plugin was uninstalled, or another node bound an id first): a registration
     * whose plugin no longer holds its id waits, and waiting ones that may serve now are bound.
     */
    synchronized void reevaluate() {
        for (Bound p : List.copyOf(providers)) {
            String origin = registrationOrigins.get(p.provider());
            String id = p.id();
            if (!bindings.allows(id, origin)) {
                removeBound(p);
                duplicates.add(p);
                logTaken(id, origin, bindings.holder(id));
            }
        }
        promoteWaiting();
    }

    /** Per provider id, the plugins whose registrations of it wait because the id belongs to another plugin. */
    private synchronized Map<String, java.util.Set<String>> refusedPlugins() {
        Map<String, java.util.Set<String>> out = new TreeMap<>();
        for (Bound w : duplicates) {
            String id = w.id();
            String origin = registrationOrigins.get(w.provider());
            if (!bindings.allows(id, origin)) {
                out.computeIfAbsent(id, k -> new java.util.TreeSet<>()).add(origin);
            }
        }
        return out;
    }

    /** Which plugin each provider id belongs to (the embedding service shares them). */
    ProviderBindings bindings() {
        return bindings;
    }

    private static Bound find(List<Bound> list, ChatModelProvider provider) {
        for (Bound b : list) {
            if (b.provider() == provider) {
                return b;
            }
        }
        return null;
    }

    private void addProvider(Bound bound, String id, String owner) {
        // Owned before it is visible: no request ever sees a tenant's instance as the operator's.
        if (owner != null) {
            owners.put(id, owner);
        }
        providers.add(bound);
        if (owner == null) {
            for (ModelDescriptor m : modelsOf(bound)) {
                claim(m.id(), id);
            }
            LOG.info("model provider bound provider={} plugin={}", id, bound.guarded().pluginId());
        } else {
            LOG.info("model provider bound provider={} plugin={} tenant={}", id, bound.guarded().pluginId(), owner);
            warnOwnedAliasTargets();
        }
    }

    /**
     * A bound registration that keeps {@code provider} out: one of the same id and class (a second instance of one
     * plugin under one id), or one of the same id and another owner; null when there is none.
     */
    private Bound blocking(Bound bound, String owner) {
        String id = bound.id();
        for (Bound b : providers) {
            if (b != bound && id.equals(b.id()) && (b.provider().getClass() == bound.provider().getClass()
                    || !java.util.Objects.equals(registrationOwners.get(b.provider()), owner))) {
                return b;
            }
        }
        return null;
    }

    /** The guard quarantined a plugin: its providers' ids remember why, for the errors their models get. */
    private void quarantined(PluginGuard.Quarantine q) {
        for (Bound b : providers) {
            if (b.guarded().pluginId().equals(q.pluginId())) {
                quarantinedProviders.put(b.id(), new String[] { q.pluginId(), q.reason() });
            }
        }
    }

    /**
     * Why the provider {@code providerId} cannot answer on this node because its plugin is quarantined, as the error a
     * request gets; null when it is not quarantined.
     */
    ParleyException quarantinedError(String providerId, String model) {
        String[] why = quarantinedProviders.get(providerId);
        if (why == null) {
            return null;
        }
        String reason = guard.quarantineReason(why[0]);
        return new ParleyException(ErrorCode.UPSTREAM_FAILURE, (model == null ? "provider " + providerId
                : "model " + model + " is served by provider " + providerId + ", which") + " is quarantined on this "
                + "node: its plugin " + why[0] + " kept failing (" + (reason != null ? reason : why[1]) + "); an "
                + "admin can enable it again (POST /api/v1/admin/plugins/" + why[0] + "/enable) or route the model "
                + "elsewhere");
    }

    /** The tenant named by a provider's {@link ChatModelProvider#TENANT_PROPERTY}; null (the operator's) if none. */
    static String ownerOf(Map<String, Object> properties) {
        Object value = properties == null ? null : properties.get(ChatModelProvider.TENANT_PROPERTY);
        if (value instanceof String[] values) {
            value = values.length == 0 ? null : values[0];
        }
        String owner = value == null ? null : value.toString().strip();
        return owner == null || owner.isEmpty() ? null : owner;
    }

    /**
     * The tenant that owns the provider id {@code providerId} (its own instance), or null: the operator's, or no
     * provider of that id is bound.
     */
    String owner(String providerId) {
        return providerId == null ? null : owners.get(providerId);
    }

    /** Whether any tenant's own provider instance is bound: without one, no caller needs an ownership check. */
    boolean hasTenantProviders() {
        return !owners.isEmpty();
    }

    /** Whether a caller of {@code tenant} may reach the provider {@code providerId} (null tenant: the platform). */
    boolean reachable(String providerId, String tenant) {
        String owner = owners.get(providerId);
        return owner == null || owner.equals(tenant);
    }

    private static String ownerOrOperator(String owner) {
        return owner == null ? "operator" : owner;
    }

    /** Configured or admin aliases that name a tenant's own instance: such targets are left out of every plan. */
    private void warnOwnedAliasTargets() {
        if (owners.isEmpty()) {
            return;
        }
        for (AliasView a : aliases().values()) {
            for (Target t : a.targets()) {
                String owner = owners.get(t.providerId());
                if (owner != null) {
                    LOG.error("event=alias_target_tenant_owned alias={} target={} tenant={} hint=\"aliases are "
                            + "platform-wide: a tenant's own provider instance is left out of the alias's plans; "
                            + "point the alias at the operator's providers\"", a.name(), t, owner);
                }
            }
        }
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void setOpenTelemetry(OpenTelemetry otel) {
        RouterTelemetry previous = telemetry;
        telemetry = new RouterTelemetry(otel, targets::values);
        previous.close();
    }

    void unsetOpenTelemetry(OpenTelemetry otel) {
        RouterTelemetry previous = telemetry;
        telemetry = RouterTelemetry.NOOP;
        previous.close();
    }

    RouterTelemetry telemetry() {
        return telemetry;
    }

    /** The price table (core's configuration, PARLEY_MODEL_PRICES): the cost strategy and the admin view read it. */
    void prices(ModelPrices prices) {
        this.prices = prices == null ? ModelPrices.NONE : prices;
    }

    /** The price table now; embeddings are priced from it too. */
    ModelPrices prices() {
        return prices;
    }

    int providerCount() {
        return providers.size();
    }

    /**
     * The claimant's models under their bare ids; models of a provider that did not claim that id, and every model of
     * a tenant's own instance, as {@code provider/model}; then every alias that has a target up, sorted by id. Every
     * tenant's instances are in it: {@link #models(String)} is what one tenant may see.
     */
    List<ModelDescriptor> models() {
        Map<String, ModelDescriptor> all = new TreeMap<>();
        for (Bound p : newestFirstPerId()) {
            String id = p.id();
            boolean owned = owners.containsKey(id);
            for (ModelDescriptor m : modelsOf(p)) {
                // A tenant's instance never claims: its models are only ever provider/model.
                String claimant = owned ? null : claim(m.id(), id);
                if (id.equals(claimant)) {
                    all.putIfAbsent(m.id(), m);
                } else {
                    String qualified = id + "/" + m.id();
                    all.putIfAbsent(qualified, new ModelDescriptor(qualified, id, m.displayName(), m.contextWindow(),
                            m.maxOutputTokens(), m.capabilities()));
                }
            }
        }
        for (AliasView a : aliases().values()) {
            ModelDescriptor smallest = null;
            for (Target t : a.targets()) {
                Candidate c = aliasCandidate(t);
                if (c != null && (smallest == null || c.model().contextWindow() < smallest.contextWindow())) {
                    smallest = c.model();
                }
            }
            // An alias wins over a model of the same id in resolution, so it does in the list too.
            if (smallest != null) {
                all.put(a.name(), new ModelDescriptor(a.name(), ALIAS_PROVIDER, "alias " + a.definition(),
                        smallest.contextWindow(), smallest.maxOutputTokens(), smallest.capabilities()));
            }
        }
        return List.copyOf(all.values());
    }

    /** {@link #models()} as a caller of {@code tenant} may see them: without other tenants' own instances. */
    List<ModelDescriptor> models(String tenant) {
        List<ModelDescriptor> all = models();
        if (owners.isEmpty()) {
            return all;
        }
        List<ModelDescriptor> out = new ArrayList<>(all.size());
        for (ModelDescriptor m : all) {
            if (ALIAS_PROVIDER.equals(m.providerId()) || reachable(m.providerId(), tenant)) {
                out.add(m);
            }
        }
        return out;
    }

    // --- resolution ---

    /** {@link #planFor} for the platform itself: the operator's providers only. */
    Plan plan(String requested, String... fallbacks) {
        return planFor(null, requested, fallbacks);
    }

    /**
     * The plan of a request by a caller of {@code tenant}: another tenant's own instance is not there for it (named as
     * {@code provider/model} it is an unknown model), no tenant's instance answers a bare model id or an alias, and
     * the unknown-model answer lists only what the tenant can reach.
     *
     * @param tenant    the caller's tenant; null: the platform's own work, which reaches only the operator's providers
     * @param requested what the client named: an alias, a bare model id or {@code provider/model}; null or blank to
     *                  use the first non-blank of {@code fallbacks}, then the alias {@code default}, then the first
     *                  model by id
     */
    Plan planFor(String tenant, String requested, String... fallbacks) {
        String wanted = blankToNull(requested);
        for (int i = 0; wanted == null && i < fallbacks.length; i++) {
            wanted = blankToNull(fallbacks[i]);
        }
        if (providers.isEmpty()) {
            throw noProvider(wanted);
        }
        Map<String, AliasView> aliases = aliases();
        if (wanted == null) {
            if (aliases.containsKey(DEFAULT_ALIAS)) {
                wanted = DEFAULT_ALIAS;
            } else {
                ModelDescriptor first = models(tenant).stream().filter(m -> !ALIAS_PROVIDER.equals(m.providerId()))
                        .findFirst().orElseThrow(() -> notFound("(any)", tenant));
                wanted = first.id();
            }
        }
        AliasView alias = aliases.get(wanted);
        if (alias != null) {
            return aliasPlan(wanted, alias);
        }
        int slash = wanted.indexOf('/');
        if (slash > 0 && registered(wanted.substring(0, slash)) && reachable(wanted.substring(0, slash), tenant)) {
            Target t = new Target(wanted.substring(0, slash), wanted.substring(slash + 1), 1);
            Candidate c = candidate(t, null);
            if (c == null) {
                ParleyException quarantined = quarantinedError(t.providerId(), wanted);
                if (quarantined != null) {
                    throw quarantined;
                }
                throw new ParleyException(ErrorCode.MODEL_NOT_FOUND, "provider " + t.providerId()
                        + " does not serve model " + t.modelId() + "; it serves: " + modelIds(t.providerId()));
            }
            return new Plan(wanted, null, List.of(t), c);
        }
        // Another tenant's provider/model falls through to here: no bare model has that id, so it is unknown.
        return modelPlan(wanted, tenant);
    }

    /** Starts {@code plan} for {@code request}; the returned call is the stream's handle. */
    RoutedCall call(Plan plan, ChatRequest request) {
        return new RoutedCall(this, plan, request, settings, timers);
    }

    private Plan modelPlan(String model, String tenant) {
        String claimant = claims.get(model);
        if (claimant != null && owners.containsKey(claimant)) {
            // A claim from before its provider id became a tenant's instance: a bare id never goes to one.
            throw notFound(model, tenant);
        }
        if (claimant == null) {
            Bound oldest = null;
            for (Bound p : providers) {
                if (!owners.containsKey(p.id()) && serves(p, model)) {
                    oldest = p;
                    break;
                }
            }
            if (oldest == null) {
                throw notFound(model, tenant);
            }
            claimant = claim(model, oldest.id());
        }
        Target t = new Target(claimant, model, 1);
        Candidate c = candidate(t, null);
        if (c == null) {
            ParleyException quarantined = quarantinedError(claimant, model);
            throw quarantined != null ? quarantined : gone(model, claimant);
        }
        return new Plan(model, null, List.of(t), c);
    }

    private Plan aliasPlan(String name, AliasView alias) {
        List<Target> up = new ArrayList<>(alias.targets().size());
        Candidate first = null;
        List<String> down = new ArrayList<>();
        for (Target t : alias.targets()) {
            Candidate c = aliasCandidate(t);
            if (c == null) {
                down.add(t + (quarantinedProviders.containsKey(t.providerId()) ? " (quarantined)" : ""));
            } else {
                up.add(t);
            }
        }
        if (up.isEmpty()) {
            throw new ParleyException(ErrorCode.MODEL_NOT_FOUND, "alias " + name + " (" + alias.definition()
                    + ") has no target running: " + String.join(", ", down) + "; " + ADMIN_HINT
                    + ", or point the alias elsewhere (PUT /api/v1/admin/models/aliases/" + name + ")");
        }
        List<Target> ordered = order(alias.strategy(), up);
        first = aliasCandidate(ordered.get(0));
        if (first == null) {
            // Its provider left between the two looks: take the next that is there.
            for (Target t : ordered) {
                first = aliasCandidate(t);
                if (first != null) {
                    break;
                }
            }
            if (first == null) {
                throw new ParleyException(ErrorCode.MODEL_NOT_FOUND, "alias " + name + " has no target running");
            }
        }
        return new Plan(name, name, ordered, first);
    }

    /** The order of one request's targets; breakers are consulted per call (open ones are skipped then). */
    List<Target> order(RoutingStrategy strategy, List<Target> up) {
        return switch (strategy) {
            case PRIORITY -> up;
            case WEIGHTED -> weighted(up);
            case LEAST_LATENCY -> {
                List<Target> sorted = new ArrayList<>(up);
                // Not yet measured first, so that every target gets measured; then the fastest.
                sorted.sort(Comparator.comparingDouble(t -> {
                    double ttft = state(t).ttftNanos();
                    return Double.isNaN(ttft) ? -1 : ttft;
                }));
                yield sorted;
            }
            case COST -> {
                ModelPrices p = prices;
                List<Target> sorted = new ArrayList<>(up);
                sorted.sort(Comparator.comparingDouble(t -> {
                    double price = p.unitPrice(t.providerId() + "/" + t.modelId(), t.modelId());
                    return price < 0 ? Double.MAX_VALUE : price;
                }));
                yield sorted;
            }
        };
    }

    /** One drawn by weight, then the next drawn by weight among the rest, and so on. */
    private List<Target> weighted(List<Target> up) {
        if (up.size() == 1) {
            return up;
        }
        RandomGenerator r = random != null ? random : ThreadLocalRandom.current();
        List<Target> left = new ArrayList<>(up);
        List<Target> ordered = new ArrayList<>(up.size());
        while (!left.isEmpty()) {
            int total = 0;
            for (Target t : left) {
                total += t.weight();
            }
            int pick = r.nextInt(total);
            for (int i = 0; i < left.size(); i++) {
                pick -= left.get(i).weight();
                if (pick < 0) {
                    ordered.add(left.remove(i));
                    break;
                }
            }
        }
        return ordered;
    }

    /**
     * The candidate for {@code t} now: the newest registration of its provider id that serves its model; null when
     * there is none. {@code known} is returned as is when it is for the same target (the plan's first).
     */
    Candidate candidate(Target t, Candidate known) {
        if (known != null && known.model().id().equals(t.modelId()) && known.providerId().equals(t.providerId())
                && isBound(known.guarded()) && !known.guarded().quarantined()) {
            return known;
        }
        for (int i = providers.size() - 1; i >= 0; i--) {
            Bound p;
            try {
                p = providers.get(i);
            } catch (IndexOutOfBoundsException e) {
                continue; // removed meanwhile
            }
            if (!t.providerId().equals(p.id()) || p.guarded().quarantined()) {
                continue;
            }
            for (ModelDescriptor m : modelsOf(p)) {
                if (m.id().equals(t.modelId())) {
                    return new Candidate(p.provider(), m, state(t), p.guarded());
                }
            }
        }
        return null;
    }

    /** {@link #candidate} for an alias's target: null for a tenant's own instance, which no alias reaches. */
    private Candidate aliasCandidate(Target t) {
        return owners.containsKey(t.providerId()) ? null : candidate(t, null);
    }

    private TargetState state(Target t) {
        String key = t.providerId() + "/" + t.modelId();
        TargetState s = targets.get(key);
        return s != null ? s : targets.computeIfAbsent(key, k -> new TargetState(k, settings, clock));
    }

    /** @return the claimant of {@code model}: {@code providerId} unless another provider claimed it first */
    private String claim(String model, String providerId) {
        String previous = claims.get(model);
        if (previous != null) {
            return previous;
        }
        // Marked unwritten before it is visible, so a refresh running meanwhile keeps it instead of dropping it.
        unwritten.add(model);
        previous = claims.putIfAbsent(model, providerId);
        if (previous != null) {
            return previous;
        }
        LOG.info("model claimed model={} provider={}", model, providerId);
        persistClaim(model, providerId);
        return providerId;
    }

    /** Off the caller's thread: a bind or a request never waits for the database. Another node may have won. */
    private void persistClaim(String model, String providerId) {
        timers.execute(() -> {
            try {
                String winner = store.claimIfAbsent(model, providerId);
                unwritten.remove(model);
                if (winner != null && !winner.equals(providerId)) {
                    claims.put(model, winner);
                    LOG.info("model claimed earlier elsewhere model={} provider={}", model, winner);
                }
            } catch (RuntimeException e) {
                LOG.error("event=router_claim_store_failed model={} provider={} hint=\"kept in memory; written at "
                        + "the next refresh\"", model, providerId, e);
            }
        });
    }

    long backoffNanos(int callsMade, RouterSettings s) {
        IntervalFunction f = backoff;
        if (f == null) {
            return 0;
        }
        return TimeUnit.MILLISECONDS.toNanos(Math.min(f.apply(callsMade), Math.max(s.retryBaseMillis(),
                s.retryMaxMillis())));
    }

    // --- errors ---

    private ParleyException noProvider(String wanted) {
        if (!everBound && claims.isEmpty()) {
            return new ParleyException(ErrorCode.NO_PROVIDER, NO_PROVIDER_MESSAGE);
        }
        String claimant = wanted == null ? null : claims.get(wanted);
        String what = claimant != null
                ? "model " + wanted + " is gone: provider " + claimant + " served it and is not running, and "
                : "";
        return new ParleyException(ErrorCode.NO_PROVIDER, what + "no model provider is running now (providers seen "
                + "before: " + String.join(", ", new java.util.TreeSet<>(claims.values())) + "); " + ADMIN_HINT);
    }

    private ParleyException gone(String model, String claimant) {
        List<String> others = new ArrayList<>();
        for (Bound p : newestFirstPerId()) {
            if (!owners.containsKey(p.id()) && serves(p, model)) {
                others.add(p.id());
            }
        }
        String instead = others.isEmpty()
                ? "no running provider serves it now; start or reinstall " + claimant + ", or " + ADMIN_HINT
                : "served now by " + String.join(", ", others) + ": ask for '" + others.get(0) + "/" + model
                        + "', or move the model there (PUT /api/v1/admin/models/claims/" + model
                        + " {\"provider\":\"" + others.get(0) + "\"})";
        return new ParleyException(ErrorCode.MODEL_NOT_FOUND, "model " + model + " was served by provider "
                + claimant + ", which is not running; " + instead);
    }

    /** An unknown model for a caller of {@code tenant}, listing what it can reach. */
    private ParleyException notFound(String model, String tenant) {
        return notFound(model, models(tenant).stream().map(ModelDescriptor::id).toList());
    }

    /** An unknown model; {@code available} is what the caller may use (a tenant sees only its own). */
    static ParleyException notFound(String model, List<String> available) {
        return new ParleyException(ErrorCode.MODEL_NOT_FOUND, "model " + model + " is not available; available "
                + "models: " + (available.isEmpty() ? "none" : String.join(", ", available)));
    }

    // --- admin ---

    @Override
    public RouterView view() {
        Map<String, ProviderView> byId = new TreeMap<>();
        Map<String, Integer> registrations = new HashMap<>();
        for (Bound p : providers) {
            registrations.merge(p.id(), 1, Integer::sum);
        }
        Map<String, java.util.Set<String>> refused = refusedPlugins();
        for (Bound p : newestFirstPerId()) {
            String id = p.id();
            byId.put(id, new ProviderView(id, true, registrations.getOrDefault(id, 1),
                    modelsOf(p).stream().map(ModelDescriptor::id).sorted().toList(), owners.get(id),
                    bindings.holder(id), List.copyOf(refused.getOrDefault(id, java.util.Set.of()))));
        }
        List<Claim> claimList = new ArrayList<>();
        new TreeMap<>(claims).forEach((model, provider) -> {
            claimList.add(new Claim(model, provider, byId.containsKey(provider)));
            byId.putIfAbsent(provider, new ProviderView(provider, false, 0, List.of(), null, bindings.holder(provider),
                    List.copyOf(refused.getOrDefault(provider, java.util.Set.of()))));
        });
        // An id only another plugin's waiting registrations carry: shown, so that an admin sees who holds it.
        refused.forEach((id, plugins) -> byId.putIfAbsent(id, new ProviderView(id, false, 0, List.of(), null,
                bindings.holder(id), List.copyOf(plugins))));
        List<TargetHealth> health = new TreeMap<>(targets).values().stream().map(TargetState::health).toList();
        List<ModelPrice> priceList = prices.all();
        return new RouterView(List.copyOf(byId.values()), health, List.copyOf(aliases().values()), claimList,
                priceList);
    }

    @Override
    public AliasView putAlias(String name, String definition) {
        AliasView alias;
        try {
            alias = AliasSyntax.alias(name, definition, RouterSettings.SOURCE_ADMIN);
        } catch (IllegalArgumentException e) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, e.getMessage());
        }
        for (Target t : alias.targets()) {
            String owner = owners.get(t.providerId());
            if (owner != null) {
                throw new ParleyException(ErrorCode.INVALID_REQUEST, "alias " + alias.name() + ": provider '"
                        + t.providerId() + "' in target '" + t + "' is tenant " + owner + "'s own instance; aliases "
                        + "are platform-wide and may name only the operator's providers");
            }
            if (!registered(t.providerId())) {
                throw new ParleyException(ErrorCode.INVALID_REQUEST, "alias " + alias.name() + ": unknown provider '"
                        + t.providerId() + "' in target '" + t + "'; providers running: " + runningIds());
            }
            if (candidate(t, null) == null) {
                throw new ParleyException(ErrorCode.INVALID_REQUEST, "alias " + alias.name() + ": provider "
                        + t.providerId() + " does not serve model " + t.modelId() + "; it serves: "
                        + modelIds(t.providerId()));
            }
        }
        store.putAlias(alias.name(), alias.definition());
        Map<String, AliasView> next = new LinkedHashMap<>(adminAliases);
        next.put(alias.name(), alias);
        adminAliases = Map.copyOf(next);
        mergeAliases();
        LOG.info("router alias set alias={} definition={}", alias.name(), alias.definition());
        return alias;
    }

    @Override
    public void deleteAlias(String name) {
        if (!adminAliases.containsKey(name)) {
            if (settings.aliases().containsKey(name)) {
                throw new ParleyException(ErrorCode.CONFLICT, "alias " + name + " comes from configuration (PID "
                        + RouterConfig.PID + ", PARLEY_MODEL_ALIASES); change it there");
            }
            throw new ParleyException(ErrorCode.NOT_FOUND, "unknown alias " + name + "; aliases: "
                    + String.join(", ", aliases().keySet()));
        }
        store.deleteAlias(name);
        Map<String, AliasView> next = new LinkedHashMap<>(adminAliases);
        next.remove(name);
        adminAliases = Map.copyOf(next);
        mergeAliases();
        LOG.info("router alias removed alias={}", name);
    }

    @Override
    public Claim putClaim(String modelId, String providerId) {
        String model = blankToNull(modelId);
        String provider = blankToNull(providerId);
        if (model == null || provider == null) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "a claim needs a model id and a provider id");
        }
        if (model.length() > MAX_MODEL_ID || provider.length() > MAX_PROVIDER_ID) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "a model id may have up to " + MAX_MODEL_ID
                    + " characters and a provider id up to " + MAX_PROVIDER_ID);
        }
        if (!registered(provider)) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "unknown provider '" + provider
                    + "'; providers running: " + runningIds());
        }
        String owner = owners.get(provider);
        if (owner != null) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "provider '" + provider + "' is tenant " + owner
                    + "'s own instance: it never answers a bare model id (its tenant names its models as '"
                    + provider + "/<model>')");
        }
        if (providers.stream().noneMatch(p -> provider.equals(p.id()) && serves(p, model))) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "provider " + provider + " does not serve model "
                    + model + "; it serves: " + modelIds(provider));
        }
        store.putClaim(model, provider);
        unwritten.remove(model);
        String previous = claims.put(model, provider);
        LOG.info("model claim reassigned model={} from={} to={}", model, previous == null ? "-" : previous, provider);
        return new Claim(model, provider, true);
    }

    @Override
    public void deleteClaim(String modelId) {
        if (modelId == null || !claims.containsKey(modelId)) {
            throw new ParleyException(ErrorCode.NOT_FOUND, "model " + modelId + " has no claim");
        }
        store.deleteClaim(modelId);
        unwritten.remove(modelId);
        claims.remove(modelId);
        LOG.info("model claim removed model={}", modelId);
    }

    // --- helpers ---

    /** Configured aliases with the admin's over them. */
    Map<String, AliasView> aliases() {
        return effectiveAliases;
    }

    private void mergeAliases() {
        Map<String, AliasView> all = new TreeMap<>(settings.aliases());
        all.putAll(adminAliases);
        effectiveAliases = java.util.Collections.unmodifiableMap(all);
    }

    Collection<TargetState> targetStates() {
        return targets.values();
    }

    private boolean isBound(PluginGuard.Registration<ModelDescriptor> guarded) {
        for (Bound p : providers) {
            if (p.guarded() == guarded) {
                return true;
            }
        }
        return false;
    }

    private boolean registered(String providerId) {
        for (Bound p : providers) {
            if (providerId.equals(p.id())) {
                return true;
            }
        }
        return false;
    }

    private String runningIds() {
        String ids = providers.stream().map(Bound::id).distinct().sorted().collect(Collectors.joining(", "));
        return ids.isEmpty() ? "none" : ids;
    }

    private String modelIds(String providerId) {
        return providers.stream().filter(p -> providerId.equals(p.id())).flatMap(p -> modelsOf(p).stream())
                .map(ModelDescriptor::id).distinct().sorted().collect(Collectors.joining(", "));
    }

    /** The newest registration of each provider id, oldest id first. */
    private List<Bound> newestFirstPerId() {
        Map<String, Bound> newest = new LinkedHashMap<>();
        for (Bound p : providers) {
            newest.put(p.id(), p);
        }
        return List.copyOf(newest.values());
    }

    private boolean serves(Bound p, String model) {
        for (ModelDescriptor m : modelsOf(p)) {
            if (m.id().equals(model)) {
                return true;
            }
        }
        return false;
    }

    /**
     * The provider's model list through the guard: cached, refreshed on the plugin's own thread, never waited for
     * longer than the guard allows; empty while its plugin is quarantined. One broken plugin never takes routing down
     * for the others.
     */
    private List<ModelDescriptor> modelsOf(Bound p) {
        return guard.models(p.guarded());
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }
}

package dev.parley.core.internal;

import dev.parley.api.embedding.Embedding;
import dev.parley.api.embedding.EmbeddingModel;
import dev.parley.api.embedding.EmbeddingProvider;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.embedding.EmbeddingResponse;
import dev.parley.api.embedding.EmbeddingService;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Permission;
import dev.parley.api.identity.Principal;
import dev.parley.api.limits.Budgets;
import dev.parley.api.limits.Reservation;
import dev.parley.api.llm.Usage;
import dev.parley.api.routing.ModelAccess;
import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.stream.Collectors;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Routes embedding requests to the {@link EmbeddingProvider}s that are up: by bare model id, or {@code providerId/id}
 * to pick one provider's model. Which provider serves a bare id that several offer is decided by provider id order,
 * never by bind order; only a newer registration of the same provider (a plugin upgrade) takes over its models. A
 * batch larger than the model takes is split into consecutive calls, and the vectors come back in input order.
 *
 * <p>A provider registered with {@link dev.parley.api.llm.ChatModelProvider#TENANT_PROPERTY} is that tenant's own
 * instance: its models never answer a bare id, are listed (as {@code providerId/id}) and reached only by callers of
 * its tenant, and the platform's own calls (no caller) never reach them. A provider id belongs to the owner of its
 * first registration; a registration of the same id with another owner is not used while that one runs.
 *
 * <p>A provider id also belongs to one plugin (the router's {@link ProviderBindings}, ADR 29): a registration of an
 * id another plugin holds serves nothing, so a plugin cannot take another plugin's embedding traffic by reusing its
 * provider id.
 */
@Component(service = EmbeddingService.class, configurationPid = CoreEmbeddingService.PID)
@Designate(ocd = CoreEmbeddingService.Config.class)
public final class CoreEmbeddingService implements EmbeddingService {
    public static final String PID = "dev.parley.core.embeddings";
    private static final Logger LOG = LoggerFactory.getLogger(CoreEmbeddingService.class);

    @ObjectClassDefinition(name = "Parley embeddings", description = "Bounds of one embeddings request.")
    public @interface Config {
        @AttributeDefinition(name = "Most inputs per request", min = "1")
        int maxInputs() default 2048;

        @AttributeDefinition(name = "Longest input (characters)", min = "1")
        int maxInputChars() default 32_000;
    }

    /**
     * A provider, the order it was bound in (newest wins among registrations of one provider id) and the tenant whose
     * own instance it is (null: the operator's).
     */
    private record Bound(EmbeddingProvider provider, long order, String owner, String origin,
            PluginGuard.Registration<EmbeddingModel> guarded) {
        String id() {
            return guarded.id();
        }
    }

    /**
     * A model, the provider that serves it, the tenant that owns that provider (null: the operator's) and the
     * provider's registration in the plugin guard.
     */
    record Route(EmbeddingProvider provider, EmbeddingModel model, String owner,
            PluginGuard.Registration<EmbeddingModel> guarded) {

        /** How a caller names it: its bare id, or {@code providerId/id} for a tenant's own instance. */
        EmbeddingModel listed() {
            return owner == null ? model : new EmbeddingModel(model.providerId() + "/" + model.id(),
                    model.providerId(), model.dimensions(), model.maxInputTokens(), model.maxBatchSize(),
                    model.reducible());
        }
    }

    private final List<Bound> providers = new CopyOnWriteArrayList<>();
    /** Budgets per key, user and tenant while a budgets bundle is there; none: no limits. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile Budgets budgets;
    /** Where the price table is (core's configuration); none: embeddings cost nothing that is known. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ModelRouter router;
    /** Token and per-model rate limits while a rate limiter is there (shared with chat); none: no such limits. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ChatRateLimits rateLimits;
    /** Which models each tenant may use, while a model access service is there; none: every model, every tenant. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile ModelAccess modelAccess;
    private long bindCount;
    private volatile int maxInputs = 2048;
    private volatile int maxInputChars = 32_000;
    /** Every call into an embedding provider's code goes through it: ids, model lists, the start of each batch. */
    private final PluginGuard guard;
    private final boolean ownsGuard;

    @Activate
    public CoreEmbeddingService(@Reference PluginGuard guard, Config config) {
        this.guard = guard;
        this.ownsGuard = false;
        configure(config);
    }

    /** With calls into providers made on the caller's thread, as before the guard (tests). */
    CoreEmbeddingService(int maxInputs, int maxInputChars) {
        this(PluginGuard.direct(), true, maxInputs, maxInputChars);
    }

    CoreEmbeddingService(PluginGuard guard, boolean ownsGuard, int maxInputs, int maxInputChars) {
        this.guard = guard;
        this.ownsGuard = ownsGuard;
        this.maxInputs = maxInputs;
        this.maxInputChars = maxInputChars;
    }

    @Modified
    void configure(Config config) {
        this.maxInputs = Math.max(1, config.maxInputs());
        this.maxInputChars = Math.max(1, config.maxInputChars());
    }

    @Deactivate
    void deactivate() {
        for (Bound b : providers) {
            guard.unregister(b.guarded());
        }
        providers.clear();
        if (ownsGuard) {
            guard.deactivate();
        }
    }

    /**
     * Every embedding provider service; its owner, if any, is its {@code parley.tenant} service property, and its plugin
     * the bundle that registered it.
     */
    @Reference(name = "Provider", cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY, unbind = "unbindProvider", updated = "updatedProvider")
    void bindRegistration(EmbeddingProvider provider, ServiceReference<EmbeddingProvider> ref,
            Map<String, Object> properties) {
        PluginGuard.PluginRef plugin = PluginGuard.PluginRef.of(ref);
        bindProvider(provider, ModelRouter.ownerOf(properties),
                plugin != null ? plugin : PluginGuard.PluginRef.unbundled(provider),
                PluginOrigin.of(ref == null ? null : ref.getBundle()));
    }

    /** A provider service outside a framework (tests): its plugin is its class. */
    void providerAdded(EmbeddingProvider provider, Map<String, Object> properties) {
        bindProvider(provider, ModelRouter.ownerOf(properties));
    }

    /** A provider whose owner changed is bound again under its new owner (its registration in the guard stays). */
    synchronized void updatedProvider(EmbeddingProvider provider, Map<String, Object> properties) {
        String owner = ModelRouter.ownerOf(properties);
        for (Bound b : providers) {
            if (b.provider() == provider && !Objects.equals(b.owner(), owner)) {
                providers.remove(b);
                providers.add(new Bound(provider, ++bindCount, owner, b.origin(), b.guarded()));
                LOG.info("embedding provider owner changed provider={} tenant={}", b.id(), owner);
                return;
            }
        }
    }

    /** The operator's provider (no owning tenant), from no known plugin. */
    void bindProvider(EmbeddingProvider provider) {
        bindProvider(provider, (String) null);
    }

    /** @param owner the tenant whose own instance this is; null for the operator's */
    void bindProvider(EmbeddingProvider provider, String owner) {
        bindProvider(provider, owner, PluginGuard.PluginRef.unbundled(provider), null);
    }

    /** @param origin the plugin it comes from ({@link PluginOrigin}); null when not known (not checked) */
    void bindProvider(EmbeddingProvider provider, String owner, String origin) {
        bindProvider(provider, owner, PluginGuard.PluginRef.unbundled(provider), origin);
    }

    void bindProvider(EmbeddingProvider provider, String owner, PluginGuard.PluginRef plugin) {
        bindProvider(provider, owner, plugin, null);
    }

    /**
     * Puts the provider under the guard (its id and first model list read on its plugin's thread), then binds it.
     *
     * @param owner  the tenant whose own instance this is; null for the operator's
     * @param origin the plugin it comes from ({@link PluginOrigin}); null when not known (not checked)
     */
    void bindProvider(EmbeddingProvider provider, String owner, PluginGuard.PluginRef plugin, String origin) {
        PluginGuard.Registration<EmbeddingModel> guarded = guard.register(plugin, provider, provider::id,
                provider::embeddingModels, "embeddingModels()");
        synchronized (this) {
            providers.add(new Bound(provider, ++bindCount, owner, origin, guarded));
        }
        ModelRouter r = router;
        String holder = r == null ? null : r.bindings().bind(guarded.id(), origin);
        if (origin != null && holder != null && !holder.equals(origin)) {
            LOG.error("event=provider_id_taken provider={} plugin={} bound_plugin={} hint=\"provider id '{}' belongs "
                    + "to {}: this embedding provider from {} serves nothing while {} is installed\"", guarded.id(),
                    origin, holder, guarded.id(), holder, origin, holder);
        }
        if (owner == null) {
            LOG.info("embedding provider bound provider={} plugin={}", guarded.id(), guarded.pluginId());
        } else {
            LOG.info("embedding provider bound provider={} plugin={} tenant={}", guarded.id(), guarded.pluginId(),
                    owner);
        }
    }

    void unbindProvider(EmbeddingProvider provider) {
        for (Bound b : providers) {
            if (b.provider() == provider) {
                providers.remove(b);
                guard.unregister(b.guarded());
                LOG.info("embedding provider unbound provider={}", b.id());
            }
        }
    }

    /** The operator's embedding models, one per bare id; tenants' own instances are listed only to their callers. */
    @Override
    public List<EmbeddingModel> models() {
        return routes().stream().map(Route::model).toList();
    }

    /**
     * The operator's models by bare id, then those of the caller's tenant's own instances as {@code providerId/id},
     * each only if the tenant's view and the credential's scopes allow it.
     */
    @Override
    public List<EmbeddingModel> models(Principal caller) {
        return visibleRoutes(caller).stream().map(Route::listed).toList();
    }

    private List<Route> visibleRoutes(Principal caller) {
        ModelAccess.TenantModels view = TenantModelFilter.view(modelAccess, caller);
        List<Route> all = all();
        List<Route> candidates = new ArrayList<>(routes(all));
        boolean owned = false;
        for (Route r : all) {
            if (r.owner() != null) {
                owned = true;
                if (r.owner().equals(caller.tenantId())) {
                    candidates.add(r);
                }
            }
        }
        if (!owned && view.unrestricted() && caller.scopes().isEmpty()) {
            return candidates;
        }
        return TenantModelFilter.embeddingModels(candidates, view, caller, r -> r.listed().id(), r -> r.model().id(),
                r -> r.model().providerId(), Route::owner);
    }

    @Override
    public CompletionStage<EmbeddingResponse> embed(EmbeddingRequest request) {
        Route route;
        try {
            route = checked(request);
        } catch (ParleyException e) {
            return CompletableFuture.failedFuture(e);
        }
        return embed(route, request);
    }

    /**
     * As {@code caller}: its permission and model scope checked again (behind the edge), then one request and the
     * inputs' tokens (about four characters each) reserved in its token and per-model rate limits, and with their cost
     * in its budgets, before any provider is called, settled with the tokens the provider counted when the answer is there (nothing for a failed one).
     */
    @Override
    public CompletionStage<EmbeddingResponse> embed(Principal caller, EmbeddingRequest request) {
        Objects.requireNonNull(caller, "caller");
        Route route;
        Reservation reservation;
        int estimate;
        try {
            Principal.required(caller, Permission.CHAT);
            if (request.model() != null && !caller.mayUseModel(request.model().strip())) {
                throw new ParleyException(ErrorCode.FORBIDDEN, "This credential may not use model '"
                        + request.model().strip() + "'.");
            }
            route = checked(caller, request);
            estimate = estimateTokens(request);
            reservation = reserve(caller, route, estimate);
        } catch (ParleyException e) {
            return CompletableFuture.failedFuture(e);
        }
        if (reservation == Reservation.NONE) {
            return embed(route, request);
        }
        CompletionStage<EmbeddingResponse> answer;
        try {
            answer = embed(route, request);
        } catch (RuntimeException e) {
            reservation.settle(0, null);
            throw e;
        }
        return answer.whenComplete((r, e) -> {
            if (e != null || r == null) {
                reservation.settle(0, null);
                return;
            }
            int used = r.promptTokens() > 0 ? r.promptTokens() : estimate;
            reservation.settle(used, cost(route, used));
        });
    }

    /**
     * The caller's token and per-model rate limits (as for chat: the model's requests and the estimate from its
     * token buckets), then its budgets; a budget refusal gives back what the rate limits took.
     */
    private Reservation reserve(Principal caller, Route route, int estimate) {
        ChatRateLimits limits = rateLimits;
        Reservation limited = limits == null ? Reservation.NONE : limits.reserve(caller, route.model().id(), estimate);
        Budgets b = budgets;
        return ChatRateLimits.both(limited, () -> b == null ? Reservation.NONE
                : b.reserve(caller, route.model().id(), estimate, cost(route, estimate)));
    }

    /** About four characters per token: what a budget reserves before the provider counts. */
    static int estimateTokens(EmbeddingRequest request) {
        long chars = 0;
        for (String input : request.inputs()) {
            chars += (input.length() + 3) / 4;
        }
        return (int) Math.min(Integer.MAX_VALUE, chars);
    }

    /** What {@code tokens} cost on the route's model at the input price; null when it has no price. */
    private BigDecimal cost(Route route, int tokens) {
        ModelRouter r = router;
        if (r == null) {
            return null;
        }
        String model = route.model().id();
        return r.prices().costUsd(route.model().providerId() + "/" + model, model, new Usage(tokens, 0));
    }

    private Route checked(EmbeddingRequest request) {
        return checked(null, request);
    }

    /** The request's bounds checked and its model resolved within what the caller's tenant may use (none: all). */
    private Route checked(Principal caller, EmbeddingRequest request) {
        check(request);
        Route route = caller == null ? resolve(request.model()) : resolve(caller, request.model());
        if (request.dimensions() != null) {
            dimensions(route.model(), request.dimensions());
        }
        return route;
    }

    private CompletionStage<EmbeddingResponse> embed(Route route, EmbeddingRequest request) {
        EmbeddingModel model = route.model();
        List<String> inputs = request.inputs();
        int batch = model.maxBatchSize();
        List<List<String>> batches = new ArrayList<>();
        for (int from = 0; from < inputs.size(); from += batch) {
            batches.add(inputs.subList(from, Math.min(inputs.size(), from + batch)));
        }
        // One batch after the other: a provider's rate limit is per key, so parallel batches only buy 429s.
        CompletableFuture<Accumulated> chain = CompletableFuture.completedFuture(new Accumulated(inputs.size()));
        for (List<String> part : batches) {
            chain = chain.thenCompose(acc -> call(route, new EmbeddingRequest(model.id(), part, request.dimensions()))
                    .thenApply(r -> acc.add(r, part.size())));
        }
        return chain.thenApply(acc -> new EmbeddingResponse(acc.model == null ? model.id() : acc.model, acc.embeddings,
                acc.tokens));
    }

    private void check(EmbeddingRequest request) {
        if (request.inputs().size() > maxInputs) {
            throw ParleyException.invalid("input", request.inputs().size() + " inputs; at most " + maxInputs
                    + " per request");
        }
        for (int i = 0; i < request.inputs().size(); i++) {
            String input = request.inputs().get(i);
            if (input == null || input.isEmpty()) {
                throw ParleyException.invalid("input[" + i + "]", "input " + i + " is empty");
            }
            if (input.length() > maxInputChars) {
                throw new ParleyException(ErrorCode.TOO_LARGE, "input " + i + " has " + input.length()
                        + " characters; at most " + maxInputChars, null, null, "input[" + i + "]");
            }
        }
    }

    private static void dimensions(EmbeddingModel model, int dimensions) {
        if (dimensions > model.dimensions()) {
            throw ParleyException.invalid("dimensions", "model " + model.id() + " gives at most " + model.dimensions()
                    + " dimensions");
        }
        if (!model.reducible() && dimensions != model.dimensions()) {
            throw ParleyException.invalid("dimensions", "model " + model.id() + " only gives vectors of "
                    + model.dimensions() + " dimensions");
        }
    }

    /**
     * {@link #resolve(String)} within what the caller's tenant may use: a model it may not use is not found, and the
     * answer lists only the tenant's models.
     */
    Route resolve(Principal caller, String requested) {
        ModelAccess.TenantModels view = TenantModelFilter.view(modelAccess, caller);
        List<Route> all = all();
        boolean owned = all.stream().anyMatch(r -> r.owner() != null);
        if (view.unrestricted() && !owned) {
            return resolve(requested);
        }
        Route route;
        try {
            route = resolve(requested, caller.tenantId(), all);
        } catch (ParleyException e) {
            if (e.code() != ErrorCode.MODEL_NOT_FOUND) {
                throw e;
            }
            route = null;
        }
        if (route != null && (route.owner() == null || route.owner().equals(caller.tenantId()))
                && view.allowsTarget(route.model().providerId(), route.model().id())) {
            return route;
        }
        List<EmbeddingModel> visible = models(caller);
        String available = visible.isEmpty() ? "none"
                : visible.stream().map(EmbeddingModel::id).collect(Collectors.joining(", "));
        throw new ParleyException(ErrorCode.MODEL_NOT_FOUND, "embedding model " + requested.strip()
                + " is not available; available embedding models: " + available);
    }

    /** For the platform's own work: the operator's providers only. Bare id first (a model id may contain '/'), then {@code providerId/id}. */
    Route resolve(String requested) {
        return resolve(requested, null, all());
    }

    /**
     * Bare id first (a model id may contain '/', and a bare id is only ever the operator's), then
     * {@code providerId/id} among the operator's providers and {@code tenant}'s own.
     */
    private Route resolve(String requested, String tenant, List<Route> all) {
        String wanted = requested == null ? "" : requested.strip();
        List<Route> routes = routes(all);
        if (wanted.isEmpty()) {
            throw ParleyException.invalid("model", "name an embedding model");
        }
        for (Route r : routes) {
            if (r.model().id().equals(wanted)) {
                return r;
            }
        }
        int slash = wanted.indexOf('/');
        if (slash > 0) {
            String provider = wanted.substring(0, slash);
            String id = wanted.substring(slash + 1);
            for (Route r : all) {
                if ((r.owner() == null || r.owner().equals(tenant)) && r.model().providerId().equals(provider)
                        && r.model().id().equals(id)) {
                    return r;
                }
            }
        }
        String available = routes.isEmpty() ? "none"
                : routes.stream().map(r -> r.model().id()).collect(Collectors.joining(", "));
        throw new ParleyException(ErrorCode.MODEL_NOT_FOUND, "embedding model " + wanted
                + " is not available; available embedding models: " + available);
    }

    /** One route per bare model id of the operator's providers: the lowest provider id serves it. */
    private List<Route> routes() {
        return routes(all());
    }

    private static List<Route> routes(List<Route> all) {
        List<Route> out = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (Route r : all) {
            if (r.owner() == null && seen.add(r.model().id())) {
                out.add(r);
            }
        }
        out.sort(Comparator.comparing((Route r) -> r.model().providerId()).thenComparing(r -> r.model().id()));
        return out;
    }

    /**
     * Every model of every provider, by provider id, then newest registration of that id first; a registration whose
     * owner differs from that of its id's first registration is left out.
     */
    private List<Route> all() {
        List<Bound> ordered = new ArrayList<>(providers);
        ModelRouter r = router;
        if (r != null) {
            // Registrations bound before the router was there bind their ids now, oldest first; then those of an id
            // another plugin holds are left out.
            ProviderBindings bindings = r.bindings();
            for (Bound b : ordered) {
                bindings.bind(b.id(), b.origin());
            }
            ordered.removeIf(b -> !bindings.allows(b.id(), b.origin()));
        }
        Map<String, Bound> first = new HashMap<>();
        for (Bound b : ordered) {
            first.merge(b.id(), b, (x, y) -> x.order() <= y.order() ? x : y);
        }
        ordered.sort(Comparator.comparing(Bound::id).thenComparing(b -> -b.order()));
        List<Route> out = new ArrayList<>();
        java.util.Set<String> seen = new java.util.HashSet<>();
        for (Bound b : ordered) {
            if (!Objects.equals(b.owner(), first.get(b.id()).owner())) {
                continue;
            }
            // Through the guard: cached, refreshed on the plugin's thread, empty while it is quarantined.
            for (EmbeddingModel m : guard.models(b.guarded())) {
                // An older registration of the same provider id does not serve what the newer one serves.
                if (seen.add(m.providerId() + "/" + m.id())) {
                    out.add(new Route(b.provider(), m, b.owner(), b.guarded()));
                }
            }
        }
        return out;
    }

    /**
     * One batch: started on the plugin's thread through the guard (a provider that blocks in embed() holds its own
     * thread, and the request fails after the call timeout), its answer bounded by the guard's embedding timeout.
     */
    private CompletableFuture<EmbeddingResponse> call(Route route, EmbeddingRequest request) {
        CompletableFuture<EmbeddingResponse> stage = guard.async(route.guarded(), "embed()",
                () -> route.provider().embed(request), guard.settings().embedTimeoutMillis());
        return stage.handle((r, e) -> {
            if (e != null) {
                throw new CompletionException(mapped(e, route));
            }
            if (r == null || r.embeddings().size() != request.inputs().size()) {
                throw new CompletionException(new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "embedding provider "
                        + route.guarded().id() + " answered " + (r == null ? 0 : r.embeddings().size())
                        + " vectors for " + request.inputs().size() + " inputs"));
            }
            return r;
        });
    }

    private static ParleyException mapped(Throwable e, Route route) {
        Throwable t = e;
        while ((t instanceof CompletionException || t instanceof ExecutionException) && t.getCause() != null) {
            t = t.getCause();
        }
        if (t instanceof ParleyException pe) {
            return pe;
        }
        LOG.warn("embedding provider failed provider={}", route.guarded().id(), t);
        return new ParleyException(ErrorCode.UPSTREAM_FAILURE, "embedding provider " + route.guarded().id()
                + " failed: " + t.getClass().getSimpleName(), t);
    }

    /** The vectors so far, re-indexed into the whole request's positions. */
    private static final class Accumulated {
        final List<Embedding> embeddings;
        int tokens;
        String model;

        Accumulated(int size) {
            embeddings = new ArrayList<>(size);
        }

        Accumulated add(EmbeddingResponse r, int batchSize) {
            int offset = embeddings.size();
            Embedding[] ordered = new Embedding[batchSize];
            for (Embedding e : r.embeddings()) {
                if (e.index() < 0 || e.index() >= batchSize || ordered[e.index()] != null) {
                    throw new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "embedding provider answered index "
                            + e.index() + " for a batch of " + batchSize);
                }
                ordered[e.index()] = new Embedding(offset + e.index(), e.vector());
            }
            for (Embedding e : ordered) {
                embeddings.add(e);
            }
            tokens += r.promptTokens();
            model = model == null ? r.model() : model;
            return this;
        }
    }
}

package dev.parley.core.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Principal;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.routing.AliasView;
import dev.parley.api.routing.AliasView.Target;
import dev.parley.api.routing.ModelAccess;
import dev.parley.api.routing.ModelAccess.TenantModels;

/**
 * The one place core applies what a caller's tenant may use ({@link ModelAccess}): the model list, the plan of every
 * chat request and the route of every embedding request go through here. A model the tenant may not use is answered
 * exactly as an unknown one ({@code MODEL_NOT_FOUND}, listing only the tenant's models), so no tenant learns of
 * another's. An alias is usable when its name is enabled and at least one of its targets is; a request through it is
 * routed only to the targets the tenant may use (the others are left out of its plan, fallbacks included).
 *
 * <p>Costs nothing for a tenant without restrictions: one look-up in the access service's cache.
 */
final class TenantModelFilter {
    private TenantModelFilter() {
    }

    /** The tenant's view; unrestricted without an access service. */
    static TenantModels view(ModelAccess access, Principal caller) {
        if (access == null) {
            return ModelAccess.UNRESTRICTED;
        }
        TenantModels view = access.forTenant(caller.tenantId());
        return view == null ? ModelAccess.UNRESTRICTED : view;
    }

    /** The router's models the tenant may use (and the credential's scopes allow), in the router's order. */
    static List<ModelDescriptor> models(ModelRouter router, TenantModels view, Principal caller) {
        List<ModelDescriptor> all = router.models();
        if (view.unrestricted() && caller.scopes().isEmpty()) {
            return all;
        }
        List<ModelDescriptor> out = new ArrayList<>(all.size());
        for (ModelDescriptor m : all) {
            if (caller.mayUseModel(m.id()) && allows(router, view, m)) {
                out.add(m);
            }
        }
        return out;
    }

    /** Whether the tenant may use a descriptor of {@link ModelRouter#models()}. */
    static boolean allows(ModelRouter router, TenantModels view, ModelDescriptor m) {
        if (view.unrestricted()) {
            return true;
        }
        if (ModelRouter.ALIAS_PROVIDER.equals(m.providerId())) {
            AliasView alias = router.aliases().get(m.id());
            return alias != null && allowsAlias(view, alias);
        }
        String provider = m.providerId();
        String id = m.id();
        // A model of a provider that did not claim its id is listed as provider/model.
        String model = id.startsWith(provider + "/") ? id.substring(provider.length() + 1) : id;
        return view.allowsTarget(provider, model);
    }

    private static boolean allowsAlias(TenantModels view, AliasView alias) {
        if (!view.allowsName(alias.name())) {
            return false;
        }
        for (Target t : alias.targets()) {
            if (view.allowsTarget(t.providerId(), t.modelId())) {
                return true;
            }
        }
        return false;
    }

    /**
     * The router's plan for {@code requested} (or the first non-blank fallback), restricted to what the tenant may
     * use: an alias keeps only the targets the tenant may use, in their order; a model or alias it may not use is
     * {@code MODEL_NOT_FOUND}, as is an unknown one.
     */
    static ModelRouter.Plan plan(ModelRouter router, TenantModels view, Principal caller, String requested,
            String... fallbacks) {
        if (view.unrestricted()) {
            return router.plan(requested, fallbacks);
        }
        String wanted = firstNonBlank(requested, fallbacks);
        if (wanted == null) {
            // Nothing named: the default alias, or else the tenant's first model (the router's pick may be another's).
            if (router.aliases().containsKey(ModelRouter.DEFAULT_ALIAS)) {
                wanted = ModelRouter.DEFAULT_ALIAS;
            } else {
                wanted = models(router, view, caller).stream()
                        .filter(m -> !ModelRouter.ALIAS_PROVIDER.equals(m.providerId())).map(ModelDescriptor::id)
                        .findFirst().orElseThrow(() -> notFound(router, view, caller, "(any)"));
            }
        }
        ModelRouter.Plan plan;
        try {
            plan = router.plan(wanted);
        } catch (ParleyException e) {
            if (e.code() == ErrorCode.MODEL_NOT_FOUND) {
                throw notFound(router, view, caller, wanted);
            }
            throw e;
        }
        if (plan.alias() != null && !view.allowsName(plan.alias())) {
            throw notFound(router, view, caller, wanted);
        }
        List<Target> allowed = new ArrayList<>(plan.size());
        for (Target t : plan.targets()) {
            if (view.allowsTarget(t.providerId(), t.modelId())) {
                allowed.add(t);
            }
        }
        if (allowed.isEmpty()) {
            throw notFound(router, view, caller, wanted);
        }
        if (allowed.size() == plan.size()) {
            return plan;
        }
        ModelRouter.Candidate first = null;
        for (Target t : allowed) {
            first = router.candidate(t, plan.first());
            if (first != null) {
                break;
            }
        }
        if (first == null) {
            throw notFound(router, view, caller, wanted);
        }
        return new ModelRouter.Plan(plan.requested(), plan.alias(), List.copyOf(allowed), first);
    }

    /** The router's answer for an unknown model, listing only what this caller may use. */
    static ParleyException notFound(ModelRouter router, TenantModels view, Principal caller, String model) {
        List<String> available = models(router, view, caller).stream().map(ModelDescriptor::id).toList();
        return ModelRouter.notFound(model, available);
    }

    /**
     * Whether the tenant may use an embedding model served by {@code providerId}; {@code id} is the model's own id.
     */
    static <T> List<T> embeddingModels(List<T> all, TenantModels view, Principal caller,
            Function<T, String> id, Function<T, String> providerId) {
        if (view.unrestricted() && caller.scopes().isEmpty()) {
            return all;
        }
        List<T> out = new ArrayList<>(all.size());
        for (T m : all) {
            if (caller.mayUseModel(id.apply(m)) && view.allowsTarget(providerId.apply(m), id.apply(m))) {
                out.add(m);
            }
        }
        return out;
    }

    private static String firstNonBlank(String requested, String... fallbacks) {
        if (requested != null && !requested.isBlank()) {
            return requested.strip();
        }
        for (String f : fallbacks) {
            if (f != null && !f.isBlank()) {
                return f.strip();
            }
        }
        return null;
    }
}

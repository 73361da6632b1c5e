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
 * The one place core applies what a caller's tenant may use: another tenant's own provider instances (a provider
 * registered with {@link dev.parley.api.llm.ChatModelProvider#TENANT_PROPERTY}), never usable, whatever the access
 * service says or whether there is one; then {@link ModelAccess}. The model list, the plan of every chat request and
 * the route of every embedding request go through here. A model the tenant may not use is answered exactly as an
 * unknown one ({@code MODEL_NOT_FOUND}, listing only the tenant's models), so no tenant learns of another's. An alias
 * is usable when its name is enabled and at least one of its targets is; a request through it is routed only to the
 * targets the tenant may use (the others are left out of its plan, fallbacks included).
 *
 * <p>Costs nothing for a tenant without restrictions while no tenant's own instance is bound: one look-up in the
 * access service's cache; with such instances, one look-up per listed model or planned target.
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
        if (view.unrestricted() && caller.scopes().isEmpty() && !router.hasTenantProviders()) {
            return all;
        }
        List<ModelDescriptor> out = new ArrayList<>(all.size());
        for (ModelDescriptor m : all) {
            if (caller.mayUseModel(m.id()) && allows(router, view, caller, m)) {
                out.add(m);
            }
        }
        return out;
    }

    /** Whether the caller's tenant may use a descriptor of {@link ModelRouter#models()}. */
    static boolean allows(ModelRouter router, TenantModels view, Principal caller, ModelDescriptor m) {
        if (ModelRouter.ALIAS_PROVIDER.equals(m.providerId())) {
            if (view.unrestricted()) {
                return true; // the router lists an alias only with a target of the operator's up
            }
            AliasView alias = router.aliases().get(m.id());
            return alias != null && allowsAlias(router, view, caller, alias);
        }
        String provider = m.providerId();
        if (!router.reachable(provider, caller.tenantId())) {
            return false;
        }
        if (view.unrestricted()) {
            return true;
        }
        String id = m.id();
        // A model of a provider that did not claim its id (or of a tenant's own instance) is listed as provider/model.
        String model = id.startsWith(provider + "/") ? id.substring(provider.length() + 1) : id;
        return view.allowsTarget(provider, model);
    }

    /**
     * Whether a caller of the tenant may be routed to {@code providerId}'s {@code modelId}: not another tenant's own
     * instance, and allowed by the tenant's view.
     */
    static boolean allowsTarget(ModelRouter router, TenantModels view, Principal caller, String providerId,
            String modelId) {
        return router.reachable(providerId, caller.tenantId()) && view.allowsTarget(providerId, modelId);
    }

    private static boolean allowsAlias(ModelRouter router, TenantModels view, Principal caller, AliasView alias) {
        if (!view.allowsName(alias.name())) {
            return false;
        }
        for (Target t : alias.targets()) {
            // A tenant's own instance is never an alias target, its own tenant's included.
            if (router.owner(t.providerId()) == null && view.allowsTarget(t.providerId(), t.modelId())) {
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
            // The router leaves out other tenants' instances for this caller, and its answers name none of them.
            ModelRouter.Plan plan = router.planFor(caller.tenantId(), requested, fallbacks);
            if (router.hasTenantProviders()) {
                for (Target t : plan.targets()) {
                    if (!router.reachable(t.providerId(), caller.tenantId())) {
                        throw notFound(router, view, caller, plan.requested());
                    }
                }
            }
            return plan;
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
            plan = router.planFor(caller.tenantId(), wanted);
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
            if (allowsTarget(router, view, caller, t.providerId(), t.modelId())) {
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
     * The embedding models of {@code all} the caller may use: not another tenant's own instance's ({@code owner}
     * answers a model's owning tenant, null for the operator's), allowed by the tenant's view and the credential's
     * scopes. {@code id} is the id the caller names the model by, {@code model} the model's own id.
     */
    static <T> List<T> embeddingModels(List<T> all, TenantModels view, Principal caller, Function<T, String> id,
            Function<T, String> model, Function<T, String> providerId, Function<T, String> owner) {
        List<T> out = new ArrayList<>(all.size());
        for (T m : all) {
            String o = owner.apply(m);
            if ((o == null || o.equals(caller.tenantId())) && caller.mayUseModel(id.apply(m))
                    && view.allowsTarget(providerId.apply(m), model.apply(m))) {
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

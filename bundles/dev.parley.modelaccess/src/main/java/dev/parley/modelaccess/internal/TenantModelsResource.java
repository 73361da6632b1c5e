package dev.parley.modelaccess.internal;

import dev.parley.api.audit.AuditLog;
import dev.parley.api.embedding.EmbeddingModel;
import dev.parley.api.embedding.EmbeddingService;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Permission;
import dev.parley.api.identity.Principal;
import dev.parley.api.routing.AliasView;
import dev.parley.api.routing.Claim;
import dev.parley.api.routing.ModelRoutingAdmin;
import dev.parley.api.routing.ProviderView;
import dev.parley.api.routing.RouterView;
import dev.parley.web.rest.admin.AdminAudit;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PATCH;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsExtensionSelect;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

/**
 * {@code /api/v1/tenant/models} (permission {@code models:admin}): the models, provider models and aliases the
 * operator's plugins offer the caller's tenant, each with whether the tenant's admin enabled it; {@code PUT} replaces
 * the tenant's settings, {@code PATCH} changes the ones it names. The operator tenant's admins name any tenant with
 * {@code ?tenant=}. Every change is recorded in the audit trail.
 */
@Component(service = Object.class)
@JakartarsResource
@JakartarsName("parley.modelaccess.tenant")
@JSONRequired
@JakartarsExtensionSelect("(osgi.jakartars.name=parley.rest.json)")
@Path("/api/v1/tenant/models")
@Produces(MediaType.APPLICATION_JSON)
public class TenantModelsResource {
    /** One model the tenant is offered. */
    record Offered(String id, String kind, String provider, String model, List<String> targets) {
    }

    private final DatabaseModelAccess access;
    private final ModelRoutingAdmin routing;
    private final EmbeddingService embeddings;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile AuditLog audit;

    @Activate
    public TenantModelsResource(@Reference DatabaseModelAccess access, @Reference ModelRoutingAdmin routing,
            @Reference EmbeddingService embeddings) {
        this.access = access;
        this.routing = routing;
        this.embeddings = embeddings;
    }

    @GET
    public Map<String, Object> get(@QueryParam("tenant") String tenant, @Context HttpServletRequest request) {
        Principal actor = AdminAudit.require(request, Permission.MODELS_ADMIN);
        String t = access.tenantFor(actor, AccessRules.tenantParam(tenant));
        return body(t, access.view(t));
    }

    @PUT
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> put(Map<String, Object> body, @QueryParam("tenant") String tenant,
            @Context HttpServletRequest request) {
        return change(body, tenant, request, false);
    }

    @PATCH
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> patch(Map<String, Object> body, @QueryParam("tenant") String tenant,
            @Context HttpServletRequest request) {
        return change(body, tenant, request, true);
    }

    private Map<String, Object> change(Map<String, Object> body, String tenant, HttpServletRequest request,
            boolean patch) {
        Map<String, String> detail = new LinkedHashMap<>();
        Principal caller = AdminAudit.principal(request);
        String named = tenant == null || tenant.isBlank() ? null : AccessRules.shorten(tenant.strip());
        String target = "tenant-models:" + (named != null ? named : caller == null ? "?" : caller.tenantId());
        if (body != null && body.get("default") != null) {
            detail.put("default", AccessRules.shorten(String.valueOf(body.get("default"))));
        }
        if (body != null && body.get("models") instanceof Map<?, ?> m) {
            List<String> changes = new ArrayList<>();
            m.forEach((k, v) -> changes.add(k + "=" + v));
            detail.put("models", AccessRules.shorten(String.join(",", changes)));
        }
        return AdminAudit.run(audit, request, Permission.MODELS_ADMIN, patch ? "tenant.models.patch"
                : "tenant.models.put", target, detail, () -> {
                    Principal actor = AdminAudit.principal(request);
                    String t = access.tenantFor(actor, AccessRules.tenantParam(tenant));
                    AccessRules.ModelsChange change = AccessRules.models(body, patch);
                    TenantView current = access.view(t);
                    TenantSettings settings = current.settings();
                    Set<String> known = knownIds(current);
                    known.addAll(settings.models().keySet());
                    for (String id : change.models().keySet()) {
                        if (!known.contains(id)) {
                            throw ParleyException.invalid("models." + AccessRules.shorten(id), "Unknown model '"
                                    + AccessRules.shorten(id) + "': this tenant is offered no model, provider model "
                                    + "or alias of that id (GET /api/v1/tenant/models lists them).");
                        }
                    }
                    boolean defaultEnabled;
                    Map<String, Boolean> models;
                    if (patch) {
                        defaultEnabled = change.defaultEnabled() != null ? change.defaultEnabled()
                                : settings.defaultEnabled();
                        models = new TreeMap<>(settings.models());
                        change.models().forEach((id, enabled) -> {
                            if (enabled == null) {
                                models.remove(id);
                            } else {
                                models.put(id, enabled);
                            }
                        });
                    } else {
                        defaultEnabled = change.defaultEnabled() == null || change.defaultEnabled();
                        models = new TreeMap<>(change.models());
                    }
                    access.putSettings(actor, t, defaultEnabled, models);
                    return body(t, access.view(t));
                });
    }

    /** Every id a setting may name: the offered ids, each offered model as provider/model, and the aliases. */
    private Set<String> knownIds(TenantView view) {
        Set<String> out = new TreeSet<>();
        for (Offered o : offered(view)) {
            out.add(o.id());
            if (o.provider() != null) {
                out.add(o.provider() + "/" + o.model());
            }
        }
        return out;
    }

    /** What the operator's plugins offer this tenant now: chat models, embedding models, aliases. */
    List<Offered> offered(TenantView view) {
        RouterView rv = routing.view();
        Map<String, String> claims = new HashMap<>();
        for (Claim c : rv.claims()) {
            claims.put(c.modelId(), c.providerId());
        }
        Map<String, Offered> out = new TreeMap<>();
        for (ProviderView p : rv.providers()) {
            // Another tenant's own instance is not offered; the tenant's own is, by provider/model only (ADR 26).
            boolean own = p.owner() != null;
            if (!p.up() || !view.pluginAllowed(p.id()) || own && !p.owner().equals(view.settings().tenantId())) {
                continue;
            }
            for (String m : p.models()) {
                String claimant = claims.get(m);
                String id = !own && (claimant == null || claimant.equals(p.id())) ? m : p.id() + "/" + m;
                out.putIfAbsent(id, new Offered(id, "chat", p.id(), m, null));
            }
        }
        for (EmbeddingModel e : embeddings.models()) {
            if (view.pluginAllowed(e.providerId())) {
                out.putIfAbsent(e.id(), new Offered(e.id(), "embedding", e.providerId(), e.id(), null));
            }
        }
        for (AliasView a : rv.aliases()) {
            List<String> targets = a.targets().stream().filter(t -> view.pluginAllowed(t.providerId()))
                    .map(AliasView.Target::toString).toList();
            if (!targets.isEmpty()) {
                out.put(a.name(), new Offered(a.name(), "alias", null, null, targets));
            }
        }
        return List.copyOf(out.values());
    }

    private Map<String, Object> body(String tenant, TenantView view) {
        TenantSettings s = view.settings();
        List<Map<String, Object>> models = new ArrayList<>();
        for (Offered o : offered(view)) {
            Map<String, Object> m = new LinkedHashMap<>();
            m.put("id", o.id());
            m.put("kind", o.kind());
            boolean enabled;
            boolean usable;
            if (o.targets() != null) {
                m.put("targets", o.targets());
                enabled = view.allowsName(o.id());
                usable = enabled && o.targets().stream().anyMatch(t -> {
                    int slash = t.indexOf('/');
                    return view.allowsTarget(t.substring(0, slash), t.substring(slash + 1));
                });
            } else {
                m.put("provider", o.provider());
                enabled = view.allowsTarget(o.provider(), o.model());
                usable = enabled;
            }
            m.put("plugin", o.provider() == null ? null : access.pluginOf(o.provider()));
            m.put("enabled", enabled);
            m.put("usable", usable);
            models.add(m);
        }
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("tenant", tenant);
        out.put("default", s.defaultEnabled() ? "enabled" : "disabled");
        out.put("settings", new TreeMap<>(s.models()));
        out.put("models", models);
        out.put("updated_at", s.updatedAt() == null ? null : s.updatedAt().toString());
        out.put("updated_by", s.updatedBy());
        return out;
    }
}

package dev.parley.plugins.internal;

import dev.parley.api.audit.AuditLog;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Permission;
import dev.parley.api.identity.Principal;
import dev.parley.web.rest.admin.AdminAudit;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriBuilder;
import java.util.LinkedHashMap;
import java.util.Map;
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
 * {@code /api/v1/tenant/providers} (permission {@code models:admin}): the provider instances the caller's tenant owns
 * (its own key, its own models), and the provider plugins it may run them of. The operator tenant's admins name any
 * tenant with {@code ?tenant=}. Every change is recorded in the audit trail ({@code tenant.provider.put},
 * {@code tenant.provider.delete}) with the setting names, never their values.
 */
@Component(service = Object.class)
@JakartarsResource
@JakartarsName("parley.plugins.tenant-providers")
@JSONRequired
@JakartarsExtensionSelect("(osgi.jakartars.name=parley.rest.json)")
@Path("/api/v1/tenant/providers")
@Produces(MediaType.APPLICATION_JSON)
public class TenantProvidersResource {
    /** Body of PUT: the plugin, optionally its instance settings' PID, and the settings. */
    public record InstanceRequest(String plugin, String pid, Map<String, Object> settings) {
    }

    private final TenantProviders providers;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile AuditLog audit;

    @Activate
    public TenantProvidersResource(@Reference TenantProviders providers) {
        this.providers = providers;
    }

    @GET
    public Map<String, Object> list(@QueryParam("tenant") String tenant, @Context HttpServletRequest request) {
        Principal actor = AdminAudit.require(request, Permission.MODELS_ADMIN);
        String t = providers.tenantFor(actor, tenant);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("tenant", t);
        out.put("max", providers.max());
        out.put("instances", providers.list(t));
        out.put("plugins", providers.offers(t));
        return out;
    }

    @GET
    @Path("{name}")
    public TenantProviders.View get(@PathParam("name") String name, @QueryParam("tenant") String tenant,
            @Context HttpServletRequest request) {
        Principal actor = AdminAudit.require(request, Permission.MODELS_ADMIN);
        return providers.get(providers.tenantFor(actor, tenant), name);
    }

    @PUT
    @Path("{name}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response put(@PathParam("name") String name, InstanceRequest body, @QueryParam("tenant") String tenant,
            @Context HttpServletRequest request) {
        Map<String, String> detail = new LinkedHashMap<>();
        if (body != null && body.plugin() != null) {
            detail.put("plugin", TenantProviders.shorten(body.plugin()));
        }
        if (body != null && body.settings() != null) {
            detail.put("keys", TenantProviders.shorten(String.join(",", new TreeSet<>(body.settings().keySet()))));
        }
        return AdminAudit.run(audit, request, Permission.MODELS_ADMIN, "tenant.provider.put",
                target(request, tenant, name), detail, () -> {
                    String t = providers.tenantFor(AdminAudit.principal(request), tenant);
                    if (body == null) {
                        throw ParleyException.invalid("plugin", "Send {\"plugin\": \"<plugin id>\", \"settings\": "
                                + "{...}} (GET /api/v1/tenant/providers lists the plugins and their settings).");
                    }
                    var result = providers.put(AdminAudit.actor(request), t, name, body.plugin(), body.pid(),
                            body.settings());
                    if (!result.getValue()) {
                        return Response.ok(result.getKey()).build();
                    }
                    UriBuilder uri = UriBuilder.fromPath("/api/v1/tenant/providers/{name}");
                    if (tenant != null && !tenant.isBlank()) {
                        uri.queryParam("tenant", t);
                    }
                    return Response.created(uri.build(result.getKey().name())).entity(result.getKey()).build();
                });
    }

    @DELETE
    @Path("{name}")
    public Response delete(@PathParam("name") String name, @QueryParam("tenant") String tenant,
            @Context HttpServletRequest request) {
        return AdminAudit.run(audit, request, Permission.MODELS_ADMIN, "tenant.provider.delete",
                target(request, tenant, name), Map.of(), () -> {
                    Principal actor = AdminAudit.principal(request);
                    String t = providers.tenantFor(actor, tenant);
                    if (!providers.delete(actor.subject(), t, name)) {
                        throw new ParleyException(dev.parley.api.error.ErrorCode.NOT_FOUND, "No provider instance '"
                                + TenantProviders.shorten(name) + "' in this tenant.");
                    }
                    return Response.noContent().build();
                });
    }

    private static String target(HttpServletRequest request, String tenant, String name) {
        Principal caller = AdminAudit.principal(request);
        String t = tenant != null && !tenant.isBlank() ? TenantProviders.shorten(tenant.strip())
                : caller == null ? "?" : caller.tenantId();
        return "tenant-provider:" + t + "/" + TenantProviders.shorten(name);
    }
}

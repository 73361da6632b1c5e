package dev.parley.web.rest.internal;

import dev.parley.web.rest.admin.AdminAudit;
import dev.parley.api.audit.AuditLog;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Permission;
import dev.parley.api.routing.AliasView;
import dev.parley.api.routing.Claim;
import dev.parley.api.routing.ModelRoutingAdmin;
import dev.parley.api.routing.RouterView;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import java.util.Map;
import java.util.function.Supplier;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

/**
 * The model router for admins: providers and their health, each target's breaker, aliases, claims and prices; aliases
 * and claims changed at run time (kept in the database, so they survive a restart). Guarded by the admin token
 * ({@link AdminAuthFilter}); errors are problem details. Changes are recorded in the audit trail
 * ({@code router.alias.put}, {@code router.alias.delete}, {@code router.claim.put}, {@code router.claim.delete}),
 * failures and refusals included.
 */
@Component(service = Object.class)
@JakartarsResource
@JakartarsName("parley.rest.admin.models")
@JSONRequired
@Path("/api/v1/admin/models")
@Produces(MediaType.APPLICATION_JSON)
public class AdminModelResource {
    /** {@code PUT .../aliases/{name}}: the alias's definition, e.g. {@code weighted:openai/gpt-4o@3,anthropic/x@1}. */
    public record AliasBody(String definition) {
    }

    /** {@code PUT .../claims/{model}}: the provider id the model moves to. */
    public record ClaimBody(String provider) {
    }

    private final ModelRoutingAdmin router;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policyOption = ReferencePolicyOption.GREEDY)
    volatile AuditLog audit;

    @Activate
    public AdminModelResource(@Reference ModelRoutingAdmin router) {
        this.router = router;
    }

    @GET
    public RouterView view(@Context HttpServletRequest request) {
        AdminAudit.require(request, Permission.ROUTER_ADMIN);
        return router.view();
    }

    @PUT
    @Path("aliases/{name}")
    @Consumes(MediaType.APPLICATION_JSON)
    public AliasView putAlias(@PathParam("name") String name, AliasBody body, @Context HttpServletRequest request) {
        String definition = body == null ? null : body.definition();
        return audited(request, "router.alias.put", "alias:" + name,
                definition == null ? Map.of() : Map.of("definition", definition), () -> {
                    if (definition == null || definition.isBlank()) {
                        throw new ParleyException(ErrorCode.INVALID_REQUEST, "the body needs a 'definition', e.g. "
                                + "{\"definition\":\"priority:openai/gpt-4o-mini,anthropic/claude-3-5-haiku\"}");
                    }
                    return router.putAlias(name, definition);
                });
    }

    @DELETE
    @Path("aliases/{name}")
    public Response deleteAlias(@PathParam("name") String name, @Context HttpServletRequest request) {
        return audited(request, "router.alias.delete", "alias:" + name, Map.of(), () -> {
            router.deleteAlias(name);
            return Response.noContent().build();
        });
    }

    /** Model ids may contain slashes (e.g. {@code meta-llama/Llama-3-8B}): the rest of the path is the id. */
    @PUT
    @Path("claims/{model: .+}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Claim putClaim(@PathParam("model") String model, ClaimBody body, @Context HttpServletRequest request) {
        String provider = body == null ? null : body.provider();
        return audited(request, "router.claim.put", "model:" + model,
                provider == null ? Map.of() : Map.of("provider", provider), () -> {
                    if (provider == null || provider.isBlank()) {
                        throw new ParleyException(ErrorCode.INVALID_REQUEST, "the body needs a 'provider', e.g. "
                                + "{\"provider\":\"openai\"}");
                    }
                    return router.putClaim(model, provider);
                });
    }

    @DELETE
    @Path("claims/{model: .+}")
    public Response deleteClaim(@PathParam("model") String model, @Context HttpServletRequest request) {
        return audited(request, "router.claim.delete", "model:" + model, Map.of(), () -> {
            router.deleteClaim(model);
            return Response.noContent().build();
        });
    }

    private <T> T audited(HttpServletRequest request, String action, String target, Map<String, String> detail,
            Supplier<T> work) {
        return AdminAudit.run(audit, request, Permission.ROUTER_ADMIN, action, target, detail, work);
    }
}

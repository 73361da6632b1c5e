package dev.parley.web.rest.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.routing.AliasView;
import dev.parley.api.routing.Claim;
import dev.parley.api.routing.ModelRoutingAdmin;
import dev.parley.api.routing.RouterView;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

/**
 * The model router for admins: providers and their health, each target's breaker, aliases, claims and prices; aliases
 * and claims changed at run time (kept in the database, so they survive a restart). Guarded by the admin token
 * ({@link AdminAuthFilter}); errors are problem details.
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

    @Activate
    public AdminModelResource(@Reference ModelRoutingAdmin router) {
        this.router = router;
    }

    @GET
    public RouterView view() {
        return router.view();
    }

    @PUT
    @Path("aliases/{name}")
    @Consumes(MediaType.APPLICATION_JSON)
    public AliasView putAlias(@PathParam("name") String name, AliasBody body) {
        if (body == null || body.definition() == null || body.definition().isBlank()) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "the body needs a 'definition', e.g. "
                    + "{\"definition\":\"priority:openai/gpt-4o-mini,anthropic/claude-3-5-haiku\"}");
        }
        return router.putAlias(name, body.definition());
    }

    @DELETE
    @Path("aliases/{name}")
    public Response deleteAlias(@PathParam("name") String name) {
        router.deleteAlias(name);
        return Response.noContent().build();
    }

    /** Model ids may contain slashes (e.g. {@code meta-llama/Llama-3-8B}): the rest of the path is the id. */
    @PUT
    @Path("claims/{model: .+}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Claim putClaim(@PathParam("model") String model, ClaimBody body) {
        if (body == null || body.provider() == null || body.provider().isBlank()) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "the body needs a 'provider', e.g. "
                    + "{\"provider\":\"openai\"}");
        }
        return router.putClaim(model, body.provider());
    }

    @DELETE
    @Path("claims/{model: .+}")
    public Response deleteClaim(@PathParam("model") String model) {
        router.deleteClaim(model);
        return Response.noContent().build();
    }
}

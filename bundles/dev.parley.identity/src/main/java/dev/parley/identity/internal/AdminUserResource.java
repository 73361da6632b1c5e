package dev.parley.identity.internal;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.time.Clock;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

/**
 * Users of a tenant, for principals with {@code users:admin}: the caller's own tenant, or the one named by
 * {@code ?tenant=} for principals that also hold {@code tenants:admin}. Checked here again whatever the edge checked.
 */
@Component(service = Object.class)
@JakartarsResource
@JakartarsName("parley.identity.admin.users")
@JSONRequired
@Path("/api/v1/admin/users")
@Produces(MediaType.APPLICATION_JSON)
public class AdminUserResource {
    private final BuiltInIdentity identity;
    private final Clock clock = Clock.systemUTC();

    @Activate
    public AdminUserResource(@Reference BuiltInIdentity identity) {
        this.identity = identity;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response create(@QueryParam("tenant") String tenant, Map<String, Object> body,
            @Context HttpServletRequest request) {
        var caller = Requests.principal(request);
        Map<String, Object> b = Requests.object(body,
                "{\"username\":\"ada\",\"password\":\"...\",\"roles\":[\"member\"]}");
        var user = identity.users().createUser(caller, tenant, Requests.string(b, "username"),
                Requests.string(b, "password"), Requests.strings(b, "roles"), Requests.address(request));
        return Response.status(Response.Status.CREATED).entity(Requests.view(user, clock.instant())).build();
    }

    @GET
    public Map<String, Object> list(@QueryParam("tenant") String tenant, @QueryParam("limit") String limit,
            @QueryParam("after") String after, @Context HttpServletRequest request) {
        var caller = Requests.principal(request);
        int n = Requests.limit(limit);
        List<IdentityStore.User> page = identity.users().users(caller, tenant, after, n);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("users", page.stream().map(u -> Requests.view(u, clock.instant())).toList());
        out.put("next", page.size() == n ? page.get(page.size() - 1).username() : null);
        return out;
    }

    @GET
    @Path("{id}")
    public Map<String, Object> get(@QueryParam("tenant") String tenant, @PathParam("id") String id,
            @Context HttpServletRequest request) {
        return Requests.view(identity.users().user(Requests.principal(request), tenant, id), clock.instant());
    }

    @PUT
    @Path("{id}/roles")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> roles(@QueryParam("tenant") String tenant, @PathParam("id") String id,
            Map<String, Object> body, @Context HttpServletRequest request) {
        var caller = Requests.principal(request);
        Map<String, Object> b = Requests.object(body, "{\"roles\":[\"developer\"]}");
        return Requests.view(identity.users().setRoles(caller, tenant, id, Requests.strings(b, "roles"),
                Requests.address(request)), clock.instant());
    }

    @POST
    @Path("{id}/disable")
    public Map<String, Object> disable(@QueryParam("tenant") String tenant, @PathParam("id") String id,
            @Context HttpServletRequest request) {
        return Requests.view(identity.users().setDisabled(Requests.principal(request), tenant, id, true,
                Requests.address(request)), clock.instant());
    }

    @POST
    @Path("{id}/enable")
    public Map<String, Object> enable(@QueryParam("tenant") String tenant, @PathParam("id") String id,
            @Context HttpServletRequest request) {
        return Requests.view(identity.users().setDisabled(Requests.principal(request), tenant, id, false,
                Requests.address(request)), clock.instant());
    }

    @POST
    @Path("{id}/unlock")
    public Map<String, Object> unlock(@QueryParam("tenant") String tenant, @PathParam("id") String id,
            @Context HttpServletRequest request) {
        return Requests.view(identity.users().unlock(Requests.principal(request), tenant, id,
                Requests.address(request)), clock.instant());
    }

    @DELETE
    @Path("{id}")
    public Response delete(@QueryParam("tenant") String tenant, @PathParam("id") String id,
            @Context HttpServletRequest request) {
        identity.users().delete(Requests.principal(request), tenant, id, Requests.address(request));
        return Response.noContent().build();
    }
}

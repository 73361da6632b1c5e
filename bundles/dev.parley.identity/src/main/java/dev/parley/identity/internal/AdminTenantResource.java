package dev.parley.identity.internal;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

/** Tenants, for the operator's principals with {@code tenants:admin}. */
@Component(service = Object.class)
@JakartarsResource
@JakartarsName("parley.identity.admin.tenants")
@JSONRequired
@Path("/api/v1/admin/tenants")
@Produces(MediaType.APPLICATION_JSON)
public class AdminTenantResource {
    private final BuiltInIdentity identity;

    @Activate
    public AdminTenantResource(@Reference BuiltInIdentity identity) {
        this.identity = identity;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response create(Map<String, Object> body, @Context HttpServletRequest request) {
        var caller = Requests.principal(request);
        Map<String, Object> b = Requests.object(body, "{\"id\":\"acme\",\"name\":\"Acme Inc.\"}");
        var tenant = identity.users().createTenant(caller, Requests.string(b, "id"), Requests.string(b, "name"),
                Requests.address(request));
        return Response.status(Response.Status.CREATED).entity(Requests.view(tenant)).build();
    }

    @GET
    public Map<String, Object> list(@QueryParam("limit") String limit, @QueryParam("after") String after,
            @Context HttpServletRequest request) {
        var caller = Requests.principal(request);
        int n = Requests.limit(limit);
        List<IdentityStore.Tenant> page = identity.users().tenants(caller, after, n);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("tenants", page.stream().map(Requests::view).toList());
        out.put("next", page.size() == n ? page.get(page.size() - 1).id() : null);
        return out;
    }

    @GET
    @Path("{id}")
    public Map<String, Object> get(@PathParam("id") String id, @Context HttpServletRequest request) {
        return Requests.view(identity.users().tenant(Requests.principal(request), id));
    }
}

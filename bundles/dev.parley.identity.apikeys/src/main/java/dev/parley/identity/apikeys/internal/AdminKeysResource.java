package dev.parley.identity.apikeys.internal;

import dev.parley.identity.apikeys.internal.KeyBodies.Key;
import dev.parley.identity.apikeys.internal.KeyBodies.KeyList;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import java.time.Clock;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsExtensionSelect;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

/**
 * {@code /api/v1/admin/keys}: every API key of the caller's tenant, for its admins (permission {@code keys:admin}):
 * listed with filters and paging, revoked whoever owns them.
 */
@Component(service = Object.class)
@JakartarsResource
@JakartarsName("parley.apikeys.admin")
@JSONRequired
@JakartarsExtensionSelect("(osgi.jakartars.name=parley.rest.json)")
@Path("/api/v1/admin/keys")
@Produces(MediaType.APPLICATION_JSON)
public class AdminKeysResource {
    private final ApiKeys keys;
    private final Clock clock = Clock.systemUTC();

    @Activate
    public AdminKeysResource(@Reference ApiKeys keys) {
        this.keys = keys;
    }

    /**
     * @param owner   only this owner's keys (a subject)
     * @param revoked {@code true}: only revoked keys; {@code false}: only keys not revoked
     * @param expired {@code true}: only expired keys; {@code false}: only keys not expired
     */
    @GET
    public KeyList list(@QueryParam("owner") String owner, @QueryParam("revoked") String revoked,
            @QueryParam("expired") String expired, @QueryParam("offset") String offset,
            @QueryParam("limit") String limit, @Context HttpServletRequest request) {
        return KeyList.of(keys.listTenant(Requests.principal(request), Requests.textParam("owner", owner),
                Requests.booleanParam("revoked", revoked), Requests.booleanParam("expired", expired),
                Requests.intParam("offset", offset, 0, 0, Integer.MAX_VALUE),
                Requests.intParam("limit", limit, Requests.DEFAULT_PAGE, 1, Requests.MAX_PAGE)), clock.instant());
    }

    @GET
    @Path("{id}")
    public Key get(@PathParam("id") String id, @Context HttpServletRequest request) {
        return Key.of(keys.getInTenant(Requests.principal(request), id), clock.instant());
    }

    @DELETE
    @Path("{id}")
    public Key revoke(@PathParam("id") String id, @Context HttpServletRequest request) {
        return Key.of(keys.revokeInTenant(Requests.principal(request), id, Requests.sourceAddress(request)),
                clock.instant());
    }
}

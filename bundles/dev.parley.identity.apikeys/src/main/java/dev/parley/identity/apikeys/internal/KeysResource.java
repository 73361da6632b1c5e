package dev.parley.identity.apikeys.internal;

import dev.parley.identity.apikeys.internal.KeyBodies.Key;
import dev.parley.identity.apikeys.internal.KeyBodies.KeyList;
import dev.parley.identity.apikeys.internal.KeyBodies.NewKey;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.CacheControl;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.time.Clock;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsExtensionSelect;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

/**
 * {@code /api/v1/keys}: the caller's own API keys (permission {@code keys:own}). The key is in the answer to its
 * creation and nowhere else, ever; listings show its id and prefix. Errors are problem details (web.rest's JSON
 * extension).
 */
@Component(service = Object.class)
@JakartarsResource
@JakartarsName("parley.apikeys.own")
@JSONRequired
@JakartarsExtensionSelect("(osgi.jakartars.name=parley.rest.json)")
@Path("/api/v1/keys")
@Produces(MediaType.APPLICATION_JSON)
public class KeysResource {
    private final ApiKeys keys;
    private final Clock clock = Clock.systemUTC();

    @Activate
    public KeysResource(@Reference ApiKeys keys) {
        this.keys = keys;
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response create(NewKey body, @Context HttpServletRequest request, @Context UriInfo uri) {
        ApiKeys.Created created = keys.create(Requests.principal(request), body == null ? null : body.request(),
                Requests.sourceAddress(request));
        CacheControl noStore = new CacheControl();
        noStore.setNoStore(true);
        return Response.created(uri.getBaseUriBuilder().path("api/v1/keys").path(created.stored().id()).build())
                .cacheControl(noStore)
                .entity(Key.of(created.stored(), clock.instant(), created.key())).build();
    }

    @GET
    public KeyList list(@QueryParam("offset") String offset, @QueryParam("limit") String limit,
            @Context HttpServletRequest request) {
        return KeyList.of(keys.listOwn(Requests.principal(request),
                Requests.intParam("offset", offset, 0, 0, Integer.MAX_VALUE),
                Requests.intParam("limit", limit, Requests.DEFAULT_PAGE, 1, Requests.MAX_PAGE)), clock.instant());
    }

    @GET
    @Path("{id}")
    public Key get(@PathParam("id") String id, @Context HttpServletRequest request) {
        return Key.of(keys.getOwn(Requests.principal(request), id), clock.instant());
    }

    /** Revokes the key (at once on this node; see the README for other nodes); revoking it again changes nothing. */
    @DELETE
    @Path("{id}")
    public Key revoke(@PathParam("id") String id, @Context HttpServletRequest request) {
        return Key.of(keys.revokeOwn(Requests.principal(request), id, Requests.sourceAddress(request)),
                clock.instant());
    }
}

package dev.parley.identity.internal;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.CacheControl;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.Map;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

/**
 * Sign-in: {@code login} and {@code refresh} are public routes; {@code logout}, {@code password} and {@code me} act
 * for the principal the edge verified. Token answers are never cached.
 */
@Component(service = Object.class)
@JakartarsResource
@JakartarsName("parley.identity.auth")
@JSONRequired
@Path("/api/v1/auth")
@Produces(MediaType.APPLICATION_JSON)
public class AuthResource {
    private static final CacheControl NO_STORE = CacheControl.valueOf("no-store");

    private final BuiltInIdentity identity;

    @Activate
    public AuthResource(@Reference BuiltInIdentity identity) {
        this.identity = identity;
    }

    @POST
    @Path("login")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response login(Map<String, Object> body, @Context HttpServletRequest request) {
        Map<String, Object> b = Requests.object(body,
                "{\"tenant\":\"default\",\"username\":\"admin\",\"password\":\"...\"}");
        SignIn.Tokens t = identity.signIn().login(Requests.string(b, "tenant"), Requests.string(b, "username"),
                Requests.string(b, "password"), Requests.address(request));
        return Response.ok(Requests.view(t)).cacheControl(NO_STORE).build();
    }

    @POST
    @Path("refresh")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response refresh(Map<String, Object> body, @Context HttpServletRequest request) {
        Map<String, Object> b = Requests.object(body, "{\"refresh_token\":\"prt_...\"}");
        SignIn.Tokens t = identity.signIn().refresh(Requests.string(b, "refresh_token"), Requests.address(request));
        return Response.ok(Requests.view(t)).cacheControl(NO_STORE).build();
    }

    @POST
    @Path("logout")
    public Response logout(@Context HttpServletRequest request) {
        identity.signIn().logout(Requests.principal(request), Requests.address(request));
        return Response.noContent().build();
    }

    @POST
    @Path("password")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response password(Map<String, Object> body, @Context HttpServletRequest request) {
        var principal = Requests.principal(request);
        Map<String, Object> b = Requests.object(body, "{\"current\":\"...\",\"new\":\"...\"}");
        SignIn.Tokens t = identity.signIn().changePassword(principal, Requests.string(b, "current"),
                Requests.string(b, "new"), Requests.address(request));
        return Response.ok(Requests.view(t)).cacheControl(NO_STORE).build();
    }

    @GET
    @Path("me")
    public Map<String, Object> me(@Context HttpServletRequest request) {
        return Requests.view(Requests.principal(request));
    }
}

package dev.parley.identity.oidc.internal;

import dev.parley.api.audit.AuditLog;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.secrets.SecretSealer;
import dev.parley.db.Database;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.Cookie;
import jakarta.ws.rs.core.HttpHeaders;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.MultivaluedMap;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriInfo;
import java.net.URI;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

/**
 * The browser sign-in through a configured OIDC issuer (public routes: the edge asks no credential here):
 * {@code GET /api/v1/auth/oidc/{name}/login?redirect_uri=…[&state=…]} sends the browser to the issuer,
 * {@code GET /api/v1/auth/oidc/{name}/callback} is where the issuer sends it back, and from there it goes back to
 * the console with the credential in the URL fragment. {@code name} is the issuer configuration's name
 * ({@code dev.parley.identity.oidc~<name>}). Refusals are JSON problems; nothing here is cached or sent on as a
 * referrer.
 */
@Component(service = Object.class)
@JakartarsResource
@JakartarsName("parley.identity.oidc.sign-in")
@JSONRequired
@Path("/api/v1/auth/oidc")
@Produces(MediaType.APPLICATION_JSON)
public class OidcSignInResource {
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile AuditLog audit;

    private final Map<String, OidcBearerAuthenticator> issuers = new ConcurrentHashMap<>();
    private final BrowserSignIn signIn;

    @Activate
    public OidcSignInResource(@Reference Database database, @Reference SecretSealer sealer) {
        this(new PendingLogins(database), sealer, Clock.systemUTC());
    }

    OidcSignInResource(PendingLogins pending, SecretSealer sealer, Clock clock) {
        this.signIn = new BrowserSignIn(pending, sealer, clock, () -> audit);
    }

    @Reference(cardinality = ReferenceCardinality.MULTIPLE, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    void addIssuer(OidcBearerAuthenticator issuer) {
        OidcSettings.LoginSettings login = issuer.settings().login();
        if (login != null) {
            issuers.put(login.name(), issuer);
        }
    }

    void removeIssuer(OidcBearerAuthenticator issuer) {
        OidcSettings.LoginSettings login = issuer.settings().login();
        if (login != null) {
            issuers.remove(login.name(), issuer);
        }
    }

    @GET
    @Path("{name}/login")
    public Response login(@PathParam("name") String name, @Context UriInfo uri) {
        Map<String, String> query = single(uri.getQueryParameters(), "redirect_uri", "state");
        BrowserSignIn.Redirect next = signIn.login(issuer(name), query.get("redirect_uri"), query.get("state"),
                uri.getRequestUri());
        return redirect(next);
    }

    @GET
    @Path("{name}/callback")
    public Response callback(@PathParam("name") String name, @Context UriInfo uri, @Context HttpHeaders headers,
            @Context HttpServletRequest request) {
        Map<String, String> query = single(uri.getQueryParameters(), "code", "state", "error");
        Map<String, String> cookies = new HashMap<>();
        for (Map.Entry<String, Cookie> c : headers.getCookies().entrySet()) {
            if (c.getKey().startsWith(BrowserSignIn.COOKIE_PREFIX)) {
                cookies.put(c.getKey(), c.getValue().getValue());
            }
        }
        BrowserSignIn.Redirect next = signIn.callback(issuer(name), query.get("code"), query.get("state"),
                query.get("error"), cookies, uri.getRequestUri(), request == null ? "" : request.getRemoteAddr());
        return redirect(next);
    }

    private OidcBearerAuthenticator issuer(String name) {
        OidcBearerAuthenticator issuer = name == null ? null : issuers.get(name);
        if (issuer == null) {
            throw new ParleyException(ErrorCode.NOT_FOUND, "no identity provider with a browser sign-in is "
                    + "configured under this name");
        }
        return issuer;
    }

    /** The named parameters, each at most once (RFC 6749 3.1: parameters must not repeat). */
    private static Map<String, String> single(MultivaluedMap<String, String> query, String... names) {
        Map<String, String> out = new HashMap<>();
        for (String n : names) {
            List<String> values = query.get(n);
            if (values != null && values.size() > 1) {
                throw ParleyException.invalid(n, "'" + n + "' is given more than once");
            }
            if (values != null && !values.isEmpty()) {
                out.put(n, values.get(0));
            }
        }
        return out;
    }

    private static Response redirect(BrowserSignIn.Redirect next) {
        return Response.status(Response.Status.FOUND).location(next.location())
                .header("Set-Cookie", next.setCookie())
                .header("Cache-Control", "no-store")
                .header("Referrer-Policy", "no-referrer")
                .build();
    }

    /** For the tests: the started sign-ins' logic. */
    BrowserSignIn signIn() {
        return signIn;
    }
}

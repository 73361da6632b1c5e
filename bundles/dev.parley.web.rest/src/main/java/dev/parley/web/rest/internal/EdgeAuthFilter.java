package dev.parley.web.rest.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.audit.AuditEvent;
import dev.parley.api.audit.AuditLog;
import dev.parley.api.audit.AuditOutcome;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.BearerAuthenticator;
import dev.parley.api.identity.Principal;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Duration;
import java.time.Instant;
import java.util.Enumeration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardFilterAsyncSupported;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardFilterName;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardFilterPattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Authentication and the route's permission, for every HTTP request whichever bundle serves it (REST resources,
 * the compatible APIs' servlets, the WebSocket upgrade), before anything else but the telemetry filter sees it.
 *
 * <p>The credential comes as {@code Authorization: Bearer}, as {@code x-api-key} under {@code /v1} (as Anthropic's
 * SDKs send it), or, on the WebSocket upgrade only, as a {@code Sec-WebSocket-Protocol} entry
 * {@value #WS_PROTOCOL_PREFIX}{@code <credential>} (browsers cannot set headers there; never in the URL, which gets
 * logged). The first {@link BearerAuthenticator} that recognizes it decides. The verified {@link Principal} is left
 * in the request attribute {@link Principal#REQUEST_ATTRIBUTE} for the resources, which check again. A known caller
 * refused for want of a permission is recorded in the audit trail ({@code access.denied}).
 */
@Component(service = Filter.class, property = "service.ranking:Integer=" + EdgeAuthFilter.RANKING)
@HttpWhiteboardFilterPattern("/*")
@HttpWhiteboardFilterName("parley-edge-auth")
@HttpWhiteboardFilterAsyncSupported
public class EdgeAuthFilter implements Filter {
    /** Just after the telemetry filter (so refusals are measured and traced), before every other filter. */
    static final int RANKING = 2_147_482_000;
    static final String WS_PROTOCOL_PREFIX = "parley.bearer.";
    /**
     * Longer credentials are refused without asking any authenticator. Below the container's 8 KiB for all request
     * headers (larger requests get its 431), above the largest tokens big OIDC issuers send.
     */
    static final int MAX_CREDENTIAL_CHARS = 7_168;
    private static final String BEARER = "Bearer ";
    private static final Logger LOG = LoggerFactory.getLogger(EdgeAuthFilter.class);

    private final List<BearerAuthenticator> authenticators = new CopyOnWriteArrayList<>();

    /** Where refusals of a known caller go (a 403 is an attempt worth recording; a 401 names nobody). */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile AuditLog audit;
    private final ObjectMapper mapper = JsonMapping.newMapper();

    @Reference(service = BearerAuthenticator.class, cardinality = ReferenceCardinality.MULTIPLE,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY)
    public void addAuthenticator(BearerAuthenticator a) {
        authenticators.add(a);
    }

    public void removeAuthenticator(BearerAuthenticator a) {
        authenticators.remove(a);
    }

    @Override
    public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain)
            throws IOException, ServletException {
        HttpServletRequest request = (HttpServletRequest) req;
        HttpServletResponse response = (HttpServletResponse) res;
        String path = path(request);
        AccessPolicy.Rule rule = AccessPolicy.ruleFor(request.getMethod(), path);
        if (rule.access() == AccessPolicy.Access.PUBLIC) {
            chain.doFilter(req, res);
            return;
        }
        Principal principal;
        try {
            principal = authenticate(credential(request, path));
        } catch (ParleyException e) {
            refuse(request, response, path, e);
            return;
        } catch (RuntimeException e) {
            refuse(request, response, path, new ParleyException(ErrorCode.INTERNAL, "authenticator failed", e));
            return;
        }
        if (rule.access() == AccessPolicy.Access.PERMISSION && !principal.can(rule.permission())) {
            AuditLog log = audit;
            if (log != null) {
                log.record(new AuditEvent(Instant.now(), principal.subject(), principal.tenantId(), "access.denied",
                        request.getMethod() + " " + path, AuditOutcome.DENIED, request.getRemoteAddr(),
                        Map.of("permission", rule.permission().slug(), "method", principal.method().name())));
            }
            refuse(request, response, path, new ParleyException(ErrorCode.FORBIDDEN, request.getMethod() + " " + path
                    + " needs the permission '" + rule.permission().slug() + "'" + (rule.permission().platform()
                            ? " in the operator tenant" : "") + "; this credential's roles or scopes do not grant it."));
            return;
        }
        request.setAttribute(Principal.REQUEST_ATTRIBUTE, principal);
        chain.doFilter(req, res);
    }

    Principal authenticate(String credential) {
        if (credential == null) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED, "This route needs a credential: 'Authorization: Bearer "
                    + "<API key or access token>' (or 'x-api-key' under /v1).");
        }
        if (credential.isEmpty()) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED, "The credential is empty.");
        }
        if (credential.length() > MAX_CREDENTIAL_CHARS) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED,
                    "The credential is longer than " + MAX_CREDENTIAL_CHARS + " characters.");
        }
        for (BearerAuthenticator a : authenticators) {
            if (a.recognizes(credential)) {
                Principal p = a.authenticate(credential);
                if (p == null) {
                    throw new IllegalStateException(a.getClass().getName() + " returned no principal");
                }
                return p;
            }
        }
        throw new ParleyException(ErrorCode.UNAUTHORIZED, "The credential is not one this server accepts: an API "
                + "key, a Parley access token, or a token of a configured OpenID Connect issuer.");
    }

    /** The credential the request carries, or null when it carries none. */
    static String credential(HttpServletRequest request, String path) {
        String authorization = request.getHeader("Authorization");
        if (authorization != null) {
            if (!authorization.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
                throw new ParleyException(ErrorCode.UNAUTHORIZED,
                        "Only 'Authorization: Bearer <credential>' is accepted.");
            }
            return authorization.substring(BEARER.length()).strip();
        }
        if (path.equals("/v1") || path.startsWith("/v1/")) {
            String apiKey = request.getHeader("x-api-key");
            if (apiKey != null) {
                return apiKey.strip();
            }
        }
        if ("websocket".equalsIgnoreCase(request.getHeader("Upgrade"))) {
            Enumeration<String> headers = request.getHeaders("Sec-WebSocket-Protocol");
            while (headers != null && headers.hasMoreElements()) {
                for (String protocol : headers.nextElement().split(",")) {
                    String p = protocol.strip();
                    if (p.startsWith(WS_PROTOCOL_PREFIX)) {
                        return p.substring(WS_PROTOCOL_PREFIX.length());
                    }
                }
            }
        }
        return null;
    }

    /** The decoded, normalised path within the context (the servlet container resolved dot segments already). */
    static String path(HttpServletRequest request) {
        String servletPath = request.getServletPath();
        String info = request.getPathInfo();
        String p = (servletPath == null ? "" : servletPath) + (info == null ? "" : info);
        return p.isEmpty() ? "/" : p;
    }

    private void refuse(HttpServletRequest request, HttpServletResponse response, String path, ParleyException e)
            throws IOException {
        boolean gaveCredential = request.getHeader("Authorization") != null;
        if (response.isCommitted()) {
            return;
        }
        if (e.code() != ErrorCode.UNAUTHORIZED && e.code() != ErrorCode.FORBIDDEN && e.code() != ErrorCode.UNAVAILABLE) {
            // An authenticator that failed in a way it should not have: the caller gets 503, the log the cause.
            LOG.error("Authenticating a request to {} failed", path, e);
            e = new ParleyException(ErrorCode.UNAVAILABLE, "The credential could not be checked now; try again.",
                    Duration.ofSeconds(5), e);
        }
        ErrorResponses.Failure failure = ErrorResponses.Failure.of(e);
        if (e.code() == ErrorCode.UNAUTHORIZED) {
            response.setHeader("WWW-Authenticate", gaveCredential
                    ? "Bearer realm=\"parley\", error=\"invalid_token\"" : "Bearer realm=\"parley\"");
        } else if (e.code() == ErrorCode.FORBIDDEN) {
            response.setHeader("WWW-Authenticate", "Bearer realm=\"parley\", error=\"insufficient_scope\"");
        }
        EdgeRefusals.write(mapper, request, response, path, failure);
    }
}

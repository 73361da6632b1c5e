package dev.parley.itests;

import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.BearerAuthenticator;
import dev.parley.api.identity.Principal;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletRequestWrapper;
import java.io.IOException;
import java.util.Collections;
import java.util.Enumeration;
import java.util.Hashtable;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;

/**
 * A test-only stand-in for the edge filter (being built in {@code dev.parley.web.auth}): it asks the registered
 * {@link BearerAuthenticator}s about {@code Authorization: Bearer} and leaves the principal in
 * {@link Principal#REQUEST_ATTRIBUTE}, as the edge will. While the admin API is still guarded by the shared admin
 * token, it presents that token to the admin filter behind a verified principal; the real edge replaces both.
 */
final class TestEdgeFilter implements Filter {
    private static final String BEARER = "Bearer ";

    private final BundleContext context;
    private final String adminToken;

    private TestEdgeFilter(BundleContext context, String adminToken) {
        this.context = context;
        this.adminToken = adminToken;
    }

    static ServiceRegistration<Filter> register(BundleContext context, String adminToken) {
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("osgi.http.whiteboard.filter.pattern", "/*");
        props.put("osgi.http.whiteboard.filter.name", "itest-edge");
        props.put("osgi.http.whiteboard.filter.asyncSupported", Boolean.TRUE);
        return context.registerService(Filter.class, new TestEdgeFilter(context, adminToken), props);
    }

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        HttpServletRequest http = (HttpServletRequest) request;
        String header = http.getHeader("Authorization");
        if (header != null && header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            Principal principal = authenticate(header.substring(BEARER.length()).strip());
            if (principal != null) {
                http.setAttribute(Principal.REQUEST_ATTRIBUTE, principal);
                if (http.getRequestURI().startsWith("/api/v1/admin/")) {
                    http = withAuthorization(http, BEARER + adminToken);
                }
            }
        }
        chain.doFilter(http, response);
    }

    private Principal authenticate(String credential) {
        try {
            for (ServiceReference<BearerAuthenticator> ref : context.getServiceReferences(BearerAuthenticator.class,
                    null)) {
                BearerAuthenticator a = context.getService(ref);
                try {
                    if (a != null && a.recognizes(credential)) {
                        try {
                            return a.authenticate(credential);
                        } catch (ParleyException refused) {
                            return null; // no principal: the resource answers 401
                        }
                    }
                } finally {
                    context.ungetService(ref);
                }
            }
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        return null;
    }

    private static HttpServletRequest withAuthorization(HttpServletRequest request, String value) {
        return new HttpServletRequestWrapper(request) {
            @Override
            public String getHeader(String name) {
                return "Authorization".equalsIgnoreCase(name) ? value : super.getHeader(name);
            }

            @Override
            public Enumeration<String> getHeaders(String name) {
                return "Authorization".equalsIgnoreCase(name) ? Collections.enumeration(java.util.List.of(value))
                        : super.getHeaders(name);
            }
        };
    }
}

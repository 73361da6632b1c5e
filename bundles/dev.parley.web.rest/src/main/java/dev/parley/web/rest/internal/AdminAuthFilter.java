package dev.parley.web.rest.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import jakarta.ws.rs.container.ContainerRequestContext;
import jakarta.ws.rs.container.ContainerRequestFilter;
import jakarta.ws.rs.container.PreMatching;
import jakarta.ws.rs.core.HttpHeaders;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;

/**
 * Guards the admin API ({@code /api/v1/admin/...}, whichever bundle serves it) with one bearer token until real
 * authentication replaces it. Runs before matching, so an unknown admin path without the token is 401, not 404.
 */
@PreMatching
final class AdminAuthFilter implements ContainerRequestFilter {
    static final String ADMIN_PATH = "api/v1/admin";
    private static final String BEARER = "Bearer ";

    private final byte[] token;

    AdminAuthFilter(String token) {
        this.token = token == null || token.isBlank() ? null : token.strip().getBytes(StandardCharsets.UTF_8);
    }

    @Override
    public void filter(ContainerRequestContext request) {
        if (!isAdminPath(request.getUriInfo().getPath())) {
            return;
        }
        if (token == null) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED, "The admin API has no credential configured; set PARLEY_ADMIN_TOKEN.");
        }
        String header = request.getHeaderString(HttpHeaders.AUTHORIZATION);
        if (header == null || !header.regionMatches(true, 0, BEARER, 0, BEARER.length())) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED, "The admin API needs 'Authorization: Bearer <admin token>'.");
        }
        byte[] given = header.substring(BEARER.length()).strip().getBytes(StandardCharsets.UTF_8);
        if (!MessageDigest.isEqual(given, token)) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED, "The admin token is wrong.");
        }
    }

    static boolean isAdminPath(String path) {
        String p = path == null ? "" : path;
        while (p.startsWith("/")) {
            p = p.substring(1);
        }
        return p.equals(ADMIN_PATH) || p.startsWith(ADMIN_PATH + "/");
    }
}

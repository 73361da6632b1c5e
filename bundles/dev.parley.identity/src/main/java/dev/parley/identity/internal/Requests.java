package dev.parley.identity.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Permission;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import jakarta.servlet.http.HttpServletRequest;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** What the resources share: reading bodies and the principal, and the JSON views of users and tenants. */
final class Requests {
    private Requests() {
    }

    /** The principal the edge left on the request; 401 when there is none. */
    static Principal principal(HttpServletRequest request) {
        Object p = request == null ? null : request.getAttribute(Principal.REQUEST_ATTRIBUTE);
        if (p instanceof Principal principal) {
            return principal;
        }
        throw new ParleyException(ErrorCode.UNAUTHORIZED, "sign in first: send 'Authorization: Bearer <access token>'");
    }

    static String address(HttpServletRequest request) {
        return request == null ? "" : request.getRemoteAddr();
    }

    static Map<String, Object> object(Map<String, Object> body, String example) {
        if (body == null) {
            throw ParleyException.invalid(null, "the body must be a JSON object, e.g. " + example);
        }
        return body;
    }

    /** A string field, or null when absent; 400 when it is there but not a string. */
    static String string(Map<String, Object> body, String field) {
        Object v = body.get(field);
        if (v == null) {
            return null;
        }
        if (!(v instanceof String s)) {
            throw ParleyException.invalid(field, "'" + field + "' must be a string");
        }
        return s;
    }

    /** A list of strings, or null when absent; 400 otherwise. */
    static List<String> strings(Map<String, Object> body, String field) {
        Object v = body.get(field);
        if (v == null) {
            return null;
        }
        if (!(v instanceof Collection<?> c) || c.size() > 20) {
            throw ParleyException.invalid(field, "'" + field + "' must be a list of at most 20 strings");
        }
        List<String> out = new ArrayList<>();
        for (Object o : c) {
            if (!(o instanceof String s)) {
                throw ParleyException.invalid(field, "'" + field + "' must be a list of strings");
            }
            out.add(s);
        }
        return out;
    }

    static int limit(String value) {
        if (value == null || value.isEmpty()) {
            return 50;
        }
        try {
            return Integer.parseInt(value);
        } catch (NumberFormatException e) {
            throw ParleyException.invalid("limit", "'limit' must be a number between 1 and " + UserAdmin.MAX_PAGE);
        }
    }

    static Map<String, Object> view(IdentityStore.User u, java.time.Instant now) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", u.id());
        out.put("tenant", u.tenantId());
        out.put("username", u.username());
        out.put("roles", u.roles().stream().sorted().map(Role::slug).toList());
        out.put("disabled", u.disabled());
        out.put("locked", u.lockedAt(now));
        out.put("lockedUntil", u.lockedAt(now) ? u.lockedUntil().toString() : null);
        out.put("failedAttempts", u.failedAttempts());
        out.put("createdAt", u.createdAt().toString());
        out.put("passwordChangedAt", u.passwordChangedAt().toString());
        return out;
    }

    static Map<String, Object> view(IdentityStore.Tenant t) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("id", t.id());
        out.put("name", t.name());
        out.put("createdAt", t.createdAt().toString());
        return out;
    }

    static Map<String, Object> view(Principal p) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("subject", p.subject());
        out.put("tenant", p.tenantId());
        out.put("roles", p.roles().stream().sorted().map(Role::slug).toList());
        List<String> permissions = new ArrayList<>();
        for (Permission permission : Permission.values()) {
            if (p.can(permission)) {
                permissions.add(permission.slug());
            }
        }
        out.put("permissions", permissions);
        out.put("method", p.method().name().toLowerCase(java.util.Locale.ROOT).replace('_', '-'));
        out.put("issuer", p.issuer());
        out.put("expiresAt", p.expiresAt() == null ? null : p.expiresAt().toString());
        return out;
    }

    static Map<String, Object> view(SignIn.Tokens t) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("access_token", t.accessToken());
        out.put("token_type", "Bearer");
        out.put("expires_in", t.expiresIn());
        out.put("refresh_token", t.refreshToken());
        out.put("refresh_expires_in", t.refreshExpiresIn());
        return out;
    }
}

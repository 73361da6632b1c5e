package dev.parley.plugins.internal;

import dev.parley.api.audit.AuditEvent;
import dev.parley.api.audit.AuditLog;
import dev.parley.api.audit.AuditOutcome;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Permission;
import dev.parley.api.identity.Principal;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.ws.rs.WebApplicationException;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * Runs an admin change of this bundle's resources and records it in the audit trail, when there is one: who (the
 * principal the edge left in the request, or {@value #ADMIN_TOKEN_ACTOR} for a request that came in on the
 * break-glass admin token alone), in which tenant, from which address, and how it ended (a refusal is
 * {@code DENIED}, any other error {@code FAILURE}, with the error's code). A principal without {@code permission} is
 * refused here too (the second line behind the edge's check).
 */
final class AdminAudit {
    /** The actor of a request that carries no principal: it passed the break-glass admin token. */
    static final String ADMIN_TOKEN_ACTOR = "admin-token";

    private AdminAudit() {
    }

    static <T> T run(AuditLog audit, HttpServletRequest request, Permission permission, String action, String target,
            Map<String, String> detail, Supplier<T> work) {
        Principal principal = principal(request);
        if (principal != null && !principal.can(permission)) {
            record(audit, request, principal, action, target, AuditOutcome.DENIED,
                    with(detail, "reason", "lacks the permission " + permission.slug()));
            throw new ParleyException(ErrorCode.FORBIDDEN, "This needs the permission '" + permission.slug() + "'.");
        }
        T result;
        try {
            result = work.get();
        } catch (ParleyException e) {
            boolean refused = e.code() == ErrorCode.FORBIDDEN || e.code() == ErrorCode.UNAUTHORIZED;
            record(audit, request, principal, action, target, refused ? AuditOutcome.DENIED : AuditOutcome.FAILURE,
                    with(detail, "error", e.code().slug()));
            throw e;
        } catch (WebApplicationException e) {
            record(audit, request, principal, action, target, AuditOutcome.FAILURE,
                    with(detail, "error", "http-" + e.getResponse().getStatus()));
            throw e;
        } catch (RuntimeException e) {
            record(audit, request, principal, action, target, AuditOutcome.FAILURE, with(detail, "error", "internal"));
            throw e;
        }
        record(audit, request, principal, action, target, AuditOutcome.SUCCESS, detail);
        return result;
    }

    /** The principal the edge left in the request; null when there is none. */
    static Principal principal(HttpServletRequest request) {
        return request != null && request.getAttribute(Principal.REQUEST_ATTRIBUTE) instanceof Principal p ? p : null;
    }

    /** Who acts: the principal's subject, or {@value #ADMIN_TOKEN_ACTOR}. */
    static String actor(HttpServletRequest request) {
        Principal p = principal(request);
        return p == null ? ADMIN_TOKEN_ACTOR : p.subject();
    }

    private static void record(AuditLog audit, HttpServletRequest request, Principal principal, String action,
            String target, AuditOutcome outcome, Map<String, String> detail) {
        if (audit == null) {
            return;
        }
        audit.record(new AuditEvent(Instant.now(), principal == null ? ADMIN_TOKEN_ACTOR : principal.subject(),
                principal == null ? Principal.OPERATOR_TENANT : principal.tenantId(), action, target, outcome,
                request == null ? "" : request.getRemoteAddr(), detail));
    }

    private static Map<String, String> with(Map<String, String> detail, String key, String value) {
        Map<String, String> out = new HashMap<>(detail);
        out.put(key, value);
        return out;
    }
}

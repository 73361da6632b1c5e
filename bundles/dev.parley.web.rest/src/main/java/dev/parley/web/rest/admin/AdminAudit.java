package dev.parley.web.rest.admin;

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
import java.util.function.Predicate;
import java.util.function.Supplier;

/**
 * Runs an admin change of a resource behind the edge and records it in the audit trail, when there is one: who (the
 * principal the edge left in the request), in which tenant, from which address, and how it ended (a refusal is
 * {@code DENIED}, any other error {@code FAILURE}, with the error's code). The principal is checked for
 * {@code permission} here again (the second line behind the edge's check): a request without one is refused, not
 * let through, should the edge ever not be in front.
 */
public final class AdminAudit {
    private AdminAudit() {
    }

    /** The second line for a read: the request's principal, if it may do {@code permission}; else 401/403. */
    public static Principal require(HttpServletRequest request, Permission permission) {
        return Principal.required(request == null ? null : request.getAttribute(Principal.REQUEST_ATTRIBUTE),
                permission);
    }

    /** Runs {@code work} (a change) when the principal may do {@code permission}, and records how it went. */
    public static <T> T run(AuditLog audit, HttpServletRequest request, Permission permission, String action,
            String target, Map<String, String> detail, Supplier<T> work) {
        Principal principal = principal(request);
        if (principal == null) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED, "This route needs a verified credential.");
        }
        if (!principal.can(permission)) {
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

    /**
     * The tenant {@code actor} acts on with {@code permission}: its own, or — for the operator tenant's admins only —
     * the one it names, which {@code exists} must know.
     *
     * @param what what is managed, for the refusal ("budgets", "providers")
     * @throws ParleyException FORBIDDEN without the permission or for another tenant named from outside the operator
     *                         tenant; NOT_FOUND (param {@code tenant}) for a tenant that does not exist
     */
    public static String tenantFor(Principal actor, String requested, Permission permission, String what,
            Predicate<String> exists) {
        if (!actor.can(permission)) {
            throw new ParleyException(ErrorCode.FORBIDDEN, "This needs the permission '" + permission.slug() + "'.");
        }
        String named = requested == null || requested.isBlank() ? null : requested.strip();
        if (named == null || named.equals(actor.tenantId())) {
            return actor.tenantId();
        }
        if (!Principal.OPERATOR_TENANT.equals(actor.tenantId())) {
            throw new ParleyException(ErrorCode.FORBIDDEN, "You may manage the " + what + " of your own tenant only.");
        }
        if (!exists.test(named)) {
            String shown = named.length() > 80 ? named.substring(0, 80) + "…" : named;
            throw new ParleyException(ErrorCode.NOT_FOUND, "No tenant '" + shown + "'.", null, null, "tenant");
        }
        return named;
    }

    /** The principal the edge left in the request; null when there is none. */
    public static Principal principal(HttpServletRequest request) {
        return request != null && request.getAttribute(Principal.REQUEST_ATTRIBUTE) instanceof Principal p ? p : null;
    }

    /** Who acts, for the records of the work itself: the principal's subject ({@code "unknown"} without one). */
    public static String actor(HttpServletRequest request) {
        Principal p = principal(request);
        return p == null ? "unknown" : p.subject();
    }

    private static void record(AuditLog audit, HttpServletRequest request, Principal principal, String action,
            String target, AuditOutcome outcome, Map<String, String> detail) {
        if (audit == null) {
            return;
        }
        audit.record(new AuditEvent(Instant.now(), principal.subject(), principal.tenantId(), action, target, outcome,
                request == null ? "" : request.getRemoteAddr(), detail));
    }

    private static Map<String, String> with(Map<String, String> detail, String key, String value) {
        Map<String, String> out = new HashMap<>(detail);
        out.put(key, value);
        return out;
    }
}

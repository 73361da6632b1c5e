package dev.parley.audit.internal;

import dev.parley.api.audit.AuditOutcome;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Permission;
import dev.parley.api.identity.Principal;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.format.DateTimeParseException;
import java.util.Locale;
import java.util.regex.Pattern;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsExtensionSelect;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

/**
 * {@code GET /api/v1/admin/audit}: the audit trail, newest first, a page at a time (opaque {@code cursor}, {@code limit}
 * 1–500, default 50), filtered by {@code actor}, {@code action} (exact, or a prefix: {@code plugin.*}), {@code target},
 * {@code outcome} ({@code success}, {@code denied}, {@code failure}), {@code tenant} and time ({@code from} inclusive,
 * {@code to} exclusive, ISO-8601 with an offset). Needs {@link Permission#AUDIT_READ}. A principal of the operator
 * tenant reads every tenant's rows (or one, with {@code tenant}); any other reads only its own tenant's.
 */
@Component(service = Object.class)
@JakartarsResource
@JakartarsName("parley.admin.audit")
@JSONRequired
@JakartarsExtensionSelect("(osgi.jakartars.name=parley.rest.json)")
@Path("/api/v1/admin/audit")
@Produces(MediaType.APPLICATION_JSON)
public class AuditResource {
    static final int DEFAULT_LIMIT = 50;
    static final int MAX_LIMIT = 500;
    private static final Pattern ACTION = Pattern.compile("[A-Za-z0-9._:-]{1,100}");

    private final AuditReader reader;

    @Activate
    public AuditResource(@Reference AuditReader reader) {
        this.reader = reader;
    }

    @GET
    public AuditPage list(@Context HttpServletRequest request, @QueryParam("actor") String actor,
            @QueryParam("action") String action, @QueryParam("target") String target,
            @QueryParam("outcome") String outcome, @QueryParam("tenant") String tenant,
            @QueryParam("from") String from, @QueryParam("to") String to, @QueryParam("cursor") String cursor,
            @QueryParam("limit") String limit) {
        Principal principal = request != null
                && request.getAttribute(Principal.REQUEST_ATTRIBUTE) instanceof Principal p ? p : null;
        return reader.find(query(principal, actor, action, target, outcome, tenant, from, to, cursor, limit));
    }

    /** The query a principal may run for these parameters; every bad parameter is a 400 naming it. */
    static AuditQuery query(Principal principal, String actor, String action, String target, String outcome,
            String tenant, String from, String to, String cursor, String limit) {
        if (principal == null) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED, "Reading the audit trail needs a signed-in caller.");
        }
        if (!principal.can(Permission.AUDIT_READ)) {
            throw new ParleyException(ErrorCode.FORBIDDEN, "Reading the audit trail needs the permission '"
                    + Permission.AUDIT_READ.slug() + "'.");
        }
        String tenantFilter = text("tenant", tenant, AuditTable.TENANT_MAX);
        if (!Principal.OPERATOR_TENANT.equals(principal.tenantId())) {
            if (tenantFilter != null && !tenantFilter.equals(principal.tenantId())) {
                throw new ParleyException(ErrorCode.FORBIDDEN, "Only the audit trail of your own tenant can be read.",
                        null, null, "tenant");
            }
            tenantFilter = principal.tenantId();
        }
        String actionFilter = text("action", action, AuditTable.ACTION_MAX);
        boolean prefix = false;
        if (actionFilter != null) {
            if (actionFilter.endsWith("*")) {
                actionFilter = actionFilter.substring(0, actionFilter.length() - 1);
                prefix = true;
            }
            if (!ACTION.matcher(actionFilter).matches()) {
                throw ParleyException.invalid("action", "Query parameter 'action' must be an action, e.g. "
                        + "plugin.install, or a prefix ending in '*', e.g. plugin.*");
            }
        }
        Instant since = instant("from", from);
        Instant until = instant("to", to);
        if (since != null && until != null && !since.isBefore(until)) {
            throw ParleyException.invalid("from", "Query parameter 'from' must be before 'to'.");
        }
        String before = null;
        if (cursor != null && !cursor.isBlank()) {
            before = AuditCursor.id(cursor.strip());
            if (before == null) {
                throw ParleyException.invalid("cursor", "Query parameter 'cursor' is not a cursor this API gave; "
                        + "pass 'nextCursor' of the page before as it is.");
            }
        }
        return new AuditQuery(text("actor", actor, AuditTable.ACTOR_MAX), actionFilter, prefix,
                text("target", target, AuditTable.TARGET_MAX), outcome(outcome), tenantFilter, since, until, before,
                limit(limit));
    }

    private static String text(String name, String value, int max) {
        if (value == null || value.isBlank()) {
            return null;
        }
        String s = value.strip();
        if (s.length() > max) {
            throw ParleyException.invalid(name, "Query parameter '" + name + "' is longer than " + max
                    + " characters.");
        }
        return s;
    }

    private static AuditOutcome outcome(String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return AuditOutcome.valueOf(value.strip().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw ParleyException.invalid("outcome", "Query parameter 'outcome' must be success, denied or failure.");
        }
    }

    private static Instant instant(String name, String value) {
        if (value == null || value.isBlank()) {
            return null;
        }
        try {
            return OffsetDateTime.parse(value.strip()).toInstant();
        } catch (DateTimeParseException e) {
            throw ParleyException.invalid(name, "Query parameter '" + name
                    + "' must be an ISO-8601 date-time with an offset, e.g. 2026-12-01T00:00:00Z.");
        }
    }

    private static int limit(String value) {
        if (value == null || value.isBlank()) {
            return DEFAULT_LIMIT;
        }
        try {
            int v = Integer.parseInt(value.strip());
            if (v >= 1 && v <= MAX_LIMIT) {
                return v;
            }
        } catch (NumberFormatException e) {
            // reported below, like an out-of-range value
        }
        throw ParleyException.invalid("limit", "Query parameter 'limit' must be an integer from 1 to " + MAX_LIMIT + ".");
    }
}

package dev.parley.web.rest.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.identity.Permission;
import dev.parley.api.identity.Principal;
import dev.parley.web.rest.admin.AdminAudit;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.ws.rs.core.Context;
import dev.parley.api.error.ParleyException;
import dev.parley.api.usage.UsagePage;
import dev.parley.api.usage.UsageQuery;
import dev.parley.api.usage.UsageStore;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.MediaType;
import java.time.Instant;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

/**
 * {@code GET /api/v1/usage}: one record per model request (who asked for which model or alias, which provider answered
 * after which attempts, tokens, cost, latency), newest first, filtered by model, provider, conversation and time, with
 * totals over every match. Per conversation: {@code ?conversationId=}. Only the caller's tenant's records; the
 * operator's tenant may name another ({@code ?tenant=}) or every tenant ({@code ?tenant=*}).
 */
@Component(service = Object.class, configurationPid = RestConfig.PID)
@JakartarsResource
@JakartarsName("parley.rest.usage")
@JSONRequired
@Path("/api/v1/usage")
@Produces(MediaType.APPLICATION_JSON)
public class UsageResource {
    private final UsageStore usage;
    private final RestLimits limits;

    @Activate
    public UsageResource(@Reference UsageStore usage, RestConfig config) {
        this(usage, RestLimits.from(config));
    }

    UsageResource(UsageStore usage, RestLimits limits) {
        this.usage = usage;
        this.limits = limits;
    }

    @GET
    public UsagePage list(@QueryParam("model") String model, @QueryParam("provider") String provider,
            @QueryParam("conversationId") String conversationId, @QueryParam("from") String from,
            @QueryParam("to") String to, @QueryParam("offset") String offset, @QueryParam("limit") String limit,
            @QueryParam("tenant") String tenant, @Context HttpServletRequest request) {
        Principal caller = AdminAudit.require(request, Permission.USAGE_READ);
        String tenantId = tenantOf(caller, QueryParams.textParam("tenant", tenant));
        Instant since = QueryParams.instantParam("from", from);
        Instant until = QueryParams.instantParam("to", to);
        if (since != null && until != null && !since.isBefore(until)) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "Query parameter 'from' must be before 'to'.");
        }
        return usage.find(new UsageQuery(QueryParams.textParam("model", model),
                QueryParams.textParam("provider", provider), QueryParams.textParam("conversationId", conversationId),
                since, until, QueryParams.intParam("offset", offset, 0, 0, Integer.MAX_VALUE),
                QueryParams.intParam("limit", limit, limits.defaultPageSize(), 1, limits.maxPageSize()), tenantId));
    }

    /** The tenant whose records {@code caller} reads: its own, or for the operator's tenant the one it names. */
    static String tenantOf(Principal caller, String asked) {
        if (asked == null || asked.equals(caller.tenantId())) {
            return caller.tenantId();
        }
        if (!Principal.OPERATOR_TENANT.equals(caller.tenantId())) {
            throw new ParleyException(ErrorCode.FORBIDDEN, "Only the operator's tenant may read another tenant's usage.");
        }
        return asked.equals("*") ? null : asked;
    }
}

package dev.parley.budgets.internal;

import dev.parley.api.audit.AuditLog;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Permission;
import dev.parley.api.identity.Principal;
import dev.parley.budgets.internal.BudgetBodies.BudgetBody;
import dev.parley.budgets.internal.BudgetBodies.BudgetList;
import dev.parley.web.rest.admin.AdminAudit;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import java.util.LinkedHashMap;
import java.util.Map;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsExtensionSelect;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

/**
 * {@code /api/v1/admin/budgets} (permission {@code budgets:admin}): a tenant's budgets with what they spent this
 * period; create or replace one per scope and period ({@code PUT}), delete one. A tenant's admins manage their own
 * tenant; the operator tenant's may name any with {@code tenant}. Every change is recorded in the audit trail.
 */
@Component(service = Object.class)
@JakartarsResource
@JakartarsName("parley.budgets.admin")
@JSONRequired
@JakartarsExtensionSelect("(osgi.jakartars.name=parley.rest.json)")
@Path("/api/v1/admin/budgets")
@Produces(MediaType.APPLICATION_JSON)
public class AdminBudgetsResource {
    private final DatabaseBudgets budgets;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile AuditLog audit;

    @Activate
    public AdminBudgetsResource(@Reference DatabaseBudgets budgets) {
        this.budgets = budgets;
    }

    @GET
    public BudgetList list(@QueryParam("tenant") String tenant, @Context HttpServletRequest request) {
        Principal actor = AdminAudit.require(request, Permission.BUDGETS_ADMIN);
        return BudgetList.of(budgets.list(actor, blankToNull(tenant)));
    }

    @GET
    @Path("{id}")
    public BudgetBody get(@PathParam("id") String id, @QueryParam("tenant") String tenant,
            @Context HttpServletRequest request) {
        Principal actor = AdminAudit.require(request, Permission.BUDGETS_ADMIN);
        return BudgetBody.of(budgets.get(actor, blankToNull(tenant), id));
    }

    /** Creates (201) or replaces (200) the budget of the body's scope and period. */
    @PUT
    @Consumes(MediaType.APPLICATION_JSON)
    public Response put(Map<String, Object> body, @Context HttpServletRequest request) {
        Map<String, String> detail = new LinkedHashMap<>();
        if (body != null) {
            for (String f : BudgetRules.FIELDS) {
                if (body.get(f) != null) {
                    detail.put(f, BudgetRules.shorten(String.valueOf(body.get(f))));
                }
            }
        }
        String target = "budget:" + detail.getOrDefault("scope", "?") + ":"
                + detail.getOrDefault("subject", detail.getOrDefault("key_id", "")) + ":"
                + detail.getOrDefault("period", "?");
        return AdminAudit.run(audit, request, Permission.BUDGETS_ADMIN, "budget.put", target, detail, () -> {
            BudgetRules.Spec spec = BudgetRules.check(body);
            BudgetStore.Put put = budgets.put(AdminAudit.principal(request), spec);
            return Response.status(put.created() ? Response.Status.CREATED : Response.Status.OK)
                    .entity(BudgetBody.of(budgets.view(put.budget()))).build();
        });
    }

    @DELETE
    @Path("{id}")
    public Response delete(@PathParam("id") String id, @QueryParam("tenant") String tenant,
            @Context HttpServletRequest request) {
        Map<String, String> detail = new LinkedHashMap<>();
        if (tenant != null && !tenant.isBlank()) {
            detail.put("tenant", BudgetRules.shorten(tenant));
        }
        return AdminAudit.run(audit, request, Permission.BUDGETS_ADMIN, "budget.delete",
                "budget:" + BudgetRules.shorten(String.valueOf(id)), detail, () -> {
                    Budget gone = budgets.delete(AdminAudit.principal(request), blankToNull(tenant), id);
                    detail.put("scope", gone.scope().slug());
                    return Response.noContent().build();
                });
    }

    private static String blankToNull(String s) {
        if (s == null || s.isBlank()) {
            return null;
        }
        if (s.length() > BudgetRules.MAX_ID) {
            throw ParleyException.invalid("tenant", "Query parameter 'tenant' is at most " + BudgetRules.MAX_ID
                    + " characters.");
        }
        return s.strip();
    }
}

package dev.parley.sandbox.internal;

import dev.parley.api.audit.AuditLog;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Permission;
import dev.parley.sandbox.PolicyException;
import dev.parley.sandbox.SandboxPolicies;
import dev.parley.sandbox.ScanRules;
import dev.parley.sandbox.Tier;
import dev.parley.sandbox.TierPolicy;
import dev.parley.web.rest.admin.AdminAudit;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

/**
 * The sandbox policy in the admin API ({@code plugins:admin}): read every tier's policy and the bytecode rules,
 * replace a tier's policy (the JSON of its file), put it back to the shipped default. Changes apply on every node and
 * are recorded in the audit trail ({@code sandbox.policy.change}, {@code sandbox.policy.reset}), refusals included.
 */
@Component(service = Object.class)
@JakartarsResource
@JakartarsName("parley.admin.sandbox")
@JSONRequired
@Path("/api/v1/admin/sandbox/policy")
@Produces(MediaType.APPLICATION_JSON)
public class SandboxPolicyResource {
    private final SandboxPolicies policies;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policyOption = ReferencePolicyOption.GREEDY)
    volatile AuditLog audit;

    @Activate
    public SandboxPolicyResource(@Reference SandboxPolicies policies) {
        this.policies = policies;
    }

    @GET
    public Map<String, Object> all(@Context HttpServletRequest request) {
        AdminAudit.require(request, Permission.PLUGINS_ADMIN);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("tiers", policies.stored().stream().map(SandboxPolicyResource::view).toList());
        out.put("rules", ScanRules.ALL.stream().map(r -> {
            Map<String, Object> rule = new LinkedHashMap<>();
            rule.put("id", r.id());
            rule.put("title", r.title());
            rule.put("coveredBy", r.coveredBy());
            return rule;
        }).toList());
        return out;
    }

    @GET
    @Path("{tier}")
    public Map<String, Object> get(@PathParam("tier") String tier, @Context HttpServletRequest request) {
        AdminAudit.require(request, Permission.PLUGINS_ADMIN);
        Tier t = tier(tier);
        return view(policies.stored().stream().filter(s -> s.policy().tier() == t).findFirst().orElseThrow());
    }

    @PUT
    @Path("{tier}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Map<String, Object> replace(@PathParam("tier") String tier, String body, @Context HttpServletRequest request) {
        return AdminAudit.run(audit, request, Permission.PLUGINS_ADMIN, "sandbox.policy.change", target(tier), Map.of(),
                () -> {
                    Tier t = tier(tier);
                    if (body == null || body.isBlank()) {
                        throw new ParleyException(ErrorCode.INVALID_REQUEST, "send the tier's policy as JSON, in the "
                                + "shape GET /api/v1/admin/sandbox/policy/" + t.slug() + " answers");
                    }
                    TierPolicy policy;
                    try {
                        policy = PolicyJson.parse(body);
                    } catch (PolicyException e) {
                        throw new ParleyException(ErrorCode.INVALID_REQUEST, "The policy is not valid: "
                                + e.getMessage() + ".");
                    }
                    if (policy.tier() != t) {
                        throw new ParleyException(ErrorCode.INVALID_REQUEST, "The body describes tier "
                                + policy.tier().slug() + ", not " + t.slug() + ".");
                    }
                    try {
                        return view(policies.replace(policy, AdminAudit.actor(request)));
                    } catch (PolicyException e) {
                        throw new ParleyException(ErrorCode.INVALID_REQUEST, "The policy is not valid: "
                                + e.getMessage() + ".");
                    }
                });
    }

    @DELETE
    @Path("{tier}")
    public Map<String, Object> reset(@PathParam("tier") String tier, @Context HttpServletRequest request) {
        return AdminAudit.run(audit, request, Permission.PLUGINS_ADMIN, "sandbox.policy.reset", target(tier), Map.of(),
                () -> {
                    try {
                        return view(policies.reset(tier(tier), AdminAudit.actor(request)));
                    } catch (PolicyException e) {
                        throw new ParleyException(ErrorCode.CONFLICT, "The default cannot be put back: "
                                + e.getMessage() + ".");
                    }
                });
    }

    private static Map<String, Object> view(SandboxPolicies.Stored s) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("policy", PolicyJson.file(s.policy()));
        out.put("source", s.source());
        out.put("generation", s.generation());
        out.put("updatedAt", s.updatedAt() == null ? null : s.updatedAt().toString());
        out.put("updatedBy", s.updatedBy());
        return out;
    }

    private static Tier tier(String tier) {
        return Tier.of(tier).orElseThrow(() -> new ParleyException(ErrorCode.NOT_FOUND, "No tier '"
                + (tier == null ? "" : tier.length() > 40 ? tier.substring(0, 40) + "…" : tier)
                + "'; the tiers are " + List.of("trusted", "verified", "untrusted") + "."));
    }

    private static String target(String tier) {
        return "sandbox-policy:" + (tier == null ? "" : tier.strip());
    }
}

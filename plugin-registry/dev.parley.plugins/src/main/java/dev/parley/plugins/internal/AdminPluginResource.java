package dev.parley.plugins.internal;

import dev.parley.web.rest.admin.AdminAudit;
import dev.parley.api.audit.AuditEvent;
import dev.parley.api.audit.AuditLog;
import dev.parley.api.audit.AuditOutcome;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Permission;
import dev.parley.api.identity.Principal;
import dev.parley.sandbox.AdmissionReport;
import dev.parley.sandbox.Finding;
import dev.parley.sandbox.HeldUpgrades.Held;
import java.time.Instant;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.DELETE;
import jakarta.ws.rs.DefaultValue;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.POST;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.QueryParam;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import jakarta.ws.rs.core.UriBuilder;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Pattern;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

/**
 * The plugin admin API. Everything under /api/v1/admin needs the admin token (checked by the REST front end). Every
 * change is recorded in the audit trail ({@code plugin.install}, {@code plugin.upgrade}, {@code plugin.approve},
 * {@code plugin.rollback}, {@code plugin.enable}, {@code plugin.disable}, {@code plugin.remove},
 * {@code plugin.settings}), failures and refusals included. A refusal at the sandbox's admission is also recorded as
 * {@code plugin.admission} ({@code DENIED}, with the rule, class and method), and an upgrade held because it asks for
 * more permissions as {@code plugin.upgrade.held} (with the permissions it asks for).
 */
@Component(service = Object.class)
@JakartarsResource
@JakartarsName("parley.admin.plugins")
@JSONRequired
@Path("/api/v1/admin/plugins")
@Produces(MediaType.APPLICATION_JSON)
public class AdminPluginResource {
    private static final Pattern ID = Pattern.compile("[a-z0-9][a-z0-9._-]{0,99}");

    /** Body of install, dry-run and upgrade. */
    public record VersionRequest(String id, String version) {
    }

    /** Body of configure: PID → settings. */
    public record SettingsRequest(Map<String, Map<String, Object>> settings) {
    }

    private final PluginOperations plugins;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policyOption = ReferencePolicyOption.GREEDY)
    volatile AuditLog audit;

    @Activate
    public AdminPluginResource(@Reference PluginOperations plugins) {
        this.plugins = plugins;
    }

    @GET
    public Map<String, Object> list(@Context HttpServletRequest request) {
        AdminAudit.require(request, Permission.PLUGINS_ADMIN);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("node", plugins.nodeId());
        out.put("plugins", plugins.states());
        return out;
    }

    @POST
    @Path("dry-run")
    @Consumes(MediaType.APPLICATION_JSON)
    public PluginOperations.Plan dryRun(VersionRequest body, @Context HttpServletRequest request) {
        AdminAudit.require(request, Permission.PLUGINS_ADMIN);
        VersionRequest r = require(body);
        return plugins.plan(id(r.id()), r.version());
    }

    @POST
    @Consumes(MediaType.APPLICATION_JSON)
    public Response install(VersionRequest body, @Context HttpServletRequest request) {
        String target = body == null || body.id() == null ? "" : target(body.id());
        return audited(request, "plugin.install", target, version(body == null ? null : body.version()), () -> {
            VersionRequest r = require(body);
            var state = admitted(request, target, () -> plugins.install(id(r.id()), r.version(),
                    AdminAudit.actor(request)));
            return Response.created(UriBuilder.fromPath("/api/v1/admin/plugins/{id}").build(state.pluginId()))
                    .entity(state).build();
        });
    }

    @GET
    @Path("{id}")
    public PluginOperations.StateView get(@PathParam("id") String id, @Context HttpServletRequest request) {
        AdminAudit.require(request, Permission.PLUGINS_ADMIN);
        return plugins.state(id(id));
    }

    @GET
    @Path("{id}/events")
    public Map<String, Object> events(@PathParam("id") String id, @QueryParam("limit") @DefaultValue("50") int limit,
            @Context HttpServletRequest request) {
        AdminAudit.require(request, Permission.PLUGINS_ADMIN);
        if (limit < 1 || limit > 500) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "limit must be between 1 and 500");
        }
        return Map.of("events", plugins.events(id(id), limit));
    }

    /**
     * 200 with the new state; 202 with the state unchanged and {@code held} set when the version asks for permissions
     * the running one was not granted (approve it with {@code POST .../approve}).
     */
    @POST
    @Path("{id}/upgrade")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response upgrade(@PathParam("id") String id, VersionRequest body, @Context HttpServletRequest request) {
        String version = body == null ? null : body.version();
        return audited(request, "plugin.upgrade", target(id), version(version), () -> {
            String pluginId = id(id);
            Held before = plugins.held(pluginId).orElse(null);
            var state = admitted(request, target(id), () -> plugins.upgrade(pluginId, version, AdminAudit.actor(request)));
            Held held = state.held();
            if (held != null && !held.equals(before)) {
                Map<String, String> detail = new LinkedHashMap<>();
                detail.put("from", held.fromVersion());
                detail.put("to", held.toVersion());
                detail.put("permissionsAdded", held.permissionsAdded().stream().map(p -> p.kind()
                        + (p.target() == null || p.target().isEmpty() ? "" : " " + p.target())).toList().toString());
                record(request, "plugin.upgrade.held", target(id), AuditOutcome.SUCCESS, detail);
                return Response.accepted(state).build();
            }
            return Response.ok(state).build();
        });
    }

    /**
     * Approves the upgrade held for more permissions, and runs it. {@code ?version=} (optional) names the held version
     * being approved, so an approval never applies to a request that replaced the one the admin looked at.
     */
    @POST
    @Path("{id}/approve")
    public PluginOperations.StateView approve(@PathParam("id") String id, @QueryParam("version") String version,
            @Context HttpServletRequest request) {
        return audited(request, "plugin.approve", target(id), version(version), () -> admitted(request, target(id),
                () -> plugins.approve(id(id), version, AdminAudit.actor(request))));
    }

    @POST
    @Path("{id}/rollback")
    public PluginOperations.StateView rollback(@PathParam("id") String id, @Context HttpServletRequest request) {
        return audited(request, "plugin.rollback", target(id), Map.of(),
                () -> plugins.rollback(id(id), AdminAudit.actor(request)));
    }

    @POST
    @Path("{id}/enable")
    public PluginOperations.StateView enable(@PathParam("id") String id, @Context HttpServletRequest request) {
        return audited(request, "plugin.enable", target(id), Map.of(),
                () -> plugins.setEnabled(id(id), true, AdminAudit.actor(request)));
    }

    @POST
    @Path("{id}/disable")
    public PluginOperations.StateView disable(@PathParam("id") String id, @Context HttpServletRequest request) {
        return audited(request, "plugin.disable", target(id), Map.of(),
                () -> plugins.setEnabled(id(id), false, AdminAudit.actor(request)));
    }

    @DELETE
    @Path("{id}")
    public Response uninstall(@PathParam("id") String id, @Context HttpServletRequest request) {
        return audited(request, "plugin.remove", target(id), Map.of(), () -> {
            plugins.uninstall(id(id), AdminAudit.actor(request));
            return Response.noContent().build();
        });
    }

    @GET
    @Path("{id}/settings")
    public Map<String, Object> settings(@PathParam("id") String id, @Context HttpServletRequest request) {
        AdminAudit.require(request, Permission.PLUGINS_ADMIN);
        return plugins.settings(id(id));
    }

    @PUT
    @Path("{id}/settings")
    @Consumes(MediaType.APPLICATION_JSON)
    public PluginOperations.StateView configure(@PathParam("id") String id, SettingsRequest body,
            @Context HttpServletRequest request) {
        return audited(request, "plugin.settings", target(id), settingKeys(body), () -> {
            if (body == null || body.settings() == null || body.settings().isEmpty()) {
                throw new ParleyException(ErrorCode.INVALID_REQUEST,
                        "send {\"settings\": {\"<pid>\": {\"<key>\": <value>}}}; see GET .../settings for the schema");
            }
            return plugins.configure(id(id), body.settings(), AdminAudit.actor(request));
        });
    }

    private <T> T audited(HttpServletRequest request, String action, String target, Map<String, String> detail,
            java.util.function.Supplier<T> work) {
        return AdminAudit.run(audit, request, Permission.PLUGINS_ADMIN, action, target, detail, work);
    }

    /** Runs an install or upgrade; a refusal at admission is also recorded with the rule, class and method. */
    private <T> T admitted(HttpServletRequest request, String target, java.util.function.Supplier<T> work) {
        try {
            return work.get();
        } catch (AdmissionRefusedException e) {
            AdmissionReport report = e.report();
            Map<String, String> detail = new LinkedHashMap<>();
            detail.put("version", String.valueOf(report.version()));
            detail.put("publisher", String.valueOf(report.publisher()));
            detail.put("tier", report.tier() == null ? "none" : report.tier().slug());
            detail.put("refusals", Integer.toString(report.refusals().size()));
            if (!report.refusals().isEmpty()) {
                Finding first = report.refusals().get(0);
                detail.put("rule", first.rule());
                if (first.className() != null) {
                    detail.put("class", first.className());
                }
                if (first.method() != null) {
                    detail.put("method", first.method());
                }
                if (first.target() != null) {
                    detail.put("uses", first.target().length() > 300 ? first.target().substring(0, 300) + "…"
                            : first.target());
                }
            }
            record(request, "plugin.admission", target, AuditOutcome.DENIED, detail);
            throw e;
        }
    }

    /** One more audit record beside the one {@link AdminAudit#run} writes for the request. */
    private void record(HttpServletRequest request, String action, String target, AuditOutcome outcome,
            Map<String, String> detail) {
        AuditLog log = audit;
        Principal principal = AdminAudit.principal(request);
        if (log == null || principal == null) {
            return;
        }
        log.record(new AuditEvent(Instant.now(), principal.subject(), principal.tenantId(), action, target, outcome,
                request.getRemoteAddr(), detail));
    }

    private static String target(String id) {
        return "plugin:" + (id == null ? "" : id.strip());
    }

    private static Map<String, String> version(String version) {
        return version == null || version.isBlank() ? Map.of() : Map.of("version", version.strip());
    }

    /** Which settings were sent, by PID: their keys only, never their values (some are secrets). */
    private static Map<String, String> settingKeys(SettingsRequest body) {
        if (body == null || body.settings() == null) {
            return Map.of();
        }
        Map<String, String> out = new TreeMap<>();
        body.settings().forEach((pid, values) -> out.put("keys:" + pid,
                values == null ? "" : String.join(",", new java.util.TreeSet<>(values.keySet()))));
        return out;
    }

    private static VersionRequest require(VersionRequest body) {
        if (body == null || body.id() == null || body.id().isBlank()) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "send {\"id\": \"<plugin id>\", \"version\": \"<optional>\"}");
        }
        return body;
    }

    private static String id(String id) {
        String s = id == null ? "" : id.strip();
        if (!ID.matcher(s).matches()) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "'" + s + "' is not a plugin id (lower-case letters, "
                    + "digits, '.', '_' or '-', at most 100)");
        }
        return s;
    }

}

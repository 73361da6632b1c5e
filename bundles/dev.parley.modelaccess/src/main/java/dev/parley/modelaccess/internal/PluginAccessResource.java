package dev.parley.modelaccess.internal;

import dev.parley.api.audit.AuditLog;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Permission;
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
import jakarta.ws.rs.core.Response;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
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
 * {@code /api/v1/admin/plugin-access} (platform permission {@code plugins:admin}): which tenants may use each plugin.
 * Without a rule a plugin is available to every tenant; {@code restricted_to} lists the only tenants that may use it,
 * {@code disabled_for} the tenants that may not. Every change is recorded in the audit trail.
 */
@Component(service = Object.class)
@JakartarsResource
@JakartarsName("parley.modelaccess.plugins")
@JSONRequired
@JakartarsExtensionSelect("(osgi.jakartars.name=parley.rest.json)")
@Path("/api/v1/admin/plugin-access")
@Produces(MediaType.APPLICATION_JSON)
public class PluginAccessResource {
    private final DatabaseModelAccess access;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    volatile AuditLog audit;

    @Activate
    public PluginAccessResource(@Reference DatabaseModelAccess access) {
        this.access = access;
    }

    @GET
    public Map<String, Object> list(@Context HttpServletRequest request) {
        AdminAudit.require(request, Permission.PLUGINS_ADMIN);
        Map<String, PluginRule> rules = access.pluginRules();
        Map<String, Set<String>> installed = access.installedPlugins();
        Set<String> ids = new TreeSet<>(rules.keySet());
        ids.addAll(installed.keySet());
        List<Map<String, Object>> plugins = new ArrayList<>();
        for (String id : ids) {
            plugins.add(body(id, rules.get(id), installed.get(id)));
        }
        return Map.of("plugins", plugins);
    }

    @GET
    @Path("{plugin}")
    public Map<String, Object> get(@PathParam("plugin") String plugin, @Context HttpServletRequest request) {
        AdminAudit.require(request, Permission.PLUGINS_ADMIN);
        String id = AccessRules.pluginId(plugin);
        PluginRule rule = access.pluginRules().get(id);
        Set<String> providers = access.installedPlugins().get(id);
        if (rule == null && providers == null) {
            throw notFound(id);
        }
        return body(id, rule, providers);
    }

    /** Creates (201) or replaces (200) the plugin's rule. */
    @PUT
    @Path("{plugin}")
    @Consumes(MediaType.APPLICATION_JSON)
    public Response put(@PathParam("plugin") String plugin, Map<String, Object> body,
            @Context HttpServletRequest request) {
        Map<String, String> detail = new LinkedHashMap<>();
        if (body != null) {
            for (String f : List.of("restricted_to", "disabled_for")) {
                if (body.containsKey(f)) {
                    detail.put(f, AccessRules.shorten(String.valueOf(body.get(f))));
                }
            }
        }
        String target = "plugin:" + AccessRules.shorten(String.valueOf(plugin));
        return AdminAudit.run(audit, request, Permission.PLUGINS_ADMIN, "plugin.tenants.put", target, detail, () -> {
            String id = AccessRules.pluginId(plugin);
            AccessRules.PluginChange change = AccessRules.plugin(body);
            for (String t : change.allowed()) {
                access.requireTenant(t, "restricted_to");
            }
            for (String t : change.denied()) {
                access.requireTenant(t, "disabled_for");
            }
            boolean created = access.putPluginRule(AdminAudit.principal(request), id, change.restricted(),
                    change.allowed(), change.denied());
            return Response.status(created ? Response.Status.CREATED : Response.Status.OK)
                    .entity(body(id, access.pluginRules().get(id), access.installedPlugins().get(id))).build();
        });
    }

    /** Back to the default: every tenant may use the plugin. */
    @DELETE
    @Path("{plugin}")
    public Response delete(@PathParam("plugin") String plugin, @Context HttpServletRequest request) {
        String target = "plugin:" + AccessRules.shorten(String.valueOf(plugin));
        return AdminAudit.run(audit, request, Permission.PLUGINS_ADMIN, "plugin.tenants.delete", target, Map.of(),
                () -> {
                    String id = AccessRules.pluginId(plugin);
                    if (!access.deletePluginRule(AdminAudit.principal(request), id)) {
                        throw notFound(id);
                    }
                    return Response.noContent().build();
                });
    }

    private static ParleyException notFound(String id) {
        return new ParleyException(ErrorCode.NOT_FOUND, "No plugin '" + id + "' is running and none has a rule.");
    }

    private static Map<String, Object> body(String id, PluginRule rule, Set<String> providers) {
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("plugin", id);
        out.put("installed", providers != null);
        out.put("providers", providers == null ? List.of() : List.copyOf(providers));
        out.put("available_to", rule == null || !rule.restricted() ? "all" : "listed");
        out.put("restricted_to", rule == null || !rule.restricted() ? null : new TreeSet<>(rule.allowed()));
        out.put("disabled_for", rule == null ? List.of() : new TreeSet<>(rule.denied()));
        out.put("updated_at", rule == null ? null : rule.updatedAt().toString());
        out.put("updated_by", rule == null ? null : rule.updatedBy());
        return out;
    }
}

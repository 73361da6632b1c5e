package dev.parley.logging.internal;

import dev.parley.web.rest.admin.AdminAudit;
import dev.parley.api.audit.AuditLog;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Permission;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.ws.rs.Consumes;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.PUT;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.PathParam;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.Context;
import jakarta.ws.rs.core.MediaType;
import java.util.LinkedHashMap;
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
 * Log levels at run time. Everything under /api/v1/admin needs the admin token (checked by the REST front end).
 * Invalid input is refused with 400 before anything changes. A change is recorded in the audit trail
 * ({@code logging.level.set}), failures and refusals included.
 */
@Component(service = Object.class)
@JakartarsResource
@JakartarsName("parley.admin.loggers")
@JSONRequired
@Path("/api/v1/admin/loggers")
@Produces(MediaType.APPLICATION_JSON)
public class AdminLoggerResource {
    private static final String USAGE = "send {\"level\": \"DEBUG\"} (" + LogLevel.NAMES
            + ", any case), or {\"level\": null} to inherit the parent's level again";

    private final LogLevels levels;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policyOption = ReferencePolicyOption.GREEDY)
    volatile AuditLog audit;

    @Activate
    public AdminLoggerResource(@Reference LogLevels levels) {
        this.levels = levels;
    }

    /** The loggers that have a level of their own, and the root logger's level. */
    @GET
    public Map<String, Object> list(@Context HttpServletRequest request) {
        AdminAudit.require(request, Permission.SYSTEM_ADMIN);
        Map<String, Object> out = new LinkedHashMap<>();
        out.put("rootLevel", levels.rootLevel().toString());
        out.put("loggers", levels.configured());
        return out;
    }

    @GET
    @Path("{name}")
    public LoggerView get(@PathParam("name") String name, @Context HttpServletRequest request) {
        AdminAudit.require(request, Permission.SYSTEM_ADMIN);
        return levels.view(validName(name));
    }

    @PUT
    @Path("{name}")
    @Consumes(MediaType.APPLICATION_JSON)
    public LoggerView set(@PathParam("name") String name, Map<String, Object> body,
            @Context HttpServletRequest request) {
        Object requested = body == null ? null : body.get("level");
        // No permission of its own: changing what a node logs is the operator's, like the router.
        return AdminAudit.run(audit, request, Permission.SYSTEM_ADMIN, "logging.level.set", "logger:" + name,
                Map.of("level", requested == null ? "inherit" : String.valueOf(requested)), () -> apply(name, body));
    }

    private LoggerView apply(String name, Map<String, Object> body) {
        String logger = validName(name);
        if (body == null || !body.containsKey("level")) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, USAGE);
        }
        for (String field : body.keySet()) {
            if (!field.equals("level")) {
                throw new ParleyException(ErrorCode.INVALID_REQUEST, "unknown field '" + LogLevel.shorten(field) + "'; " + USAGE);
            }
        }
        Object value = body.get("level");
        LogLevel level;
        if (value == null) {
            level = null;
        } else if (value instanceof String s) {
            try {
                level = LogLevel.parse(s);
            } catch (IllegalArgumentException e) {
                throw new ParleyException(ErrorCode.INVALID_REQUEST, e.getMessage());
            }
        } else {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, "Invalid value for field 'level': expected a string or null.");
        }
        return levels.set(logger, level);
    }

    private static String validName(String name) {
        try {
            return LoggerNames.normalize(name);
        } catch (IllegalArgumentException e) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST, e.getMessage());
        }
    }
}

package dev.parley.web.rest.internal;

import java.util.HashMap;
import java.util.Map;
import org.apache.felix.hc.api.FormattingResultLog;
import org.apache.felix.hc.api.HealthCheck;
import org.apache.felix.hc.api.Result;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.service.component.runtime.dto.UnsatisfiedReferenceDTO;
import org.osgi.service.jakartars.runtime.JakartarsServiceRuntime;
import org.osgi.service.jakartars.runtime.dto.BaseApplicationDTO;
import org.osgi.service.jakartars.runtime.dto.BaseDTO;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.service.servlet.runtime.dto.ServletContextDTO;
import org.osgi.service.servlet.runtime.dto.ServletDTO;

/**
 * Ready means served: every bundle that declares itself a front end ({@value #HEADER} manifest header) is active,
 * and each of its enabled whiteboard components (Jakarta REST resources and extensions, HTTP whiteboard servlets
 * and filters)
 * is active and appears in its whiteboard's runtime DTO, which the whiteboards update only once the component
 * is actually served (the REST whiteboard after Jersey has reloaded, the HTTP whiteboard after the servlet's
 * {@code init()}). A component switched off on purpose (disabled, or waiting for a configuration it requires and
 * was never given) is not expected.
 */
@Component(service = HealthCheck.class, property = {
        HealthCheck.NAME + "=" + FrontEndsCheck.NAME,
        HealthCheck.TAGS + "=" + HealthResource.READY_TAG })
public final class FrontEndsCheck implements HealthCheck {
    static final String NAME = "Parley front ends";
    /** Manifest header of a bundle that serves clients; its value names the front end for people. */
    public static final String HEADER = "Parley-Front-End";

    private static final String REST_RESOURCE = "osgi.jakartars.resource";
    private static final String REST_EXTENSION = "osgi.jakartars.extension";
    private static final String SERVLET_PATTERN = "osgi.http.whiteboard.servlet.pattern";
    private static final String FILTER_PATTERN = "osgi.http.whiteboard.filter.pattern";

    private final BundleContext context;
    private final ServiceComponentRuntime scr;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile JakartarsServiceRuntime rest;

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile HttpServiceRuntime http;

    /**
     * A worker (ADR 35) carries no core, store or plugin runtime: the routes of this bundle that wait for their
     * services (chat, models, usage) are not expected there, only what its bundles can satisfy (health, the admin
     * resources of the bundles it carries).
     */
    private final boolean worker;

    @Activate
    public FrontEndsCheck(BundleContext context, @Reference ServiceComponentRuntime scr) {
        this.context = context;
        this.scr = scr;
        this.worker = "worker".equals(context.getProperty("parley.distribution"));
    }

    @Override
    public Result execute() {
        FormattingResultLog log = new FormattingResultLog();
        Map<Long, String> restServed = restServed();
        Map<Long, String> servletsServed = servletsServed();
        int frontEnds = 0;
        for (Bundle bundle : context.getBundles()) {
            String frontEnd = bundle.getHeaders("").get(HEADER);
            if (frontEnd == null) {
                continue;
            }
            frontEnds++;
            if (bundle.getState() != Bundle.ACTIVE) {
                log.critical("front end '{}' ({}) is {}", frontEnd, bundle.getSymbolicName(), state(bundle));
                continue;
            }
            int served = 0;
            for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs(bundle)) {
                Map<Long, String> whiteboard = isRest(d.properties) ? restServed
                        : d.properties.containsKey(SERVLET_PATTERN) || d.properties.containsKey(FILTER_PATTERN)
                                ? servletsServed : null;
                if (whiteboard == null || !scr.isComponentEnabled(d)) {
                    continue;
                }
                String problem = problem(d, whiteboard);
                if (problem != null) {
                    log.critical("front end '{}' ({}): {}", frontEnd, bundle.getSymbolicName(), problem);
                } else {
                    served++;
                }
            }
            log.info("front end '{}' ({}) serves {} whiteboard components", frontEnd, bundle.getSymbolicName(), served);
        }
        if (frontEnds == 0) {
            log.critical("no front end is installed");
        }
        return new Result(log);
    }

    /** Null when the component is served (or not expected); else what is wrong, for an operator. */
    private String problem(ComponentDescriptionDTO d, Map<Long, String> whiteboard) {
        var configurations = scr.getComponentConfigurationDTOs(d);
        if (configurations.isEmpty()) {
            return "require".equals(d.configurationPolicy) ? null : d.name + " is not active";
        }
        for (ComponentConfigurationDTO c : configurations) {
            switch (c.state) {
                case ComponentConfigurationDTO.UNSATISFIED_REFERENCE -> {
                    if (worker) {
                        return null;
                    }
                    StringBuilder missing = new StringBuilder();
                    for (UnsatisfiedReferenceDTO r : c.unsatisfiedReferences) {
                        missing.append(missing.isEmpty() ? "" : ", ").append(r.name);
                    }
                    return d.name + " waits for " + missing;
                }
                case ComponentConfigurationDTO.UNSATISFIED_CONFIGURATION -> {
                    return d.name + " waits for its configuration";
                }
                case ComponentConfigurationDTO.FAILED_ACTIVATION -> {
                    return d.name + " failed to activate: " + c.failure;
                }
                default -> {
                    if (c.service == null) {
                        return d.name + " has no service registered";
                    }
                    String status = whiteboard.get(c.service.id);
                    if (status == null) {
                        return d.name + " is registered but not served yet";
                    }
                    if (!status.isEmpty()) {
                        return d.name + " is refused by its whiteboard: " + status;
                    }
                }
            }
        }
        return null;
    }

    /** Service id → "" when served, or the failure the whiteboard reports. */
    private Map<Long, String> restServed() {
        Map<Long, String> served = new HashMap<>();
        JakartarsServiceRuntime runtime = rest;
        if (runtime == null) {
            return served;
        }
        var dto = runtime.getRuntimeDTO();
        addServed(served, dto.defaultApplication);
        if (dto.applicationDTOs != null) {
            for (BaseApplicationDTO app : dto.applicationDTOs) {
                addServed(served, app);
            }
        }
        addFailed(served, dto.failedResourceDTOs, "failure reason ");
        addFailed(served, dto.failedExtensionDTOs, "failure reason ");
        return served;
    }

    private Map<Long, String> servletsServed() {
        Map<Long, String> served = new HashMap<>();
        HttpServiceRuntime runtime = http;
        if (runtime == null) {
            return served;
        }
        var dto = runtime.getRuntimeDTO();
        if (dto.servletContextDTOs != null) {
            for (ServletContextDTO context : dto.servletContextDTOs) {
                for (ServletDTO s : context.servletDTOs) {
                    served.put(s.serviceId, "");
                }
                for (var f : context.filterDTOs) {
                    served.put(f.serviceId, "");
                }
            }
        }
        if (dto.failedServletDTOs != null) {
            for (var failed : dto.failedServletDTOs) {
                served.putIfAbsent(failed.serviceId, "failure reason " + failed.failureReason);
            }
        }
        if (dto.failedFilterDTOs != null) {
            for (var failed : dto.failedFilterDTOs) {
                served.putIfAbsent(failed.serviceId, "failure reason " + failed.failureReason);
            }
        }
        return served;
    }

    private static void addServed(Map<Long, String> served, BaseApplicationDTO app) {
        if (app == null) {
            return;
        }
        for (BaseDTO r : app.resourceDTOs) {
            served.put(r.serviceId, "");
        }
        for (BaseDTO e : app.extensionDTOs) {
            served.put(e.serviceId, "");
        }
    }

    private static void addFailed(Map<Long, String> served, BaseDTO[] failed, String prefix) {
        if (failed == null) {
            return;
        }
        for (BaseDTO f : failed) {
            int reason = f instanceof org.osgi.service.jakartars.runtime.dto.FailedResourceDTO r ? r.failureReason
                    : f instanceof org.osgi.service.jakartars.runtime.dto.FailedExtensionDTO e ? e.failureReason : -1;
            served.putIfAbsent(f.serviceId, prefix + reason);
        }
    }

    private static boolean isRest(Map<String, Object> properties) {
        return isTrue(properties.get(REST_RESOURCE)) || isTrue(properties.get(REST_EXTENSION));
    }

    private static boolean isTrue(Object value) {
        return value != null && Boolean.parseBoolean(String.valueOf(value));
    }

    private static String state(Bundle bundle) {
        return switch (bundle.getState()) {
            case Bundle.INSTALLED -> "installed but not resolved";
            case Bundle.RESOLVED -> "stopped";
            case Bundle.STARTING -> "starting";
            case Bundle.STOPPING -> "stopping";
            default -> "in state " + bundle.getState();
        };
    }
}

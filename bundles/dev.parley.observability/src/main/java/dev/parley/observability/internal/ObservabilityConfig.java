package dev.parley.observability.internal;

import org.osgi.service.metatype.annotations.AttributeDefinition;
import org.osgi.service.metatype.annotations.ObjectClassDefinition;

/**
 * What an admin can set about metrics and HTTP telemetry. Tracing itself is configured with the standard
 * {@code OTEL_*} environment variables (or {@code otel.*} system properties), read by the OpenTelemetry SDK.
 */
@ObjectClassDefinition(name = "Parley observability",
        description = "The Prometheus /metrics endpoint and HTTP server telemetry. Traces: OTEL_* environment variables.")
public @interface ObservabilityConfig {
    String PID = "dev.parley.observability";

    @AttributeDefinition(name = "Metrics access", options = {
            @org.osgi.service.metatype.annotations.Option(label = "Loopback callers, or anyone with the token",
                    value = "loopback"),
            @org.osgi.service.metatype.annotations.Option(label = "Only with the token", value = "token"),
            @org.osgi.service.metatype.annotations.Option(label = "Open to every caller", value = "open") },
            description = "Who may read GET /metrics. 'loopback' (default): callers on this machine, and any caller "
                    + "that presents the metrics token when one is set; 'token': only callers with "
                    + "'Authorization: Bearer <metrics token>'; 'open': everyone (put it behind a network policy). "
                    + "Environment: PARLEY_METRICS_ACCESS.")
    String metricsAccess() default "loopback";

    @AttributeDefinition(name = "Metrics token", type = org.osgi.service.metatype.annotations.AttributeType.PASSWORD,
            required = false, description = "Bearer token for GET /metrics. Environment: PARLEY_METRICS_TOKEN.")
    String metricsToken() default "";

    @AttributeDefinition(name = "Extra routes", required = false,
            description = "Route templates for HTTP metrics and span names besides Parley's own, e.g. "
                    + "'/api/v1/things/{id}'. A request that matches no template is counted under the route 'other'.")
    String[] extraRoutes() default {};
}

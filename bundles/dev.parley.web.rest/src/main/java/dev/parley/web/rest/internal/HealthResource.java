package dev.parley.web.rest.internal;

import dev.parley.web.rest.internal.RestBodies.Health;
import dev.parley.web.rest.internal.RestBodies.HealthCheckBody;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import java.util.stream.Collectors;
import java.util.stream.StreamSupport;
import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.metrics.LongCounter;
import io.opentelemetry.api.metrics.ObservableLongGauge;
import jakarta.ws.rs.GET;
import jakarta.ws.rs.Path;
import jakarta.ws.rs.Produces;
import jakarta.ws.rs.core.MediaType;
import jakarta.ws.rs.core.Response;
import org.apache.felix.hc.api.Result;
import org.apache.felix.hc.api.ResultLog;
import org.apache.felix.hc.api.execution.HealthCheckExecutionOptions;
import org.apache.felix.hc.api.execution.HealthCheckExecutionResult;
import org.apache.felix.hc.api.execution.HealthCheckExecutor;
import org.apache.felix.hc.api.execution.HealthCheckSelector;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.jakartars.whiteboard.propertytypes.JSONRequired;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsName;
import org.osgi.service.jakartars.whiteboard.propertytypes.JakartarsResource;

/**
 * Readiness for load balancers and Kubernetes: the Felix health checks tagged {@code ready} must all pass, and
 * the configured required checks must be among them (a check that is not registered yet is not ready). One of
 * them, {@link FrontEndsCheck}, says whether every installed front end is actually served.
 */
@Component(service = Object.class, configurationPid = RestConfig.PID)
@JakartarsResource
@JakartarsName("parley.rest.health.ready")
@JSONRequired
@Path("/health/ready")
@Produces(MediaType.APPLICATION_JSON)
public class HealthResource {
    static final String READY_TAG = "ready";

    private final HealthCheckExecutor executor;
    private final List<String> required;
    /** The last evaluation: 1 ready, 0 not, -1 none yet. Exposed as the gauge parley_health_ready. */
    private final AtomicInteger lastReady = new AtomicInteger(-1);
    private volatile ReadinessMetrics metrics = ReadinessMetrics.NOOP;

    @Activate
    public HealthResource(@Reference HealthCheckExecutor executor, RestConfig config) {
        this(executor, RestLimits.from(config).requiredReadyChecks());
    }

    HealthResource(HealthCheckExecutor executor, List<String> required) {
        this.executor = executor;
        this.required = List.copyOf(required);
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC,
            policyOption = ReferencePolicyOption.GREEDY)
    synchronized void setOpenTelemetry(OpenTelemetry otel) {
        ReadinessMetrics previous = metrics;
        metrics = new ReadinessMetrics(otel, lastReady::get);
        previous.close();
    }

    synchronized void unsetOpenTelemetry(OpenTelemetry otel) {
        ReadinessMetrics previous = metrics;
        metrics = ReadinessMetrics.NOOP;
        previous.close();
    }

    @Deactivate
    synchronized void deactivate() {
        metrics.close();
        metrics = ReadinessMetrics.NOOP;
    }

    @GET
    public Response ready() {
        // Never a cached result: a restart must show as 503 at once, and its end as soon as everything serves.
        HealthCheckExecutionOptions fresh = new HealthCheckExecutionOptions();
        fresh.setForceInstantExecution(true);
        List<HealthCheckExecutionResult> results = executor.execute(HealthCheckSelector.tags(READY_TAG), fresh);
        List<HealthCheckBody> passing = new ArrayList<>();
        List<HealthCheckBody> failing = new ArrayList<>();
        Set<String> missing = new LinkedHashSet<>(required);
        for (HealthCheckExecutionResult r : results) {
            String name = r.getHealthCheckMetadata() == null ? "?" : r.getHealthCheckMetadata().getName();
            missing.remove(name);
            Result result = r.getHealthCheckResult();
            boolean up = result != null && !r.hasTimedOut()
                    && (result.getStatus() == Result.Status.OK || result.getStatus() == Result.Status.WARN);
            (up ? passing : failing).add(new HealthCheckBody(name, up ? "UP" : "DOWN", message(result, r.hasTimedOut())));
        }
        for (String name : missing) {
            failing.add(new HealthCheckBody(name, "DOWN", "health check not registered"));
        }
        int now = failing.isEmpty() ? 1 : 0;
        int before = lastReady.getAndSet(now);
        if (before != -1 && before != now) {
            metrics.changed();
        }
        if (failing.isEmpty()) {
            return Response.ok(new Health("UP", passing), MediaType.APPLICATION_JSON_TYPE).build();
        }
        return Response.status(Response.Status.SERVICE_UNAVAILABLE).type(MediaType.APPLICATION_JSON_TYPE)
                .entity(new Health("DOWN", failing)).build();
    }

    /** Readiness as metrics: the last answer, and how often it flipped (a flapping readiness alerts on that). */
    static final class ReadinessMetrics implements AutoCloseable {
        static final ReadinessMetrics NOOP = new ReadinessMetrics(OpenTelemetry.noop(), () -> -1);

        private final ObservableLongGauge ready;
        private final LongCounter changes;

        ReadinessMetrics(OpenTelemetry otel, IntSupplier last) {
            var meter = otel.getMeter("dev.parley.web.rest");
            this.ready = meter.gaugeBuilder("parley.health.ready").ofLongs()
                    .setDescription("1 when the last /health/ready answered 200, 0 when it answered 503.")
                    .buildWithCallback(m -> {
                        int v = last.getAsInt();
                        if (v >= 0) {
                            m.record(v);
                        }
                    });
            this.changes = meter.counterBuilder("parley.health.ready.changes").setUnit("{change}")
                    .setDescription("Times /health/ready changed its answer (200 to 503 or back).").build();
            // Present from the start at 0, so an alert on its increase has a series to read.
            changes.add(0);
        }

        void changed() {
            changes.add(1);
        }

        @Override
        public void close() {
            ready.close();
        }
    }

    private static String message(Result result, boolean timedOut) {
        if (timedOut) {
            return "timed out";
        }
        if (result == null) {
            return "no result";
        }
        return StreamSupport.stream(result.spliterator(), false)
                .filter(e -> !e.isDebug())
                .map(ResultLog.Entry::getMessage)
                .filter(m -> m != null && !m.isBlank())
                .collect(Collectors.joining("; "));
    }
}

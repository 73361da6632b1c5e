package dev.parley.ratelimit.internal;

import dev.parley.api.limits.RateDecision;
import dev.parley.api.limits.RateLimit;
import dev.parley.api.limits.RateLimiter;
import dev.parley.api.limits.RateRequest;
import io.opentelemetry.api.OpenTelemetry;
import java.time.Duration;
import java.util.List;
import java.util.Locale;
import org.apache.felix.hc.api.FormattingResultLog;
import org.apache.felix.hc.api.HealthCheck;
import org.apache.felix.hc.api.Result;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The {@link RateLimiter}: GCRA in this process ({@link LocalRateLimiter}) or in Redis ({@link RedisRateLimiter}), as
 * configured. Immediate: one instance (and one Redis connection) for the bundle's life, not one per user of the
 * service. A changed configuration restarts the component with a new store (in-process buckets start full again).
 * It is its own readiness health check: OK while its store answers; while Redis does not, WARN with fail mode open
 * (requests go through unlimited, the node still serves) and CRITICAL with closed (the node refuses every limited
 * request, so it is not ready; a node cut off from Redis alone leaves the load balancer's rotation).
 */
@Component(name = RateLimiterConfig.PID, configurationPid = RateLimiterConfig.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL, immediate = true, service = { RateLimiter.class, HealthCheck.class },
        property = { HealthCheck.NAME + "=Parley rate limiter", HealthCheck.TAGS + "=ready" })
@Designate(ocd = RateLimiterConfig.class)
public final class GcraRateLimiter implements RateLimiter, HealthCheck {
    private static final Logger LOG = LoggerFactory.getLogger(GcraRateLimiter.class);

    private final LocalRateLimiter local;
    private final RedisRateLimiter redis;
    private final RateLimiter store;
    /** Swapped whole when the OpenTelemetry service comes or goes. */
    private volatile RateLimitTelemetry telemetry = RateLimitTelemetry.NOOP;

    @Activate
    public GcraRateLimiter(RateLimiterConfig config) {
        String kind = config.store().strip().toLowerCase(Locale.ROOT);
        String failMode = config.failMode().strip().toLowerCase(Locale.ROOT);
        if (!failMode.equals("open") && !failMode.equals("closed")) {
            throw new IllegalArgumentException("Rate limiter failMode must be open or closed, not " + failMode);
        }
        switch (kind) {
        case "local" -> {
            local = new LocalRateLimiter(System::nanoTime);
            redis = null;
            store = local;
            LOG.info("Rate limiter keeps its buckets in this process: each node limits on its own");
        }
        case "redis" -> {
            local = null;
            redis = new RedisRateLimiter(config.redisUri().strip(), config._redisPassword(), config.keyPrefix(),
                    failMode.equals("open"), Duration.ofMillis(Math.max(1, config.timeoutMillis())));
            store = redis;
        }
        default -> throw new IllegalArgumentException("Rate limiter store must be local or redis, not " + kind);
        }
    }

    @Override
    public RateDecision acquire(String key, RateLimit limit, long cost) {
        RateDecision decision = store.acquire(key, limit, cost);
        telemetry.decided(decision);
        return decision;
    }

    @Override
    public List<RateDecision> acquireAll(List<RateRequest> requests) {
        List<RateDecision> decisions = store.acquireAll(requests);
        // One decision for the request, whatever the number of buckets: refused if any bucket refused.
        telemetry.decided(decisions.stream().filter(d -> !d.allowed()).findFirst().orElse(decisions.get(0)));
        return decisions;
    }

    @Override
    public RateDecision charge(String key, RateLimit limit, long units) {
        return store.charge(key, limit, units);
    }

    @Override
    public void release(String key, RateLimit limit, long units) {
        store.release(key, limit, units);
    }

    @Override
    public Result execute() {
        FormattingResultLog log = new FormattingResultLog();
        if (redis == null) {
            log.info("buckets in this process (each node limits on its own): buckets={}", local.size());
        } else if (redis.probe()) {
            log.info("buckets in Redis uri={}", redis.maskedUri());
        } else if (redis.failOpen()) {
            log.warn("Redis does not answer uri={}: fail mode open, requests are not limited ({})", redis.maskedUri(),
                    redis.lastProblem());
        } else {
            log.critical("Redis does not answer uri={}: fail mode closed, limited requests are refused ({})",
                    redis.maskedUri(), redis.lastProblem());
        }
        return new Result(log);
    }

    /** Optional and dynamic, so the limiter (and Redis connection) stays when the observability bundle restarts. */
    @Reference(service = OpenTelemetry.class, cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY,
            unbind = "unbindOpenTelemetry")
    synchronized void bindOpenTelemetry(OpenTelemetry otel) {
        telemetry = new RateLimitTelemetry(otel);
    }

    synchronized void unbindOpenTelemetry(OpenTelemetry otel) {
        if (telemetry.recordsTo(otel)) {
            telemetry = RateLimitTelemetry.NOOP;
        }
    }

    /** The Redis store, or null when buckets are in process; for tests. */
    RedisRateLimiter redisStore() {
        return redis;
    }

    @Deactivate
    void deactivate() {
        if (redis != null) {
            redis.close();
        }
    }
}

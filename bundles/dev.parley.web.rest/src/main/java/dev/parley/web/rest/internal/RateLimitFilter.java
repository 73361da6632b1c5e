package dev.parley.web.rest.internal;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.Principal;
import dev.parley.api.limits.RateDecision;
import dev.parley.api.limits.RateLimitedException;
import dev.parley.api.limits.RateLimiter;
import dev.parley.api.limits.RateRequest;
import dev.parley.api.limits.RequestRateLimits;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardFilterAsyncSupported;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardFilterName;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardFilterPattern;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Request rate limits, right after the edge has authenticated the caller: one unit per request from the caller's
 * credential, user and tenant buckets ({@link RequestLimits}), or, on the public sign-in routes, from the client
 * address's. A request counts once, when it starts; a stream holds nothing while it runs. On the sign-in routes only
 * failed guesses count: a sign-in answered other than 401 gives its unit back.
 *
 * <p>Every limited answer carries {@code RateLimit-Policy} and {@code RateLimit} (draft-ietf-httpapi-ratelimit-headers)
 * for the tightest of its buckets. The buckets are decided together in one limiter call, all or nothing (one round
 * trip to Redis): a refused request takes nothing. It gets 429 with {@code Retry-After} in the route's error shape.
 * The same buckets count each chat message of a WebSocket ({@link RequestRateLimits}). When the limiter cannot reach its shared store, its fail mode
 * decides: open lets the request through (without headers: nothing is known), closed answers 503.
 *
 * <p>The break-glass admin token is never limited: it is there for when things are broken, a limiter outage with
 * fail mode closed included.
 */
@Component(service = { Filter.class, RequestRateLimits.class }, configurationPid = RequestLimitsConfig.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL, property = "service.ranking:Integer=" + RateLimitFilter.RANKING)
@Designate(ocd = RequestLimitsConfig.class)
@HttpWhiteboardFilterPattern("/*")
@HttpWhiteboardFilterName("parley-rate-limits")
@HttpWhiteboardFilterAsyncSupported
public class RateLimitFilter implements Filter, RequestRateLimits {
    /** Just after the edge (which leaves the principal), before every other filter. */
    static final int RANKING = EdgeAuthFilter.RANKING - 1;
    static final String POLICY_HEADER = "RateLimit-Policy";
    static final String LIMIT_HEADER = "RateLimit";
    private static final Logger LOG = LoggerFactory.getLogger(RateLimitFilter.class);
    private static final String[] LOGIN = AccessPolicy.split("/api/v1/auth/login");
    private static final String[] REFRESH = AccessPolicy.split("/api/v1/auth/refresh");

    private final RateLimiter limiter;
    private final ObjectMapper mapper = JsonMapping.newMapper();
    private volatile RequestLimits limits;

    @Activate
    public RateLimitFilter(@Reference RateLimiter limiter,
            RequestLimitsConfig config) {
        this(limiter, RequestLimits.from(config));
    }

    RateLimitFilter(RateLimiter limiter, RequestLimits limits) {
        this.limiter = limiter;
        this.limits = limits;
    }

    /** New limits apply to the next request; the buckets keep what was taken from them. */
    @Modified
    void modified(RequestLimitsConfig config) {
        limits = RequestLimits.from(config);
    }

    /** For tests: the limits from now on. */
    void limits(RequestLimits limits) {
        this.limits = limits;
    }

    @Override
    public void doFilter(ServletRequest req, ServletResponse res, FilterChain chain)
            throws IOException, ServletException {
        HttpServletRequest request = (HttpServletRequest) req;
        HttpServletResponse response = (HttpServletResponse) res;
        List<RequestLimits.Bucket> buckets = buckets(request);
        if (buckets.isEmpty()) {
            chain.doFilter(req, res);
            return;
        }
        RateDecision[] decisions;
        try {
            decisions = decide(buckets);
        } catch (RuntimeException e) {
            // The limiter answers every call by its contract (a store it cannot reach is a degraded decision).
            LOG.error("Rate limiter failed", e);
            refuse(request, response, new ParleyException(ErrorCode.UNAVAILABLE,
                    "The rate limit could not be checked now; try again.", Duration.ofSeconds(1), null));
            return;
        }
        Verdict v = verdict(decisions);
        if (v.refused() >= 0) {
            RequestLimits.Bucket b = buckets.get(v.refused());
            RateDecision d = decisions[v.refused()];
            headers(response, b, d);
            refuse(request, response, refusal(b, d));
            return;
        }
        if (v.unavailable() >= 0) {
            refuse(request, response, unavailable(decisions[v.unavailable()]));
            return;
        }
        int tightest = v.tightest();
        if (tightest >= 0) {
            headers(response, buckets.get(tightest), decisions[tightest]);
        }
        if (buckets.get(0).level() != RequestLimits.Level.IP) {
            chain.doFilter(req, res);
            return;
        }
        // Sign-in: what is limited is guessing. A sign-in that did not fail on its credentials (a success, a
        // malformed request) gives its unit back once answered; a guess keeps it. Taken first all the same, so
        // that parallel guesses are held to the limit too.
        try {
            chain.doFilter(req, res);
        } finally {
            if (response.getStatus() != HttpServletResponse.SC_UNAUTHORIZED) {
                giveBack(buckets, decisions);
            }
        }
    }

    private void giveBack(List<RequestLimits.Bucket> buckets, RateDecision[] decisions) {
        for (int i = 0; i < decisions.length; i++) {
            if (decisions[i].allowed() && !decisions[i].degraded()) {
                RequestLimits.Bucket b = buckets.get(i);
                limiter.release(b.key(), b.limit(), 1);
            }
        }
    }

    private List<RequestLimits.Bucket> buckets(HttpServletRequest request) {
        RequestLimits l = limits;
        if (request.getAttribute(Principal.REQUEST_ATTRIBUTE) instanceof Principal p) {
            return p.method() == AuthMethod.ADMIN_TOKEN ? List.of() : l.buckets(p);
        }
        if ("POST".equals(request.getMethod())) {
            String[] segments = AccessPolicy.split(EdgeAuthFilter.path(request));
            if (AccessPolicy.matches(LOGIN, segments) || AccessPolicy.matches(REFRESH, segments)) {
                return l.signIn(request.getRemoteAddr());
            }
        }
        return List.of();
    }

    /** One unit from every bucket, all or nothing, in one limiter call (one round trip to a shared store). */
    private RateDecision[] decide(List<RequestLimits.Bucket> buckets) {
        List<RateRequest> requests = new ArrayList<>(buckets.size());
        for (RequestLimits.Bucket b : buckets) {
            requests.add(new RateRequest(b.key(), b.limit(), 1));
        }
        return limiter.acquireAll(requests).toArray(RateDecision[]::new);
    }

    /**
     * Which bucket refused (the longest wait: when the request could pass), which could not be asked (fail mode
     * closed), and which allowed bucket is the tightest (least remaining); -1 for none.
     */
    record Verdict(int refused, int unavailable, int tightest) {
    }

    static Verdict verdict(RateDecision[] decisions) {
        int refused = -1;
        int unavailable = -1;
        int tightest = -1;
        for (int i = 0; i < decisions.length; i++) {
            RateDecision d = decisions[i];
            if (!d.allowed() && d.degraded()) {
                unavailable = i;
            } else if (!d.allowed()) {
                if (refused < 0 || d.retryAfter().compareTo(decisions[refused].retryAfter()) > 0) {
                    refused = i;
                }
            } else if (!d.degraded() && (tightest < 0 || d.remaining() < decisions[tightest].remaining())) {
                tightest = i;
            }
        }
        return new Verdict(refused, unavailable, tightest);
    }

    private static RateLimitedException refusal(RequestLimits.Bucket b, RateDecision d) {
        return new RateLimitedException(b.level().policy, d, "Too many requests for " + b.level().whose
                + ": the limit is " + b.limit().amount() + " per minute, " + b.limit().burst() + " at once. Retry after "
                + ErrorResponses.ceilSeconds(d.retryAfter()) + " s.");
    }

    private static ParleyException unavailable(RateDecision d) {
        return new ParleyException(ErrorCode.UNAVAILABLE,
                "The rate limiter cannot reach its store and refuses requests until it can; try again.",
                d.retryAfter(), null);
    }

    /**
     * A request that does not come as an HTTP request of its own (a WebSocket chat message): one unit from the
     * caller's buckets, as {@link #doFilter} takes for a request.
     */
    @Override
    public void acquire(Principal caller) {
        if (caller == null || caller.method() == AuthMethod.ADMIN_TOKEN) {
            return;
        }
        List<RequestLimits.Bucket> buckets = limits.buckets(caller);
        if (buckets.isEmpty()) {
            return;
        }
        RateDecision[] decisions = decide(buckets);
        Verdict v = verdict(decisions);
        if (v.refused() >= 0) {
            throw refusal(buckets.get(v.refused()), decisions[v.refused()]);
        }
        if (v.unavailable() >= 0) {
            throw unavailable(decisions[v.unavailable()]);
        }
    }

    /** {@code RateLimit-Policy: "key";q=600;w=60} and {@code RateLimit: "key";r=99;t=1}. */
    static void headers(HttpServletResponse response, RequestLimits.Bucket bucket, RateDecision decision) {
        ErrorResponses.RateHeaders h = ErrorResponses.RateHeaders.of(bucket.level().policy, decision);
        response.setHeader(POLICY_HEADER, h.policy());
        response.setHeader(LIMIT_HEADER, h.limit());
    }

    private void refuse(HttpServletRequest request, HttpServletResponse response, ParleyException e)
            throws IOException {
        EdgeRefusals.write(mapper, request, response, EdgeAuthFilter.path(request), ErrorResponses.Failure.of(e));
    }
}

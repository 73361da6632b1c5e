package dev.parley.observability.internal;

import java.io.IOException;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Pattern;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.common.AttributeKey;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.api.metrics.DoubleHistogram;
import io.opentelemetry.api.metrics.LongUpDownCounter;
import io.opentelemetry.api.trace.Span;
import io.opentelemetry.api.trace.SpanContext;
import io.opentelemetry.api.trace.SpanKind;
import io.opentelemetry.api.trace.StatusCode;
import io.opentelemetry.api.trace.Tracer;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.Scope;
import io.opentelemetry.context.propagation.TextMapGetter;

import jakarta.servlet.AsyncEvent;
import jakarta.servlet.AsyncListener;
import jakarta.servlet.Filter;
import jakarta.servlet.FilterChain;
import jakarta.servlet.ServletException;
import jakarta.servlet.ServletRequest;
import jakarta.servlet.ServletResponse;
import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardFilterAsyncSupported;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardFilterName;
import org.osgi.service.servlet.whiteboard.propertytypes.HttpWhiteboardFilterPattern;
import org.slf4j.MDC;

/**
 * Every HTTP request, first and last: its server span (joining the caller's trace when a W3C {@code traceparent}
 * comes with it), its duration in {@code http.server.request.duration} by method, route and status, the number of
 * requests in progress, and the request id and trace ids in the logging context while the request thread works.
 *
 * <p>Streams and whole answers are asynchronous requests: the span and the duration end when the response does
 * (the servlet's {@link AsyncListener}), not when the request thread returns.
 */
@Component(service = Filter.class, configurationPid = ObservabilityConfig.PID,
        property = "service.ranking:Integer=2147483000")
@HttpWhiteboardFilterPattern("/*")
@HttpWhiteboardFilterName("parley-http-telemetry")
@HttpWhiteboardFilterAsyncSupported
public final class HttpTelemetryFilter implements Filter {
    static final String REQUEST_ID_HEADER = "X-Request-Id";
    /** MDC keys; the JSON log format writes each as a top-level field. */
    static final String MDC_REQUEST_ID = "request_id";
    static final String MDC_TRACE_ID = "trace_id";
    static final String MDC_SPAN_ID = "span_id";

    static final AttributeKey<String> METHOD = AttributeKey.stringKey("http.request.method");
    static final AttributeKey<String> ROUTE = AttributeKey.stringKey("http.route");
    static final AttributeKey<Long> STATUS = AttributeKey.longKey("http.response.status_code");
    static final AttributeKey<String> ERROR_TYPE = AttributeKey.stringKey("error.type");
    static final AttributeKey<String> PATH = AttributeKey.stringKey("url.path");
    static final AttributeKey<String> SCHEME = AttributeKey.stringKey("url.scheme");
    static final AttributeKey<String> USER_AGENT = AttributeKey.stringKey("user_agent.original");
    static final AttributeKey<String> CLIENT = AttributeKey.stringKey("client.address");
    static final AttributeKey<Long> PORT = AttributeKey.longKey("server.port");
    static final AttributeKey<String> REQUEST_ID = AttributeKey.stringKey("parley.request.id");

    /** Buckets from a few milliseconds to minutes: whole LLM answers and long streams take that long. */
    static final List<Double> DURATION_BUCKETS = List.of(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            10.0, 20.0, 40.0, 80.0, 160.0, 320.0);
    private static final Set<String> KNOWN_METHODS = Set.of("GET", "HEAD", "POST", "PUT", "DELETE", "CONNECT",
            "OPTIONS", "TRACE", "PATCH");
    private static final Pattern GOOD_REQUEST_ID = Pattern.compile("[A-Za-z0-9._:-]{1,64}");

    private static final TextMapGetter<HttpServletRequest> HEADERS = new TextMapGetter<>() {
        @Override
        public Iterable<String> keys(HttpServletRequest carrier) {
            return Collections.list(carrier.getHeaderNames());
        }

        @Override
        public String get(HttpServletRequest carrier, String key) {
            return carrier == null ? null : carrier.getHeader(key);
        }
    };

    private final OpenTelemetry otel;
    private final Tracer tracer;
    private final DoubleHistogram duration;
    private final LongUpDownCounter active;
    private volatile RouteTemplates routes;

    @Activate
    public HttpTelemetryFilter(@Reference OpenTelemetry otel, ObservabilityConfig config) {
        this.otel = otel;
        this.tracer = otel.getTracer("dev.parley.observability");
        var meter = otel.getMeter("dev.parley.observability");
        this.duration = meter.histogramBuilder("http.server.request.duration").setUnit("s")
                .setDescription("Duration of HTTP server requests, to the end of the response (streams included).")
                .setExplicitBucketBoundariesAdvice(DURATION_BUCKETS).build();
        this.active = meter.upDownCounterBuilder("http.server.active_requests").setUnit("{request}")
                .setDescription("HTTP server requests in progress (open streams included).").build();
        this.routes = new RouteTemplates(config.extraRoutes());
    }

    @Modified
    void modified(ObservabilityConfig config) {
        this.routes = new RouteTemplates(config.extraRoutes());
    }

    @Override
    public void doFilter(ServletRequest request, ServletResponse response, FilterChain chain)
            throws IOException, ServletException {
        if (!(request instanceof HttpServletRequest req) || !(response instanceof HttpServletResponse resp)) {
            chain.doFilter(request, response);
            return;
        }
        long start = System.nanoTime();
        String method = KNOWN_METHODS.contains(req.getMethod()) ? req.getMethod() : "_OTHER";
        String route = routes.route(req.getRequestURI());
        String requestId = requestId(req.getHeader(REQUEST_ID_HEADER));
        resp.setHeader(REQUEST_ID_HEADER, requestId);

        Context parent = otel.getPropagators().getTextMapPropagator().extract(Context.root(), req, HEADERS);
        // What a sampler may look at goes on the builder; the rest only onto a span that records (with traces off,
        // none does, and building those attributes was a measurable part of the filter's cost).
        Span span = tracer.spanBuilder(RouteTemplates.OTHER.equals(route) ? method : method + " " + route)
                .setParent(parent)
                .setSpanKind(SpanKind.SERVER)
                .setAttribute(METHOD, method)
                .setAttribute(ROUTE, route)
                .startSpan();
        if (span.isRecording()) {
            span.setAttribute(PATH, req.getRequestURI());
            span.setAttribute(SCHEME, req.getScheme());
            span.setAttribute(PORT, (long) req.getLocalPort());
            span.setAttribute(CLIENT, req.getRemoteAddr());
            span.setAttribute(USER_AGENT, req.getHeader("User-Agent"));
            span.setAttribute(REQUEST_ID, requestId);
        }
        Attributes activeAttributes = labels(new Labels(method, null, 0));
        active.add(1, activeAttributes);
        Exchange exchange = new Exchange(span, start, method, route, activeAttributes, resp);

        SpanContext ids = span.getSpanContext();
        MDC.put(MDC_REQUEST_ID, requestId);
        if (ids.isValid()) {
            MDC.put(MDC_TRACE_ID, ids.getTraceId());
            MDC.put(MDC_SPAN_ID, ids.getSpanId());
        }
        Throwable failure = null;
        try (Scope scope = span.makeCurrent()) {
            chain.doFilter(req, resp);
        } catch (IOException | ServletException | RuntimeException | Error e) {
            failure = e;
            throw e;
        } finally {
            MDC.remove(MDC_REQUEST_ID);
            MDC.remove(MDC_TRACE_ID);
            MDC.remove(MDC_SPAN_ID);
            if (failure == null && req.isAsyncStarted()) {
                req.getAsyncContext().addListener(exchange);
            } else {
                exchange.end(failure);
            }
        }
    }

    /** A metric label set: method alone (requests in flight), or method, route and status (durations). */
    private record Labels(String method, String route, int status) {
        Attributes build() {
            return route == null ? Attributes.of(METHOD, method)
                    : Attributes.of(METHOD, method, ROUTE, route, STATUS, (long) status);
        }
    }

    /** At most this many label sets are kept (methods are any token a client sends); more are built per request. */
    static final int MAX_LABEL_SETS = 1024;
    private final Map<Labels, Attributes> labelSets = new ConcurrentHashMap<>();

    /** Built once per label set: building and sorting attributes per request was a measurable share of the filter. */
    private Attributes labels(Labels key) {
        Attributes a = labelSets.get(key);
        if (a == null) {
            a = key.build();
            if (labelSets.size() < MAX_LABEL_SETS) {
                labelSets.putIfAbsent(key, a);
            }
        }
        return a;
    }

    private static String requestId(String offered) {
        if (offered != null && GOOD_REQUEST_ID.matcher(offered).matches()) {
            return offered;
        }
        ThreadLocalRandom r = ThreadLocalRandom.current();
        return Long.toHexString(r.nextLong() | Long.MIN_VALUE) + Long.toHexString(r.nextLong() | Long.MIN_VALUE);
    }

    /** One request's telemetry until its response ends; ends once, whichever callback comes first. */
    private final class Exchange implements AsyncListener {
        private final Span span;
        private final long start;
        private final String method;
        private final String route;
        private final Attributes activeAttributes;
        private final HttpServletResponse response;
        private boolean ended;

        Exchange(Span span, long start, String method, String route, Attributes activeAttributes,
                HttpServletResponse response) {
            this.span = span;
            this.start = start;
            this.method = method;
            this.route = route;
            this.activeAttributes = activeAttributes;
            this.response = response;
        }

        void end(Throwable failure) {
            synchronized (this) {
                if (ended) {
                    return;
                }
                ended = true;
            }
            int status = failure != null && response.getStatus() < 400 ? 500 : response.getStatus();
            String error = failure != null ? failure.getClass().getName() : status >= 500 ? Integer.toString(status) : null;
            span.setAttribute(STATUS, (long) status);
            if (error != null && span.isRecording()) {
                span.setAttribute(ERROR_TYPE, error);
                span.setStatus(StatusCode.ERROR);
                if (failure != null) {
                    span.recordException(failure);
                }
            }
            span.end();
            Attributes attributes = error == null ? labels(new Labels(method, route, status))
                    : Attributes.builder().put(METHOD, method).put(ROUTE, route).put(STATUS, (long) status)
                            .put(ERROR_TYPE, failure != null ? "exception" : Integer.toString(status)).build();
            duration.record((System.nanoTime() - start) / 1e9, attributes);
            active.add(-1, activeAttributes);
        }

        @Override
        public void onComplete(AsyncEvent event) {
            end(null);
        }

        @Override
        public void onTimeout(AsyncEvent event) {
            end(event.getThrowable());
        }

        @Override
        public void onError(AsyncEvent event) {
            end(event.getThrowable());
        }

        @Override
        public void onStartAsync(AsyncEvent event) {
            // A servlet that starts async again keeps this exchange: listen to the new cycle too.
            event.getAsyncContext().addListener(this);
        }
    }
}

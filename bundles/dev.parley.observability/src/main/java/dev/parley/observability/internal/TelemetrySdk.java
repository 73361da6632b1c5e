package dev.parley.observability.internal;

import java.io.IOException;
import java.io.ByteArrayOutputStream;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.function.BiConsumer;
import java.util.function.Function;

import io.opentelemetry.api.OpenTelemetry;
import io.opentelemetry.api.logs.LoggerProvider;
import io.opentelemetry.api.metrics.MeterProvider;
import io.opentelemetry.api.trace.TracerProvider;
import io.opentelemetry.context.Context;
import io.opentelemetry.context.propagation.ContextPropagators;
import io.opentelemetry.context.propagation.TextMapSetter;
import io.opentelemetry.exporter.prometheus.PrometheusMetricReader;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.autoconfigure.AutoConfiguredOpenTelemetrySdk;
import io.prometheus.metrics.expositionformats.ExpositionFormatWriter;
import io.prometheus.metrics.expositionformats.ExpositionFormats;
import io.prometheus.metrics.instrumentation.jvm.JvmMetrics;
import io.prometheus.metrics.model.registry.PrometheusRegistry;

import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.parley.api.telemetry.TraceHeaders;

/**
 * The process's one OpenTelemetry SDK, registered as the {@link OpenTelemetry} service every instrumented bundle
 * records through, and the one Prometheus registry behind {@code GET /metrics}: the SDK's metrics (read by the
 * Prometheus reader when scraped) plus the JVM's and the process's.
 *
 * <p>Traces are configured by the standard OpenTelemetry variables ({@code OTEL_EXPORTER_OTLP_ENDPOINT},
 * {@code OTEL_SERVICE_NAME}, {@code OTEL_TRACES_SAMPLER}, ... or the {@code otel.*} system properties). With no OTLP
 * endpoint and no explicit {@code OTEL_TRACES_EXPORTER} they are off: nothing is exported and the sampler samples
 * nothing, so a span costs an id and no recording; trace ids still reach logs and upstream requests.
 *
 * <p>Plugins get {@link TraceHeaders} from {@link PluginTraceHeaders}, a registration of its own: a plugin may see
 * that service (ADR 29) and is handed an object that is nothing but trace headers, not this SDK.
 */
@Component(service = { OpenTelemetry.class, TelemetrySdk.class })
public final class TelemetrySdk implements OpenTelemetry, TraceHeaders {
    private static final Logger LOG = LoggerFactory.getLogger(TelemetrySdk.class);
    private static final TextMapSetter<BiConsumer<String, String>> SETTER = (carrier, key, value) -> {
        if (carrier != null) {
            carrier.accept(key, value);
        }
    };

    private final OpenTelemetrySdk sdk;
    /** What instrumented bundles get: the SDK, or the API's no-op when the SDK is disabled. */
    private final OpenTelemetry api;
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final ExpositionFormats formats = ExpositionFormats.init();
    private final boolean tracesExported;

    @Activate
    public TelemetrySdk() {
        this(System::getenv, System::getProperty);
    }

    TelemetrySdk(Function<String, String> env, Function<String, String> sysprops) {
        Map<String, String> defaults = defaults(env, sysprops);
        this.tracesExported = !"none".equals(firstSet(env, sysprops, "OTEL_TRACES_EXPORTER",
                defaults.get("otel.traces.exporter")));
        PrometheusMetricReader reader = PrometheusMetricReader.builder().setOtelScopeLabelsEnabled(false).build();
        OpenTelemetrySdk built;
        // The SDK finds its exporters and HTTP sender through ServiceLoader: in this bundle's class loader, where
        // they are embedded, and the thread's context loader must not point elsewhere while it looks.
        Thread thread = Thread.currentThread();
        ClassLoader previous = thread.getContextClassLoader();
        thread.setContextClassLoader(TelemetrySdk.class.getClassLoader());
        try {
            built = AutoConfiguredOpenTelemetrySdk.builder()
                    .setServiceClassLoader(TelemetrySdk.class.getClassLoader())
                    .addPropertiesSupplier(() -> defaults)
                    .addMeterProviderCustomizer((builder, config) -> builder.registerMetricReader(reader))
                    .disableShutdownHook()
                    .build()
                    .getOpenTelemetrySdk();
        } catch (RuntimeException e) {
            // A bad OTEL_* setting must not take metrics or the server down: say why, and run without export.
            LOG.error("event=telemetry_config_invalid reason=\"{}\" hint=\"check the OTEL_* variables; traces are not "
                    + "exported\"", reason(e));
            built = AutoConfiguredOpenTelemetrySdk.builder()
                    .setServiceClassLoader(TelemetrySdk.class.getClassLoader())
                    .addPropertiesSupplier(TelemetrySdk::offline)
                    .addPropertiesCustomizer(c -> offline())
                    .addMeterProviderCustomizer((builder, config) -> builder.registerMetricReader(reader))
                    .disableShutdownHook()
                    .build()
                    .getOpenTelemetrySdk();
        } finally {
            thread.setContextClassLoader(previous);
        }
        this.sdk = built;
        // OTEL_SDK_DISABLED=true: the SDK's answer is an SDK without processors whose default sampler still records
        // every span; Parley hands out the API's no-op instead, so "disabled" records nothing at all.
        this.api = Boolean.parseBoolean(firstSet(env, sysprops, "OTEL_SDK_DISABLED", "false")) ? OpenTelemetry.noop()
                : built;
        registry.register(reader);
        JvmMetrics.builder().register(registry);
        LOG.info("telemetry started traces={} endpoint={}", tracesExported ? "exported" : "off",
                tracesExported ? firstSet(env, sysprops, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                        firstSet(env, sysprops, "OTEL_EXPORTER_OTLP_ENDPOINT", "default")) : "-");
    }

    /**
     * Parley's defaults under the user's settings: service name "parley", metrics read by Prometheus only, no log
     * export, and traces off unless an OTLP endpoint or a traces exporter is named.
     */
    static Map<String, String> defaults(Function<String, String> env, Function<String, String> sysprops) {
        Map<String, String> d = new HashMap<>();
        d.put("otel.service.name", "parley");
        d.put("otel.metrics.exporter", "none");
        d.put("otel.logs.exporter", "none");
        d.put("otel.exporter.otlp.protocol", "http/protobuf");
        // The SDK's default queue (2,048 spans) dropped about a tenth of the spans at 15,000 spans/s in the
        // telemetry benchmark; three spans per chat turn need more room than one per request.
        d.put("otel.bsp.max.queue.size", "16384");
        d.put("otel.bsp.max.export.batch.size", "1024");
        boolean endpoint = firstSet(env, sysprops, "OTEL_EXPORTER_OTLP_ENDPOINT", null) != null
                || firstSet(env, sysprops, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", null) != null;
        if (!endpoint) {
            d.put("otel.traces.exporter", "none");
            d.put("otel.traces.sampler", "always_off");
        }
        return d;
    }

    /** Parley's defaults as if no OTEL_* variable were set: nothing exported, nothing sampled. */
    private static Map<String, String> offline() {
        return defaults(k -> null, k -> null);
    }

    /** The SDK wraps the real reason ("No GrpcSenderProvider found ...") in a generic one: say both. */
    private static String reason(Throwable e) {
        StringBuilder r = new StringBuilder(String.valueOf(e.getMessage()));
        for (Throwable c = e.getCause(); c != null && c != c.getCause(); c = c.getCause()) {
            r.append(": ").append(c.getMessage());
        }
        return r.toString().replace('"', '\'');
    }

    /** An environment variable, else its {@code otel.*} system property, else {@code fallback}. */
    private static String firstSet(Function<String, String> env, Function<String, String> sysprops, String variable,
            String fallback) {
        String v = env.apply(variable);
        if (v == null || v.isBlank()) {
            v = sysprops.apply(variable.toLowerCase(java.util.Locale.ROOT).replace('_', '.'));
        }
        return v == null || v.isBlank() ? fallback : v.trim();
    }

    @Deactivate
    void deactivate() {
        // Export what is buffered, then stop the exporter's threads; bounded so a dead collector cannot hold a stop.
        sdk.shutdown().join(5, TimeUnit.SECONDS);
    }

    boolean tracesExported() {
        return tracesExported;
    }

    /** Every metric, in the format {@code accept} asks for (OpenMetrics or Prometheus text). */
    Scrape scrape(String accept) throws IOException {
        ExpositionFormatWriter writer = formats.findWriter(accept);
        if (!writer.isAvailable()) {
            writer = formats.getPrometheusTextFormatWriter();
        }
        ByteArrayOutputStream body = new ByteArrayOutputStream(64 * 1024);
        writer.write(body, registry.scrape());
        return new Scrape(writer.getContentType(), body.toByteArray());
    }

    record Scrape(String contentType, byte[] body) {
    }

    // --- TraceHeaders ---

    @Override
    public void inject(BiConsumer<String, String> header) {
        api.getPropagators().getTextMapPropagator().inject(Context.current(), header, SETTER);
    }

    // --- OpenTelemetry ---

    @Override
    public TracerProvider getTracerProvider() {
        return api.getTracerProvider();
    }

    @Override
    public MeterProvider getMeterProvider() {
        return api.getMeterProvider();
    }

    @Override
    public LoggerProvider getLogsBridge() {
        return api.getLogsBridge();
    }

    @Override
    public ContextPropagators getPropagators() {
        return api.getPropagators();
    }
}

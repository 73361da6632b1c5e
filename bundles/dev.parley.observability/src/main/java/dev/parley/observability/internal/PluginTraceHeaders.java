package dev.parley.observability.internal;

import dev.parley.api.telemetry.TraceHeaders;
import java.util.function.BiConsumer;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Reference;

/**
 * The {@link TraceHeaders} service plugins take (ADR 2), registered under that interface alone: the plugin sandbox
 * shows plugins a platform service only when every interface it is registered under is one they may see (ADR 29), and
 * the object a plugin gets does nothing but write trace headers; it is not the SDK.
 */
@Component(service = TraceHeaders.class)
public final class PluginTraceHeaders implements TraceHeaders {
    private final TelemetrySdk sdk;

    @Activate
    public PluginTraceHeaders(@Reference TelemetrySdk sdk) {
        this.sdk = sdk;
    }

    @Override
    public void inject(BiConsumer<String, String> header) {
        sdk.inject(header);
    }
}

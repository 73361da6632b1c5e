package dev.parley.api.telemetry;

import java.util.function.BiConsumer;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Carries the calling thread's current trace to an outgoing request. Parley registers one as an OSGi service; a
 * provider or tool plugin that calls a server over HTTP takes it as an optional reference and calls {@link #inject}
 * while it builds each request, on the thread that Parley called it on (for a provider, inside
 * {@code ChatModelProvider.stream} or {@code complete}), so that the server's spans join the chat turn's trace.
 */
@ProviderType
public interface TraceHeaders {
    /**
     * Writes the headers that carry the current trace (W3C Trace Context: {@code traceparent}, and
     * {@code tracestate} when there is one) through {@code header}. Writes nothing when there is no current trace.
     */
    void inject(BiConsumer<String, String> header);
}

package dev.parley.jmh.plugin;

import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.Usage;
import java.util.List;
import java.util.Map;

/**
 * The provider the benchmarks call, in process or as the only class of a plugin run in a plugin host
 * ({@link BenchPluginJar}): it answers at once, on the thread that called it, with {@code maxTokens} words
 * ({@code t0 t1 …}, 1 if unset), so that only the way to it is measured. {@code stream} sends each word as a token
 * and then the whole answer; {@code complete} (a non-stream call) sends only the whole answer. It uses only the API
 * and {@code java.*}, as the untrusted tier requires.
 */
public final class BenchProvider implements ChatModelProvider {
    private volatile String providerId = "bench";
    private volatile String model = "bench-model";

    public BenchProvider() {
    }

    public BenchProvider(String providerId, String model) {
        this.providerId = providerId;
        this.model = model;
    }

    /** Declarative Services' activation in the plugin host: the component's {@code providerId} and {@code models}. */
    public void activate(Map<String, Object> properties) {
        providerId = (String) properties.get("providerId");
        model = (String) properties.get("models");
    }

    public void deactivate() {
    }

    @Override
    public String id() {
        return providerId;
    }

    @Override
    public List<ModelDescriptor> models() {
        return List.of(new ModelDescriptor(model, providerId, "Benchmark provider", 8192, 4096));
    }

    @Override
    public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
        int n = words(request);
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < n; i++) {
            String token = "t" + i + " ";
            text.append(token);
            handler.onToken(token);
        }
        handler.onComplete(new ChatResponse(text.toString(), List.of(), FinishReason.STOP, new Usage(1, n), model));
        return () -> { };
    }

    @Override
    public StreamHandle complete(ChatRequest request, ChatStreamHandler handler) {
        int n = words(request);
        StringBuilder text = new StringBuilder();
        for (int i = 0; i < n; i++) {
            text.append('t').append(i).append(' ');
        }
        handler.onComplete(new ChatResponse(text.toString(), List.of(), FinishReason.STOP, new Usage(1, n), model));
        return () -> { };
    }

    private static int words(ChatRequest request) {
        Integer max = request.options().maxTokens();
        return max == null || max < 1 ? 1 : max;
    }
}

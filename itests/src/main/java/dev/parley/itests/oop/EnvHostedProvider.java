package dev.parley.itests.oop;

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
 * A provider that reads, at each chat, the one variable a plugin host's environment has
 * ({@code PARLEY_PLUGIN_HOST_CONFIG}), and answers on the calling thread whether it got it: {@code "[env] no
 * environment"} when the sandbox's run-time checks refused the read (the plugin gets null), {@code "[env] environment
 * read"} when its tier only reports. The value is not sent. Run only in a plugin host, never through admission (which
 * refuses the call).
 */
public final class EnvHostedProvider implements ChatModelProvider {
    static final String VARIABLE = "PARLEY_PLUGIN_HOST_CONFIG";
    private String providerId;
    private String model;

    public void activate(Map<String, Object> properties) {
        providerId = (String) properties.get("providerId");
        model = (String) properties.get("models");
    }

    public void deactivate() {
        // nothing runs
    }

    @Override
    public String id() {
        return providerId;
    }

    @Override
    public List<ModelDescriptor> models() {
        return List.of(new ModelDescriptor(model, providerId, "Environment hosted test", 8192, 4096));
    }

    @Override
    public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
        String text = System.getenv(VARIABLE) == null ? "[env] no environment" : "[env] environment read";
        handler.onToken(text);
        handler.onComplete(new ChatResponse(text, List.of(), FinishReason.STOP, new Usage(1, 1), model));
        return () -> {
        };
    }
}

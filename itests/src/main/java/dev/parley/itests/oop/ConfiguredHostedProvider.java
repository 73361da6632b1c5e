package dev.parley.itests.oop;

import dev.parley.api.chat.ChatMessage;
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
 * A provider configured through Configuration Admin, for the out-of-process tests (its jar: {@link HostedPluginJars}).
 * It answers {@code "[<greeting>] key=<length of its apiKey secret> <last user message>"} on the calling thread, takes
 * a changed configuration in place ({@code modified}), and estimates {@code 1000 + 10 × messages} tokens, so a test
 * can tell its estimate from the default one. Its provider id and model are settings too ({@code providerId},
 * {@code models}), as for a tenant's instance.
 */
public final class ConfiguredHostedProvider implements ChatModelProvider {
    private volatile String providerId;
    private volatile String model;
    private volatile String greeting;
    private volatile String apiKey;

    public void activate(Map<String, Object> properties) {
        modified(properties);
    }

    public void modified(Map<String, Object> properties) {
        providerId = (String) properties.get("providerId");
        model = (String) properties.get("models");
        Object g = properties.get("greeting");
        greeting = g == null ? "hello" : g.toString();
        Object k = properties.get(".apiKey");
        apiKey = k == null ? "" : k.toString();
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
        return List.of(new ModelDescriptor(model, providerId, "Configured hosted test", 8192, 4096));
    }

    @Override
    public int estimateTokens(String model, List<ChatMessage> messages) {
        return 1000 + 10 * messages.size();
    }

    @Override
    public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
        String last = request.messages().isEmpty() ? "" : request.messages().get(request.messages().size() - 1)
                .content();
        String text = "[" + greeting + "] key=" + apiKey.length() + " " + last;
        handler.onToken(text);
        handler.onComplete(new ChatResponse(text, List.of(), FinishReason.STOP, new Usage(1, 1), model));
        return () -> {
        };
    }
}

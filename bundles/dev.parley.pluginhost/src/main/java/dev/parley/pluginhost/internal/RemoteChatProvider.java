package dev.parley.pluginhost.internal;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import java.util.List;
import java.util.Objects;

/**
 * A provider of a plugin that runs in a plugin host, registered in the server's framework by the plugin's stand-in.
 * Its id and models are what the host announced; each answer is a request over the host's connection. While the
 * host restarts the proxy stays registered (its last models listed) and answers fail at once with
 * {@code unavailable}, so the router falls back or gives a clear error instead of losing the provider.
 */
final class RemoteChatProvider implements ChatModelProvider {
    private final String id;
    private final SupervisedHost host;
    private volatile List<ModelDescriptor> models;

    RemoteChatProvider(String id, List<ModelDescriptor> models, SupervisedHost host) {
        this.id = Objects.requireNonNull(id, "id");
        this.models = List.copyOf(models);
        this.host = host;
    }

    void models(List<ModelDescriptor> models) {
        this.models = List.copyOf(models);
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public List<ModelDescriptor> models() {
        return models;
    }

    @Override
    public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
        return host.call(id, Objects.requireNonNull(request, "request"), Objects.requireNonNull(handler, "handler"),
                false);
    }

    @Override
    public StreamHandle complete(ChatRequest request, ChatStreamHandler handler) {
        return host.call(id, Objects.requireNonNull(request, "request"), Objects.requireNonNull(handler, "handler"),
                true);
    }

    /** The plugin's own estimate, asked of its host (its tokenizer runs there). */
    @Override
    public int estimateTokens(String model, List<ChatMessage> messages) {
        return host.estimate(id, Objects.requireNonNull(model, "model"), Objects.requireNonNull(messages, "messages"));
    }

    @Override
    public String toString() {
        return "RemoteChatProvider[" + id + " in " + host.pluginId() + "]";
    }
}

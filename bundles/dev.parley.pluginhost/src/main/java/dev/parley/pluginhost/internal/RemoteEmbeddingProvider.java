package dev.parley.pluginhost.internal;

import dev.parley.api.embedding.EmbeddingModel;
import dev.parley.api.embedding.EmbeddingProvider;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.embedding.EmbeddingResponse;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.CompletionStage;

/** An embedding provider of a plugin in a plugin host; like {@link RemoteChatProvider}, registered by the stand-in. */
final class RemoteEmbeddingProvider implements EmbeddingProvider {
    private final String id;
    private final SupervisedHost host;
    private volatile List<EmbeddingModel> models;

    RemoteEmbeddingProvider(String id, List<EmbeddingModel> models, SupervisedHost host) {
        this.id = Objects.requireNonNull(id, "id");
        this.models = List.copyOf(models);
        this.host = host;
    }

    void models(List<EmbeddingModel> models) {
        this.models = List.copyOf(models);
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public List<EmbeddingModel> embeddingModels() {
        return models;
    }

    @Override
    public CompletionStage<EmbeddingResponse> embed(EmbeddingRequest request) {
        return host.embed(id, Objects.requireNonNull(request, "request"));
    }

    @Override
    public String toString() {
        return "RemoteEmbeddingProvider[" + id + " in " + host.pluginId() + "]";
    }
}

package dev.parley.api.embedding;

import java.util.List;
import java.util.concurrent.CompletionStage;

import org.osgi.annotation.versioning.ProviderType;

/** Embeddings as front ends and retrieval use them: models of every provider that is up, requests routed. */
@ProviderType
public interface EmbeddingService {
    /** The embedding models of every provider that is up, sorted by provider and id. */
    List<EmbeddingModel> models();

    /**
     * Routes {@code request} to the provider of its model (bare id, or {@code providerId/id}), splitting it into
     * batches the model accepts. The stage fails with a {@link dev.parley.api.error.ParleyException}:
     * {@code MODEL_NOT_FOUND} for an unknown model, the provider's error otherwise.
     */
    CompletionStage<EmbeddingResponse> embed(EmbeddingRequest request);
}

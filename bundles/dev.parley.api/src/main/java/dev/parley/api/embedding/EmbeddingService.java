package dev.parley.api.embedding;

import dev.parley.api.identity.Principal;
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

    /**
     * {@link #embed(EmbeddingRequest)} on behalf of {@code caller}, as every front end calls it: the caller needs the
     * permission {@code chat} and a credential scoped to the model, and the request counts against the caller's
     * budgets (reserved before the provider is called, settled with the tokens and cost it used). Besides the failures
     * of {@link #embed(EmbeddingRequest)} the stage fails with {@code FORBIDDEN} or {@code BUDGET_EXCEEDED}, before
     * any provider is called. {@link #embed(EmbeddingRequest)} itself is for the platform's own work (no caller, no
     * budget).
     *
     * @since 1.1
     */
    CompletionStage<EmbeddingResponse> embed(Principal caller, EmbeddingRequest request);
}

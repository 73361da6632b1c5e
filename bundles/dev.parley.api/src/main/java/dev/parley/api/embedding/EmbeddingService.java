package dev.parley.api.embedding;

import dev.parley.api.identity.Principal;
import java.util.List;
import java.util.concurrent.CompletionStage;

import dev.parley.api.identity.Principal;
import org.osgi.annotation.versioning.ProviderType;

/** Embeddings as front ends and retrieval use them: models of every provider that is up, requests routed. */
@ProviderType
public interface EmbeddingService {
    /**
     * The embedding models of every provider of the operator's that is up, sorted by provider and id; a tenant's own
     * provider instances ({@link dev.parley.api.llm.ChatModelProvider#TENANT_PROPERTY}) are listed only to callers of
     * that tenant, by {@link #models(Principal)}.
     */
    List<EmbeddingModel> models();

    /**
     * Routes {@code request} to the provider of its model (bare id, or {@code providerId/id}), splitting it into
     * batches the model accepts. The stage fails with a {@link dev.parley.api.error.ParleyException}:
     * {@code MODEL_NOT_FOUND} for an unknown model, the provider's error otherwise.
     */
    CompletionStage<EmbeddingResponse> embed(EmbeddingRequest request);

    /**
     * {@link #models()} as {@code caller} sees them: only those its credential's model scopes and its tenant may
     * use.
     *
     * @since 1.1 (package {@code dev.parley.api.embedding} 1.1.0)
     */
    List<EmbeddingModel> models(Principal caller);

    /**
     * {@link #embed(EmbeddingRequest)} on behalf of {@code caller}, as every front end calls it: the caller needs the
     * permission {@code chat}; a model its tenant may not use fails exactly as an unknown one does
     * ({@code MODEL_NOT_FOUND}, listing only what the caller may use), one its credential's scopes exclude fails with
     * {@code FORBIDDEN}; and the request counts against the caller's budgets (reserved before the provider is called,
     * settled with the tokens and cost it used: {@code BUDGET_EXCEEDED} before any provider is called).
     * {@link #embed(EmbeddingRequest)} itself is for the platform's own work (no caller, no budget).
     *
     * @since 1.1 (package {@code dev.parley.api.embedding} 1.1.0)
     */
    CompletionStage<EmbeddingResponse> embed(Principal caller, EmbeddingRequest request);
}

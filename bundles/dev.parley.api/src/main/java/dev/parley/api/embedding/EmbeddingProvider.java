package dev.parley.api.embedding;

import java.util.List;
import java.util.concurrent.CompletionStage;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * The SPI an embedding provider plugin registers as an OSGi service. Like chat providers, one that is registered is
 * used at once, and one that goes away fails only the calls that need it.
 */
@ConsumerType
public interface EmbeddingProvider {
    /** Short stable id of this provider instance, e.g. {@code openai}; the same as its chat provider's, if any. */
    String id();

    /** The embedding models this provider serves now. */
    List<EmbeddingModel> embeddingModels();

    /**
     * Embeds the inputs of {@code request}, whose model is one of {@link #embeddingModels()} by its bare id and
     * whose batch is at most that model's {@code maxBatchSize}. Returns at once; the stage fails with a
     * {@link dev.parley.api.error.ParleyException} (never anything else), so callers can map the error.
     */
    CompletionStage<EmbeddingResponse> embed(EmbeddingRequest request);
}

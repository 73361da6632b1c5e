package dev.parley.api.embedding;

import java.util.Objects;

/**
 * An embedding model a provider offers.
 *
 * @param id             the model's id at its provider, unique within that provider
 * @param providerId     the {@link EmbeddingProvider#id()} that serves it
 * @param dimensions     the length of its vectors by default
 * @param maxInputTokens how many tokens one input may have
 * @param maxBatchSize   how many inputs one upstream call may carry; {@link EmbeddingService} splits larger batches
 * @param reducible      whether it can return shorter vectors when asked for fewer {@code dimensions}
 */
public record EmbeddingModel(String id, String providerId, int dimensions, int maxInputTokens, int maxBatchSize,
        boolean reducible) {
    public EmbeddingModel {
        Objects.requireNonNull(id, "id");
        Objects.requireNonNull(providerId, "providerId");
        if (dimensions <= 0 || maxInputTokens <= 0 || maxBatchSize <= 0) {
            throw new IllegalArgumentException("dimensions, maxInputTokens and maxBatchSize must be positive");
        }
    }
}

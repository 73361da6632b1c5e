package dev.parley.api.embedding;

import java.util.List;
import java.util.Objects;

/**
 * Texts to embed with one model.
 *
 * @param model      the model's id (bare, or {@code providerId/id} for {@link EmbeddingService})
 * @param inputs     the texts, in order; not empty
 * @param dimensions shorter vectors, where the model can give them; null for its default
 */
public record EmbeddingRequest(String model, List<String> inputs, Integer dimensions) {
    public EmbeddingRequest {
        Objects.requireNonNull(model, "model");
        inputs = List.copyOf(inputs);
        if (inputs.isEmpty()) {
            throw new IllegalArgumentException("no input to embed");
        }
        if (dimensions != null && dimensions <= 0) {
            throw new IllegalArgumentException("dimensions must be positive");
        }
    }
}

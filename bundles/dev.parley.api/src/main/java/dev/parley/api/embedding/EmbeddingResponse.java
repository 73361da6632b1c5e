package dev.parley.api.embedding;

import java.util.List;

/**
 * The vectors of one request, one per input and in input order.
 *
 * @param model        the model that answered, as its provider names it
 * @param promptTokens the tokens the inputs took, as the provider reported (or estimated) them
 */
public record EmbeddingResponse(String model, List<Embedding> embeddings, int promptTokens) {
    public EmbeddingResponse {
        embeddings = List.copyOf(embeddings);
    }
}

package dev.parley.api.embedding;

/**
 * The vector of one input.
 *
 * @param index  the input's position in {@link EmbeddingRequest#inputs()}
 * @param vector the embedding; the array is the caller's to keep and is not copied
 */
public record Embedding(int index, float[] vector) {
}

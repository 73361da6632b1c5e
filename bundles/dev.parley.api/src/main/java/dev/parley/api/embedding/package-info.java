/**
 * Embeddings: the SPI an embedding provider plugin registers ({@link dev.parley.api.embedding.EmbeddingProvider}) and
 * the service front ends and retrieval call ({@link dev.parley.api.embedding.EmbeddingService}), which routes a
 * request to the provider of its model. 1.1: the calls as a caller, scoped to what its tenant may use and counted in its budgets.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package dev.parley.api.embedding;

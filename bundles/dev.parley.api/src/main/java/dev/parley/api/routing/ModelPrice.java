package dev.parley.api.routing;

/** A configured price in USD per million tokens; {@code model} is a model id or {@code providerId/modelId}. */
public record ModelPrice(String model, double inputPerMillion, double outputPerMillion) {
}

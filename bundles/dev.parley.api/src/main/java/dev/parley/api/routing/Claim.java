package dev.parley.api.routing;

/**
 * A bare model id and the provider that answers it. The first provider seen serving a model id claims it; only an
 * admin moves a claim to another provider.
 *
 * @param up whether the claiming provider is registered now
 */
public record Claim(String modelId, String providerId, boolean up) {
}

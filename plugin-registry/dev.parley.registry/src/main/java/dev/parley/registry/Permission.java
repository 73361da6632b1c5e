package dev.parley.registry;

/**
 * A permission a plugin asks for in its {@code Parley-Permissions} header, e.g.
 * {@code Parley-Permissions: network;target="api.openai.com:443", secret;target=apiKey, file;target=cache;actions=read}.
 * Recorded and shown to the admin; enforced by the sandbox.
 *
 * @param kind    {@code network}, {@code secret} or {@code file}
 * @param target  host:port, secret name, or path
 * @param actions e.g. {@code read}, {@code read,write}; empty when the kind has none
 */
public record Permission(String kind, String target, String actions) {
}

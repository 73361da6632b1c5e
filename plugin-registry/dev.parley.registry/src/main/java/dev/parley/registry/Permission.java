package dev.parley.registry;

/**
 * A permission a plugin asks for in its {@code Parley-Permissions} header, e.g.
 * {@code Parley-Permissions: network;target="api.openai.com:443", secret;target=apiKey, file;target=cache;actions=read,
 * thread;target=2}.
 * Recorded and shown to the admin; the sandbox's admission refuses code that uses what is not declared (a bytecode
 * scan), and an upgrade that asks for more is held until an admin approves it.
 *
 * @param kind    {@code network}, {@code secret}, {@code file} or {@code thread} (since 1.2: the plugin starts
 *                threads of its own, e.g. an executor)
 * @param target  host:port, secret name, or path; for {@code thread}, the most threads it starts, or empty
 * @param actions e.g. {@code read}, {@code read,write}; empty when the kind has none
 */
public record Permission(String kind, String target, String actions) {
}

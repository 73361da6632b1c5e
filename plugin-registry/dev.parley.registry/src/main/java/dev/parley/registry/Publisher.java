package dev.parley.registry;

import java.time.Instant;

/**
 * A known publisher: plugins signed with the private half of {@code publicKey} are accepted as theirs.
 *
 * @param publicKey base64 of the X.509 (SubjectPublicKeyInfo) encoding of an Ed25519 public key
 */
public record Publisher(String id, String publicKey, Instant addedAt) {
}

package dev.parley.api.secrets;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Seals secrets for storage and opens them again. A sealed value is plain ASCII (safe in JSON and text columns),
 * different every time for the same secret, and bound to its {@code purpose}: a value sealed for one place (say
 * {@code "plugin:openai:.apiKey"}) does not open for another, so stored values cannot be swapped between fields.
 * Opening fails with a {@link dev.parley.api.error.ParleyException} ({@code STORE_FAILURE}) when the value was
 * tampered with, sealed for another purpose, or sealed by a key this node does not have; the message names the key
 * id, never the secret or the key.
 */
@ProviderType
public interface SecretSealer {
    /** Seals {@code plaintext} with the current key, bound to {@code purpose} (any non-empty text). */
    String seal(String plaintext, String purpose);

    /** The secret {@code sealed} holds; {@code purpose} must be the one it was sealed for. */
    String open(String sealed, String purpose);

    /** Whether {@code stored} is a sealed value (as opposed to a plain one stored before sealing existed). */
    boolean isSealed(String stored);

    /** Whether {@code sealed} was sealed by a key other than the current one, i.e. should be sealed again. */
    boolean needsReseal(String sealed);

    /** The id of the key new values are sealed with (not secret: it is part of every sealed value). */
    String currentKeyId();
}

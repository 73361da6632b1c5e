package dev.parley.api.identity;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * Turns a bearer credential into a verified {@link Principal}. Several are registered (Parley's own tokens, each
 * OIDC issuer, API keys); the edge asks each whether it {@link #recognizes} a credential and lets the first that does
 * decide. Implementations are registered by identity bundles; the edge consumes them.
 */
@ConsumerType
public interface BearerAuthenticator {
    /**
     * Cheap, without verifying anything: whether this credential is of the kind this authenticator decides (an
     * API key's prefix, a JWT whose unverified {@code iss} is this authenticator's issuer).
     */
    boolean recognizes(String credential);

    /**
     * The verified principal. Throws {@link dev.parley.api.error.ParleyException} with
     * {@link dev.parley.api.error.ErrorCode#UNAUTHORIZED} when the credential is not valid: its message is safe to
     * return to the caller (it says what is wrong, e.g. "the token has expired", never the token or key material).
     * When it cannot decide now through no fault of the credential (the identity provider cannot be reached), it
     * throws {@link dev.parley.api.error.ErrorCode#UNAVAILABLE} with a retry hint instead, so the edge answers 503
     * and clients keep their credential.
     */
    Principal authenticate(String credential);
}

package dev.parley.api.identity;

/** How a principal proved who it is. */
public enum AuthMethod {
    /** Parley's own access token, after a password sign-in. */
    PASSWORD,
    /** A token from the organisation's OpenID Connect issuer. */
    OIDC,
    /** An API key of a program. */
    API_KEY,
    /** The break-glass admin token. */
    ADMIN_TOKEN
}

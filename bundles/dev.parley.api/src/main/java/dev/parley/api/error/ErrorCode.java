package dev.parley.api.error;

/**
 * Every failure Parley reports has exactly one of these codes. Edges map them once: to HTTP problem
 * details, WebSocket error frames and OpenAI error objects. The {@link #slug()} is stable and part of
 * the public contract (it ends the problem {@code type} URI).
 */
public enum ErrorCode {
    /** The request is malformed or violates a limit. */
    INVALID_REQUEST("invalid-request"),
    /** The request body or a field is larger than allowed. */
    TOO_LARGE("too-large"),
    /** A conversation, message or other resource does not exist. */
    NOT_FOUND("not-found"),
    /** No chat model provider is configured at all. */
    NO_PROVIDER("no-provider"),
    /** The requested model is not offered by any provider that is up. */
    MODEL_NOT_FOUND("model-not-found"),
    /** The provider rejected Parley's credentials: the key is missing or wrong. */
    PROVIDER_AUTH("provider-auth"),
    /**
     * The provider accepted Parley's credentials but they may not do this (a model the key has no access to, a
     * region or organisation that is not allowed).
     *
     * @since 1.2
     */
    PROVIDER_PERMISSION("provider-permission"),
    /**
     * The provider asked us to slow down, or the caller went over its own rate limit; see
     * {@link ParleyException#retryAfter()}.
     */
    RATE_LIMITED("rate-limited"),
    /**
     * The provider is overloaded and takes no work for now (Anthropic's 529, a 503 with an overload message); may
     * carry a retry hint.
     *
     * @since 1.2
     */
    OVERLOADED("overloaded"),
    /**
     * The prompt plus the answer asked for do not fit the model's context window.
     *
     * @since 1.2
     */
    CONTEXT_TOO_LONG("context-too-long"),
    /**
     * The provider's content filter refused the prompt or stopped the answer.
     *
     * @since 1.2
     */
    CONTENT_FILTERED("content-filtered"),
    /** The provider failed (5xx, connection refused, stream cut). */
    UPSTREAM_FAILURE("upstream-failure"),
    /** The provider did not answer in time. */
    UPSTREAM_TIMEOUT("upstream-timeout"),
    /** The provider answered something that is not valid for its protocol. */
    UPSTREAM_PROTOCOL("upstream-protocol"),
    /** The caller cancelled the turn. */
    CANCELLED("cancelled"),
    /** The server is shutting down and takes no new work. */
    UNAVAILABLE("unavailable"),
    /** The caller gave no credential, or a wrong, expired or revoked one. */
    UNAUTHORIZED("unauthorized"),
    /**
     * The caller is known but may not do this: its roles, its key's scopes or its tenant do not allow it.
     *
     * @since 1.4
     */
    FORBIDDEN("forbidden"),
    /**
     * The caller's budget (requests, tokens or cost for the current period) is spent; see
     * {@link ParleyException#retryAfter()} for when the period turns.
     *
     * @since 1.4
     */
    BUDGET_EXCEEDED("budget-exceeded"),
    /** The request conflicts with the current state, e.g. publishing a version that exists. */
    CONFLICT("conflict"),
    /** A plugin was refused: invalid, unsigned or badly signed, unresolvable, or failed its health gate. */
    PLUGIN_REJECTED("plugin-rejected"),
    /** Persisting failed. */
    STORE_FAILURE("store-failure"),
    /** A bug: anything not covered above. */
    INTERNAL("internal");

    private final String slug;

    ErrorCode(String slug) {
        this.slug = slug;
    }

    /** Stable, URL-safe name of this code. */
    public String slug() {
        return slug;
    }
}

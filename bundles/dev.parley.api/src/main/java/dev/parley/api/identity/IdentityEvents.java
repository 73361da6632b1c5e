package dev.parley.api.identity;

/**
 * Event Admin topics the identity bundles post, and their properties. Whatever holds a principal beyond one request
 * (an open WebSocket, a long stream) listens to {@link #REVOKED} and ends what the revoked credential opened.
 */
public final class IdentityEvents {
    /**
     * A credential was revoked (an API key, a sign-in session), or every credential of a subject was (a password
     * change, a locked or removed user: {@link #CREDENTIAL_ID} empty). Posted on every node that learns of it.
     */
    public static final String REVOKED = "dev/parley/identity/REVOKED";
    /** Property: the {@link Principal#subject()} whose credential was revoked. */
    public static final String SUBJECT = "subject";
    /** Property: the {@link Principal#tenantId()}. */
    public static final String TENANT = "tenant";
    /** Property: the revoked {@link Principal#credentialId()}; empty for all of the subject's credentials. */
    public static final String CREDENTIAL_ID = "credential.id";

    private IdentityEvents() {
    }
}

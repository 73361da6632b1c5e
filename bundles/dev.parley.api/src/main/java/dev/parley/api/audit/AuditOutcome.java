package dev.parley.api.audit;

/** How the audited action ended. */
public enum AuditOutcome {
    /** It was done. */
    SUCCESS,
    /** It was refused: wrong credential, missing permission, over a limit. */
    DENIED,
    /** It was tried and failed. */
    FAILURE
}

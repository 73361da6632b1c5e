package dev.parley.api.usage;

/** How a request ended. */
public enum UsageOutcome {
    /** The answer ended normally. */
    COMPLETED,
    /** The request failed (every target, or the one that had started answering). */
    FAILED,
    /** The client cancelled or left. */
    CANCELLED
}

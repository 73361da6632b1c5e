package dev.parley.api.usage;

import java.util.Objects;

/**
 * One try of a request at one target.
 *
 * @param providerId the provider tried
 * @param model      the model tried, as that provider names it
 * @param errorCode  why this try failed (an {@link dev.parley.api.error.ErrorCode} slug), or null when it answered
 * @param durationMs from sending the try to its answer or failure
 */
public record UsageAttempt(String providerId, String model, String errorCode, long durationMs) {
    public UsageAttempt {
        Objects.requireNonNull(providerId, "providerId");
        Objects.requireNonNull(model, "model");
    }

    public boolean answered() {
        return errorCode == null;
    }
}

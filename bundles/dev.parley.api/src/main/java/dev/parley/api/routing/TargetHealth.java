package dev.parley.api.routing;

/**
 * One target's health as the router measured it since this node started.
 *
 * @param target            {@code providerId/modelId}
 * @param ttftMillis        recent time to first token (exponentially weighted), or -1 before the first sample
 * @param successes         answers it gave
 * @param failures          attempts that failed with an error the breaker counts
 * @param rejected          attempts skipped because its breaker was open
 */
public record TargetHealth(String target, BreakerState breaker, double failureRatePercent, long ttftMillis,
        long successes, long failures, long rejected) {
}

package dev.parley.core.internal;

import java.time.Duration;
import java.util.List;

import dev.parley.api.error.ErrorCode;

/**
 * What the router did for one request, for the turn's end (usage records, logs, events).
 *
 * @param requested  what the client named (alias, model id or provider/model)
 * @param alias      the alias it resolved through, or null
 * @param answeredBy the {@code provider/model} target that gave the answer, or null when none did
 * @param attempts   every call tried, in order, the answering one last
 */
record RouteOutcome(String requested, String alias, String answeredBy, List<Attempt> attempts) {
    RouteOutcome {
        attempts = List.copyOf(attempts);
    }

    /**
     * One call to one target.
     *
     * @param error    null when this call answered; {@code UPSTREAM_FAILURE} with {@code skipped} when its breaker
     *                 was open or its provider had gone and it was not called at all
     * @param skipped  whether the target was passed over without a call
     */
    record Attempt(String target, ErrorCode error, Duration duration, boolean skipped) {
    }
}

package dev.parley.core.internal;

import java.time.Duration;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.llm.Usage;

/**
 * How a turn or a stateless completion ended, for events and metrics.
 *
 * @param conversationId null for a stateless completion
 * @param usage          null when the provider reported none (failed turns)
 * @param timeToFirstToken null when no token arrived
 * @param errorCode      null on success
 * @param route          what the router did: the attempts and the target that answered (usage records read it)
 */
record TurnOutcome(String conversationId, String model, Usage usage, Duration latency, Duration timeToFirstToken,
        ErrorCode errorCode, RouteOutcome route) {
}

package dev.parley.api.routing;

/** A target's circuit breaker: closed (calls pass), open (calls skip it), half-open (a few probe calls pass). */
public enum BreakerState {
    CLOSED, OPEN, HALF_OPEN
}

package dev.parley.core.internal;

import java.time.Clock;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import io.github.resilience4j.circuitbreaker.CircuitBreaker;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig;
import io.github.resilience4j.circuitbreaker.CircuitBreakerConfig.SlidingWindowType;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.routing.BreakerState;
import dev.parley.api.routing.TargetHealth;

/** What the router measured of one {@code provider/model} target: its circuit breaker, recent TTFT and counters. */
final class TargetState {
    /** Weight of the newest time-to-first-token sample in the moving average. */
    static final double TTFT_ALPHA = 0.2;

    final String key;
    private volatile CircuitBreaker breaker;
    /** Double bits of the average TTFT in nanoseconds; NaN before the first sample. */
    private final AtomicLong ttftBits = new AtomicLong(Double.doubleToLongBits(Double.NaN));
    final LongAdder successes = new LongAdder();
    final LongAdder failures = new LongAdder();
    final LongAdder rejected = new LongAdder();

    TargetState(String key, RouterSettings settings, Clock clock) {
        this.key = key;
        this.breaker = breaker(key, settings, clock);
    }

    CircuitBreaker breaker() {
        return breaker;
    }

    /** A new breaker after its settings changed (it starts closed: the old counts were against other thresholds). */
    void reconfigure(RouterSettings settings, Clock clock) {
        this.breaker = breaker(key, settings, clock);
    }

    static CircuitBreaker breaker(String key, RouterSettings s, Clock clock) {
        Set<ErrorCode> counted = s.fallbackOn();
        CircuitBreakerConfig config = CircuitBreakerConfig.custom()
                .slidingWindow(s.breakerWindow(), s.breakerWindow(), SlidingWindowType.COUNT_BASED)
                .failureRateThreshold(s.breakerFailureRatePercent())
                .waitDurationInOpenState(Duration.ofMillis(s.breakerOpenMillis()))
                .permittedNumberOfCallsInHalfOpenState(s.breakerHalfOpenCalls())
                // Only the provider's failures count; a refused request says nothing about the target's health.
                .recordException(t -> t instanceof ParleyException pe && counted.contains(pe.code()))
                .ignoreException(t -> t instanceof ParleyException pe && pe.code() == ErrorCode.CANCELLED)
                .automaticTransitionFromOpenToHalfOpenEnabled(false)
                .writableStackTraceEnabled(false)
                .clock(clock)
                .build();
        return CircuitBreaker.of(key, config);
    }

    void succeeded(long nanos) {
        successes.increment();
        breaker.onSuccess(nanos, TimeUnit.NANOSECONDS);
    }

    void failed(long nanos, ParleyException error) {
        if (error.code() == ErrorCode.CANCELLED) {
            breaker.releasePermission();
            return;
        }
        CircuitBreaker b = breaker;
        if (b.getCircuitBreakerConfig().getRecordExceptionPredicate().test(error)) {
            failures.increment();
        }
        b.onError(nanos, TimeUnit.NANOSECONDS, error);
    }

    /** One sample per answer (its first token), never per token. */
    void ttft(long nanos) {
        long prev;
        long next;
        do {
            prev = ttftBits.get();
            double avg = Double.longBitsToDouble(prev);
            next = Double.doubleToLongBits(Double.isNaN(avg) ? nanos : avg + TTFT_ALPHA * (nanos - avg));
        } while (!ttftBits.compareAndSet(prev, next));
    }

    /** Average TTFT in nanoseconds; NaN before the first sample. */
    double ttftNanos() {
        return Double.longBitsToDouble(ttftBits.get());
    }

    BreakerState state() {
        return switch (breaker.getState()) {
            case OPEN, FORCED_OPEN -> BreakerState.OPEN;
            case HALF_OPEN -> BreakerState.HALF_OPEN;
            default -> BreakerState.CLOSED;
        };
    }

    /** 0 closed, 1 half-open, 2 open: the metric's values. */
    int stateValue() {
        return switch (state()) {
            case CLOSED -> 0;
            case HALF_OPEN -> 1;
            case OPEN -> 2;
        };
    }

    TargetHealth health() {
        double ttft = ttftNanos();
        float rate = breaker.getMetrics().getFailureRate();
        return new TargetHealth(key, state(), rate < 0 ? 0 : rate, Double.isNaN(ttft) ? -1 : Math.round(ttft / 1e6),
                successes.sum(), failures.sum(), rejected.sum());
    }
}

package dev.parley.core.internal;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.routing.AliasView.Target;
import dev.parley.core.internal.ModelRouter.Candidate;
import dev.parley.core.internal.ModelRouter.Plan;

/**
 * One request through the router: calls the plan's targets in order, retries a target after a backoff (honouring the
 * provider's retry hint up to a bound), falls back to the next target on the configured error classes, and enforces
 * the first-token and answer timeouts. Falls back only before the first token or tool call piece reached the
 * follower; after it, an error ends the answer. Just before that first piece the follower hears which target answers
 * ({@link ChatStreamHandler#onAnsweringModel}): an attempt that fails before it streamed anything names nobody.
 *
 * <p>Per token this costs one volatile read and the call to the follower; the lock is taken once per attempt, at the
 * first token and at the end. Attempts after the first start on the router's timer thread, never on a provider's
 * I/O thread.
 */
final class RoutedCall implements StreamHandle {
    private static final Logger LOG = LoggerFactory.getLogger(RoutedCall.class);

    private final ModelRouter router;
    private final Plan plan;
    private final ChatRequest request;
    private final RouterSettings settings;
    private final Timers timers;
    private ChatStreamHandler follower;
    private boolean whole;

    /** The attempt whose callbacks count; any other attempt's late callbacks are dropped. */
    private volatile AttemptCall current;
    // Guarded by this:
    private int targetIndex;
    private int callsOnTarget;
    private boolean cancelled;
    private boolean ended;
    private Timers.Task pending;
    private Timers.Task answerTimer;
    private ParleyException lastError;
    private final List<RouteOutcome.Attempt> attempts = new ArrayList<>(2);
    private volatile Candidate answered;

    RoutedCall(ModelRouter router, Plan plan, ChatRequest request, RouterSettings settings, Timers timers) {
        this.router = router;
        this.plan = plan;
        this.request = request;
        this.settings = settings;
        this.timers = timers;
    }

    /**
     * Starts the first attempt: the plan's first target is chosen on the calling thread, and its provider is called on
     * the plugin's own thread through the guard ({@link PluginGuard#start}), so this returns at once.
     */
    StreamHandle start(ChatStreamHandler handler, boolean wantWhole) {
        this.follower = handler;
        this.whole = wantWhole;
        if (settings.answerTimeoutMillis() > 0) {
            Timers.Task t = timers.schedule(this::answerTimedOut, settings.answerTimeoutMillis() * 1_000_000L);
            synchronized (this) {
                answerTimer = t;
            }
        }
        next();
        return this;
    }

    /** The guard every call into a provider goes through. */
    PluginGuard guard() {
        return router.guard();
    }

    /** The target of the first call, for traces and the context window. */
    Candidate first() {
        return plan.first();
    }

    /** The target that answered, or null. */
    Candidate answered() {
        return answered;
    }

    synchronized RouteOutcome outcome() {
        Candidate a = answered;
        return new RouteOutcome(plan.requested(), plan.alias(), a == null ? null : a.state().key, attempts);
    }

    @Override
    public void cancel() {
        AttemptCall a;
        synchronized (this) {
            if (cancelled) {
                return;
            }
            cancelled = true;
            a = current;
            cancelTimers();
        }
        // A cancelled wait calls nobody again; a running call is cancelled and reports CANCELLED to its handler.
        if (a != null) {
            a.cancelUpstream();
        }
    }

    /** Calls the next target that may be called: the current one again (a retry), or the ones after it. */
    private void next() {
        while (true) {
            Candidate c;
            synchronized (this) {
                pending = null;
                if (cancelled || ended) {
                    return;
                }
                if (targetIndex >= plan.size()) {
                    break;
                }
                c = router.candidate(plan.target(targetIndex), targetIndex == 0 ? plan.first() : null);
                if (c == null) {
                    // Its provider left (uninstalled, upgraded away, quarantined) while this request waited: the next
                    // one answers.
                    Target t = plan.target(targetIndex);
                    ParleyException quarantined = router.quarantinedError(t.providerId(), t.modelId());
                    if (quarantined != null) {
                        lastError = quarantined;
                    }
                    attempts.add(new RouteOutcome.Attempt(t.toString(), quarantined != null ? ErrorCode.UPSTREAM_FAILURE
                            : ErrorCode.MODEL_NOT_FOUND, Duration.ZERO, true));
                    advance();
                    continue;
                }
                if (!c.state().breaker().tryAcquirePermission()) {
                    c.state().rejected.increment();
                    attempts.add(new RouteOutcome.Attempt(c.state().key, ErrorCode.UPSTREAM_FAILURE, Duration.ZERO,
                            true));
                    advance();
                    continue;
                }
                callsOnTarget++;
            }
            call(c);
            return;
        }
        fail(lastError != null ? lastError : nothingAnswered());
    }

    private void advance() {
        targetIndex++;
        callsOnTarget = 0;
    }

    private void call(Candidate c) {
        AttemptCall a = new AttemptCall(c);
        Timers.Task firstTokenTimer = !whole && settings.firstTokenTimeoutMillis() > 0
                ? timers.schedule(() -> firstTokenTimedOut(a), settings.firstTokenTimeoutMillis() * 1_000_000L)
                : null;
        synchronized (this) {
            if (cancelled || ended) {
                // Cancelled while this call was being set up: the provider is not called.
                if (firstTokenTimer != null) {
                    firstTokenTimer.cancel();
                }
                c.state().breaker().releasePermission();
                return;
            }
            a.firstTokenTimer = firstTokenTimer;
            current = a;
        }
        ChatModelProvider provider = c.provider();
        ChatRequest r = c.model().id().equals(request.model()) ? request
                : new ChatRequest(c.model().id(), request.messages(), request.options(), request.tools());
        // On the plugin's own thread, through the guard: a provider that blocks or spins in stream() holds its own
        // thread, not the caller's; past the guard's call timeout this attempt fails (and falls back) without it.
        router.guard().start(c.guarded(), whole ? "complete()" : "stream()", () -> {
            StreamHandle handle = whole ? provider.complete(r, a) : provider.stream(r, a);
            boolean cancelNow;
            synchronized (this) {
                a.handle = handle;
                cancelNow = a.abandoned;
            }
            if (cancelNow && handle != null) {
                cancelQuietly(handle);
            }
        }, e -> {
            if (e instanceof PluginCallRefused refused && refused.kind() == PluginCallRefused.Kind.FAILED) {
                a.onError(new ParleyException(ErrorCode.UPSTREAM_FAILURE, "provider " + c.providerId()
                        + " failed to start the answer", e.getCause()));
            } else {
                // Refused (quarantined, busy), timed out (the provider is told to stop once its handle comes), or
                // the provider's own error, thrown where it should have been reported.
                a.fail(e, e instanceof PluginCallRefused refused && refused.kind() == PluginCallRefused.Kind.TIMED_OUT);
            }
        });
    }

    private void firstTokenTimedOut(AttemptCall a) {
        synchronized (this) {
            if (current != a || a.sawToken || ended) {
                return;
            }
        }
        a.fail(new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "provider " + a.candidate.providerId()
                + " sent no token within " + settings.firstTokenTimeoutMillis() + " ms"), true);
    }

    /** The deadline covers the whole request, retries and fallbacks included: no other target is tried. */
    private void answerTimedOut() {
        ParleyException timeout = new ParleyException(ErrorCode.UPSTREAM_TIMEOUT,
                "no complete answer within " + settings.answerTimeoutMillis() + " ms");
        AttemptCall a;
        synchronized (this) {
            if (ended) {
                return;
            }
            a = current;
            cancelTimers();
            ended = true;
            current = null;
            if (a != null) {
                attempts.add(new RouteOutcome.Attempt(a.candidate.state().key, ErrorCode.UPSTREAM_TIMEOUT,
                        Duration.ofNanos(System.nanoTime() - a.startNanos), false));
            }
        }
        if (a != null) {
            a.candidate.state().failed(System.nanoTime() - a.startNanos, timeout);
            a.cancelUpstream();
        }
        follower.onError(timeout);
    }

    /**
     * The attempt sent more than {@code maxAnswerChars}: it is told to stop and the request ends with
     * {@code upstream-protocol}, no fallback (a provider that floods one answer would flood the next). Bounds the
     * memory one answer can take (the turn, the completion and the stored message keep the whole text).
     */
    private void answerTooLong(AttemptCall a) {
        ParleyException tooLong = new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "provider "
                + a.candidate.providerId() + " sent an answer longer than " + settings.maxAnswerChars()
                + " characters, the most one answer may carry (maxAnswerChars of " + RouterConfig.PID
                + "); it was cut off");
        long nanos = System.nanoTime() - a.startNanos;
        synchronized (this) {
            if (ended || current != a) {
                return;
            }
            cancelTimers();
            ended = true;
            current = null;
            attempts.add(new RouteOutcome.Attempt(a.candidate.state().key, ErrorCode.UPSTREAM_PROTOCOL,
                    Duration.ofNanos(nanos), false));
        }
        LOG.warn("event=answer_too_long provider={} model={} maxAnswerChars={}", a.candidate.providerId(),
                a.candidate.model().id(), settings.maxAnswerChars());
        a.candidate.state().failed(nanos, tooLong);
        a.cancelUpstream();
        follower.onError(tooLong);
    }

    /** The end with an error: at most once, after which every callback of every attempt is dropped. */
    private void fail(ParleyException error) {
        synchronized (this) {
            if (ended) {
                return;
            }
            ended = true;
            cancelTimers();
            current = null;
        }
        follower.onError(error);
    }

    /** Caller holds the lock. */
    private void cancelTimers() {
        if (pending != null) {
            pending.cancel();
            pending = null;
        }
        if (answerTimer != null) {
            answerTimer.cancel();
            answerTimer = null;
        }
        AttemptCall a = current;
        if (a != null && a.firstTokenTimer != null) {
            a.firstTokenTimer.cancel();
        }
    }

    private ParleyException nothingAnswered() {
        StringBuilder skipped = new StringBuilder();
        for (RouteOutcome.Attempt a : attempts) {
            skipped.append(skipped.isEmpty() ? "" : ", ").append(a.target())
                    .append(a.error() == ErrorCode.MODEL_NOT_FOUND ? " (provider not running)" : " (circuit open)");
        }
        return new ParleyException(ErrorCode.UPSTREAM_FAILURE, "no target of " + plan.describe()
                + " can answer now: " + skipped + "; open circuits let a probe call through after "
                + settings.breakerOpenMillis() + " ms");
    }

    private enum Decision { END, RETRY, FALL_BACK }

    private static void cancelQuietly(StreamHandle handle) {
        try {
            handle.cancel();
        } catch (RuntimeException e) {
            LOG.warn("provider cancel failed", e);
        }
    }

    /** One call to one target: its own handler, so a late callback of an abandoned call is recognised and dropped. */
    private final class AttemptCall implements ChatStreamHandler {
        final Candidate candidate;
        final long startNanos = System.nanoTime();
        /** Written once, under the call's lock, before the first token is passed on. */
        boolean sawToken;
        /** Guarded by the call's lock. */
        StreamHandle handle;
        boolean abandoned;
        Timers.Task firstTokenTimer;
        /** Characters received; a provider's callbacks for one stream do not overlap, so a plain count will do. */
        long chars;

        AttemptCall(Candidate candidate) {
            this.candidate = candidate;
        }

        @Override
        public void onToken(String delta) {
            if (current != this) {
                return;
            }
            if (delta != null && tooLong(delta.length())) {
                return;
            }
            if (!sawToken && !firstToken()) {
                return;
            }
            follower.onToken(delta);
        }

        /** A tool call piece counts as a token: it ends the first-token wait and, once passed on, any fallback. */
        @Override
        public void onToolCallDelta(ToolCallDelta delta) {
            if (current != this || delta == null) {
                return;
            }
            if (tooLong(delta.argumentsDelta().length() + (delta.name() == null ? 0 : delta.name().length()))) {
                return;
            }
            if (!sawToken && !firstToken()) {
                return;
            }
            follower.onToolCallDelta(delta);
        }

        /** The router names the answering model itself; a provider's own call is not passed on. */
        @Override
        public void onAnsweringModel(String providerId, String model) {
        }

        private boolean firstToken() {
            synchronized (RoutedCall.this) {
                if (current != this) {
                    return false;
                }
                sawToken = true;
                if (firstTokenTimer != null) {
                    firstTokenTimer.cancel();
                }
            }
            candidate.state().ttft(System.nanoTime() - startNanos);
            // Calls for one stream never overlap, so this comes before the first piece and after nothing else.
            follower.onAnsweringModel(candidate.providerId(), candidate.model().id());
            return true;
        }

        /** Counts {@code more} characters; past the bound, ends the request and answers true. */
        private boolean tooLong(long more) {
            chars += more;
            long max = settings.maxAnswerChars();
            if (max > 0 && chars > max) {
                answerTooLong(this);
                return true;
            }
            return false;
        }

        @Override
        public void onComplete(ChatResponse response) {
            if (current != this) {
                return;
            }
            // An answer given whole (complete(), or a stream that sent its text only at the end) counts as well.
            if (!sawToken && response != null && response.text() != null && tooLong(response.text().length())) {
                return;
            }
            long nanos = System.nanoTime() - startNanos;
            synchronized (RoutedCall.this) {
                if (current != this || ended) {
                    return;
                }
                ended = true;
                cancelTimers();
                current = null;
                attempts.add(new RouteOutcome.Attempt(candidate.state().key, null, Duration.ofNanos(nanos), false));
            }
            candidate.state().succeeded(nanos);
            answered = candidate;
            follower.onComplete(response);
        }

        @Override
        public void onError(ParleyException error) {
            fail(error == null ? new ParleyException(ErrorCode.UPSTREAM_FAILURE, "provider failed without a reason")
                    : error, false);
        }

        void cancelUpstream() {
            StreamHandle h;
            synchronized (RoutedCall.this) {
                abandoned = true;
                h = handle;
            }
            if (h != null) {
                // On the plugin's thread too: a provider that blocks in cancel() must not hold the canceller (a
                // client's disconnect, the timer, shutdown's drain).
                router.guard().start(candidate.guarded(), "cancel()", () -> cancelQuietly(h),
                        e -> LOG.debug("provider cancel not made provider={} reason=\"{}\"", candidate.providerId(),
                                e.getMessage()));
            }
        }

        /**
         * This call failed (or timed out: {@code stopUpstream}). Decides: end the request, retry this target after a
         * wait, or go on to the next target.
         */
        void fail(ParleyException error, boolean stopUpstream) {
            long nanos = System.nanoTime() - startNanos;
            long waitNanos = 0;
            Decision decision;
            synchronized (RoutedCall.this) {
                if (current != this || ended) {
                    return;
                }
                current = null;
                if (firstTokenTimer != null) {
                    firstTokenTimer.cancel();
                }
                attempts.add(new RouteOutcome.Attempt(candidate.state().key, error.code(), Duration.ofNanos(nanos),
                        false));
                lastError = error;
                if (sawToken || cancelled || !settings.fallbackOn().contains(error.code())) {
                    // After the first token the client has part of this answer: it gets a clean error instead.
                    decision = Decision.END;
                } else {
                    waitNanos = retryWait(error);
                    if (waitNanos >= 0) {
                        decision = Decision.RETRY;
                    } else {
                        advance();
                        // Nothing left to try: the client gets this error, its retry hint included.
                        decision = targetIndex < plan.size() ? Decision.FALL_BACK : Decision.END;
                        waitNanos = 0;
                    }
                }
            }
            // The breaker hears of this failure before any other target is called.
            candidate.state().failed(nanos, error);
            if (stopUpstream) {
                cancelUpstream();
            }
            if (decision != Decision.END) {
                synchronized (RoutedCall.this) {
                    if (ended || cancelled) {
                        decision = Decision.END;
                    } else {
                        pending = timers.schedule(RoutedCall.this::next, waitNanos);
                    }
                }
            }
            switch (decision) {
                case END -> RoutedCall.this.fail(error);
                case RETRY -> {
                    router.telemetry().retry(error.code());
                    LOG.debug("router retry target={} code={} waitMs={}", candidate.state().key, error.code().slug(),
                            waitNanos / 1_000_000);
                }
                case FALL_BACK -> {
                    router.telemetry().fallback(error.code());
                    LOG.info("router fallback from={} code={} reason=\"{}\"", candidate.state().key,
                            error.code().slug(), error.getMessage());
                }
            }
        }

        /** Caller holds the lock. The wait before calling this target again, or -1 to go to the next target. */
        private long retryWait(ParleyException error) {
            if (callsOnTarget >= settings.attemptsPerTarget()) {
                return -1;
            }
            Optional<Duration> hint = error.retryAfter();
            if (hint.isPresent()) {
                long ms = Math.max(0, hint.get().toMillis());
                // A hint longer than we may wait: another target answers sooner.
                return ms > settings.maxRetryAfterMillis() ? -1 : ms * 1_000_000L;
            }
            return router.backoffNanos(callsOnTarget, settings);
        }
    }
}

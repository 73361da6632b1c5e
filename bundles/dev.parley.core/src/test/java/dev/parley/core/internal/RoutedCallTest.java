package dev.parley.core.internal;

import static dev.parley.core.internal.ScriptedProvider.model;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CopyOnWriteArrayList;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.junit.jupiter.api.Test;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.chat.Conversation;
import dev.parley.api.chat.MessageStatus;
import dev.parley.api.chat.NewConversation;
import dev.parley.api.chat.SendMessage;
import dev.parley.api.chat.StoredMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.routing.BreakerState;

/**
 * Fallback, retries, breakers and timeouts of one routed request, on scripted providers, with time moved by hand
 * (no test here waits for a backoff or a timeout to pass).
 */
class RoutedCallTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final InMemoryRouterStateStore state = new InMemoryRouterStateStore();
    private final ManualTimers timers = new ManualTimers();
    private final MutableClock clock = new MutableClock();
    private final List<ScriptedProvider> providers = new ArrayList<>();
    private ModelRouter router;
    private ScriptedProvider alpha;
    private ScriptedProvider beta;

    @AfterEach
    void tearDown() {
        if (router != null) {
            router.deactivate();
        }
        providers.forEach(ScriptedProvider::close);
    }

    /**
     * An alias {@code pair=priority:alpha/a-1,beta/b-1} on the given settings over the defaults, timeouts off unless
     * given.
     */
    private void start(Map<String, Object> config) {
        Map<String, Object> c = new HashMap<>(config);
        c.putIfAbsent("aliases", new String[] { "pair=priority:alpha/a-1,beta/b-1" });
        // Timeouts only where a test is about them: then the timers hold nothing but backoff waits.
        c.putIfAbsent("firstTokenTimeoutMillis", 0L);
        c.putIfAbsent("answerTimeoutMillis", 0L);
        router = new ModelRouter(state, TestConfigs.routerSettings(c), timers, clock, new SplittableRandom(1));
        alpha = provider("alpha", "a-1").tokens("from ", "alpha");
        beta = provider("beta", "b-1").tokens("from ", "beta");
        router.bindProvider(alpha);
        router.bindProvider(beta);
    }

    private ScriptedProvider provider(String id, String model) {
        ScriptedProvider p = new ScriptedProvider(id, model(model, id, 8000, 1000));
        providers.add(p);
        return p;
    }

    private Flow send(String model) {
        return send(model, false);
    }

    private Flow send(String model, boolean whole) {
        ModelRouter.Plan plan = router.plan(model);
        ChatRequest request = new ChatRequest(plan.first().model().id(), List.of(ChatMessage.user("hi")), null, null);
        Flow f = new Flow();
        f.call = router.call(plan, request);
        f.handle = f.call.start(f, whole);
        return f;
    }

    private static ParleyException error(ErrorCode code) {
        return new ParleyException(code, "scripted " + code.slug());
    }

    private static ParleyException retryAfter(ErrorCode code, Duration hint) {
        return new ParleyException(code, "scripted " + code.slug(), hint, null);
    }

    @ParameterizedTest
    @EnumSource(names = { "RATE_LIMITED", "OVERLOADED", "UPSTREAM_FAILURE", "UPSTREAM_TIMEOUT" })
    void fallsBackToTheNextTargetOnTheDefaultErrorClasses(ErrorCode code) {
        start(Map.of("retryMaxAttempts", 1));
        alpha.tokens().failWith(error(code));

        Flow f = send("pair").awaitEnd();

        assertThat(f.errors).isEmpty();
        assertThat(f.text()).isEqualTo("from beta");
        assertThat(f.call.outcome().answeredBy()).isEqualTo("beta/b-1");
        assertThat(f.call.outcome().attempts()).extracting(RouteOutcome.Attempt::target, RouteOutcome.Attempt::error)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("alpha/a-1", code),
                        org.assertj.core.groups.Tuple.tuple("beta/b-1", null));
        assertThat(beta.requests).singleElement().extracting(ChatRequest::model).isEqualTo("b-1");
    }

    @ParameterizedTest
    @EnumSource(names = { "INVALID_REQUEST", "PROVIDER_AUTH", "PROVIDER_PERMISSION", "CONTENT_FILTERED",
            "CONTEXT_TOO_LONG" })
    void neverFallsBackOrRetriesWhenTheRequestItselfIsRefused(ErrorCode code) {
        start(Map.of());
        alpha.tokens().failWith(error(code));

        Flow f = send("pair").awaitEnd();

        assertThat(f.errors).singleElement().extracting(ParleyException::code).isEqualTo(code);
        assertThat(alpha.requests).hasSize(1);
        assertThat(beta.requests).isEmpty();
        assertThat(timers.delays).isEmpty();
    }

    @Test
    void theProvidersRetryHintIsWaitedForBeforeTheSameTargetIsCalledAgain() {
        start(Map.of("retryMaxAttempts", 2, "maxRetryAfterMillis", 5000L));
        alpha.tokens().failWith(retryAfter(ErrorCode.RATE_LIMITED, Duration.ofMillis(1500)));

        Flow f = send("pair");
        await().atMost(WAIT).until(() -> timers.waitingCount() == 1);
        assertThat(timers.delays).containsExactly(Duration.ofMillis(1500));
        alpha.tokens("retried").ending(ScriptedProvider.Ending.COMPLETE);
        timers.advance(Duration.ofMillis(1499));
        assertThat(alpha.requests).hasSize(1);

        timers.advance(Duration.ofMillis(1));
        f.awaitEnd();

        assertThat(f.text()).isEqualTo("retried");
        assertThat(alpha.requests).hasSize(2);
        assertThat(beta.requests).isEmpty();
        assertThat(f.call.outcome().attempts()).extracting(RouteOutcome.Attempt::error)
                .containsExactly(ErrorCode.RATE_LIMITED, null);
    }

    @Test
    void aRetryHintLongerThanTheBoundFallsBackAtOnceAndTheLastTargetsHintReachesTheClient() {
        start(Map.of("retryMaxAttempts", 3, "maxRetryAfterMillis", 1000L));
        alpha.tokens().failWith(retryAfter(ErrorCode.RATE_LIMITED, Duration.ofSeconds(30)));
        beta.tokens().failWith(retryAfter(ErrorCode.OVERLOADED, Duration.ofSeconds(20)));

        Flow f = send("pair").awaitEnd();

        assertThat(timers.delays).isEmpty();
        assertThat(alpha.requests).hasSize(1);
        assertThat(beta.requests).hasSize(1);
        assertThat(f.errors).singleElement().satisfies(e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.OVERLOADED);
            assertThat(e.retryAfter()).hasValue(Duration.ofSeconds(20));
        });
    }

    @Test
    void withoutAHintRetriesBackOffExponentiallyWithJitter() {
        start(Map.of("retryMaxAttempts", 3, "retryBaseMillis", 200L, "retryMaxMillis", 10_000L));
        alpha.tokens().failWith(error(ErrorCode.UPSTREAM_FAILURE));

        Flow f = send("pair");
        await().atMost(WAIT).until(() -> timers.waitingCount() == 1);
        timers.advance(Duration.ofSeconds(1));
        await().atMost(WAIT).until(() -> timers.delays.size() == 2 && timers.waitingCount() == 1);
        timers.advance(Duration.ofSeconds(2));
        f.awaitEnd();

        // 200 ms, then 400 ms, each +-50 %; then the attempts on alpha are used up and beta answers.
        assertThat(timers.delays.get(0)).isBetween(Duration.ofMillis(100), Duration.ofMillis(300));
        assertThat(timers.delays.get(1)).isBetween(Duration.ofMillis(200), Duration.ofMillis(600));
        assertThat(alpha.requests).hasSize(3);
        assertThat(f.text()).isEqualTo("from beta");
    }

    @Test
    void theBreakerOpensSkipsItsTargetLetsAProbeThroughAfterItsOpenTimeAndCloses() {
        start(Map.of("retryMaxAttempts", 1, "breakerWindow", 2, "breakerFailureRatePercent", 50,
                "breakerHalfOpenCalls", 1, "breakerOpenMillis", 30_000L));
        alpha.tokens().failWith(error(ErrorCode.UPSTREAM_FAILURE));
        send("pair").awaitEnd();
        send("pair").awaitEnd();
        assertThat(health("alpha/a-1").breaker()).isEqualTo(BreakerState.OPEN);

        Flow skipped = send("pair").awaitEnd();
        assertThat(alpha.requests).hasSize(2);
        assertThat(skipped.text()).isEqualTo("from beta");
        assertThat(skipped.call.outcome().attempts().get(0).skipped()).isTrue();
        assertThat(health("alpha/a-1").rejected()).isEqualTo(1);

        alpha.tokens("alpha ", "is back").ending(ScriptedProvider.Ending.COMPLETE);
        clock.advance(Duration.ofSeconds(31));
        Flow probe = send("pair").awaitEnd();

        assertThat(probe.text()).isEqualTo("alpha is back");
        assertThat(health("alpha/a-1").breaker()).isEqualTo(BreakerState.CLOSED);
        assertThat(send("pair").awaitEnd().text()).isEqualTo("alpha is back");
    }

    @Test
    void aFailedProbeOpensTheBreakerAgain() {
        start(Map.of("retryMaxAttempts", 1, "breakerWindow", 1, "breakerHalfOpenCalls", 1));
        alpha.tokens().failWith(error(ErrorCode.OVERLOADED));
        send("pair").awaitEnd();
        assertThat(health("alpha/a-1").breaker()).isEqualTo(BreakerState.OPEN);
        clock.advance(Duration.ofMinutes(1));

        send("pair").awaitEnd();

        assertThat(alpha.requests).hasSize(2);
        assertThat(health("alpha/a-1").breaker()).isEqualTo(BreakerState.OPEN);
    }

    @Test
    void refusedRequestsDoNotOpenTheBreaker() {
        start(Map.of("breakerWindow", 2));
        alpha.tokens().failWith(error(ErrorCode.INVALID_REQUEST));
        for (int i = 0; i < 4; i++) {
            send("pair").awaitEnd();
        }
        assertThat(health("alpha/a-1").breaker()).isEqualTo(BreakerState.CLOSED);
        assertThat(health("alpha/a-1").failures()).isZero();
    }

    @Test
    void noFallbackOnceATokenReachedTheClient() {
        start(Map.of());
        alpha.tokens("half an ").failWith(error(ErrorCode.UPSTREAM_FAILURE));

        Flow f = send("pair").awaitEnd();

        assertThat(f.text()).isEqualTo("half an ");
        assertThat(f.errors).singleElement().extracting(ParleyException::code).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(alpha.requests).hasSize(1);
        assertThat(beta.requests).isEmpty();
    }

    @Test
    void afterTheFirstTokenTheTurnEndsWithAnErrorAndThePartialAnswerIsStoredInterrupted() {
        start(Map.of());
        alpha.tokens("half an ").failWith(error(ErrorCode.OVERLOADED));
        InMemoryConversationStore store = new InMemoryConversationStore();
        CoreChatService chat = new CoreChatService(store, router, TestConfigs.defaults());
        Conversation c = chat.as(TestConfigs.OWNER).createConversation(new NewConversation("t", "pair", null));
        RecordingListener l = new RecordingListener();

        chat.as(TestConfigs.OWNER).send(c.id(), new SendMessage("go", null, null), l);
        await().atMost(WAIT).until(() -> l.terminalCount() == 1);

        assertThat(l.errors).singleElement().extracting(ParleyException::code).isEqualTo(ErrorCode.OVERLOADED);
        await().atMost(WAIT).until(() -> store.messages(c.id()).get(1).status() != MessageStatus.STREAMING);
        StoredMessage answer = store.messages(c.id()).get(1);
        assertThat(answer.status()).isEqualTo(MessageStatus.INTERRUPTED);
        assertThat(answer.content()).isEqualTo("half an ");
        assertThat(beta.requests).isEmpty();
    }

    @Test
    void aTurnFallsBackBeforeItsFirstTokenAndTheOutcomeNamesWhoAnswered() {
        start(Map.of("retryMaxAttempts", 1));
        alpha.tokens().failWith(error(ErrorCode.RATE_LIMITED));
        InMemoryConversationStore store = new InMemoryConversationStore();
        CoreChatService chat = new CoreChatService(store, router, TestConfigs.defaults());
        Conversation c = chat.as(TestConfigs.OWNER).createConversation(new NewConversation("t", "pair", null));
        RecordingListener l = new RecordingListener();

        chat.as(TestConfigs.OWNER).send(c.id(), new SendMessage("go", null, null), l);
        await().atMost(WAIT).until(() -> l.terminalCount() == 1);

        assertThat(l.errors).isEmpty();
        assertThat(l.text()).isEqualTo("from beta");
        await().atMost(WAIT).until(() -> store.messages(c.id()).get(1).status() == MessageStatus.COMPLETE);
        assertThat(store.messages(c.id()).get(1).content()).isEqualTo("from beta");
    }

    @Test
    void aProviderRemovedDuringTheChainLosesNoChat() {
        start(Map.of("retryMaxAttempts", 2));
        alpha.tokens().failWith(retryAfter(ErrorCode.RATE_LIMITED, Duration.ofSeconds(1)));

        Flow f = send("pair");
        await().atMost(WAIT).until(() -> timers.waitingCount() == 1);
        // Uninstalled while the request waits to retry it.
        router.unbindProvider(alpha);
        timers.advance(Duration.ofSeconds(1));
        f.awaitEnd();

        assertThat(f.errors).isEmpty();
        assertThat(f.text()).isEqualTo("from beta");
        assertThat(alpha.requests).hasSize(1);
        assertThat(f.call.outcome().attempts()).extracting(RouteOutcome.Attempt::error, RouteOutcome.Attempt::skipped)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(ErrorCode.RATE_LIMITED, false),
                        org.assertj.core.groups.Tuple.tuple(ErrorCode.MODEL_NOT_FOUND, true),
                        org.assertj.core.groups.Tuple.tuple(null, false));
    }

    @Test
    void aProviderUpgradedDuringTheChainAnswersOnItsNewVersion() {
        start(Map.of("retryMaxAttempts", 2));
        alpha.tokens().failWith(retryAfter(ErrorCode.OVERLOADED, Duration.ofSeconds(1)));

        Flow f = send("pair");
        await().atMost(WAIT).until(() -> timers.waitingCount() == 1);
        ScriptedProvider upgraded = new ScriptedProvider.NextVersion("alpha", model("a-1", "alpha", 8000, 1000))
                .tokens("from ", "alpha 2");
        providers.add(upgraded);
        router.bindProvider(upgraded);
        router.unbindProvider(alpha);
        timers.advance(Duration.ofSeconds(1));
        f.awaitEnd();

        assertThat(f.text()).isEqualTo("from alpha 2");
        assertThat(beta.requests).isEmpty();
    }

    @Test
    void cancellingDuringABackoffWaitCallsNobodyAgain() {
        start(Map.of("retryMaxAttempts", 3));
        alpha.tokens().failWith(retryAfter(ErrorCode.RATE_LIMITED, Duration.ofSeconds(2)));

        Flow f = send("pair");
        await().atMost(WAIT).until(() -> timers.waitingCount() == 1);
        f.handle.cancel();
        timers.advance(Duration.ofMinutes(5));

        assertThat(timers.waitingCount()).isZero();
        assertThat(alpha.requests).hasSize(1);
        assertThat(beta.requests).isEmpty();
    }

    @Test
    void cancellingARunningAttemptCancelsItsProviderAndTriesNoOther() {
        start(Map.of());
        alpha.tokens("part").hold().tokensAfterGate("never");

        Flow f = send("pair");
        await().atMost(WAIT).until(() -> f.tokens.size() == 1);
        f.handle.cancel();
        f.awaitEnd();

        assertThat(alpha.streams().get(0).cancelled).isDone();
        assertThat(f.errors).singleElement().extracting(ParleyException::code).isEqualTo(ErrorCode.CANCELLED);
        assertThat(beta.requests).isEmpty();
    }

    @Test
    void aTargetSilentPastTheFirstTokenTimeoutIsCancelledAndTheNextAnswers() {
        start(Map.of("retryMaxAttempts", 1, "firstTokenTimeoutMillis", 3000L));
        alpha.tokens().hold().tokensAfterGate("late");

        Flow f = send("pair");
        await().atMost(WAIT).until(() -> alpha.requests.size() == 1);
        timers.advance(Duration.ofMillis(3000));
        f.awaitEnd();

        assertThat(alpha.streams().get(0).cancelled).isDone();
        assertThat(f.text()).isEqualTo("from beta");
        assertThat(f.call.outcome().attempts().get(0).error()).isEqualTo(ErrorCode.UPSTREAM_TIMEOUT);
    }

    @Test
    void anAnswerPastItsDeadlineEndsWithATimeoutAndNoFallback() {
        start(Map.of("answerTimeoutMillis", 10_000L));
        alpha.tokens("slow ").hold().tokensAfterGate("answer");

        Flow f = send("pair");
        await().atMost(WAIT).until(() -> f.tokens.size() == 1);
        timers.advance(Duration.ofSeconds(10));
        f.awaitEnd();

        assertThat(f.errors).singleElement().extracting(ParleyException::code).isEqualTo(ErrorCode.UPSTREAM_TIMEOUT);
        assertThat(alpha.streams().get(0).cancelled).isDone();
        assertThat(beta.requests).isEmpty();
    }

    @Test
    void anAnswerLongerThanTheBoundIsCutOffTheProviderToldToStopAndNoOtherTargetCalled() {
        start(Map.of("maxAnswerChars", 10L));
        alpha.tokens("0123456", "789ab", "never sent").hold();

        Flow f = send("pair").awaitEnd();

        assertThat(f.text()).isEqualTo("0123456");
        assertThat(f.errors).singleElement().satisfies(e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.UPSTREAM_PROTOCOL);
            assertThat(e.getMessage()).contains("provider alpha sent an answer longer than 10 characters")
                    .contains("maxAnswerChars of dev.parley.router");
        });
        await().atMost(WAIT).until(() -> alpha.streams().get(0).cancelled.isDone());
        assertThat(beta.requests).isEmpty();
        assertThat(f.call.outcome().attempts()).extracting(RouteOutcome.Attempt::error)
                .containsExactly(ErrorCode.UPSTREAM_PROTOCOL);
    }

    @Test
    void aWholeAnswerLongerThanTheBoundIsRefusedToo() {
        start(Map.of("maxAnswerChars", 5L));
        alpha.answersWhole();

        Flow f = send("pair", true).awaitEnd();

        assertThat(f.responses).isEmpty();
        assertThat(f.errors).singleElement().extracting(ParleyException::code).isEqualTo(ErrorCode.UPSTREAM_PROTOCOL);
    }

    @Test
    void anAnswerWithinTheBoundIsUntouched() {
        start(Map.of("maxAnswerChars", 10L));

        Flow f = send("pair").awaitEnd();

        assertThat(f.errors).isEmpty();
        assertThat(f.text()).isEqualTo("from alpha");
    }

    @Test
    void aWholeAnswerFallsBackToo() {
        start(Map.of("retryMaxAttempts", 1));
        alpha.answersWhole().tokens().failWith(error(ErrorCode.UPSTREAM_FAILURE));
        beta.answersWhole();

        Flow f = send("pair", true).awaitEnd();

        assertThat(f.responses).singleElement().extracting(ChatResponse::text).isEqualTo("from beta");
        assertThat(beta.calls).containsExactly("complete");
    }

    @Test
    void aSuccessfulStreamRecordsItsTimeToFirstToken() {
        start(Map.of());
        send("pair").awaitEnd();
        assertThat(health("alpha/a-1").ttftMillis()).isGreaterThanOrEqualTo(0);
        assertThat(health("alpha/a-1").successes()).isEqualTo(1);
        assertThat(health("beta/b-1").ttftMillis()).isEqualTo(-1);
    }

    @Test
    void fallbacksRetriesAndBreakerStatesAreMetrics() {
        var metrics = io.opentelemetry.sdk.testing.exporter.InMemoryMetricReader.create();
        try (var sdk = io.opentelemetry.sdk.OpenTelemetrySdk.builder().setMeterProvider(
                io.opentelemetry.sdk.metrics.SdkMeterProvider.builder().registerMetricReader(metrics).build()).build()) {
            start(Map.of("retryMaxAttempts", 2, "breakerWindow", 2, "breakerFailureRatePercent", 100));
            router.setOpenTelemetry(sdk);
            alpha.tokens().failWith(retryAfter(ErrorCode.RATE_LIMITED, Duration.ofMillis(10)));

            Flow f = send("pair");
            await().atMost(WAIT).until(() -> timers.waitingCount() == 1);
            timers.advance(Duration.ofMillis(10));
            f.awaitEnd();
            assertThat(f.text()).isEqualTo("from beta");

            var byName = new HashMap<String, io.opentelemetry.sdk.metrics.data.MetricData>();
            metrics.collectAllMetrics().forEach(m -> byName.put(m.getName(), m));
            var reason = io.opentelemetry.api.common.Attributes.of(RouterTelemetry.REASON, "rate-limited");
            assertThat(byName.get("parley.router.retries").getLongSumData().getPoints())
                    .singleElement().satisfies(p -> {
                        assertThat(p.getAttributes()).isEqualTo(reason);
                        assertThat(p.getValue()).isEqualTo(1);
                    });
            assertThat(byName.get("parley.router.fallbacks").getLongSumData().getPoints())
                    .singleElement().satisfies(p -> assertThat(p.getValue()).isEqualTo(1));
            Map<String, Long> states = new HashMap<>();
            byName.get("parley.router.breaker.state").getLongGaugeData().getPoints()
                    .forEach(p -> states.put(p.getAttributes().get(RouterTelemetry.TARGET), p.getValue()));
            assertThat(states).containsEntry("alpha/a-1", 2L).containsEntry("beta/b-1", 0L);
            router.unsetOpenTelemetry(sdk);
        }
    }

    private dev.parley.api.routing.TargetHealth health(String target) {
        return router.view().targets().stream().filter(t -> t.target().equals(target)).findFirst().orElseThrow();
    }

    /** One request's callbacks as the follower (core's guarded stream) sees them. */
    static final class Flow implements ChatStreamHandler {
        final List<String> tokens = new CopyOnWriteArrayList<>();
        final List<ChatResponse> responses = new CopyOnWriteArrayList<>();
        final List<ParleyException> errors = new CopyOnWriteArrayList<>();
        RoutedCall call;
        StreamHandle handle;

        @Override
        public void onToken(String delta) {
            tokens.add(delta);
        }

        @Override
        public void onComplete(ChatResponse response) {
            responses.add(response);
        }

        @Override
        public void onError(ParleyException error) {
            errors.add(error);
        }

        Flow awaitEnd() {
            await().atMost(WAIT).until(() -> responses.size() + errors.size() > 0);
            return this;
        }

        String text() {
            return String.join("", tokens);
        }
    }
}

package dev.parley.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventAdmin;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.embedding.EmbeddingModel;
import dev.parley.api.embedding.EmbeddingProvider;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.embedding.EmbeddingResponse;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.plugin.PluginGuardEvents;

/**
 * The guard around calls into provider plugins, with its real threads: a blocking or throwing plugin costs only its
 * own answers, never the caller's thread, {@code /v1/models}, readiness or another provider's chats; calls at once per
 * plugin are bounded; a plugin that keeps failing or sticks is quarantined; shutdown is bounded.
 */
class PluginGuardTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final List<AutoCloseable> closing = new ArrayList<>();
    private final List<Event> posted = new CopyOnWriteArrayList<>();
    private PluginGuard guard;
    private ModelRouter router;
    private CoreChatService chat;

    @AfterEach
    void tearDown() throws Exception {
        if (chat != null) {
            chat.deactivate();
        }
        if (router != null) {
            router.deactivate();
        }
        for (AutoCloseable c : closing) {
            c.close();
        }
        if (guard != null) {
            guard.deactivate();
        }
    }

    /** A guard with its own threads; no quarantine unless a test asks for it. */
    private PluginGuard guard(GuardSettings settings) {
        guard = new PluginGuard(settings, false);
        guard.setEventAdmin(new EventAdmin() {
            @Override
            public void postEvent(Event event) {
                posted.add(event);
            }

            @Override
            public void sendEvent(Event event) {
                posted.add(event);
            }
        });
        return guard;
    }

    private static GuardSettings noQuarantine(long callTimeoutMillis) {
        return new GuardSettings(callTimeoutMillis, 32, 0, 50, 120_000, false, 5, 50, 60, 0);
    }

    private ModelRouter router(String... aliases) {
        router = new ModelRouter(new InMemoryRouterStateStore(), guard, false,
                TestConfigs.routerSettings(Map.of("aliases", aliases)), Timers.scheduled(), Clock.systemUTC(), null);
        chat = new CoreChatService(new InMemoryConversationStore(), router, TestConfigs.config("", 32000, 1, 0));
        return router;
    }

    private MisbehavingProvider provider(String id, String... models) {
        MisbehavingProvider p = new MisbehavingProvider(id, models);
        closing.add(p);
        return p;
    }

    private static PluginGuard.PluginRef plugin(String id) {
        return new PluginGuard.PluginRef(id, -1);
    }

    /** One completion's callbacks. */
    static final class Answer implements ChatStreamHandler {
        final CountDownLatch ended = new CountDownLatch(1);
        final List<String> tokens = new CopyOnWriteArrayList<>();
        volatile ChatResponse response;
        volatile ParleyException error;
        volatile String answeredBy;

        @Override
        public void onToken(String delta) {
            tokens.add(delta);
        }

        @Override
        public void onAnsweringModel(String providerId, String model) {
            answeredBy = providerId + "/" + model;
        }

        @Override
        public void onComplete(ChatResponse r) {
            response = r;
            ended.countDown();
        }

        @Override
        public void onError(ParleyException e) {
            error = e;
            ended.countDown();
        }

        Answer await() throws InterruptedException {
            assertThat(ended.await(WAIT.toSeconds(), TimeUnit.SECONDS)).as("the answer ended").isTrue();
            return this;
        }

        /** The answer's text; fails naming the error when the answer failed. */
        String text() throws InterruptedException {
            await();
            assertThat(error).as("the answer's error").isNull();
            return response.text();
        }
    }

    private Answer complete(String model) {
        Answer a = new Answer();
        chat.as(TestConfigs.OWNER).complete(new ChatRequest(model, List.of(ChatMessage.user("hi")), null, null), a);
        return a;
    }

    private static List<String> ids(List<ModelDescriptor> models) {
        return models.stream().map(ModelDescriptor::id).toList();
    }

    // --- a model list that blocks ------------------------------------------------------------------------------

    @Test
    void aModelListThatBlocksFromTheStartIsLeftOutAndEverythingElseAnswersAtOnce() throws Exception {
        guard(noQuarantine(300));
        router();
        MisbehavingProvider alpha = provider("alpha", "a-1");
        MisbehavingProvider stuck = provider("stuck", "s-1").models(MisbehavingProvider.Models.BLOCK);
        router.bindProvider(alpha, null, plugin("alpha"));
        router.bindProvider(stuck, null, plugin("stuck"));
        // Its registration is done though its list never came: the call is still stuck in the plugin.
        assertThat(guard.running("stuck")).isEqualTo(1);

        int answered = 0;
        int asked = 100;
        long slowestModels = 0;
        long slowestReady = 0;
        for (int i = 0; i < asked; i++) {
            long t0 = System.nanoTime();
            List<ModelDescriptor> listed = chat.as(TestConfigs.OWNER).models();
            slowestModels = Math.max(slowestModels, System.nanoTime() - t0);
            assertThat(ids(listed)).containsExactly("a-1");
            t0 = System.nanoTime();
            String health = new CoreHealthCheck(chat).execute().toString();
            slowestReady = Math.max(slowestReady, System.nanoTime() - t0);
            assertThat(health).contains("providers=2").contains("models=1");
            Answer a = complete("a-1").await();
            if (a.response != null && "ok from alpha".equals(a.response.text())) {
                answered++;
            }
        }
        System.out.printf("blocking models(): %d of %d chats to the other provider answered; slowest model list "
                + "%d ms, slowest readiness %d ms%n", answered, asked, slowestModels / 1_000_000,
                slowestReady / 1_000_000);
        assertThat(answered).isEqualTo(asked);
        // Every list and readiness check above answered while the plugin's list call stayed stuck (below).
        // One thread is stuck in it, however often it was asked: the refresh is single-flight.
        assertThat(stuck.modelsCalls.get()).isEqualTo(1);
        assertThat(guard.running("stuck")).isEqualTo(1);
    }

    @Test
    void aModelListThatStartsBlockingKeepsTheLastListItGave() throws Exception {
        guard(noQuarantine(300));
        router();
        MisbehavingProvider alpha = provider("alpha", "a-1");
        MisbehavingProvider later = provider("later", "l-1").models(MisbehavingProvider.Models.BLOCK_AFTER_FIRST);
        router.bindProvider(alpha, null, plugin("alpha"));
        router.bindProvider(later, null, plugin("later"));

        for (int i = 0; i < 20; i++) {
            assertThat(ids(router.models())).containsExactly("a-1", "l-1");
        }
        assertThat(complete("l-1").text()).isEqualTo("ok from later");
    }

    @Test
    void aModelListThatThrowsIsLeftOutAndAnIdThatBlocksFallsBackToTheClassName() throws Exception {
        guard(noQuarantine(200));
        router();
        MisbehavingProvider alpha = provider("alpha", "a-1");
        MisbehavingProvider broken = provider("broken", "b-1").models(MisbehavingProvider.Models.THROW);
        MisbehavingProvider mute = provider("mute", "m-1");
        mute.blockId = true;
        router.bindProvider(alpha, null, plugin("alpha"));
        router.bindProvider(broken, null, plugin("broken"));
        router.bindProvider(mute, null, plugin("mute"));

        assertThat(ids(router.models())).containsExactly("a-1", "m-1");
        assertThat(router.view().providers()).extracting(p -> p.id()).contains("alpha", "broken",
                MisbehavingProvider.class.getName());
        assertThat(complete("a-1").text()).isEqualTo("ok from alpha");
    }

    // --- the start of an answer --------------------------------------------------------------------------------

    @Test
    void aStreamThatBlocksTheCallingThreadHoldsOnlyItsOwnThreadAndTheRouteFallsBack() throws Exception {
        guard(noQuarantine(300));
        router("pair=priority:stuck/s-1,alpha/a-1");
        MisbehavingProvider alpha = provider("alpha", "a-1");
        MisbehavingProvider stuck = provider("stuck", "s-1").stream(MisbehavingProvider.Stream.BLOCK);
        router.bindProvider(alpha, null, plugin("alpha"));
        router.bindProvider(stuck, null, plugin("stuck"));

        Answer viaAlias = complete("pair");
        // The caller is back though the plugin's stream() never returns: it runs on a thread of the plugin's own.
        viaAlias.await();
        assertThat(viaAlias.error).isNull();
        assertThat(viaAlias.answeredBy).isEqualTo("alpha/a-1");
        assertThat(stuck.streamThreads).singleElement().asString().startsWith("parley-plugin-stuck-");

        Answer direct = complete("s-1").await();
        assertThat(direct.error.code()).isEqualTo(ErrorCode.UPSTREAM_TIMEOUT);
        assertThat(direct.error.getMessage()).contains("stuck").contains("stream()").contains("300 ms");

        // When the blocked calls come back at last, their late answers are dropped and their handles cancelled.
        stuck.close();
        await().atMost(WAIT).until(() -> stuck.cancelled.get() == 2);
        assertThat(viaAlias.tokens).containsExactly("ok from alpha");
    }

    @Test
    void aThrowingProviderCostsOnlyItsOwnAnswer() throws Exception {
        guard(noQuarantine(1000));
        router("pair=priority:broken/b-1,alpha/a-1");
        MisbehavingProvider alpha = provider("alpha", "a-1");
        MisbehavingProvider broken = provider("broken", "b-1").stream(MisbehavingProvider.Stream.THROW);
        router.bindProvider(alpha, null, plugin("alpha"));
        router.bindProvider(broken, null, plugin("broken"));

        Answer own = complete("b-1").await();
        assertThat(own.error.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(own.error.getMessage()).contains("broken").contains("failed to start the answer");
        Answer viaAlias = complete("pair").await();
        assertThat(viaAlias.response.text()).isEqualTo("ok from alpha");
        int ok = 0;
        for (int i = 0; i < 50; i++) {
            complete("b-1").await();
            if ("ok from alpha".equals(complete("a-1").text())) {
                ok++;
            }
        }
        assertThat(ok).isEqualTo(50);
    }

    @Test
    void callsAtOnceIntoOnePluginAreBoundedAndTheRestAreRefusedAtOnce() throws Exception {
        guard(noQuarantine(30_000).withMaxConcurrentCalls(2));
        router("pair=priority:slow/s-1,alpha/a-1");
        MisbehavingProvider alpha = provider("alpha", "a-1");
        MisbehavingProvider slow = provider("slow", "s-1").stream(MisbehavingProvider.Stream.BLOCK);
        router.bindProvider(alpha, null, plugin("alpha"));
        router.bindProvider(slow, null, plugin("slow"));

        Answer first = complete("s-1");
        Answer second = complete("s-1");
        await().atMost(WAIT).until(() -> guard.running("slow") == 2);

        Answer third = complete("s-1").await();
        assertThat(third.error.code()).isEqualTo(ErrorCode.OVERLOADED);
        assertThat(third.error.getMessage()).contains("slow").contains("2 calls");
        // An alias goes on to its next target at once; the other plugin has threads of its own.
        assertThat(complete("pair").await().answeredBy).isEqualTo("alpha/a-1");
        assertThat(complete("a-1").text()).isEqualTo("ok from alpha");
        assertThat(guard.running("slow")).isEqualTo(2);

        slow.close();
        assertThat(first.text()).isEqualTo("ok from slow");
        assertThat(second.text()).isEqualTo("ok from slow");
    }

    @Test
    void aParleyExceptionThrownInsteadOfReportedIsTheProvidersAnswerAndNeverQuarantines() throws Exception {
        guard(GuardSettings.DEFAULTS.withQuarantine(3, 50, 60, 30));
        router();
        MisbehavingProvider limited = provider("limited", "l-1").stream(MisbehavingProvider.Stream.THROW_PARLEY);
        limited.thrown = new ParleyException(ErrorCode.RATE_LIMITED, "slow down");
        router.bindProvider(limited, null, plugin("limited"));

        for (int i = 0; i < 10; i++) {
            assertThat(complete("l-1").await().error.code()).isEqualTo(ErrorCode.RATE_LIMITED);
        }
        assertThat(guard.quarantined()).isEmpty();
        assertThat(posted).isEmpty();
    }

    // --- quarantine --------------------------------------------------------------------------------------------

    @Test
    void aPluginThatKeepsFailingIsQuarantinedAndItsChatsFailOverOrGetAClearError() throws Exception {
        guard(GuardSettings.DEFAULTS.withQuarantine(5, 50, 60, 30));
        router("pair=priority:broken/b-1,alpha/a-1");
        MisbehavingProvider alpha = provider("alpha", "a-1");
        MisbehavingProvider broken = provider("broken", "b-1").stream(MisbehavingProvider.Stream.THROW);
        router.bindProvider(alpha, null, plugin("alpha"));
        router.bindProvider(broken, null, plugin("broken-plugin"));
        // Its successful calls count too: the rate is of all its calls.
        assertThat(ids(router.models())).contains("b-1");

        for (int i = 0; i < 5; i++) {
            complete("b-1").await();
        }

        assertThat(guard.quarantined()).containsOnlyKeys("broken-plugin");
        assertThat(guard.quarantined().get("broken-plugin")).contains("failed or timed out").contains("stream()");
        assertThat(posted).singleElement().satisfies(e -> {
            assertThat(e.getTopic()).isEqualTo(PluginGuardEvents.QUARANTINE);
            assertThat(e.getProperty(PluginGuardEvents.PLUGIN_ID)).isEqualTo("broken-plugin");
            assertThat((String) e.getProperty(PluginGuardEvents.REASON)).contains("stream()");
        });
        int calls = broken.streamCalls.get();
        assertThat(ids(router.models())).containsExactly("a-1", "pair");
        // The chat that needed it fails over where its route has another target...
        Answer viaAlias = complete("pair").await();
        assertThat(viaAlias.answeredBy).isEqualTo("alpha/a-1");
        // ...and otherwise gets a clear error naming the quarantine and how to lift it, before anything is sent.
        ParleyException own = org.assertj.core.api.Assertions.catchThrowableOfType(ParleyException.class,
                () -> complete("b-1"));
        assertThat(own.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(own.getMessage()).contains("quarantined").contains("broken-plugin")
                .contains("/api/v1/admin/plugins/broken-plugin/enable");
        assertThat(broken.streamCalls.get()).isEqualTo(calls);
        assertThat(new CoreHealthCheck(chat).execute().toString()).contains("broken-plugin is quarantined");

        // The runtime stops it (its service leaves); once it registers again it starts clean.
        router.unbindProvider(broken);
        MisbehavingProvider fixed = provider("broken", "b-1");
        router.bindProvider(fixed, null, plugin("broken-plugin"));
        assertThat(guard.quarantined()).isEmpty();
        assertThat(complete("b-1").text()).isEqualTo("ok from broken");
    }

    @Test
    void aCallThatStaysStuckQuarantinesThePluginAndItsThreadIsInterrupted() throws Exception {
        guard(new GuardSettings(100, 32, 0, 20, 120_000, true, 100, 50, 60, 1));
        router();
        MisbehavingProvider alpha = provider("alpha", "a-1");
        MisbehavingProvider stuck = provider("stuck", "s-1").models(MisbehavingProvider.Models.BLOCK);
        router.bindProvider(alpha, null, plugin("alpha"));
        router.bindProvider(stuck, null, plugin("stuck"));

        await().atMost(WAIT).until(() -> guard.quarantined().containsKey("stuck"));
        assertThat(guard.quarantined().get("stuck")).contains("models() has not returned for 1 s");
        assertThat(posted).extracting(Event::getTopic).containsExactly(PluginGuardEvents.QUARANTINE);
        await().atMost(WAIT).until(() -> stuck.interrupted.get() == 1);
        assertThat(guard.running("stuck")).isZero();
        assertThat(ids(router.models())).containsExactly("a-1");
    }

    @Test
    void aCallRunningWhenItsPluginIsQuarantinedFailsWithTheQuarantineNotWithWhatThePluginDoesWithTheInterrupt()
            throws Exception {
        // A long call timeout and no stuck rule: only the failure rate quarantines, while one call still runs.
        guard(new GuardSettings(60_000, 32, 0, 20, 120_000, true, 3, 50, 60, 0));
        Object service = new Object();
        PluginGuard.Registration<ModelDescriptor> r = guard.register(plugin("storm"), service, () -> "storm",
                List::of, "models()");
        CountDownLatch entered = new CountDownLatch(1);
        CountDownLatch interrupted = new CountDownLatch(1);
        var heard = new java.util.concurrent.CompletableFuture<ParleyException>();
        guard.start(r, "stream()", () -> {
            entered.countDown();
            try {
                new CountDownLatch(1).await();
            } catch (InterruptedException e) {
                interrupted.countDown();
                throw new IllegalStateException("what the plugin makes of the interrupt");
            }
        }, heard::complete);
        assertThat(entered.await(10, TimeUnit.SECONDS)).isTrue();

        for (int i = 0; i < 3; i++) {
            guard.start(r, "stream()", () -> {
                throw new IllegalStateException("storm " + System.nanoTime());
            }, e -> { });
        }

        ParleyException e = heard.get(10, TimeUnit.SECONDS);
        assertThat(e.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(e.getMessage()).contains("plugin storm was quarantined on this node while stream() ran")
                .contains("threw java.lang.IllegalStateException: storm")
                .doesNotContain("what the plugin makes of the interrupt");
        assertThat(interrupted.await(10, TimeUnit.SECONDS)).isTrue();
        await().atMost(WAIT).until(() -> guard.running("storm") == 0);
    }

    // --- embeddings --------------------------------------------------------------------------------------------

    @Test
    void anEmbedThatBlocksFailsAfterTheCallTimeoutAndABlockingModelListIsLeftOut() throws Exception {
        guard(noQuarantine(300));
        CoreEmbeddingService embeddings = new CoreEmbeddingService(guard, false, 100, 1000);
        CountDownLatch release = new CountDownLatch(1);
        closing.add(release::countDown);
        EmbeddingModel e1 = new EmbeddingModel("e-1", "good", 2, 100, 10, false);
        EmbeddingModel e2 = new EmbeddingModel("e-2", "stuck", 2, 100, 10, false);
        EmbeddingProvider good = new CoreEmbeddingServiceTest.FakeEmbedder("good", e1);
        EmbeddingProvider stuck = new EmbeddingProvider() {
            @Override
            public String id() {
                return "stuck";
            }

            @Override
            public List<EmbeddingModel> embeddingModels() {
                return List.of(e2);
            }

            @Override
            public java.util.concurrent.CompletionStage<EmbeddingResponse> embed(EmbeddingRequest request) {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                throw new IllegalStateException("released");
            }
        };
        EmbeddingProvider listless = new EmbeddingProvider() {
            @Override
            public String id() {
                return "listless";
            }

            @Override
            public List<EmbeddingModel> embeddingModels() {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
                return List.of();
            }

            @Override
            public java.util.concurrent.CompletionStage<EmbeddingResponse> embed(EmbeddingRequest request) {
                throw new UnsupportedOperationException();
            }
        };
        embeddings.bindProvider(good, null, plugin("good"));
        embeddings.bindProvider(stuck, null, plugin("stuck"));
        embeddings.bindProvider(listless, null, plugin("listless"));
        try {
            assertThat(embeddings.models()).extracting(EmbeddingModel::id).containsExactly("e-1", "e-2");

            ParleyException timedOut = null;
            try {
                embeddings.embed(new EmbeddingRequest("e-2", List.of("x"), null)).toCompletableFuture()
                        .get(5, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                timedOut = (ParleyException) (e.getCause() instanceof CompletionException c ? c.getCause()
                        : e.getCause());
            }
            assertThat(timedOut).isNotNull();
            assertThat(timedOut.code()).isEqualTo(ErrorCode.UPSTREAM_TIMEOUT);
            assertThat(embeddings.embed(new EmbeddingRequest("e-1", List.of("x"), null)).toCompletableFuture()
                    .get(5, TimeUnit.SECONDS).embeddings()).hasSize(1);
        } finally {
            embeddings.deactivate();
        }
    }

    // --- shutdown ------------------------------------------------------------------------------------------------

    @Test
    void aProviderSpinningInStreamDoesNotHoldTheCallerOrShutdownBeyondTheDrainTimeout() throws Exception {
        guard(noQuarantine(60_000));
        router();
        MisbehavingProvider spinning = provider("spinning", "s-1").stream(MisbehavingProvider.Stream.SPIN);
        router.bindProvider(spinning, null, plugin("spinning"));

        Answer a = complete("s-1");
        // The caller is back while the plugin spins in stream().
        await().atMost(WAIT).until(() -> spinning.inSpin.get());

        // Core's drain timeout is 1 s here; the spinning plugin thread is the plugin's, and nothing waits for it.
        long t0 = System.nanoTime();
        chat.deactivate();
        router.deactivate();
        guard.deactivate();
        Duration stop = Duration.ofNanos(System.nanoTime() - t0);
        System.out.printf("stop with a provider spinning in stream(): %d ms (drain timeout 1000 ms)%n",
                stop.toMillis());
        // Stopped while the plugin still spins: nothing waited for its thread.
        assertThat(spinning.inSpin).isTrue();
        assertThat(a.await().error.code()).isEqualTo(ErrorCode.UNAVAILABLE);
        chat = null;
        router = null;
        guard = null;
    }
}

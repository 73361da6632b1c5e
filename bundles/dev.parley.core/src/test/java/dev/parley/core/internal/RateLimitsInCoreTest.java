package dev.parley.core.internal;

import static dev.parley.core.internal.ScriptedProvider.model;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.awaitility.Awaitility.await;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.chat.Conversation;
import dev.parley.api.chat.NewConversation;
import dev.parley.api.chat.SendMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import dev.parley.api.limits.RateLimit;
import dev.parley.api.limits.RateLimitedException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.Usage;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Core's token and per-model rate limits: a request reserves its model's request and its token estimate before it
 * goes upstream, all or nothing; what it really used is charged when it ends (a cut stream: what arrived), so the
 * next requests are refused while a bucket is in debt; one that never started gives everything back.
 */
class RateLimitsInCoreTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final String TENANT = Principal.OPERATOR_TENANT;

    private final InMemoryConversationStore store = new InMemoryConversationStore();
    private final CountingRateLimiter limiter = new CountingRateLimiter();
    private CoreChatService chat;
    private ScriptedProvider alpha;

    @BeforeEach
    void setUp() {
        alpha = new ScriptedProvider("alpha", model("a-1", "alpha", 8000, 1000));
        ModelRouter router = TestConfigs.router();
        router.bindProvider(alpha);
        chat = new CoreChatService(store, router, TestConfigs.config("a-1", 32000, 20, 0));
    }

    @AfterEach
    void tearDown() {
        chat.deactivate();
        alpha.close();
    }

    private void limits(RateLimit tenantTokens, Map<String, ChatRateLimits.ModelLimit> models) {
        chat.rateLimits = new ChatRateLimits(limiter, new ChatRateLimits.Limits(null, null, tenantTokens, models));
    }

    private static ChatRequest request(int maxTokens) {
        return new ChatRequest("a-1", List.of(ChatMessage.user("hello")),
                new ChatOptions(null, null, maxTokens, null, null, null), List.of());
    }

    private CoreChatServiceTest.RecordingHandler complete(ChatRequest request) {
        var h = new CoreChatServiceTest.RecordingHandler();
        chat.as(TestConfigs.OWNER).completeWhole(request, h);
        await().atMost(WAIT).until(() -> h.events.contains("complete") || h.events.stream().anyMatch(e -> e.startsWith("error")));
        return h;
    }

    @Test
    void aModelsRequestLimitRefusesBeforeTheProviderIsCalledWithItsPolicyAndWait() {
        limits(null, Map.of("a-1", new ChatRateLimits.ModelLimit(new RateLimit(2, Duration.ofMinutes(1), 2), null)));
        complete(request(10));
        complete(request(10));
        int calls = alpha.calls.size();

        RateLimitedException e = catchThrowableOfType(() -> chat.as(TestConfigs.OWNER).completeWhole(request(10),
                new CoreChatServiceTest.RecordingHandler()), RateLimitedException.class);

        assertThat(e.code()).isEqualTo(ErrorCode.RATE_LIMITED);
        assertThat(e.policy()).isEqualTo("model");
        assertThat(e.retryAfter()).contains(Duration.ofSeconds(30));
        assertThat(e.decision().limit().amount()).isEqualTo(2);
        assertThat(e.getMessage()).contains("model 'a-1'").contains("2 per minute");
        assertThat(alpha.calls).hasSize(calls);
        assertThat(limiter.taken("rl:model:" + TENANT + ":a-1")).isEqualTo(2);
        // Another tenant has a bucket of its own on the same model.
        Principal other = new Principal("someone", "other-tenant", Set.of(Role.OWNER), AuthMethod.API_KEY, "test",
                Set.of(), null, "key-other");
        var h = new CoreChatServiceTest.RecordingHandler();
        chat.as(other).completeWhole(request(10), h);
        await().atMost(WAIT).until(() -> h.events.contains("complete"));
    }

    @Test
    void theTokensReallyUsedAreChargedIntoDebtAndRefuseTheNextRequest() {
        limits(RateLimit.of(100, Duration.ofMinutes(1)), Map.of());
        alpha.usage(new Usage(120, 30));
        String bucket = "rl:tokens:tenant:" + TENANT;

        complete(request(10));
        // Admitted on its estimate (prompt + 10); the answer used 150 of the 100 a minute: 50 in debt.
        await().atMost(WAIT).until(() -> limiter.taken(bucket) == 150);
        int calls = alpha.calls.size();
        RateLimitedException e = catchThrowableOfType(() -> chat.as(TestConfigs.OWNER).completeWhole(request(10),
                new CoreChatServiceTest.RecordingHandler()), RateLimitedException.class);
        assertThat(e.policy()).isEqualTo("tokens-tenant");
        assertThat(e.retryAfter()).hasValueSatisfying(d -> assertThat(d).isPositive());
        assertThat(alpha.calls).hasSize(calls);
        assertThat(limiter.taken(bucket)).as("a refusal takes nothing").isEqualTo(150);
    }

    @Test
    void anEstimateLargerThanWhatWasUsedIsGivenBack() {
        limits(RateLimit.of(10_000, Duration.ofMinutes(1)), Map.of());
        alpha.usage(new Usage(20, 5));
        complete(request(900));
        await().atMost(WAIT).until(() -> limiter.taken("rl:tokens:tenant:" + TENANT) == 25);
    }

    @Test
    void aCutStreamIsChargedWhatArrived() {
        limits(RateLimit.of(10_000, Duration.ofMinutes(1)), Map.of());
        Conversation c = chat.as(TestConfigs.OWNER).createConversation(new NewConversation("t", "a-1", null));
        alpha.tokens("twelve chars", "more").hold();
        RecordingListener l = new RecordingListener();
        StreamHandle h = chat.as(TestConfigs.OWNER).send(c.id(), new SendMessage("hi", null,
                new ChatOptions(null, null, 800, null, null, null)), l);
        String bucket = "rl:tokens:tenant:" + TENANT;
        await().atMost(WAIT).until(() -> l.tokens.size() == 2);
        long estimate = limiter.taken(bucket);
        assertThat(estimate).isGreaterThan(800);
        h.cancel();
        int prompt = (int) estimate - 800;
        int answer = ("twelve chars" + "more").length() / 4;
        await().atMost(WAIT).until(() -> limiter.taken(bucket) == prompt + answer);
    }

    @Test
    void aTurnThatNeverStartedGivesEverythingBack() {
        limits(RateLimit.of(10_000, Duration.ofMinutes(1)),
                Map.of("a-1", new ChatRateLimits.ModelLimit(RateLimit.of(5, Duration.ofMinutes(1)), null)));
        Conversation c = chat.as(TestConfigs.OWNER).createConversation(new NewConversation("t", "a-1", null));
        RecordingListener l = new RecordingListener().failOnAccept();
        chat.as(TestConfigs.OWNER).send(c.id(), new SendMessage("hi", null, null), l);
        await().atMost(WAIT).until(() -> limiter.calls == 1 && limiter.taken("rl:model:" + TENANT + ":a-1") == 0
                && limiter.taken("rl:tokens:tenant:" + TENANT) == 0);
        assertThat(alpha.calls).isEmpty();
    }

    @Test
    void aBudgetRefusalGivesBackWhatTheRateLimitsTook() {
        limits(null, Map.of("a-1", new ChatRateLimits.ModelLimit(RateLimit.of(5, Duration.ofMinutes(1)), null)));
        var budgets = new BudgetsInCoreTest.RecordingBudgets();
        budgets.refusal = new ParleyException(ErrorCode.BUDGET_EXCEEDED, "used up", Duration.ofSeconds(60), null);
        chat.budgets = budgets;
        ParleyException e = catchThrowableOfType(() -> chat.as(TestConfigs.OWNER).completeWhole(request(10),
                new CoreChatServiceTest.RecordingHandler()), ParleyException.class);
        assertThat(e.code()).isEqualTo(ErrorCode.BUDGET_EXCEEDED);
        assertThat(limiter.calls).isEqualTo(1);
        assertThat(limiter.taken("rl:model:" + TENANT + ":a-1")).isZero();
    }

    @Test
    void theBreakGlassTokenIsNotLimited() {
        limits(null, Map.of("a-1", new ChatRateLimits.ModelLimit(new RateLimit(1, Duration.ofMinutes(1), 1), null)));
        Principal admin = new Principal("admin", TENANT, Set.of(Role.OWNER), AuthMethod.ADMIN_TOKEN, "parley",
                Set.of(), null, "");
        for (int i = 0; i < 3; i++) {
            var h = new CoreChatServiceTest.RecordingHandler();
            chat.as(admin).completeWhole(request(10), h);
            await().atMost(WAIT).until(() -> h.events.contains("complete"));
        }
        assertThat(limiter.calls).isZero();
    }

    @Test
    void malformedModelEntriesAreLoggedAndIgnoredWhileTheOthersApply() {
        PrintStream err = System.err;
        var captured = new ByteArrayOutputStream();
        Map<String, ChatRateLimits.ModelLimit> models;
        try {
            System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
            models = ChatRateLimits.models(new String[] { "gpt-4o=60/200000", "no-numbers", "half=10", "words=ten/20",
                    "=5/5", "negative=-1/10", "gpt-4o=1/1", " ", "org/model=0/5000", "cheap=30/0" });
        } finally {
            System.setErr(err);
        }
        assertThat(models).containsOnlyKeys("gpt-4o", "org/model", "cheap");
        assertThat(models.get("gpt-4o")).isEqualTo(new ChatRateLimits.ModelLimit(RateLimit.of(60, Duration.ofMinutes(1)),
                RateLimit.of(200_000, Duration.ofMinutes(1))));
        assertThat(models.get("org/model").requests()).isNull();
        assertThat(models.get("cheap").tokens()).isNull();
        String log = captured.toString(StandardCharsets.UTF_8);
        assertThat(log).contains("ERROR").contains("event=model_limit_invalid");
        for (String bad : List.of("no-numbers", "half=10", "words=ten/20", "=5/5", "negative=-1/10", "gpt-4o=1/1")) {
            assertThat(log).contains("entry=\"" + bad + "\"");
        }
    }

    @Test
    void embeddingsCountInTheirModelsRequestLimitAndSettleTheTokensTheProviderCounted() throws Exception {
        var embedder = new CoreEmbeddingServiceTest.FakeEmbedder("openai",
                new dev.parley.api.embedding.EmbeddingModel("small", "openai", 2, 100, 10, false));
        CoreEmbeddingService embeddings = new CoreEmbeddingService(100, 10_000);
        embeddings.bindProvider(embedder);
        embeddings.rateLimits = new ChatRateLimits(limiter, new ChatRateLimits.Limits(null, null,
                new RateLimit(1000, Duration.ofMinutes(1), 1000),
                Map.of("small", new ChatRateLimits.ModelLimit(new RateLimit(2, Duration.ofMinutes(1), 2), null))));
        // 400 characters: 100 tokens estimated; the fake provider counts one token per input.
        var request = new dev.parley.api.embedding.EmbeddingRequest("small", List.of("x".repeat(400)), null);

        embeddings.embed(TestConfigs.OWNER, request).toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);
        await().atMost(WAIT).until(() -> limiter.taken("rl:tokens:tenant:" + TENANT) == 1);
        embeddings.embed(TestConfigs.OWNER, request).toCompletableFuture().get(10, java.util.concurrent.TimeUnit.SECONDS);

        var refused = catchThrowableOfType(() -> embeddings.embed(TestConfigs.OWNER, request).toCompletableFuture()
                .join(), java.util.concurrent.CompletionException.class);
        assertThat(refused.getCause()).isInstanceOf(RateLimitedException.class);
        assertThat(((RateLimitedException) refused.getCause()).policy()).isEqualTo("model");
        assertThat(embedder.calls).hasSize(2);
        assertThat(limiter.taken("rl:model:" + TENANT + ":small")).isEqualTo(2);
    }

    @Test
    void anEmbeddingsBudgetRefusalGivesBackWhatItsRateLimitsTook() {
        var embedder = new CoreEmbeddingServiceTest.FakeEmbedder("openai",
                new dev.parley.api.embedding.EmbeddingModel("small", "openai", 2, 100, 10, false));
        CoreEmbeddingService embeddings = new CoreEmbeddingService(100, 10_000);
        embeddings.bindProvider(embedder);
        embeddings.rateLimits = new ChatRateLimits(limiter, new ChatRateLimits.Limits(null, null,
                new RateLimit(1000, Duration.ofMinutes(1), 1000),
                Map.of("small", new ChatRateLimits.ModelLimit(new RateLimit(5, Duration.ofMinutes(1), 5), null))));
        var budgets = new BudgetsInCoreTest.RecordingBudgets();
        budgets.refusal = new ParleyException(ErrorCode.BUDGET_EXCEEDED, "used up");
        embeddings.budgets = budgets;

        var refused = catchThrowableOfType(() -> embeddings.embed(TestConfigs.OWNER,
                new dev.parley.api.embedding.EmbeddingRequest("small", List.of("x".repeat(400)), null))
                .toCompletableFuture().join(), java.util.concurrent.CompletionException.class);

        assertThat(((ParleyException) refused.getCause()).code()).isEqualTo(ErrorCode.BUDGET_EXCEEDED);
        assertThat(limiter.taken("rl:model:" + TENANT + ":small")).isZero();
        assertThat(limiter.taken("rl:tokens:tenant:" + TENANT)).isZero();
        assertThat(embedder.calls).isEmpty();
    }
}

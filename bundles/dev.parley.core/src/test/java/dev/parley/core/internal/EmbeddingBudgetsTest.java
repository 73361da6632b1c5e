package dev.parley.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.embedding.EmbeddingModel;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.embedding.EmbeddingResponse;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import dev.parley.core.internal.BudgetsInCoreTest.Recorded;
import dev.parley.core.internal.BudgetsInCoreTest.RecordingBudgets;
import dev.parley.core.internal.CoreEmbeddingServiceTest.FakeEmbedder;
import java.time.Duration;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Embeddings on behalf of a caller count in its budgets like chat: reserved before any provider is called (a refusal
 * calls none), settled with the tokens the provider counted and their cost, nothing for a failed request.
 */
class EmbeddingBudgetsTest {
    private final RecordingBudgets budgets = new RecordingBudgets();
    private final CoreEmbeddingService service = new CoreEmbeddingService(100, 1000);
    private final FakeEmbedder openai = new FakeEmbedder("openai",
            new EmbeddingModel("small", "openai", 2, 100, 2, false));

    @BeforeEach
    void setUp() {
        service.bindProvider(openai);
        service.budgets = budgets;
        ModelRouter router = TestConfigs.router();
        router.prices(ModelPrices.parse(new String[] { "small=20:0" }));
        service.router = router;
    }

    private static EmbeddingResponse embed(CoreEmbeddingService s, Principal caller, EmbeddingRequest r)
            throws Exception {
        return s.embed(caller, r).toCompletableFuture().get(5, TimeUnit.SECONDS);
    }

    private static ParleyException failure(CoreEmbeddingService s, Principal caller, EmbeddingRequest r) {
        try {
            s.embed(caller, r).toCompletableFuture().join();
        } catch (CompletionException e) {
            return (ParleyException) e.getCause();
        }
        throw new AssertionError("expected a failure");
    }

    @Test
    void anEmbeddingsRequestReservesItsInputsAndSettlesWhatTheProviderCountedWithItsCost() throws Exception {
        // 40 and 8 characters: 10 + 2 tokens estimated; the fake provider counts one token per input.
        EmbeddingRequest request = new EmbeddingRequest("small", List.of("x".repeat(40), "y".repeat(8), "z"), null);

        embed(service, TestConfigs.OWNER, request);

        Recorded r = budgets.reservations.get(0);
        assertThat(r.caller).isEqualTo(TestConfigs.OWNER);
        assertThat(r.model).isEqualTo("small");
        assertThat(r.estimate).isEqualTo(13);
        assertThat(r.cost).isEqualByComparingTo("0.00026"); // 13 × $20/M
        // Two batches (of 2 and 1): 3 tokens counted, $0.00006.
        assertThat(r.ends).containsExactly("settle 3 0.00006");
    }

    @Test
    void anEmbeddingsRequestOverBudgetIsRefusedBeforeAnyProviderIsCalled() {
        budgets.refusal = new ParleyException(ErrorCode.BUDGET_EXCEEDED, "The daily request budget of the user "
                + "'tester' is used up.", Duration.ofSeconds(30), null);

        ParleyException e = failure(service, TestConfigs.OWNER, new EmbeddingRequest("small", List.of("a"), null));

        assertThat(e.code()).isEqualTo(ErrorCode.BUDGET_EXCEEDED);
        assertThat(e.retryAfter()).contains(Duration.ofSeconds(30));
        assertThat(openai.calls).isEmpty();
    }

    @Test
    void aFailedEmbeddingsRequestSettlesNoTokensAndABadOneReservesNothing() {
        openai.failure = new ParleyException(ErrorCode.UPSTREAM_FAILURE, "down");

        assertThat(failure(service, TestConfigs.OWNER, new EmbeddingRequest("small", List.of("a"), null)).code())
                .isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(budgets.reservations).hasSize(1);
        assertThat(budgets.reservations.get(0).ends).containsExactly("settle 0 -");

        assertThat(failure(service, TestConfigs.OWNER, new EmbeddingRequest("nope", List.of("a"), null)).code())
                .isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(budgets.reservations).hasSize(1);
    }

    @Test
    void theCallersPermissionAndModelScopeAreCheckedAgainBehindTheEdge() {
        Principal viewer = new Principal("vic", "acme", Set.of(Role.VIEWER), AuthMethod.PASSWORD, "t", Set.of(), null,
                "s");
        Principal scoped = new Principal("sam", "acme", Set.of(Role.DEVELOPER), AuthMethod.API_KEY, "api-key",
                Set.of("model:other"), null, "k1");

        assertThat(failure(service, viewer, new EmbeddingRequest("small", List.of("a"), null)).code())
                .isEqualTo(ErrorCode.FORBIDDEN);
        assertThat(failure(service, scoped, new EmbeddingRequest("small", List.of("a"), null)).code())
                .isEqualTo(ErrorCode.FORBIDDEN);
        assertThat(openai.calls).isEmpty();
        assertThat(budgets.reservations).isEmpty();
    }

    @Test
    void withoutABudgetsServiceNothingIsReservedAndThePlatformsOwnCallsAreNeverCounted() throws Exception {
        service.embed(new EmbeddingRequest("small", List.of("platform"), null)).toCompletableFuture()
                .get(5, TimeUnit.SECONDS);
        assertThat(budgets.reservations).isEmpty();

        service.budgets = null;
        budgets.refusal = new ParleyException(ErrorCode.BUDGET_EXCEEDED, "over");
        assertThat(embed(service, TestConfigs.OWNER, new EmbeddingRequest("small", List.of("a"), null))
                .embeddings()).hasSize(1);
    }
}

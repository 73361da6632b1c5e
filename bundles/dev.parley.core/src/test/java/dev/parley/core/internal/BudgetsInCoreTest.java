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
import dev.parley.api.identity.Principal;
import dev.parley.api.limits.Budgets;
import dev.parley.api.limits.Reservation;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.Usage;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Core reserves in the caller's budgets before a request goes upstream and ends the reservation once when it ends:
 * refused turns and completions never reach the provider, finished ones settle the provider's usage and cost, cut
 * ones what arrived, and ones that never started give everything back.
 */
class BudgetsInCoreTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final InMemoryConversationStore store = new InMemoryConversationStore();
    private final RecordingBudgets budgets = new RecordingBudgets();
    private final List<ScriptedProvider> providers = new ArrayList<>();
    private CoreChatService chat;
    private ModelRouter router;
    private ScriptedProvider alpha;

    /** What one reservation saw: its estimate and how it ended. */
    static final class Recorded implements Reservation {
        final Principal caller;
        final String model;
        final int estimate;
        final BigDecimal cost;
        final List<String> ends = new CopyOnWriteArrayList<>();

        Recorded(Principal caller, String model, int estimate, BigDecimal cost) {
            this.caller = caller;
            this.model = model;
            this.estimate = estimate;
            this.cost = cost;
        }

        @Override
        public void settle(int tokensUsed, BigDecimal costUsd) {
            ends.add("settle " + tokensUsed + " " + (costUsd == null ? "-" : costUsd.stripTrailingZeros()
                    .toPlainString()));
        }

        @Override
        public void release() {
            ends.add("release");
        }
    }

    static final class RecordingBudgets implements Budgets {
        final List<Recorded> reservations = new CopyOnWriteArrayList<>();
        volatile boolean applies = true;
        volatile ParleyException refusal;

        @Override
        public boolean appliesTo(Principal caller) {
            return applies;
        }

        @Override
        public Reservation reserve(Principal caller, String model, int estimatedTokens, BigDecimal estimatedCostUsd) {
            if (refusal != null) {
                throw refusal;
            }
            if (!applies) {
                return Reservation.NONE;
            }
            Recorded r = new Recorded(caller, model, estimatedTokens, estimatedCostUsd);
            reservations.add(r);
            return r;
        }
    }

    @BeforeEach
    void setUp() {
        alpha = new ScriptedProvider("alpha", model("a-1", "alpha", 8000, 1000));
        providers.add(alpha);
        router = TestConfigs.router();
        router.bindProvider(alpha);
        chat = new CoreChatService(store, router, TestConfigs.config("a-1", 32000, 20, 0,
                new String[] { "a-1=1000:2000" }, false));
        chat.budgets = budgets;
    }

    @AfterEach
    void tearDown() {
        chat.deactivate();
        providers.forEach(ScriptedProvider::close);
    }

    private Conversation conversation() {
        return chat.as(TestConfigs.OWNER).createConversation(new NewConversation("t", "a-1", null));
    }

    private static ParleyException overBudget() {
        return new ParleyException(ErrorCode.BUDGET_EXCEEDED, "The daily token budget of the user 'tester' is used "
                + "up.", Duration.ofSeconds(60), null);
    }

    @Test
    void aTurnOverBudgetIsRefusedBeforeAnythingIsStoredOrSent() {
        Conversation c = conversation();
        budgets.refusal = overBudget();

        ParleyException e = catchThrowableOfType(() -> chat.as(TestConfigs.OWNER).send(c.id(),
                new SendMessage("hello", null, null), new RecordingListener()), ParleyException.class);

        assertThat(e.code()).isEqualTo(ErrorCode.BUDGET_EXCEEDED);
        assertThat(e.retryAfter()).contains(Duration.ofSeconds(60));
        assertThat(alpha.calls).isEmpty();
        assertThat(store.messages(c.id())).isEmpty();
    }

    @Test
    void aCompletionOverBudgetIsRefusedBeforeTheProviderIsCalled() {
        budgets.refusal = overBudget();
        ChatRequest request = new ChatRequest("a-1", List.of(ChatMessage.user("hi")), ChatOptions.DEFAULTS, List.of());

        ParleyException e = catchThrowableOfType(() -> chat.as(TestConfigs.OWNER).completeWhole(request,
                new CoreChatServiceTest.RecordingHandler()), ParleyException.class);

        assertThat(e.code()).isEqualTo(ErrorCode.BUDGET_EXCEEDED);
        assertThat(alpha.calls).isEmpty();
    }

    @Test
    void aFinishedTurnReservesItsPromptAndMaxTokensAndSettlesTheProvidersUsageAndCost() {
        Conversation c = conversation();
        alpha.usage(new Usage(120, 30));
        RecordingListener l = new RecordingListener();

        chat.as(TestConfigs.OWNER).send(c.id(), new SendMessage("hello there", null,
                new ChatOptions(null, null, 500, null, null, null)), l);
        await().atMost(WAIT).until(() -> !budgets.reservations.isEmpty()
                && !budgets.reservations.get(0).ends.isEmpty());

        Recorded r = budgets.reservations.get(0);
        int prompt = alpha.estimateTokens("a-1", List.of(ChatMessage.user("hello there")));
        assertThat(r.estimate).isEqualTo(prompt + 500);
        // The estimate's cost is reserved too: prompt × $1000/M + 500 × $2000/M.
        assertThat(r.cost).isEqualByComparingTo(BigDecimal.valueOf((prompt * 1000 + 500 * 2000) / 1_000_000d));
        assertThat(r.caller).isEqualTo(TestConfigs.OWNER);
        // 120 × $1000/M + 30 × $2000/M = $0.18
        assertThat(r.ends).containsExactly("settle 150 0.18");
    }

    @Test
    void aCutStreamSettlesWhatArrivedAndNotTheEstimate() {
        Conversation c = conversation();
        alpha.tokens("twelve chars", "more").hold();
        RecordingListener l = new RecordingListener();

        StreamHandle h = chat.as(TestConfigs.OWNER).send(c.id(), new SendMessage("hi", null,
                new ChatOptions(null, null, 800, null, null, null)), l);
        await().atMost(WAIT).until(() -> l.tokens.size() == 2);
        h.cancel();
        await().atMost(WAIT).until(() -> !budgets.reservations.get(0).ends.isEmpty());

        Recorded r = budgets.reservations.get(0);
        int prompt = r.estimate - 800;
        int answer = ("twelve chars" + "more").length() / 4; // 16 characters: 4 tokens
        double cost = (prompt * 1000 + answer * 2000) / 1_000_000d;
        assertThat(r.ends).containsExactly("settle " + (prompt + answer) + " "
                + BigDecimal.valueOf(cost).stripTrailingZeros().toPlainString());
    }

    @Test
    void aProviderThatFailsBeforeAnsweringSettlesTheRequestWithNoTokens() {
        Conversation c = conversation();
        alpha.tokens().failWith(new ParleyException(ErrorCode.UPSTREAM_FAILURE, "down"));
        RecordingListener l = new RecordingListener();

        chat.as(TestConfigs.OWNER).send(c.id(), new SendMessage("hi", null, null), l);
        await().atMost(WAIT).until(() -> !budgets.reservations.isEmpty()
                && !budgets.reservations.get(0).ends.isEmpty());

        assertThat(budgets.reservations.get(0).ends).containsExactly("settle 0 -");
    }

    @Test
    void aTurnThatNeverStartedReleasesItsReservation() {
        Conversation c = conversation();
        RecordingListener l = new RecordingListener().failOnAccept();

        chat.as(TestConfigs.OWNER).send(c.id(), new SendMessage("hi", null, null), l);
        await().atMost(WAIT).until(() -> !budgets.reservations.isEmpty()
                && !budgets.reservations.get(0).ends.isEmpty());

        assertThat(budgets.reservations.get(0).ends).containsExactly("release");
        assertThat(alpha.calls).isEmpty();
    }

    @Test
    void aCompletionOnTheCompatiblePathIsCountedToo() {
        alpha.usage(new Usage(40, 10));
        ChatRequest request = new ChatRequest("a-1", List.of(ChatMessage.user("what is budgeting")),
                new ChatOptions(null, null, 64, null, null, null), List.of());
        CoreChatServiceTest.RecordingHandler h = new CoreChatServiceTest.RecordingHandler();

        chat.as(TestConfigs.OWNER).complete(request, h);
        await().atMost(WAIT).until(() -> !budgets.reservations.isEmpty()
                && !budgets.reservations.get(0).ends.isEmpty());

        Recorded r = budgets.reservations.get(0);
        assertThat(r.estimate).isEqualTo(alpha.estimateTokens("a-1", request.messages()) + 64);
        assertThat(r.model).isEqualTo("a-1");
        assertThat(r.ends).containsExactly("settle 50 0.06");
        assertThat(h.events).contains("complete");
    }

    @Test
    void aCallerWithoutABudgetIsNotEstimatedOrReserved() {
        budgets.applies = false;
        ChatRequest request = new ChatRequest("a-1", List.of(ChatMessage.user("free")), ChatOptions.DEFAULTS,
                List.of());
        CoreChatServiceTest.RecordingHandler h = new CoreChatServiceTest.RecordingHandler();

        chat.as(TestConfigs.OWNER).completeWhole(request, h);
        await().atMost(WAIT).until(() -> h.events.contains("complete"));

        assertThat(budgets.reservations).isEmpty();
    }

    @Test
    void withoutABudgetsServiceNothingIsLimited() {
        chat.budgets = null;
        budgets.refusal = overBudget();
        Conversation c = conversation();
        RecordingListener l = new RecordingListener();

        chat.as(TestConfigs.OWNER).send(c.id(), new SendMessage("hi", null, null), l);
        await().atMost(WAIT).until(() -> l.terminalCount() > 0);

        assertThat(l.completed).hasSize(1);
    }

    @Test
    void aRequestWithoutMaxTokensReservesTheConfiguredAnswerEstimateAtMostTheModelsMaximum() {
        ChatRequest request = new ChatRequest("a-1", List.of(ChatMessage.user("how much")), ChatOptions.DEFAULTS,
                List.of());
        CoreChatServiceTest.RecordingHandler h = new CoreChatServiceTest.RecordingHandler();

        chat.as(TestConfigs.OWNER).completeWhole(request, h);
        await().atMost(WAIT).until(() -> h.events.contains("complete"));

        Recorded r = budgets.reservations.get(0);
        int prompt = alpha.estimateTokens("a-1", request.messages());
        // The configured 1024 answer tokens, capped at a-1's own maximum of 1000.
        assertThat(r.estimate).isEqualTo(prompt + 1000);
        assertThat(r.cost).isEqualByComparingTo(BigDecimal.valueOf((prompt * 1000 + 1000 * 2000) / 1_000_000d));
        assertThat(CoreChatService.budgetedOutputTokens(ChatOptions.DEFAULTS,
                model("big", "alpha", 100_000, 50_000), TestConfigs.defaults())).isEqualTo(1024);
    }

    @Test
    void aCutStreamsUsageRecordShowsWhatArrivedLikeItsBudgetAndIsMarkedCut() {
        UsageRecorderTest.ListStore usageStore = new UsageRecorderTest.ListStore();
        chat.setUsageStore(usageStore);
        Conversation c = conversation();
        alpha.tokens("twelve chars", "more").hold();
        RecordingListener l = new RecordingListener();

        StreamHandle h = chat.as(TestConfigs.OWNER).send(c.id(), new SendMessage("hi", null,
                new ChatOptions(null, null, 800, null, null, null)), l);
        await().atMost(WAIT).until(() -> l.tokens.size() == 2);
        h.cancel();
        await().atMost(WAIT).until(() -> {
            chat.usageRecorder().flush();
            return !usageStore.batches.isEmpty();
        });

        var record = usageStore.batches.get(0).get(0);
        Recorded r = budgets.reservations.get(0);
        int prompt = r.estimate - 800;
        assertThat(record.cut()).isTrue();
        assertThat(record.outcome()).isEqualTo(dev.parley.api.usage.UsageOutcome.CANCELLED);
        assertThat(record.promptTokens()).isEqualTo(prompt);
        assertThat(record.completionTokens()).isEqualTo(4); // 16 characters
        assertThat(r.ends).containsExactly("settle " + (record.promptTokens() + record.completionTokens()) + " "
                + record.costUsd().stripTrailingZeros().toPlainString());
    }

    @Test
    void aFinishedStreamsUsageRecordIsNotMarkedCut() {
        UsageRecorderTest.ListStore usageStore = new UsageRecorderTest.ListStore();
        chat.setUsageStore(usageStore);
        alpha.usage(new Usage(40, 10));
        ChatRequest request = new ChatRequest("a-1", List.of(ChatMessage.user("done")),
                new ChatOptions(null, null, 64, null, null, null), List.of());
        CoreChatServiceTest.RecordingHandler h = new CoreChatServiceTest.RecordingHandler();

        chat.as(TestConfigs.OWNER).complete(request, h);
        await().atMost(WAIT).until(() -> {
            chat.usageRecorder().flush();
            return !usageStore.batches.isEmpty();
        });

        var record = usageStore.batches.get(0).get(0);
        assertThat(record.cut()).isFalse();
        assertThat(record.promptTokens()).isEqualTo(40);
        assertThat(record.completionTokens()).isEqualTo(10);
    }
}

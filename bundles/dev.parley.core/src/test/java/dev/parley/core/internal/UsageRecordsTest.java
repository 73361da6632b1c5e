package dev.parley.core.internal;

import static dev.parley.core.internal.ScriptedProvider.model;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.chat.Conversation;
import dev.parley.api.chat.NewConversation;
import dev.parley.api.chat.SendMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.Usage;
import dev.parley.api.usage.UsageAttempt;
import dev.parley.api.usage.UsageOutcome;
import dev.parley.api.usage.UsageRecord;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Every turn and completion leaves one usage record: who answered after which attempts, tokens, cost, timings. */
class UsageRecordsTest {
    private final InMemoryConversationStore store = new InMemoryConversationStore();
    private final UsageRecorderTest.ListStore usageStore = new UsageRecorderTest.ListStore();
    private final List<ScriptedProvider> providers = new ArrayList<>();
    private CoreChatService chat;
    private ModelRouter router;
    private ScriptedProvider alpha;
    private ScriptedProvider beta;

    @BeforeEach
    void setUp() {
        router = new ModelRouter(new InMemoryRouterStateStore(), TestConfigs.routerSettings(Map.of(
                "aliases", new String[] { "pair=priority:alpha/a-1,beta/b-1" }, "retryMaxAttempts", 1)),
                Timers.scheduled(), java.time.Clock.systemUTC(), null);
        alpha = provider("alpha", "a-1");
        beta = provider("beta", "b-1");
        router.bindProvider(alpha);
        router.bindProvider(beta);
        chat = new CoreChatService(store, router, TestConfigs.config("", 32000, 20, 0,
                new String[] { "beta/b-1=2:10", "a-1=1:1" }, false));
        chat.setUsageStore(usageStore);
    }

    @AfterEach
    void tearDown() {
        chat.deactivate();
        providers.forEach(ScriptedProvider::close);
    }

    private ScriptedProvider provider(String id, String model) {
        ScriptedProvider p = new ScriptedProvider(id, model(model, id, 8000, 1000));
        providers.add(p);
        return p;
    }

    private List<UsageRecord> flushed(int expected) {
        await().atMost(Duration.ofSeconds(10)).until(() -> {
            chat.usageRecorder().flush();
            return usageStore.batches.stream().mapToInt(List::size).sum() >= expected;
        });
        List<UsageRecord> all = new ArrayList<>();
        usageStore.batches.forEach(all::addAll);
        return all;
    }

    @Test
    void aCompletionThatFellBackRecordsBothAttemptsAndTheTargetThatAnswered() {
        alpha.tokens().failWith(new ParleyException(ErrorCode.RATE_LIMITED, "slow down"));
        beta.tokens("fine").usage(new Usage(1000, 100, 400));
        var handler = new CoreChatServiceTest.RecordingHandler();

        chat.as(TestConfigs.OWNER).complete(new ChatRequest("pair", List.of(ChatMessage.user("hi")), null, null), handler);

        UsageRecord r = flushed(1).get(0);
        assertThat(handler.events).containsExactly("token", "complete");
        assertThat(r.endpoint()).isEqualTo("completion");
        assertThat(r.conversationId()).isNull();
        // Recorded for whom it was done: the tenant and subject of the caller.
        assertThat(r.tenantId()).isEqualTo(TestConfigs.OWNER.tenantId());
        assertThat(r.userId()).isEqualTo(TestConfigs.OWNER.subject());
        assertThat(r.requestedModel()).isEqualTo("pair");
        assertThat(r.providerId()).isEqualTo("beta");
        assertThat(r.model()).isEqualTo("b-1");
        assertThat(r.outcome()).isEqualTo(UsageOutcome.COMPLETED);
        assertThat(r.attempts()).extracting(UsageAttempt::providerId, UsageAttempt::errorCode).containsExactly(
                org.assertj.core.groups.Tuple.tuple("alpha", "rate-limited"),
                org.assertj.core.groups.Tuple.tuple("beta", null));
        assertThat(r.promptTokens()).isEqualTo(1000);
        assertThat(r.completionTokens()).isEqualTo(100);
        assertThat(r.cachedPromptTokens()).isEqualTo(400);
        // beta/b-1 costs $2 per million input tokens and $10 per million output tokens.
        assertThat(r.costUsd()).isEqualByComparingTo("0.003");
        assertThat(r.timeToFirstTokenMs()).isNotNull();
    }

    @Test
    void aTurnThatFellBackStoresTheModelThatAnsweredAndTellsTheClientWhoAnsweredAndTheCost() {
        alpha.tokens().failWith(new ParleyException(ErrorCode.OVERLOADED, "busy"));
        beta.tokens("from beta").usage(new Usage(1000, 100));
        Conversation c = chat.as(TestConfigs.OWNER).createConversation(new NewConversation("t", "pair", null));
        var listener = new RecordingListener();

        chat.as(TestConfigs.OWNER).send(c.id(), new SendMessage("hi", null, null), listener);
        await().atMost(Duration.ofSeconds(10)).until(() -> listener.terminalCount() > 0);

        var result = listener.completed.get(0);
        assertThat(result.answer().content()).isEqualTo("from beta");
        assertThat(result.answer().model()).as("the answer is stored under the model that gave it").isEqualTo("b-1");
        assertThat(store.messages(c.id()).get(1).model()).isEqualTo("b-1");
        assertThat(result.route().requested()).isEqualTo("pair");
        assertThat(result.route().providerId()).isEqualTo("beta");
        assertThat(result.route().model()).isEqualTo("b-1");
        assertThat(result.route().attempts()).isEqualTo(2);
        // beta/b-1 costs $2 per million input tokens and $10 per million output tokens.
        assertThat(result.route().costUsd()).isEqualByComparingTo("0.003");
        assertThat(flushed(1).get(0).costUsd()).isEqualByComparingTo(result.route().costUsd());
    }

    @Test
    void aTargetNamedDirectlyIsOneAttemptAndAModelWithoutAPriceHasNoCost() {
        beta.tokens("priced").usage(new Usage(10, 1));
        Conversation c = chat.as(TestConfigs.OWNER).createConversation(new NewConversation("t", null, null));
        var priced = new RecordingListener();
        chat.as(TestConfigs.OWNER).send(c.id(), new SendMessage("hi", "beta/b-1", null), priced);
        await().atMost(Duration.ofSeconds(10)).until(() -> priced.terminalCount() > 0);

        var route = priced.completed.get(0).route();
        assertThat(route.requested()).isEqualTo("beta/b-1");
        assertThat(route.attempts()).isEqualTo(1);
        assertThat(route.costUsd()).isEqualByComparingTo("0.00003");

        ScriptedProvider gamma = provider("gamma", "g-1");
        router.bindProvider(gamma);
        gamma.tokens("free").usage(new Usage(10, 1));
        var unpriced = new RecordingListener();
        chat.as(TestConfigs.OWNER).send(c.id(), new SendMessage("again", "gamma/g-1", null), unpriced);
        await().atMost(Duration.ofSeconds(10)).until(() -> unpriced.terminalCount() > 0);

        assertThat(unpriced.completed.get(0).route().providerId()).isEqualTo("gamma");
        assertThat(unpriced.completed.get(0).route().costUsd()).isNull();
    }

    @Test
    void aTurnRecordsItsConversationAndAnswerAndAFailureItsErrorWithoutCost() {
        alpha.tokens("hello").usage(new Usage(10, 1));
        Conversation c = chat.as(TestConfigs.OWNER).createConversation(new NewConversation("t", "alpha/a-1", null));
        var ok = new RecordingListener();
        chat.as(TestConfigs.OWNER).send(c.id(), new SendMessage("hi", null, null), ok);
        await().atMost(Duration.ofSeconds(10)).until(() -> ok.terminalCount() > 0);

        alpha.tokens().failWith(new ParleyException(ErrorCode.INVALID_REQUEST, "no"));
        var failed = new RecordingListener();
        chat.as(TestConfigs.OWNER).send(c.id(), new SendMessage("again", null, null), failed);
        await().atMost(Duration.ofSeconds(10)).until(() -> failed.terminalCount() > 0);

        List<UsageRecord> records = flushed(2);
        UsageRecord first = records.get(0);
        assertThat(first.endpoint()).isEqualTo("turn");
        assertThat(first.conversationId()).isEqualTo(c.id());
        assertThat(first.messageId()).isEqualTo(store.messages(c.id()).get(1).id());
        assertThat(first.providerId()).isEqualTo("alpha");
        assertThat(first.costUsd()).as("a-1 is priced by its bare id").isEqualByComparingTo("0.000011");
        UsageRecord second = records.get(1);
        assertThat(second.outcome()).isEqualTo(UsageOutcome.FAILED);
        assertThat(second.errorCode()).isEqualTo("invalid-request");
        assertThat(second.costUsd()).isNull();
        assertThat(second.attempts()).singleElement().extracting(UsageAttempt::errorCode).isEqualTo("invalid-request");
    }
}

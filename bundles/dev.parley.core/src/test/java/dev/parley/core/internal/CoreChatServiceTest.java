package dev.parley.core.internal;

import static dev.parley.core.internal.ScriptedProvider.model;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventAdmin;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.chat.Conversation;
import dev.parley.api.chat.MessageStatus;
import dev.parley.api.chat.NewConversation;
import dev.parley.api.chat.Role;
import dev.parley.api.chat.SendMessage;
import dev.parley.api.chat.StoredMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.Usage;

class CoreChatServiceTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final InMemoryConversationStore store = new InMemoryConversationStore();
    private final List<ScriptedProvider> providers = new ArrayList<>();
    private final List<Event> events = new CopyOnWriteArrayList<>();
    private final ExecutorService testExecutor = Executors.newCachedThreadPool();
    private CoreChatService chat;
    private ModelRouter router;
    private ScriptedProvider alpha;

    @BeforeEach
    void setUp() {
        alpha = provider("alpha", model("alpha-small", "alpha", 8000, 1000), model("alpha-large", "alpha", 8000, 1000));
        chat = new CoreChatService(store, router = TestConfigs.router(), TestConfigs.defaults());
        chat.setEventAdmin(recordingEventAdmin());
    }

    @AfterEach
    void tearDown() {
        providers.forEach(ScriptedProvider::close);
        testExecutor.shutdownNow();
    }

    private ScriptedProvider provider(String id, dev.parley.api.llm.ModelDescriptor... models) {
        ScriptedProvider p = new ScriptedProvider(id, models);
        providers.add(p);
        return p;
    }

    private EventAdmin recordingEventAdmin() {
        return new EventAdmin() {
            @Override
            public void postEvent(Event event) {
                events.add(event);
            }

            @Override
            public void sendEvent(Event event) {
                events.add(event);
            }
        };
    }

    private Conversation conversation(String model, String systemPrompt) {
        return chat.as(TestConfigs.OWNER).createConversation(new NewConversation("t", model, systemPrompt));
    }

    private static SendMessage msg(String content) {
        return new SendMessage(content, null, null);
    }

    private RecordingListener sendAndAwaitEnd(String conversationId, SendMessage message) {
        RecordingListener l = new RecordingListener();
        chat.as(TestConfigs.OWNER).send(conversationId, message, l);
        await().atMost(WAIT).until(() -> l.terminalCount() > 0);
        return l;
    }

    private StoredMessage answerOf(String conversationId) {
        List<StoredMessage> all = store.messages(conversationId);
        return all.get(all.size() - 1);
    }

    private static dev.parley.api.identity.Principal caller(String tenant, String subject,
            java.util.Set<String> scopes, dev.parley.api.identity.Role... roles) {
        return new dev.parley.api.identity.Principal(subject, tenant, java.util.Set.of(roles),
                dev.parley.api.identity.AuthMethod.API_KEY, "test", scopes, null, "key-" + subject);
    }

    @Test
    void aCallerSeesOnlyItsOwnTenantsConversationsAndTurnsIntoThemFail() {
        router.bindProvider(alpha.tokens("ok"));
        var acme = caller("acme", "ann", java.util.Set.of(), dev.parley.api.identity.Role.MEMBER);
        var globex = caller("globex", "gus", java.util.Set.of(), dev.parley.api.identity.Role.OWNER);
        Conversation mine = chat.as(acme).createConversation(new NewConversation("acme's", null, null));

        assertThat(chat.as(globex).conversation(mine.id())).isEmpty();
        assertThat(chat.as(globex).conversations(0, 50).items()).extracting(Conversation::id).doesNotContain(mine.id());
        assertThat(chat.as(globex).deleteConversation(mine.id())).isFalse();
        assertThatThrownBy(() -> chat.as(globex).messages(mine.id())).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
        assertThatThrownBy(() -> chat.as(globex).send(mine.id(), msg("let me in"), new RecordingListener()))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
        assertThat(store.messages(mine.id())).isEmpty();
        assertThat(chat.as(acme).conversations(0, 50).items()).extracting(Conversation::id).containsExactly(mine.id());
    }

    @Test
    void aMemberSeesOnlyItsOwnConversationsAndATenantAdminSeesAll() {
        router.bindProvider(alpha.tokens("ok"));
        var ann = caller("acme", "ann", java.util.Set.of(), dev.parley.api.identity.Role.MEMBER);
        var bob = caller("acme", "bob", java.util.Set.of(), dev.parley.api.identity.Role.DEVELOPER);
        var admin = caller("acme", "ada", java.util.Set.of(), dev.parley.api.identity.Role.ADMIN);
        // An admin's key scoped to chat and reading: without conversations:admin it sees its own only.
        var adminKey = caller("acme", "ada", java.util.Set.of("chat", "conversations:read"),
                dev.parley.api.identity.Role.ADMIN);
        var outsider = caller("globex", "gus", java.util.Set.of(), dev.parley.api.identity.Role.OWNER);
        Conversation annS = chat.as(ann).createConversation(new NewConversation("ann's", null, null));
        Conversation bobS = chat.as(bob).createConversation(new NewConversation("bob's", null, null));
        Conversation adaS = chat.as(admin).createConversation(new NewConversation("ada's", null, null));
        Conversation legacy = store.tenant("acme").create(new NewConversation("from before owners", null, null));
        assertThat(store.ownerOf(annS.id())).isEqualTo("ann");
        assertThat(store.ownerOf(adaS.id())).isEqualTo("ada");

        // Another member's conversation is NOT_FOUND, whatever the operation.
        assertThat(chat.as(bob).conversation(annS.id())).isEmpty();
        assertThat(chat.as(bob).conversations(0, 50).items()).extracting(Conversation::id)
                .containsExactlyInAnyOrder(bobS.id(), legacy.id());
        assertThat(chat.as(bob).deleteConversation(annS.id())).isFalse();
        assertThatThrownBy(() -> chat.as(bob).messages(annS.id())).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
        assertThatThrownBy(() -> chat.as(bob).send(annS.id(), msg("let me in"), new RecordingListener()))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
        assertThatThrownBy(() -> chat.as(adminKey).messages(annS.id())).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
        assertThat(chat.as(adminKey).conversations(0, 50).items()).extracting(Conversation::id)
                .containsExactlyInAnyOrder(adaS.id(), legacy.id());
        assertThat(store.messages(annS.id())).isEmpty();
        assertThat(chat.as(ann).conversations(0, 50).items()).extracting(Conversation::id)
                .containsExactlyInAnyOrder(annS.id(), legacy.id());

        // The tenant's admin sees, writes into and deletes every conversation of its tenant, and no other tenant's.
        assertThat(chat.as(admin).conversations(0, 50).items()).extracting(Conversation::id)
                .containsExactlyInAnyOrder(annS.id(), bobS.id(), adaS.id(), legacy.id());
        RecordingListener turn = new RecordingListener();
        chat.as(admin).send(annS.id(), msg("moderated"), turn);
        await().atMost(WAIT).until(() -> turn.terminalCount() > 0);
        assertThat(chat.as(ann).messages(annS.id())).extracting(StoredMessage::content).startsWith("moderated");
        assertThat(chat.as(admin).deleteConversation(bobS.id())).isTrue();
        assertThat(chat.as(bob).conversation(bobS.id())).isEmpty();
        assertThat(chat.as(outsider).conversations(0, 50).items()).isEmpty();
        assertThat(chat.as(outsider).conversation(annS.id())).isEmpty();
    }

    @Test
    void coreChecksPermissionsAndModelScopesAgain() {
        router.bindProvider(alpha.tokens("ok"));
        // Other credentials of the user who made the conversation (keys carry their owner's subject).
        var viewer = caller("default", TestConfigs.OWNER.subject(), java.util.Set.of(),
                dev.parley.api.identity.Role.VIEWER);
        Conversation c = conversation("alpha-small", null);
        assertThat(chat.as(viewer).messages(c.id())).isEmpty();
        assertThatThrownBy(() -> chat.as(viewer).send(c.id(), msg("hi"), new RecordingListener()))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN));
        assertThatThrownBy(() -> chat.as(viewer).createConversation(null))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN));

        // A key limited to alpha-large may not use alpha-small, whether named in the turn or by the conversation.
        var scoped = caller("default", TestConfigs.OWNER.subject(), java.util.Set.of("model:alpha-large"),
                dev.parley.api.identity.Role.MEMBER);
        assertThatThrownBy(() -> chat.as(scoped).send(c.id(), msg("hi"), new RecordingListener()))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN));
        assertThat(chat.as(scoped).models()).extracting(m -> m.id()).containsExactly("alpha-large");
        RecordingListener ok = new RecordingListener();
        chat.as(scoped).send(c.id(), new SendMessage("hi", "alpha-large", null), ok);
        await().atMost(WAIT).until(() -> ok.terminalCount() > 0);
        assertThat(answerOf(c.id()).status()).isEqualTo(MessageStatus.COMPLETE);
    }

    @Test
    void happyPathStoresQuestionAndAnswerWithUsageAndTimings() {
        router.bindProvider(alpha.tokens("Hel", "lo", " there").usage(new Usage(42, 3)));
        Conversation c = conversation(null, "Be brief.");

        RecordingListener l = sendAndAwaitEnd(c.id(), msg("Say hello"));

        assertThat(l.errors).isEmpty();
        assertThat(l.events).containsExactly("accepted", "token", "token", "token", "complete");
        assertThat(l.text()).isEqualTo("Hello there");
        assertThat(l.model).isEqualTo("alpha-large");

        List<StoredMessage> stored = store.messages(c.id());
        assertThat(stored).hasSize(2);
        StoredMessage user = stored.get(0);
        assertThat(user.role()).isEqualTo(Role.USER);
        assertThat(user.content()).isEqualTo("Say hello");
        assertThat(user.status()).isEqualTo(MessageStatus.COMPLETE);
        assertThat(l.acceptedUser.id()).isEqualTo(user.id());

        StoredMessage answer = stored.get(1);
        assertThat(answer.id()).isEqualTo(l.answerId);
        assertThat(answer.role()).isEqualTo(Role.ASSISTANT);
        assertThat(answer.content()).isEqualTo("Hello there");
        assertThat(answer.status()).isEqualTo(MessageStatus.COMPLETE);
        assertThat(answer.model()).isEqualTo("alpha-large");
        assertThat(answer.usage()).isEqualTo(new Usage(42, 3));
        assertThat(answer.error()).isNull();
        assertThat(answer.latencyMs()).isNotNull();
        assertThat(answer.timeToFirstTokenMs()).isNotNull().isLessThanOrEqualTo(answer.latencyMs());

        var result = l.completed.get(0);
        assertThat(result.answer()).isEqualTo(answer);
        assertThat(result.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(result.timeToFirstToken()).isLessThanOrEqualTo(result.latency());

        ChatRequest sent = alpha.requests.get(0);
        assertThat(sent.model()).isEqualTo("alpha-large");
        assertThat(sent.messages()).containsExactly(ChatMessage.system("Be brief."), ChatMessage.user("Say hello"));

        await().atMost(WAIT).until(() -> !events.isEmpty());
        Event e = events.get(0);
        assertThat(e.getTopic()).isEqualTo(CoreChatService.TOPIC_TURN_COMPLETED);
        assertThat(e.getProperty("conversationId")).isEqualTo(c.id());
        assertThat(e.getProperty("model")).isEqualTo("alpha-large");
        assertThat(e.getProperty("promptTokens")).isEqualTo(42);
        assertThat(e.getProperty("completionTokens")).isEqualTo(3);
        assertThat(e.getProperty("latencyMs")).isEqualTo(answer.latencyMs());
        assertThat(e.getProperty("errorCode")).isNull();
    }

    @Test
    void secondTurnReplaysHistory() {
        router.bindProvider(alpha.tokens("one"));
        Conversation c = conversation(null, null);
        sendAndAwaitEnd(c.id(), msg("first"));
        alpha.tokens("two");

        sendAndAwaitEnd(c.id(), msg("second"));

        assertThat(alpha.requests.get(1).messages()).containsExactly(ChatMessage.user("first"),
                ChatMessage.assistant("one"), ChatMessage.user("second"));
    }

    @Test
    void providerErrorKeepsPartialAnswerAsInterrupted() {
        router.bindProvider(alpha.tokens("par", "tial")
                .failWith(new ParleyException(ErrorCode.UPSTREAM_FAILURE, "connection reset")));
        Conversation c = conversation(null, null);

        RecordingListener l = sendAndAwaitEnd(c.id(), msg("question"));

        assertThat(l.completed).isEmpty();
        assertThat(l.errors).singleElement().satisfies(e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
            assertThat(e).hasMessage("connection reset");
        });
        List<StoredMessage> stored = store.messages(c.id());
        assertThat(stored.get(0).content()).isEqualTo("question");
        assertThat(stored.get(0).status()).isEqualTo(MessageStatus.COMPLETE);
        StoredMessage answer = stored.get(1);
        assertThat(answer.status()).isEqualTo(MessageStatus.INTERRUPTED);
        assertThat(answer.content()).isEqualTo("partial");
        assertThat(answer.error()).isEqualTo("connection reset");
        assertThat(answer.latencyMs()).isNotNull();

        await().atMost(WAIT).until(() -> !events.isEmpty());
        assertThat(events.get(0).getTopic()).isEqualTo(CoreChatService.TOPIC_TURN_FAILED);
        assertThat(events.get(0).getProperty("errorCode")).isEqualTo("upstream-failure");
    }

    @Test
    void interruptedAnswersWithTextAreReplayedButEmptyOnesAreNot() {
        router.bindProvider(alpha.tokens("half").failWith(new ParleyException(ErrorCode.UPSTREAM_FAILURE, "x")));
        Conversation c = conversation(null, null);
        sendAndAwaitEnd(c.id(), msg("q1"));
        alpha.tokens().failWith(new ParleyException(ErrorCode.UPSTREAM_FAILURE, "y"));
        sendAndAwaitEnd(c.id(), msg("q2"));
        alpha.tokens("ok").ending(ScriptedProvider.Ending.COMPLETE);

        sendAndAwaitEnd(c.id(), msg("q3"));

        // No retries by default: q2 was asked once.
        assertThat(alpha.requests).hasSize(3);
        assertThat(alpha.requests.get(2).messages()).containsExactly(ChatMessage.user("q1"),
                ChatMessage.assistant("half"), ChatMessage.user("q2"), ChatMessage.user("q3"));
    }

    @Test
    void cancelStopsTheProviderAndStoresWhatArrived() {
        router.bindProvider(alpha.tokens("first").hold().tokensAfterGate("never"));
        Conversation c = conversation(null, null);
        RecordingListener l = new RecordingListener();

        StreamHandle handle = chat.as(TestConfigs.OWNER).send(c.id(), msg("go"), l);
        await().atMost(WAIT).until(() -> l.tokens.size() == 1);
        handle.cancel();

        await().atMost(WAIT).until(() -> l.terminalCount() == 1);
        assertThat(alpha.streams().get(0).cancelled).isDone();
        assertThat(l.errors.get(0).code()).isEqualTo(ErrorCode.CANCELLED);
        StoredMessage answer = answerOf(c.id());
        assertThat(answer.status()).isEqualTo(MessageStatus.INTERRUPTED);
        assertThat(answer.content()).isEqualTo("first");
        assertThat(chat.turnsInFlight()).isZero();
    }

    @Test
    void cancelEndsTheTurnEvenWhenTheProviderNeverCallsBack() {
        router.bindProvider(alpha.tokens("a").hold().tokensAfterGate("b").ignoreCancel());
        Conversation c = conversation(null, null);
        RecordingListener l = new RecordingListener();
        StreamHandle handle = chat.as(TestConfigs.OWNER).send(c.id(), msg("go"), l);
        await().atMost(WAIT).until(() -> l.tokens.size() == 1);

        handle.cancel();

        // Core ends the turn without waiting for the provider (the answer is stored on core's store writer).
        await().atMost(WAIT).until(() -> l.terminalCount() > 0);
        assertThat(l.terminalCount()).isEqualTo(1);
        assertThat(l.errors.get(0).code()).isEqualTo(ErrorCode.CANCELLED);
        assertThat(answerOf(c.id()).status()).isEqualTo(MessageStatus.INTERRUPTED);

        // The provider carries on regardless; nothing it says reaches the listener or the store.
        alpha.release();
        await().atMost(WAIT).until(() -> alpha.streams().get(0).done.isDone());
        assertThat(l.tokens).containsExactly("a");
        assertThat(l.terminalCount()).isEqualTo(1);
        assertThat(answerOf(c.id()).content()).isEqualTo("a");
        assertThat(answerOf(c.id()).status()).isEqualTo(MessageStatus.INTERRUPTED);
        handle.cancel(); // harmless
        assertThat(l.terminalCount()).isEqualTo(1);
    }

    @Test
    void listenerThatThrowsCancelsTheStreamAndInterruptsTheAnswer() {
        router.bindProvider(alpha.tokens("one").hold().tokensAfterGate("two"));
        Conversation c = conversation(null, null);
        RecordingListener l = new RecordingListener().failOnToken();

        chat.as(TestConfigs.OWNER).send(c.id(), msg("hi"), l);

        await().atMost(WAIT).until(() -> answerOf(c.id()).status() == MessageStatus.INTERRUPTED);
        StoredMessage answer = answerOf(c.id());
        assertThat(answer.error()).isEqualTo("client disconnected");
        assertThat(answer.content()).isEqualTo("one");
        await().atMost(WAIT).until(() -> alpha.streams().get(0).cancelled.isDone());
        assertThat(l.errors).singleElement().extracting(ParleyException::code).isEqualTo(ErrorCode.CANCELLED);
        assertThat(l.completed).isEmpty();
        assertThat(chat.turnsInFlight()).isZero();
    }

    @Test
    void theProviderThreadNeverWaitsForTheStore() {
        router.bindProvider(alpha.tokens("a", "b"));
        Conversation c = conversation(null, null);
        RecordingListener l = new RecordingListener();
        store.finishGate = new java.util.concurrent.CountDownLatch(1);

        chat.as(TestConfigs.OWNER).send(c.id(), msg("go"), l);

        // The provider's callback thread has returned from onComplete while the answer's write still waits.
        await().atMost(WAIT).until(() -> alpha.streams().size() == 1 && alpha.streams().get(0).done.isDone());
        assertThat(l.completed).isEmpty();
        assertThat(answerOf(c.id()).status()).isEqualTo(MessageStatus.STREAMING);
        assertThat(chat.turnsInFlight()).as("a turn counts as in flight until its answer is stored").isEqualTo(1);

        store.finishGate.countDown();
        await().atMost(WAIT).until(() -> l.terminalCount() > 0);
        assertThat(l.events).containsExactly("accepted", "token", "token", "complete");
        assertThat(l.endedOn).startsWith("parley-core-store-");
        assertThat(answerOf(c.id()).status()).isEqualTo(MessageStatus.COMPLETE);
        await().atMost(WAIT).until(() -> chat.turnsInFlight() == 0);
    }

    @Test
    void listenerThatThrowsOnAcceptNeverStartsTheProvider() {
        router.bindProvider(alpha);
        Conversation c = conversation(null, null);
        RecordingListener l = new RecordingListener().failOnAccept();

        chat.as(TestConfigs.OWNER).send(c.id(), msg("hi"), l);

        await().atMost(WAIT).until(() -> answerOf(c.id()).status() != MessageStatus.STREAMING);
        assertThat(alpha.requests).isEmpty();
        assertThat(store.messages(c.id())).extracting(StoredMessage::status)
                .containsExactly(MessageStatus.COMPLETE, MessageStatus.INTERRUPTED);
        assertThat(answerOf(c.id()).error()).isEqualTo("client disconnected");
    }

    @Test
    void providersComeAndGoAtRuntime() {
        Conversation c = conversation(null, null);
        assertThatThrownBy(() -> chat.as(TestConfigs.OWNER).send(c.id(), msg("hi"), new RecordingListener()))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NO_PROVIDER))
                .hasMessage("no model provider configured — set OPENAI_API_KEY/OPENAI_BASE_URL");
        assertThat(store.messageCount()).isZero();

        router.bindProvider(alpha.tokens("from alpha"));
        assertThat(sendAndAwaitEnd(c.id(), msg("hi")).text()).isEqualTo("from alpha");

        ScriptedProvider beta = provider("beta", model("beta-1", "beta", 4000, 500)).tokens("from ").hold()
                .tokensAfterGate("beta");
        router.bindProvider(beta);
        assertThat(chat.as(TestConfigs.OWNER).models()).extracting(m -> m.id()).containsExactly("alpha-large", "alpha-small", "beta-1");
        RecordingListener onBeta = new RecordingListener();
        chat.as(TestConfigs.OWNER).send(c.id(), new SendMessage("hi beta", "beta-1", null), onBeta);
        await().atMost(WAIT).until(() -> onBeta.tokens.size() == 1);

        router.unbindProvider(beta);

        assertThat(chat.as(TestConfigs.OWNER).models()).extracting(m -> m.id()).doesNotContain("beta-1");
        int before = store.messageCount();
        assertThatThrownBy(() -> chat.as(TestConfigs.OWNER).send(c.id(), new SendMessage("again", "beta-1", null), new RecordingListener()))
                .isInstanceOfSatisfying(ParleyException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND));
        assertThat(store.messageCount()).isEqualTo(before);
        // The turn that started on beta finishes on the provider object it started with.
        beta.release();
        await().atMost(WAIT).until(() -> onBeta.terminalCount() == 1);
        assertThat(onBeta.completed).hasSize(1);
        assertThat(onBeta.text()).isEqualTo("from beta");
        assertThat(answerOf(c.id()).content()).isEqualTo("from beta");
        assertThat(answerOf(c.id()).status()).isEqualTo(MessageStatus.COMPLETE);

        router.unbindProvider(alpha);
        assertThatThrownBy(() -> chat.as(TestConfigs.OWNER).send(c.id(), msg("x"), new RecordingListener()))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NO_PROVIDER));
    }

    @Test
    void unknownModelNamesItAndListsTheAvailableOnes() {
        router.bindProvider(alpha);
        Conversation c = conversation(null, null);

        assertThatThrownBy(() -> chat.as(TestConfigs.OWNER).send(c.id(), new SendMessage("hi", "gpt-9", null), new RecordingListener()))
                .isInstanceOfSatisfying(ParleyException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND))
                .hasMessageContaining("gpt-9")
                .hasMessageContaining("alpha-large")
                .hasMessageContaining("alpha-small");
        assertThat(store.messageCount()).isZero();
    }

    @Test
    void modelComesFromMessageThenConversationThenConfiguredDefault() {
        chat = new CoreChatService(store, router = TestConfigs.router(), TestConfigs.config("alpha-small", 32000, 20, 0));
        router.bindProvider(alpha);
        Conversation plain = conversation(null, null);
        Conversation pinned = conversation("alpha-large", null);

        assertThat(sendAndAwaitEnd(plain.id(), msg("a")).model).isEqualTo("alpha-small");
        assertThat(sendAndAwaitEnd(pinned.id(), msg("b")).model).isEqualTo("alpha-large");
        assertThat(sendAndAwaitEnd(pinned.id(), new SendMessage("c", "alpha-small", null)).model)
                .isEqualTo("alpha-small");
        assertThat(alpha.requests).extracting(ChatRequest::model)
                .containsExactly("alpha-small", "alpha-large", "alpha-small");
    }

    @Test
    void longConversationsAreTrimmedKeepingSystemPromptAndNewestMessages() {
        ScriptedProvider small = provider("small", model("small-1", "small", 120, 20)).tokens("ok");
        router.bindProvider(small);
        Conversation c = conversation(null, "You are terse.");
        for (int i = 0; i < 6; i++) {
            sendAndAwaitEnd(c.id(), msg("question number " + i + " " + "x".repeat(60)));
        }

        ChatRequest last = small.requests.get(5);
        List<ChatMessage> sent = last.messages();
        assertThat(sent.get(0)).isEqualTo(ChatMessage.system("You are terse."));
        assertThat(sent.get(sent.size() - 1).content()).startsWith("question number 5 ");
        assertThat(sent).noneMatch(m -> m.content().startsWith("question number 0 "));
        assertThat(sent.size()).isLessThan(1 + 2 * 5 + 1);
        assertThat(small.estimateTokens("small-1", sent)).isLessThanOrEqualTo(120 - 20);
    }

    @Test
    void oversizeMessagesAreRejectedBeforeAnythingIsStored() {
        chat = new CoreChatService(store, router = TestConfigs.router(), TestConfigs.config("", 100, 20, 0));
        // 40-token window with 20 reserved for the answer: 100 characters (~29 tokens) do not fit.
        ScriptedProvider small = provider("small", model("small-1", "small", 40, 20));
        router.bindProvider(small);
        Conversation c = conversation(null, null);

        assertThatThrownBy(() -> chat.as(TestConfigs.OWNER).send(c.id(), msg("x".repeat(101)), new RecordingListener()))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.TOO_LARGE));
        assertThatThrownBy(() -> chat.as(TestConfigs.OWNER).send(c.id(), msg("y".repeat(100)), new RecordingListener()))
                .isInstanceOfSatisfying(ParleyException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST))
                .hasMessageStartingWith("message too long for model small-1: ")
                .hasMessageEndingWith("tokens, limit 20");
        assertThatThrownBy(() -> chat.as(TestConfigs.OWNER).send(c.id(), msg("   "), new RecordingListener()))
                .isInstanceOfSatisfying(ParleyException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST));
        assertThatThrownBy(() -> chat.as(TestConfigs.OWNER).send("nope", msg("hi"), new RecordingListener()))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
        assertThat(store.messageCount()).isZero();
        assertThat(small.requests).isEmpty();
    }

    @Test
    void drainWaitsForTheRunningTurnThenRefusesNewOnes() throws Exception {
        router.bindProvider(alpha.tokens("slow").hold().tokensAfterGate(" answer"));
        Conversation c = conversation(null, null);
        RecordingListener l = new RecordingListener();
        chat.as(TestConfigs.OWNER).send(c.id(), msg("go"), l);
        await().atMost(WAIT).until(() -> l.tokens.size() == 1);
        CoreHealthCheck health = new CoreHealthCheck(chat);
        assertThat(health.execute().isOk()).isTrue();

        Future<?> deactivation = testExecutor.submit(chat::deactivate);

        await().atMost(WAIT).until(() -> !chat.accepting());
        assertThat(deactivation).isNotDone();
        assertThat(health.execute().isOk()).isFalse();
        assertThatThrownBy(() -> chat.as(TestConfigs.OWNER).send(c.id(), msg("late"), new RecordingListener()))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE));
        assertThatThrownBy(() -> chat.as(TestConfigs.OWNER).complete(new ChatRequest("", List.of(ChatMessage.user("x")), null, null),
                new RecordingHandler()))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE));

        alpha.release();
        deactivation.get(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
        assertThat(l.completed).hasSize(1);
        assertThat(answerOf(c.id()).status()).isEqualTo(MessageStatus.COMPLETE);
        assertThat(answerOf(c.id()).content()).isEqualTo("slow answer");
        assertThat(store.messages(c.id())).extracting(StoredMessage::content).containsExactly("go", "slow answer");
    }

    @Test
    void drainCancelsWhatDoesNotFinishInTime() throws Exception {
        chat = new CoreChatService(store, router = TestConfigs.router(), TestConfigs.config("", 32000, 0, 0));
        router.bindProvider(alpha.tokens("stuck").hold().ignoreCancel());
        Conversation c = conversation(null, null);
        RecordingListener l = new RecordingListener();
        chat.as(TestConfigs.OWNER).send(c.id(), msg("go"), l);
        await().atMost(WAIT).until(() -> l.tokens.size() == 1);

        chat.deactivate();

        assertThat(l.errors).singleElement().extracting(ParleyException::code).isEqualTo(ErrorCode.UNAVAILABLE);
        assertThat(alpha.streams().get(0).cancelled).isDone();
        StoredMessage answer = answerOf(c.id());
        assertThat(answer.status()).isEqualTo(MessageStatus.INTERRUPTED);
        assertThat(answer.content()).isEqualTo("stuck");
        assertThat(answer.error()).isEqualTo("server shutting down");
    }

    @Test
    void crashRecoveryMarksStreamingAnswersInterrupted() {
        Conversation c = store.create(new NewConversation(null, null, null));
        store.append(c.id(), Role.USER, "before the crash", MessageStatus.COMPLETE, null);
        StoredMessage cut = store.append(c.id(), Role.ASSISTANT, "", MessageStatus.STREAMING, "alpha-small");
        store.finish(cut.id(), "half an ans", MessageStatus.STREAMING, null, null, null, null);

        new CoreChatService(store, router = TestConfigs.router(), TestConfigs.defaults());

        assertThat(store.streaming()).isEmpty();
        StoredMessage recovered = answerOf(c.id());
        assertThat(recovered.id()).isEqualTo(cut.id());
        assertThat(recovered.status()).isEqualTo(MessageStatus.INTERRUPTED);
        assertThat(recovered.error()).isEqualTo("server restarted");
        assertThat(recovered.content()).isEqualTo("half an ans");
        assertThat(store.messages(c.id()).get(0).status()).isEqualTo(MessageStatus.COMPLETE);
    }

    @Test
    void exactlyOneTerminalCallbackWhenTheProviderCompletesTwice() {
        router.bindProvider(alpha.tokens("once").ending(ScriptedProvider.Ending.COMPLETE_TWICE_THEN_TOKEN));
        Conversation c = conversation(null, null);
        RecordingListener l = new RecordingListener();

        chat.as(TestConfigs.OWNER).send(c.id(), msg("hi"), l);

        await().atMost(WAIT).until(() -> alpha.streams().size() == 1 && alpha.streams().get(0).done.isDone());
        assertThat(l.events).containsExactly("accepted", "token", "complete");
        assertThat(answerOf(c.id()).content()).isEqualTo("once");
        assertThat(answerOf(c.id()).status()).isEqualTo(MessageStatus.COMPLETE);
        assertThat(events).hasSize(1);
    }

    @Test
    void usageIsEstimatedWhenTheProviderReportsNone() {
        router.bindProvider(alpha.tokens("abcdefgh").usage(Usage.ZERO));
        Conversation c = conversation(null, null);

        sendAndAwaitEnd(c.id(), msg("12345678"));

        Usage usage = answerOf(c.id()).usage();
        assertThat(usage.promptTokens()).isEqualTo(alpha.estimateTokens("x", List.of(ChatMessage.user("12345678"))));
        assertThat(usage.completionTokens()).isEqualTo(alpha.estimateTokens("x",
                List.of(ChatMessage.assistant("abcdefgh"))));
    }

    @Test
    void statelessCompletionIsRoutedAndGuardedAndStoresNothing() {
        chat = new CoreChatService(store, router = TestConfigs.router(), TestConfigs.config("alpha-small", 32000, 20, 256));
        router.bindProvider(alpha.tokens("4").ending(ScriptedProvider.Ending.COMPLETE_THEN_ERROR));
        RecordingHandler h = new RecordingHandler();

        chat.as(TestConfigs.OWNER).complete(new ChatRequest(" ", List.of(ChatMessage.user("2+2?")), new ChatOptions(0.2, null, null, null),
                null), h);

        await().atMost(WAIT).until(() -> alpha.streams().size() == 1 && alpha.streams().get(0).done.isDone());
        assertThat(h.events).containsExactly("token", "complete");
        assertThat(h.responses.get(0).text()).isEqualTo("4");
        ChatRequest routed = alpha.requests.get(0);
        assertThat(routed.model()).isEqualTo("alpha-small");
        assertThat(routed.options().maxTokens()).isEqualTo(256);
        assertThat(routed.options().temperature()).isEqualTo(0.2);
        assertThat(store.messageCount()).isZero();
        assertThat(chat.turnsInFlight()).isZero();
    }

    @Test
    void healthCheckIsReadyWithoutProvidersAndCriticalWithoutChatService() {
        assertThat(new CoreHealthCheck(null).execute().isOk()).isFalse();
        var result = new CoreHealthCheck(chat).execute();
        assertThat(result.isOk()).isTrue();
        assertThat(result.toString()).contains("providers=0").contains("offline mode");
        router.bindProvider(alpha);
        assertThat(new CoreHealthCheck(chat).execute().toString()).contains("providers=1").contains("models=2");
    }

    @Test
    void providerThatThrowsInsteadOfCallingBackFailsTheTurn() {
        router.bindProvider(new dev.parley.api.llm.ChatModelProvider() {
            @Override
            public String id() {
                return "broken";
            }

            @Override
            public List<dev.parley.api.llm.ModelDescriptor> models() {
                return List.of(model("broken-1", "broken", 8000, 1000));
            }

            @Override
            public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
                throw new IllegalStateException("bug in plugin");
            }
        });
        Conversation c = conversation(null, null);
        RecordingListener l = new RecordingListener();

        chat.as(TestConfigs.OWNER).send(c.id(), msg("hi"), l);

        await().atMost(WAIT).until(() -> l.terminalCount() > 0);
        assertThat(l.events).containsExactly("accepted", "error");
        assertThat(l.errors.get(0).code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(store.messages(c.id())).extracting(StoredMessage::status)
                .containsExactly(MessageStatus.COMPLETE, MessageStatus.INTERRUPTED);
        assertThat(chat.turnsInFlight()).isZero();
    }

    @Test
    void storeFailureOnTheAnswerReachesTheListenerOnce() {
        router.bindProvider(alpha.tokens("fine"));
        Conversation c = conversation(null, null);
        store.failCompleteFinish = true;

        RecordingListener l = sendAndAwaitEnd(c.id(), msg("hi"));

        assertThat(l.completed).isEmpty();
        assertThat(l.errors).singleElement().extracting(ParleyException::code).isEqualTo(ErrorCode.STORE_FAILURE);
        assertThat(store.messages(c.id()).get(0).content()).isEqualTo("hi");
        await().atMost(WAIT).until(() -> !events.isEmpty());
        assertThat(events.get(0).getTopic()).isEqualTo(CoreChatService.TOPIC_TURN_FAILED);
    }

    // --- answers wanted whole (a client that did not ask for a stream) ---

    @Test
    void wholeTurnAsksTheProviderForOneCallAndStoresQuestionAndAnswer() {
        router.bindProvider(alpha.answersWhole().tokens("Hel", "lo", " there").usage(new Usage(42, 3)));
        Conversation c = conversation(null, "Be brief.");
        RecordingListener l = new RecordingListener();

        chat.as(TestConfigs.OWNER).sendWhole(c.id(), msg("Say hello"), l);
        await().atMost(WAIT).until(() -> l.terminalCount() > 0);

        assertThat(alpha.calls).containsExactly("complete");
        assertThat(l.errors).isEmpty();
        // Core hands the listener the whole text as one token, as for any provider that did not stream.
        assertThat(l.events).containsExactly("accepted", "token", "complete");
        assertThat(l.tokens).containsExactly("Hello there");
        assertThat(store.messages(c.id())).extracting(StoredMessage::role, StoredMessage::content, StoredMessage::status)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(Role.USER, "Say hello", MessageStatus.COMPLETE),
                        org.assertj.core.groups.Tuple.tuple(Role.ASSISTANT, "Hello there", MessageStatus.COMPLETE));
        StoredMessage answer = answerOf(c.id());
        assertThat(answer.id()).isEqualTo(l.answerId);
        assertThat(answer.usage()).isEqualTo(new Usage(42, 3));
        assertThat(answer.latencyMs()).isNotNull();
        assertThat(answer.timeToFirstTokenMs()).isNotNull().isLessThanOrEqualTo(answer.latencyMs());
        assertThat(l.completed.get(0).answer()).isEqualTo(answer);
        assertThat(alpha.requests.get(0).messages()).containsExactly(ChatMessage.system("Be brief."),
                ChatMessage.user("Say hello"));
        await().atMost(WAIT).until(() -> chat.turnsInFlight() == 0);
        await().atMost(WAIT).until(() -> !events.isEmpty());
        assertThat(events.get(0).getTopic()).isEqualTo(CoreChatService.TOPIC_TURN_COMPLETED);
    }

    @Test
    void wholeAnswersFallBackToTheStreamForAProviderWithoutOneCall() {
        router.bindProvider(alpha.tokens("Hel", "lo"));
        Conversation c = conversation(null, null);
        RecordingListener l = new RecordingListener();
        RecordingHandler h = new RecordingHandler();

        chat.as(TestConfigs.OWNER).sendWhole(c.id(), msg("hi"), l);
        chat.as(TestConfigs.OWNER).completeWhole(new ChatRequest("", List.of(ChatMessage.user("hi")), null, null), h);
        await().atMost(WAIT).until(() -> l.terminalCount() > 0 && h.events.contains("complete"));

        // The SPI's default complete() streams: same answer, tokens included.
        assertThat(alpha.calls).containsExactly("stream", "stream");
        assertThat(l.events).containsExactly("accepted", "token", "token", "complete");
        assertThat(answerOf(c.id()).content()).isEqualTo("Hello");
        assertThat(h.events).containsExactly("token", "token", "complete");
        assertThat(h.responses.get(0).text()).isEqualTo("Hello");
    }

    @Test
    void wholeStatelessCompletionIsRoutedToTheOneCallAndTimed() {
        chat = new CoreChatService(store, router = TestConfigs.router(), TestConfigs.config("alpha-small", 32000, 20, 256));
        chat.setEventAdmin(recordingEventAdmin());
        router.bindProvider(alpha.answersWhole().tokens("4").ending(ScriptedProvider.Ending.COMPLETE_THEN_ERROR));
        RecordingHandler h = new RecordingHandler();

        chat.as(TestConfigs.OWNER).completeWhole(new ChatRequest(" ", List.of(ChatMessage.user("2+2?")), null, null), h);

        await().atMost(WAIT).until(() -> alpha.streams().size() == 1 && alpha.streams().get(0).done.isDone());
        assertThat(alpha.calls).containsExactly("complete");
        assertThat(h.events).containsExactly("complete");
        assertThat(h.responses.get(0).text()).isEqualTo("4");
        assertThat(alpha.requests.get(0).model()).isEqualTo("alpha-small");
        assertThat(alpha.requests.get(0).options().maxTokens()).isEqualTo(256);
        assertThat(store.messageCount()).isZero();
        await().atMost(WAIT).until(() -> !events.isEmpty());
        Event done = events.get(0);
        assertThat(done.getTopic()).isEqualTo(CoreChatService.TOPIC_TURN_COMPLETED);
        // Answered whole: the first token came with the answer, so there is a time to first token.
        assertThat(done.getProperty("ttftMs")).isNotNull();
        assertThat((Long) done.getProperty("ttftMs")).isLessThanOrEqualTo((Long) done.getProperty("latencyMs"));
        await().atMost(WAIT).until(() -> chat.turnsInFlight() == 0);
    }

    @Test
    void cancellingAWholeTurnStopsTheProviderAndKeepsTheQuestion() {
        router.bindProvider(alpha.answersWhole().tokens("thinking").hold().tokensAfterGate(" more"));
        Conversation c = conversation(null, null);
        RecordingListener l = new RecordingListener();

        StreamHandle handle = chat.as(TestConfigs.OWNER).sendWhole(c.id(), msg("go"), l);
        await().atMost(WAIT).until(() -> alpha.streams().size() == 1);
        handle.cancel();

        await().atMost(WAIT).until(() -> l.terminalCount() == 1);
        assertThat(alpha.streams().get(0).cancelled).isDone();
        assertThat(l.errors.get(0).code()).isEqualTo(ErrorCode.CANCELLED);
        assertThat(l.tokens).isEmpty();
        assertThat(store.messages(c.id())).extracting(StoredMessage::content, StoredMessage::status)
                .containsExactly(org.assertj.core.groups.Tuple.tuple("go", MessageStatus.COMPLETE),
                        org.assertj.core.groups.Tuple.tuple("", MessageStatus.INTERRUPTED));
        await().atMost(WAIT).until(() -> chat.turnsInFlight() == 0);
    }

    @Test
    void drainWaitsForAWholeAnswerAndCancelsWhatOutlivesIt() throws Exception {
        router.bindProvider(alpha.answersWhole().tokens("slow").hold().tokensAfterGate(" answer"));
        RecordingHandler finishing = new RecordingHandler();
        chat.as(TestConfigs.OWNER).completeWhole(new ChatRequest("", List.of(ChatMessage.user("x")), null, null), finishing);
        await().atMost(WAIT).until(() -> alpha.streams().size() == 1);

        Future<?> deactivation = testExecutor.submit(chat::deactivate);
        await().atMost(WAIT).until(() -> !chat.accepting());
        assertThatThrownBy(() -> chat.as(TestConfigs.OWNER).completeWhole(new ChatRequest("", List.of(ChatMessage.user("y")), null, null),
                new RecordingHandler()))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE));
        assertThat(deactivation).isNotDone();
        alpha.release();
        deactivation.get(WAIT.toSeconds(), java.util.concurrent.TimeUnit.SECONDS);
        assertThat(finishing.events).containsExactly("complete");
        assertThat(finishing.responses.get(0).text()).isEqualTo("slow answer");

        // With no drain time a whole answer still running is cancelled, upstream included.
        chat = new CoreChatService(store, router = TestConfigs.router(), TestConfigs.config("", 32000, 0, 0));
        ScriptedProvider stuck = provider("stuck", model("stuck-1", "stuck", 8000, 1000)).answersWhole().hold()
                .ignoreCancel();
        router.bindProvider(stuck);
        Conversation c = conversation(null, null);
        RecordingListener l = new RecordingListener();
        chat.as(TestConfigs.OWNER).sendWhole(c.id(), msg("go"), l);
        await().atMost(WAIT).until(() -> stuck.streams().size() == 1);

        chat.deactivate();

        assertThat(l.errors).singleElement().extracting(ParleyException::code).isEqualTo(ErrorCode.UNAVAILABLE);
        assertThat(stuck.streams().get(0).cancelled).isDone();
        assertThat(answerOf(c.id()).status()).isEqualTo(MessageStatus.INTERRUPTED);
        assertThat(answerOf(c.id()).error()).isEqualTo("server shutting down");
    }

    @Test
    void wholeAnswersGoToTheProviderBoundLastWhileARunningOneFinishesOnItsOwn() {
        router.bindProvider(alpha.answersWhole().tokens("old ").hold().tokensAfterGate("alpha"));
        RecordingHandler onOld = new RecordingHandler();
        chat.as(TestConfigs.OWNER).completeWhole(new ChatRequest("alpha-small", List.of(ChatMessage.user("x")), null, null), onOld);
        await().atMost(WAIT).until(() -> alpha.streams().size() == 1);

        // An upgrade: the new version offers the same models and is bound last.
        ScriptedProvider upgraded = new ScriptedProvider.NextVersion("alpha", model("alpha-small", "alpha", 8000, 1000))
                .answersWhole().tokens("new");
        providers.add(upgraded);
        router.bindProvider(upgraded);
        RecordingHandler onNew = new RecordingHandler();
        chat.as(TestConfigs.OWNER).completeWhole(new ChatRequest("alpha-small", List.of(ChatMessage.user("y")), null, null), onNew);
        await().atMost(WAIT).until(() -> onNew.events.contains("complete"));
        router.unbindProvider(alpha);
        alpha.release();
        await().atMost(WAIT).until(() -> onOld.events.contains("complete"));

        assertThat(upgraded.calls).containsExactly("complete");
        assertThat(onNew.responses.get(0).text()).isEqualTo("new");
        assertThat(onOld.responses.get(0).text()).isEqualTo("old alpha");
        await().atMost(WAIT).until(() -> chat.turnsInFlight() == 0);
    }

    @Test
    void providerWhoseOneCallThrowsFailsTheWholeTurn() {
        router.bindProvider(new dev.parley.api.llm.ChatModelProvider() {
            @Override
            public String id() {
                return "broken";
            }

            @Override
            public List<dev.parley.api.llm.ModelDescriptor> models() {
                return List.of(model("broken-1", "broken", 8000, 1000));
            }

            @Override
            public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
                throw new AssertionError("a whole answer must not be streamed from a provider with complete()");
            }

            @Override
            public StreamHandle complete(ChatRequest request, ChatStreamHandler handler) {
                throw new IllegalStateException("bug in plugin");
            }
        });
        Conversation c = conversation(null, null);
        RecordingListener l = new RecordingListener();

        chat.as(TestConfigs.OWNER).sendWhole(c.id(), msg("hi"), l);

        await().atMost(WAIT).until(() -> l.terminalCount() > 0);
        assertThat(l.events).containsExactly("accepted", "error");
        assertThat(l.errors.get(0).code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(store.messages(c.id())).extracting(StoredMessage::status)
                .containsExactly(MessageStatus.COMPLETE, MessageStatus.INTERRUPTED);
        await().atMost(WAIT).until(() -> chat.turnsInFlight() == 0);
    }

    @Test
    void aCompletionIsCheckedBeforeItIsRoutedAndKeepsItsToolChoiceAndFormat() {
        chat = new CoreChatService(store, router = TestConfigs.router(), TestConfigs.config("alpha-small", 32000, 20, 256));
        router.bindProvider(alpha.tokens("ok"));
        var tools = List.of(new dev.parley.api.llm.ToolSpec("weather", null, "{\"type\":\"object\"}"));
        var options = new ChatOptions(null, null, null, null, dev.parley.api.llm.ToolChoice.tool("weather"),
                dev.parley.api.llm.ResponseFormat.JSON_OBJECT);

        ParleyException orphan = catchThrowableOfType(ParleyException.class, () -> chat.as(TestConfigs.OWNER).complete(new ChatRequest("",
                List.of(ChatMessage.user("x"), ChatMessage.tool("call_9", "42")), null, null), new RecordingHandler()));
        RecordingHandler h = new RecordingHandler();
        chat.as(TestConfigs.OWNER).complete(new ChatRequest("", List.of(ChatMessage.user("weather?")), options, tools), h);

        assertThat(orphan.param()).hasValue("messages[1].tool_call_id");
        await().atMost(WAIT).until(() -> h.events.contains("complete"));
        assertThat(alpha.requests).hasSize(1);
        ChatRequest sent = alpha.requests.get(0);
        assertThat(sent.tools()).isEqualTo(tools);
        assertThat(sent.options().toolChoice()).isEqualTo(dev.parley.api.llm.ToolChoice.tool("weather"));
        assertThat(sent.options().responseFormat()).isEqualTo(dev.parley.api.llm.ResponseFormat.JSON_OBJECT);
        // The configured default answer length was added without losing the rest of the options.
        assertThat(sent.options().maxTokens()).isEqualTo(256);
    }

    @Test
    void anImageToAModelThatDeclaresNoVisionIsRefusedBeforeTheProviderIsCalled() {
        ScriptedProvider blind = provider("blind", new dev.parley.api.llm.ModelDescriptor("blind-1", "blind", null,
                8000, 1000, java.util.Set.of(dev.parley.api.llm.ModelCapability.TOOLS)));
        router.bindProvider(blind.tokens("never"));

        ParleyException e = catchThrowableOfType(ParleyException.class, () -> chat.as(TestConfigs.OWNER).complete(new ChatRequest("blind-1",
                List.of(ChatMessage.user(List.of(dev.parley.api.llm.ContentPart.text("what is it?"),
                        dev.parley.api.llm.ContentPart.imageUrl("https://example.com/a.png", null)))), null, null),
                new RecordingHandler()));

        assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThat(e.param()).hasValue("messages[0].content");
        assertThat(blind.requests).isEmpty();
    }

    static final class RecordingHandler implements ChatStreamHandler {
        final List<String> events = new CopyOnWriteArrayList<>();
        final List<ChatResponse> responses = new CopyOnWriteArrayList<>();

        @Override
        public void onToken(String delta) {
            events.add("token");
        }

        @Override
        public void onComplete(ChatResponse response) {
            events.add("complete");
            responses.add(response);
        }

        @Override
        public void onError(ParleyException error) {
            events.add("error");
        }
    }
}

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
import org.junit.jupiter.api.Test;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.chat.Conversation;
import dev.parley.api.chat.MessageStatus;
import dev.parley.api.chat.NewConversation;
import dev.parley.api.chat.SendMessage;
import dev.parley.api.chat.StoredMessage;
import dev.parley.api.chat.TurnListener;
import dev.parley.api.chat.TurnResult;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolCallDelta;

/**
 * Tool calls streamed piece by piece and the answering model, through the router and core's guarded streams to a
 * client's handler or listener: order, the first-token rules, fallback, and what a misbehaving provider may not do.
 */
class StreamedToolCallsTest {
    private static final Duration WAIT = Duration.ofSeconds(10);

    private final ManualTimers timers = new ManualTimers();
    private final List<ScriptedProvider> providers = new ArrayList<>();
    private final InMemoryConversationStore store = new InMemoryConversationStore();
    private ModelRouter router;
    private CoreChatService chat;
    private ScriptedProvider alpha;
    private ScriptedProvider beta;

    @AfterEach
    void tearDown() {
        if (router != null) {
            router.deactivate();
        }
        providers.forEach(ScriptedProvider::close);
    }

    /** An alias {@code pair=priority:alpha/a-1,beta/b-1}; one call per target unless given; timeouts off unless given. */
    private void start(Map<String, Object> config) {
        Map<String, Object> c = new HashMap<>(config);
        c.putIfAbsent("aliases", new String[] { "pair=priority:alpha/a-1,beta/b-1" });
        c.putIfAbsent("retryMaxAttempts", 1);
        c.putIfAbsent("firstTokenTimeoutMillis", 0L);
        c.putIfAbsent("answerTimeoutMillis", 0L);
        router = new ModelRouter(new InMemoryRouterStateStore(), TestConfigs.routerSettings(c), timers,
                new MutableClock(), new SplittableRandom(1));
        alpha = provider("alpha", "a-1").tokens("from ", "alpha");
        beta = provider("beta", "b-1").tokens("from ", "beta");
        router.bindProvider(alpha);
        router.bindProvider(beta);
        chat = new CoreChatService(store, router, TestConfigs.defaults());
    }

    private ScriptedProvider provider(String id, String model) {
        ScriptedProvider p = new ScriptedProvider(id, model(model, id, 8000, 1000));
        providers.add(p);
        return p;
    }

    private static ToolCallDelta first(int index, String id, String name, String args) {
        return new ToolCallDelta(index, id, name, args);
    }

    private static ToolCallDelta more(int index, String args) {
        return new ToolCallDelta(index, null, null, args);
    }

    private Trace complete(String model) {
        Trace t = new Trace();
        chat.as(TestConfigs.OWNER).complete(new ChatRequest(model, List.of(ChatMessage.user("weather?")), null, null), t);
        return t.awaitEnd();
    }

    @Test
    void piecesInterleavedWithTextReachTheHandlerInOrderAfterTheAnsweringModel() {
        start(Map.of());
        // Two parallel calls; arguments split inside a key, inside a string and between a colon and its value.
        alpha.pieces("Let me ", first(0, "call_a", "weather", ""), more(0, "{\"ci"), "check ",
                more(0, "ty\":\"Os"), first(1, "call_b", "time", "{\"tz\":"), more(0, "lo\"}"), more(1, "\"CET\"}"),
                "both.");

        Trace t = complete("pair");

        assertThat(t.events).containsExactly(
                "answering alpha/a-1",
                "token Let me ",
                "tool 0 call_a weather ",
                "tool 0 - - {\"ci",
                "token check ",
                "tool 0 - - ty\":\"Os",
                "tool 1 call_b time {\"tz\":",
                "tool 0 - - lo\"}",
                "tool 1 - - \"CET\"}",
                "token both.",
                "complete");
        ChatResponse r = t.responses.get(0);
        assertThat(r.toolCalls()).containsExactly(new ToolCall("call_a", "weather", "{\"city\":\"Oslo\"}"),
                new ToolCall("call_b", "time", "{\"tz\":\"CET\"}"));
        assertThat(t.joined()).isEqualTo(r.toolCalls());
        assertThat(r.finishReason()).isEqualTo(FinishReason.TOOL_CALLS);
    }

    @Test
    void aFallbackBeforeAnythingStreamedNamesOnlyTheTargetThatAnswers() {
        start(Map.of());
        alpha.tokens().failWith(new ParleyException(ErrorCode.OVERLOADED, "busy"));
        beta.pieces(first(0, "call_1", "weather", "{}"));

        Trace t = complete("pair");

        assertThat(t.events).containsExactly("answering beta/b-1", "tool 0 call_1 weather {}", "complete");
    }

    @Test
    void aToolCallPieceEndsTheFirstTokenWait() {
        start(Map.of("firstTokenTimeoutMillis", 3000L));
        alpha.pieces(first(0, "call_1", "weather", "{\"city\":")).hold();
        Trace t = new Trace();
        chat.as(TestConfigs.OWNER).complete(new ChatRequest("pair", List.of(ChatMessage.user("weather?")), null, null), t);
        await().atMost(WAIT).until(() -> t.events.size() == 2);

        timers.advance(Duration.ofSeconds(5));
        alpha.release();
        t.awaitEnd();

        assertThat(t.events).containsExactly("answering alpha/a-1", "tool 0 call_1 weather {\"city\":", "complete");
        assertThat(alpha.streams().get(0).cancelled).isNotDone();
        assertThat(beta.requests).isEmpty();
    }

    @Test
    void afterAToolCallPieceAFailureEndsTheAnswerWithoutFallback() {
        start(Map.of());
        alpha.pieces(first(0, "call_1", "weather", "{\"ci")).failWith(
                new ParleyException(ErrorCode.UPSTREAM_FAILURE, "connection reset"));

        Trace t = complete("pair");

        assertThat(t.events).containsExactly("answering alpha/a-1", "tool 0 call_1 weather {\"ci",
                "error upstream-failure");
        assertThat(beta.requests).isEmpty();
    }

    @Test
    void aTurnStreamsPiecesToItsListenerAndStoresThePartialAnswerInterruptedWhenTheProviderFails() {
        start(Map.of());
        alpha.pieces("Checking", first(0, "call_1", "weather", "{\"city\""))
                .failWith(new ParleyException(ErrorCode.OVERLOADED, "busy"));
        Conversation c = chat.as(TestConfigs.OWNER).createConversation(new NewConversation("t", "pair", null));
        Trace t = new Trace();

        chat.as(TestConfigs.OWNER).send(c.id(), new SendMessage("weather?", null, null), t);
        t.awaitEnd();

        assertThat(t.events).containsExactly("answering alpha/a-1", "token Checking",
                "tool 0 call_1 weather {\"city\"", "error overloaded");
        await().atMost(WAIT).until(() -> store.messages(c.id()).get(1).status() != MessageStatus.STREAMING);
        StoredMessage answer = store.messages(c.id()).get(1);
        assertThat(answer.status()).isEqualTo(MessageStatus.INTERRUPTED);
        assertThat(answer.content()).isEqualTo("Checking");
        assertThat(beta.requests).isEmpty();
    }

    @Test
    void piecesAfterTheEndAreDropped() {
        start(Map.of());
        alpha.pieces("done").ending(ScriptedProvider.Ending.COMPLETE_THEN_PIECE);

        Trace t = complete("alpha/a-1");
        await().atMost(WAIT).until(() -> alpha.streams().get(0).done.isDone());

        assertThat(t.events).containsExactly("answering alpha/a-1", "token done", "complete");
    }

    @Test
    void aPieceForACallThatNeverStartedEndsTheAnswerAsAProtocolError() {
        start(Map.of());
        alpha.pieces("Hm", first(0, "call_1", "weather", "{}"), more(1, "{\"x\":1}"), "never sent");
        alpha.hold();

        Trace t = complete("alpha/a-1");

        assertThat(t.events).containsExactly("answering alpha/a-1", "token Hm", "tool 0 call_1 weather {}",
                "error upstream-protocol");
        assertThat(t.errors.get(0).getMessage()).contains("tool call 1").contains("never started");
        assertThat(alpha.streams().get(0).cancelled).isDone();
    }

    @Test
    void aCallThatSkipsAheadEndsTheAnswerAsAProtocolError() {
        start(Map.of());
        alpha.pieces(first(1, "call_2", "time", "{}"));

        Trace t = complete("alpha/a-1");

        assertThat(t.events).containsExactly("answering alpha/a-1", "error upstream-protocol");
        assertThat(t.errors.get(0).getMessage()).contains("tool call 1 before call 0 started");
    }

    @Test
    void aRepeatedNameOnALaterPieceIsLeftOutAndEmptyLaterPiecesAreDropped() {
        start(Map.of());
        alpha.pieces(first(0, "call_1", "weather", ""), more(0, ""), first(0, "call_1", "weather", "{}"))
                .wholeToolCalls(new ToolCall("call_1", "weather", "{}"));

        Trace t = complete("alpha/a-1");

        assertThat(t.events).containsExactly("answering alpha/a-1", "tool 0 call_1 weather ", "tool 0 - - {}",
                "complete");
        assertThat(t.joined()).isEqualTo(t.responses.get(0).toolCalls());
    }

    /** Every callback of a completion or a turn in order, one line each. */
    static final class Trace implements ChatStreamHandler, TurnListener {
        final List<String> events = new CopyOnWriteArrayList<>();
        final List<ToolCallDelta> pieces = new CopyOnWriteArrayList<>();
        final List<ChatResponse> responses = new CopyOnWriteArrayList<>();
        final List<ParleyException> errors = new CopyOnWriteArrayList<>();

        @Override
        public void onToken(String delta) {
            events.add("token " + delta);
        }

        @Override
        public void onToolCallDelta(ToolCallDelta d) {
            pieces.add(d);
            events.add("tool " + d.index() + " " + (d.id() == null ? "-" : d.id()) + " "
                    + (d.name() == null ? "-" : d.name()) + " " + d.argumentsDelta());
        }

        @Override
        public void onAnsweringModel(String providerId, String model) {
            events.add("answering " + providerId + "/" + model);
        }

        @Override
        public void onComplete(ChatResponse response) {
            responses.add(response);
            events.add("complete");
        }

        @Override
        public void onComplete(TurnResult result) {
            events.add("complete");
        }

        @Override
        public void onError(ParleyException error) {
            errors.add(error);
            events.add("error " + error.code().slug());
        }

        Trace awaitEnd() {
            await().atMost(WAIT).until(() -> events.stream().anyMatch(e -> e.equals("complete") || e.startsWith("error")));
            return this;
        }

        /** The pieces joined per call, as a client would. */
        List<ToolCall> joined() {
            return ScriptedProvider.joined(new ArrayList<Object>(pieces));
        }
    }
}

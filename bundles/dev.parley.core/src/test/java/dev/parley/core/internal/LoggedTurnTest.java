package dev.parley.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.chat.AnswerRoute;
import dev.parley.api.chat.MessageStatus;
import dev.parley.api.chat.Role;
import dev.parley.api.chat.StoredMessage;
import dev.parley.api.chat.TurnListener;
import dev.parley.api.chat.TurnResult;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.stream.StreamEntry;
import dev.parley.api.stream.StreamFollower;
import dev.parley.api.stream.StreamLog;
import dev.parley.api.stream.StreamWriter;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.junit.jupiter.api.Test;

/**
 * A streamed turn through the stream log: the client hears of an event only once the log holds it, in order; and
 * what the log holds turns back into the same listener calls when a client resumes.
 */
class LoggedTurnTest {
    static final StoredMessage USER = new StoredMessage("m1", "c1", 1, Role.USER, "hi", MessageStatus.COMPLETE, null,
            null, null, null, null, Instant.EPOCH);
    static final StoredMessage ANSWER = new StoredMessage("m2", "c1", 2, Role.ASSISTANT, "Hel lo",
            MessageStatus.COMPLETE, "model-b", null, null, 120L, 15L, Instant.EPOCH);

    /** A log that holds each entry's durable callback until the test lets it go. */
    static final class HeldLog implements StreamLog {
        final List<StreamEntry> entries = new ArrayList<>();
        final List<Runnable> held = new ArrayList<>();

        @Override
        public StreamWriter open(String streamId) {
            return new StreamWriter() {
                @Override
                public void append(String type, String data, Runnable durable) {
                    entries.add(new StreamEntry(entries.size() + 1, type, data));
                    held.add(durable);
                }

                @Override
                public void end(String type, String data, Runnable durable) {
                    append(type, data, durable);
                }
            };
        }

        void release(int n) {
            for (int i = 0; i < n; i++) {
                held.remove(0).run();
            }
        }

        @Override
        public AutoCloseable follow(String streamId, long after, StreamFollower follower) {
            entries.stream().filter(e -> e.seq() > after).forEach(follower::onEntry);
            follower.onEnd();
            return () -> { };
        }

        @Override
        public CompletionStage<List<StreamEntry>> entries(String streamId) {
            return CompletableFuture.completedFuture(List.copyOf(entries));
        }

        @Override
        public boolean shared() {
            return true;
        }
    }

    /** Writes down each call as text. */
    static final class Calls implements TurnListener {
        final List<String> calls = new ArrayList<>();

        @Override
        public void onAccepted(StoredMessage userMessage, String answerMessageId, String model) {
            calls.add("accepted " + userMessage.id() + " " + answerMessageId + " " + model);
        }

        @Override
        public void onAnsweringModel(String providerId, String model) {
            calls.add("answering " + providerId + " " + model);
        }

        @Override
        public void onToken(String delta) {
            calls.add("token " + delta);
        }

        @Override
        public void onToolCallDelta(ToolCallDelta d) {
            calls.add("tool_call " + d);
        }

        @Override
        public void onComplete(TurnResult r) {
            calls.add("done " + r.answer().content() + " " + r.finishReason() + " " + r.route() + " "
                    + r.latency().toMillis());
        }

        @Override
        public void onError(ParleyException e) {
            calls.add("error " + e.code() + " " + e.getMessage() + " " + e.retryAfter().orElse(null));
        }

        @Override
        public void onInterrupted(StoredMessage partial, ParleyException reason) {
            calls.add("interrupted " + partial.content() + " " + reason.code());
        }
    }

    @Test
    void theClientHearsOfEachEventOnlyOnceTheLogHoldsItInOrder() {
        HeldLog log = new HeldLog();
        Calls client = new Calls();
        LoggedTurn turn = new LoggedTurn(log, client);

        turn.onAccepted(USER, "m2", "alias");
        turn.onToken("Hel");
        turn.onToken(" lo");
        assertThat(log.entries).extracting(StreamEntry::type).containsExactly("accepted", "token", "token");
        assertThat(client.calls).isEmpty();

        log.release(2);
        assertThat(client.calls).containsExactly("accepted m1 m2 alias", "token Hel");
        log.release(1);
        assertThat(client.calls).last().isEqualTo("token  lo");
    }

    @Test
    void whatTheLogHoldsTurnsBackIntoTheSameCallsForAResumingClient() {
        HeldLog log = new HeldLog();
        Calls live = new Calls();
        LoggedTurn turn = new LoggedTurn(log, live);
        AnswerRoute route = new AnswerRoute("alias", "b", "model-b", 2, new BigDecimal("0.00042"));
        turn.onAccepted(USER, "m2", "alias");
        turn.onAnsweringModel("b", "model-b");
        turn.onToolCallDelta(new ToolCallDelta(0, "call_1", "lookup", "{\"q\":"));
        turn.onToolCallDelta(new ToolCallDelta(0, null, null, "\"x\"}"));
        turn.onToken("Hel");
        turn.onToken(" lo");
        turn.onComplete(new TurnResult(ANSWER, FinishReason.STOP, Duration.ofMillis(120), Duration.ofMillis(15), route));
        log.release(log.held.size());

        Calls resumed = new Calls();
        log.follow("m2", 0, new StreamResume(log, new InMemoryConversationStore(), "m2", () -> USER, () -> ANSWER,
                resumed));
        assertThat(resumed.calls).isEqualTo(live.calls);

        Calls late = new Calls();
        log.follow("m2", 5, new StreamResume(log, new InMemoryConversationStore(), "m2", () -> USER, () -> ANSWER,
                late));
        assertThat(late.calls).isEqualTo(live.calls.subList(5, live.calls.size()));
    }

    @Test
    void anErrorWithItsWaitComesBackAsTheSameErrorAndAfterTheEndTheEndComesAgain() {
        HeldLog log = new HeldLog();
        Calls live = new Calls();
        LoggedTurn turn = new LoggedTurn(log, live);
        turn.onAccepted(USER, "m2", "alias");
        turn.onError(new ParleyException(ErrorCode.RATE_LIMITED, "slow down", Duration.ofSeconds(7), null));
        log.release(log.held.size());

        Calls resumed = new Calls();
        log.follow("m2", 1, new StreamResume(log, new InMemoryConversationStore(), "m2", () -> USER, () -> ANSWER,
                resumed));
        assertThat(resumed.calls).containsExactly(live.calls.get(1));

        Calls past = new Calls();
        log.follow("m2", 2, new StreamResume(log, new InMemoryConversationStore(), "m2", () -> USER, () -> ANSWER,
                past));
        assertThat(past.calls).containsExactly("done Hel lo null null 120");
    }

    @Test
    void aTurnRefusedBeforeAcceptanceIsNotLogged() {
        HeldLog log = new HeldLog();
        Calls client = new Calls();
        new LoggedTurn(log, client).onError(new ParleyException(ErrorCode.NO_PROVIDER, "none"));
        assertThat(log.entries).isEmpty();
        assertThat(client.calls).containsExactly("error NO_PROVIDER none null");
    }
}

package dev.parley.core.internal;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.Executor;
import java.util.function.BiConsumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.parley.api.chat.AnswerRoute;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.chat.MessageStatus;
import dev.parley.api.chat.StoredMessage;
import dev.parley.api.chat.TurnListener;
import dev.parley.api.chat.TurnResult;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.llm.Usage;
import dev.parley.api.store.ConversationStore;

/**
 * One conversation turn after the user message is stored: streams the answer to the listener and persists it
 * exactly once, as COMPLETE or as INTERRUPTED with whatever arrived.
 *
 * <p>Tokens are handled on the provider's I/O thread and only appended in memory. The end of the turn (the one
 * store write, the listener's terminal callback, the in-flight bookkeeping) runs on {@code storeWriter}, so a
 * provider's event loop never waits for the database.
 */
final class Turn extends GuardedStream {
    private static final Logger LOG = LoggerFactory.getLogger(Turn.class);

    private final ConversationStore store;
    private final Executor storeWriter;
    private final TurnListener listener;
    private final String conversationId;
    private final String answerId;
    private final RoutedCall routed;
    private final List<ChatMessage> prompt;
    private final StreamClock clock;
    private final ModelPrices prices;
    private final BiConsumer<GuardedStream, TurnOutcome> onEnd;
    private final StringBuilder text = new StringBuilder();
    private volatile TurnOutcome outcome;

    Turn(ConversationStore store, Executor storeWriter, TurnListener listener, String conversationId,
            String answerId, RoutedCall routed, List<ChatMessage> prompt, StreamClock clock, ModelPrices prices,
            BiConsumer<GuardedStream, TurnOutcome> onEnd) {
        this.store = store;
        this.storeWriter = storeWriter;
        this.listener = listener;
        this.conversationId = conversationId;
        this.answerId = answerId;
        this.routed = routed;
        this.prompt = prompt;
        this.clock = clock;
        this.prices = prices;
        this.onEnd = onEnd;
    }

    String answerId() {
        return answerId;
    }

    /** Who follows this turn: the client's listener, or the stream log in front of it. */
    TurnListener listener() {
        return listener;
    }

    @Override
    protected String answerText(ChatResponse response) {
        // Called before deliverComplete: what streamed so far, or the provider's text when nothing streamed.
        return text.isEmpty() ? response.text() : text.toString();
    }

    @Override
    protected void deliverToken(String delta) {
        clock.token();
        text.append(delta);
        listener.onToken(delta);
    }

    /** A tool call piece counts as a token for the timings; the stored answer keeps the text only. */
    @Override
    protected void deliverToolCallDelta(ToolCallDelta delta) {
        clock.token();
        listener.onToolCallDelta(delta);
    }

    @Override
    protected void deliverAnsweringModel(String providerId, String model) {
        listener.onAnsweringModel(providerId, model);
    }

    @Override
    protected void deliverComplete(ChatResponse response) {
        if (text.isEmpty() && !response.text().isEmpty()) {
            // A provider that did not stream: the client still gets the text as one token.
            clock.token();
            text.append(response.text());
            try {
                listener.onToken(response.text());
            } catch (RuntimeException e) {
                LOG.debug("listener failed on final token conversation={}", conversationId, e);
                endInterrupted(new ParleyException(ErrorCode.CANCELLED, CLIENT_GONE));
                return;
            }
        }
        Duration latency = clock.elapsed();
        Duration ttft = clock.sawToken() ? clock.timeToFirstToken() : latency;
        String finalText = text.toString();
        endOffThread(() -> storeComplete(response, finalText, latency, ttft));
    }

    @Override
    protected void deliverError(ParleyException error) {
        endInterrupted(error);
    }

    /** Runs the end of the turn on the store writer, then the in-flight bookkeeping, whatever the end did. */
    private void endOffThread(Runnable end) {
        storeWriter.execute(() -> call().withLogContext(() -> {
            try {
                end.run();
            } finally {
                onEnd.accept(this, outcome);
            }
        }));
    }

    /** Called once, from the terminal callback: stores the answer and tells the listener, off the I/O thread. */
    private void storeComplete(ChatResponse response, String finalText, Duration latency, Duration ttft) {
        Usage usage = response.usage();
        if (usage.totalTokens() == 0) {
            usage = estimate(finalText);
        }
        ModelRouter.Candidate answered = target();
        StoredMessage answer;
        try {
            // After a fallback the answer came from another model than the one it was started for.
            answer = store.finish(answerId, finalText, MessageStatus.COMPLETE, answered.model().id(), usage, null,
                    latency, ttft);
        } catch (RuntimeException e) {
            LOG.error("storing answer failed conversation={} message={}", conversationId, answerId, e);
            ParleyException error = e instanceof ParleyException pe ? pe
                    : new ParleyException(ErrorCode.STORE_FAILURE, "could not store the answer", e);
            outcome = new TurnOutcome(conversationId, modelId(), usage, latency, clock.timeToFirstToken(),
                    error.code(), routed.outcome());
            notifyError(error);
            return;
        }
        RouteOutcome route = routed.outcome();
        outcome = new TurnOutcome(conversationId, modelId(), usage, latency, ttft, null, route);
        try {
            listener.onComplete(new TurnResult(answer, response.finishReason(), latency, ttft,
                    answerRoute(route, answered, usage)));
        } catch (RuntimeException e) {
            // The answer is stored in full; only the client missed the end.
            LOG.debug("listener failed on complete conversation={}", conversationId, e);
        }
    }

    /**
     * The failed end: stores what arrived as INTERRUPTED (the error's message as the reason), then tells the
     * listener, off the I/O thread.
     */
    private void endInterrupted(ParleyException error) {
        Duration latency = clock.elapsed();
        Duration ttft = clock.timeToFirstToken();
        String partial = text.toString();
        endOffThread(() -> {
            try {
                store.finish(answerId, partial, MessageStatus.INTERRUPTED, modelId(), null, error.getMessage(), latency,
                        ttft);
            } catch (RuntimeException e) {
                // The message stays STREAMING; crash recovery marks it interrupted on the next start.
                LOG.error("storing interrupted answer failed conversation={} message={}", conversationId, answerId, e);
            }
            RouteOutcome route = routed.outcome();
            outcome = new TurnOutcome(conversationId, modelId(), null, latency, ttft, error.code(), route);
            LOG.info("turn interrupted conversation={} model={} code={} chars={} attempts={}", conversationId,
                    modelId(), error.code(), partial.length(), route.attempts().size());
            notifyError(error);
        });
    }

    private void notifyError(ParleyException error) {
        try {
            listener.onError(error);
        } catch (RuntimeException e) {
            LOG.debug("listener failed on error conversation={}", conversationId, e);
        }
    }

    /** Who answered, after how many calls, and the cost of what it used. */
    private AnswerRoute answerRoute(RouteOutcome route, ModelRouter.Candidate answered, Usage usage) {
        int calls = (int) route.attempts().stream().filter(a -> !a.skipped()).count();
        String target = answered.providerId() + "/" + answered.model().id();
        return new AnswerRoute(route.requested(), answered.providerId(), answered.model().id(), Math.max(1, calls),
                prices.costUsd(target, answered.model().id(), usage));
    }

    /** The provider that answered counts the tokens it did not report. */
    private Usage estimate(String answer) {
        ModelRouter.Candidate c = target();
        PluginGuard guard = routed.guard();
        int promptTokens = ContextWindow.estimate(guard, c, prompt);
        int completionTokens = answer.isEmpty() ? 0
                : ContextWindow.estimate(guard, c, List.of(ChatMessage.assistant(answer)));
        return new Usage(promptTokens, completionTokens);
    }

    /** The target that answered, else the first one the router chose. */
    private ModelRouter.Candidate target() {
        ModelRouter.Candidate answered = routed.answered();
        return answered != null ? answered : routed.first();
    }

    private String modelId() {
        return target().model().id();
    }

    /** Nothing here: the in-flight bookkeeping runs once the answer is stored (see {@link #deliverComplete}). */
    @Override
    protected void afterEnd() {
    }
}

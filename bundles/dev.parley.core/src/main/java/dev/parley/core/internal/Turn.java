package dev.parley.core.internal;

import java.time.Duration;
import java.util.List;
import java.util.function.BiConsumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.chat.MessageStatus;
import dev.parley.api.chat.StoredMessage;
import dev.parley.api.chat.TurnListener;
import dev.parley.api.chat.TurnResult;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.Usage;
import dev.parley.api.store.ConversationStore;

/**
 * One conversation turn after the user message is stored: streams the answer to the listener and persists it
 * exactly once, as COMPLETE or as INTERRUPTED with whatever arrived.
 */
final class Turn extends GuardedStream {
    private static final Logger LOG = LoggerFactory.getLogger(Turn.class);

    private final ConversationStore store;
    private final TurnListener listener;
    private final String conversationId;
    private final String answerId;
    private final ModelRouter.Route route;
    private final List<ChatMessage> prompt;
    private final StreamClock clock;
    private final BiConsumer<GuardedStream, TurnOutcome> onEnd;
    private final StringBuilder text = new StringBuilder();
    private volatile TurnOutcome outcome;

    Turn(ConversationStore store, TurnListener listener, String conversationId, String answerId,
            ModelRouter.Route route, List<ChatMessage> prompt, StreamClock clock, BiConsumer<GuardedStream, TurnOutcome> onEnd) {
        this.store = store;
        this.listener = listener;
        this.conversationId = conversationId;
        this.answerId = answerId;
        this.route = route;
        this.prompt = prompt;
        this.clock = clock;
        this.onEnd = onEnd;
    }

    String answerId() {
        return answerId;
    }

    @Override
    protected void deliverToken(String delta) {
        clock.token();
        text.append(delta);
        listener.onToken(delta);
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
                failAfterEnd(new ParleyException(ErrorCode.CANCELLED, CLIENT_GONE), e);
                return;
            }
        }
        Duration latency = clock.elapsed();
        Duration ttft = clock.sawToken() ? clock.timeToFirstToken() : latency;
        Usage usage = response.usage();
        if (usage.totalTokens() == 0) {
            usage = estimate();
        }
        StoredMessage answer;
        try {
            answer = store.finish(answerId, text.toString(), MessageStatus.COMPLETE, usage, null, latency, ttft);
        } catch (RuntimeException e) {
            LOG.error("storing answer failed conversation={} message={}", conversationId, answerId, e);
            ParleyException error = e instanceof ParleyException pe ? pe
                    : new ParleyException(ErrorCode.STORE_FAILURE, "could not store the answer", e);
            outcome = new TurnOutcome(conversationId, route.model().id(), usage, latency, clock.timeToFirstToken(),
                    error.code());
            notifyError(error);
            return;
        }
        outcome = new TurnOutcome(conversationId, route.model().id(), usage, latency, ttft, null);
        try {
            listener.onComplete(new TurnResult(answer, response.finishReason(), latency, ttft));
        } catch (RuntimeException e) {
            // The answer is stored in full; only the client missed the end.
            LOG.debug("listener failed on complete conversation={}", conversationId, e);
        }
    }

    @Override
    protected void deliverError(ParleyException error) {
        persistInterrupted(error.getMessage(), error.code());
        notifyError(error);
    }

    /** The listener threw while the final text was handed over: still end as interrupted, once. */
    private void failAfterEnd(ParleyException error, RuntimeException cause) {
        LOG.debug("listener failed on final token conversation={}", conversationId, cause);
        persistInterrupted(CLIENT_GONE, error.code());
        notifyError(error);
    }

    private void persistInterrupted(String reason, ErrorCode code) {
        Duration latency = clock.elapsed();
        Duration ttft = clock.timeToFirstToken();
        try {
            store.finish(answerId, text.toString(), MessageStatus.INTERRUPTED, null, reason, latency, ttft);
        } catch (RuntimeException e) {
            // The message stays STREAMING; crash recovery marks it interrupted on the next start.
            LOG.error("storing interrupted answer failed conversation={} message={}", conversationId, answerId, e);
        }
        outcome = new TurnOutcome(conversationId, route.model().id(), null, latency, ttft, code);
        LOG.info("turn interrupted conversation={} model={} code={} chars={}", conversationId, route.model().id(),
                code, text.length());
    }

    private void notifyError(ParleyException error) {
        try {
            listener.onError(error);
        } catch (RuntimeException e) {
            LOG.debug("listener failed on error conversation={}", conversationId, e);
        }
    }

    private Usage estimate() {
        int promptTokens = route.provider().estimateTokens(route.model().id(), prompt);
        int completionTokens = text.isEmpty() ? 0
                : route.provider().estimateTokens(route.model().id(), List.of(ChatMessage.assistant(text.toString())));
        return new Usage(promptTokens, completionTokens);
    }

    @Override
    protected void afterEnd() {
        onEnd.accept(this, outcome);
    }
}

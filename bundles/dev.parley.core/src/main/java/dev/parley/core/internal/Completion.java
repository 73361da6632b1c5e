package dev.parley.core.internal;

import java.util.function.BiConsumer;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.ToolCallDelta;

/** A stateless completion: the guarded stream forwarded to the caller's handler, nothing persisted. */
final class Completion extends GuardedStream {
    private static final Logger LOG = LoggerFactory.getLogger(Completion.class);

    private final ChatStreamHandler handler;
    private final String model;
    private RoutedCall routed;
    private final StreamClock clock;
    private final BiConsumer<GuardedStream, TurnOutcome> onEnd;
    private volatile TurnOutcome outcome;

    Completion(ChatStreamHandler handler, String model, StreamClock clock, BiConsumer<GuardedStream, TurnOutcome> onEnd) {
        this.handler = handler;
        this.model = model;
        this.clock = clock;
        this.onEnd = onEnd;
    }

    /** The router's call this completion runs on; set before it starts. */
    void routed(RoutedCall routed) {
        this.routed = routed;
    }

    private RouteOutcome route() {
        return routed == null ? null : routed.outcome();
    }

    private String answeredModel() {
        ModelRouter.Candidate c = routed == null ? null : routed.answered();
        return c == null ? model : c.model().id();
    }

    @Override
    protected void deliverToken(String delta) {
        clock.token();
        handler.onToken(delta);
    }

    @Override
    protected void deliverToolCallDelta(ToolCallDelta delta) {
        clock.token();
        handler.onToolCallDelta(delta);
    }

    @Override
    protected void deliverAnsweringModel(String providerId, String model) {
        handler.onAnsweringModel(providerId, model);
    }

    @Override
    protected void deliverComplete(ChatResponse response) {
        if (!clock.sawToken() && !response.text().isEmpty()) {
            // Answered whole (no tokens before): its first token came with the answer.
            clock.token();
        }
        outcome = new TurnOutcome(null, answeredModel(), response.usage(), clock.elapsed(), clock.timeToFirstToken(),
                null, route());
        try {
            handler.onComplete(response);
        } catch (RuntimeException e) {
            LOG.debug("handler failed on complete model={}", model, e);
        }
    }

    @Override
    protected void deliverError(ParleyException error) {
        outcome = new TurnOutcome(null, answeredModel(), null, clock.elapsed(), clock.timeToFirstToken(),
                error.code(), route());
        try {
            handler.onError(error);
        } catch (RuntimeException e) {
            LOG.debug("handler failed on error model={}", model, e);
        }
    }

    @Override
    protected void afterEnd() {
        onEnd.accept(this, outcome);
    }
}

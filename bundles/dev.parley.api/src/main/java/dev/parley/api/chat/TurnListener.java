package dev.parley.api.chat;

import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ToolCallDelta;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Follows one conversation turn. {@link #onAccepted} comes first (the user message is then persisted),
 * then tokens and tool call pieces, then exactly one of {@link #onComplete}, {@link #onError} or (for a resumed
 * stream) {@link #onInterrupted}. Calls never overlap. Each call is one event of the answer's stream: the first is
 * event 1, and a resumed stream ({@link Chat#resume}) goes on with the event after the one the client saw.
 */
@ConsumerType
public interface TurnListener {
    /** The user message is stored and the answer has an id; streaming starts now. */
    default void onAccepted(StoredMessage userMessage, String answerMessageId, String model) {
    }

    void onToken(String delta);

    /**
     * A piece of a tool call the model is making, in order with the tokens. A conversation turn offers the model no
     * tools today, so only a model that calls one on its own sends these, and the stored answer keeps its text only.
     * The default ignores it.
     *
     * @since 1.4
     */
    default void onToolCallDelta(ToolCallDelta delta) {
    }

    /**
     * Which provider and model answer this turn, once the router knows it: before the first token or tool call
     * piece, and again if a fallback hands the turn to another target before anything was streamed. The
     * {@code model} of {@link #onAccepted} is what was asked for. The default ignores it.
     *
     * @since 1.4
     */
    default void onAnsweringModel(String providerId, String model) {
    }

    void onComplete(TurnResult result);

    /** The turn failed; whatever was streamed is stored as an interrupted answer. */
    void onError(ParleyException error);

    /**
     * A resumed stream ({@link Chat#resume}) stopped before its end because the node producing it is gone:
     * {@code partial}, what the log holds of the answer, is stored as the interrupted answer; {@code reason} says
     * why. Comes instead of {@link #onComplete} or {@link #onError}. The default reports {@code reason} to
     * {@link #onError}.
     *
     * @since 2.1
     */
    default void onInterrupted(StoredMessage partial, ParleyException reason) {
        onError(reason);
    }
}

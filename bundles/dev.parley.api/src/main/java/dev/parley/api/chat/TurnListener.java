package dev.parley.api.chat;

import dev.parley.api.error.ParleyException;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Follows one conversation turn. {@link #onAccepted} comes first (the user message is then persisted),
 * then tokens, then exactly one of {@link #onComplete} or {@link #onError}. Calls never overlap.
 */
@ConsumerType
public interface TurnListener {
    /** The user message is stored and the answer has an id; streaming starts now. */
    default void onAccepted(StoredMessage userMessage, String answerMessageId, String model) {
    }

    void onToken(String delta);

    void onComplete(TurnResult result);

    /** The turn failed; whatever was streamed is stored as an interrupted answer. */
    void onError(ParleyException error);
}

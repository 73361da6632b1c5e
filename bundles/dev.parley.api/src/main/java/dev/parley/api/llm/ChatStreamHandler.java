package dev.parley.api.llm;

import dev.parley.api.error.ParleyException;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Receives one streamed answer. Exactly one of {@link #onComplete} or {@link #onError} is called, once,
 * after zero or more {@link #onToken} calls. Calls for one stream never overlap; they may come from any thread.
 * Implementations must return quickly (hand work off rather than block the provider's I/O thread).
 */
@ConsumerType
public interface ChatStreamHandler {
    /** A piece of answer text, in order. */
    void onToken(String delta);

    /** The answer is complete. */
    void onComplete(ChatResponse response);

    /** The answer failed or was cancelled ({@link dev.parley.api.error.ErrorCode#CANCELLED}). */
    void onError(ParleyException error);
}

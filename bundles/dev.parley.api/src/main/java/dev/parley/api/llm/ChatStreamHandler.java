package dev.parley.api.llm;

import dev.parley.api.error.ParleyException;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * Receives one streamed answer. Exactly one of {@link #onComplete} or {@link #onError} is called, once,
 * after zero or more {@link #onToken} and {@link #onToolCallDelta} calls (interleaved as the model produced them). Calls for one stream never overlap; they may come from any thread.
 * Implementations must return quickly (hand work off rather than block the provider's I/O thread).
 */
@ConsumerType
public interface ChatStreamHandler {
    /** A piece of answer text, in order. */
    void onToken(String delta);

    /**
     * A piece of a tool call, in order (since 1.3). A provider that can streams each call's arguments as the vendor
     * sends them; one that cannot may send nothing here and only the whole calls in
     * {@link ChatResponse#toolCalls()}, which always holds every call. The default ignores it.
     *
     * @since 1.3
     */
    default void onToolCallDelta(ToolCallDelta delta) {
    }

    /**
     * The model that is answering, as its provider names it, when it differs from the one asked for (an alias or a
     * fallback target). The router calls it before the first {@link #onToken} or {@link #onToolCallDelta} of an
     * answer; providers need not call it. The default ignores it.
     *
     * @since 1.3
     */
    default void onAnsweringModel(String providerId, String model) {
    }

    /** The answer is complete. */
    void onComplete(ChatResponse response);

    /** The answer failed or was cancelled ({@link dev.parley.api.error.ErrorCode#CANCELLED}). */
    void onError(ParleyException error);
}

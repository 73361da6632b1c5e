package dev.parley.api.store;

import dev.parley.api.chat.MessageStatus;
import dev.parley.api.chat.StoredMessage;
import dev.parley.api.llm.Usage;
import java.time.Duration;
import java.util.List;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Durable conversations and messages, each in one tenant. Everything that names a conversation goes through
 * {@link #tenant}, so a query cannot forget whose conversations it reads; only what works by a message id already
 * handed out within a tenant ({@link #finish}) and the start-up recovery ({@link #streaming}) are tenant-wide.
 * Implementations throw {@link dev.parley.api.error.ParleyException} with {@code STORE_FAILURE} when storage fails
 * and {@code NOT_FOUND} when a referenced conversation or message does not exist (or is another tenant's).
 */
@ProviderType
public interface ConversationStore {
    /** The conversations of tenant {@code tenantId}: nothing through it reads or changes another tenant's. */
    TenantConversations tenant(String tenantId);

    /**
     * Sets the final content, status, usage, error and timings of a message (used when a streamed answer ends).
     * {@code usage}, {@code error}, {@code latency} and {@code timeToFirstToken} may be null.
     */
    StoredMessage finish(String messageId, String content, MessageStatus status, Usage usage, String error,
            Duration latency, Duration timeToFirstToken);

    /**
     * As {@link #finish(String, String, MessageStatus, Usage, String, Duration, Duration)}, and sets the model that
     * gave the answer, which differs from the one the answer was started for after a fallback; a null {@code model}
     * keeps the stored one.
     *
     * @since 1.2
     */
    StoredMessage finish(String messageId, String content, MessageStatus status, String model, Usage usage,
            String error, Duration latency, Duration timeToFirstToken);

    /**
     * Marks answer {@code messageId} {@link MessageStatus#INTERRUPTED} with {@code content} and {@code error}, only
     * if it is still {@link MessageStatus#STREAMING} (whichever node streams it): how another node ends an answer
     * whose producing node is gone. Returns the message as stored afterwards, changed or not; NOT_FOUND when
     * there is no such message.
     *
     * @since 2.2
     */
    StoredMessage interruptIfStreaming(String messageId, String content, String error);

    /**
     * Answers this node left marked {@link MessageStatus#STREAMING}, e.g. after a crash; used at start to mark them
     * interrupted. Where several nodes share one database, answers other nodes are streaming are not included.
     */
    List<StoredMessage> streaming();
}

package dev.parley.api.store;

import dev.parley.api.chat.Conversation;
import dev.parley.api.chat.MessageStatus;
import dev.parley.api.chat.NewConversation;
import dev.parley.api.chat.Page;
import dev.parley.api.chat.Role;
import dev.parley.api.chat.StoredMessage;
import dev.parley.api.llm.Usage;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Durable conversations and messages. Implementations throw
 * {@link dev.parley.api.error.ParleyException} with {@code STORE_FAILURE} when storage fails and
 * {@code NOT_FOUND} when a referenced conversation or message does not exist.
 */
@ProviderType
public interface ConversationStore {
    Conversation create(NewConversation spec);

    Optional<Conversation> find(String id);

    /** Most recently updated first. */
    Page<Conversation> list(int offset, int limit);

    /** Deletes the conversation and its messages. @return false when there was none */
    boolean delete(String id);

    /** Appends a message at the end of the conversation (next {@code seq}) and touches the conversation. */
    StoredMessage append(String conversationId, Role role, String content, MessageStatus status, String model);

    /**
     * Appends {@code messages} in order (consecutive {@code seq}s) in one transaction, and touches the conversation
     * once: a turn's user message and the answer that will stream after it cost one round of writes, not two.
     *
     * @return the stored messages, in the same order
     * @since 1.1
     */
    List<StoredMessage> appendAll(String conversationId, List<NewMessage> messages);

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

    /** Messages of a conversation ordered by {@code seq}. */
    List<StoredMessage> messages(String conversationId);

    /**
     * Answers this node left marked {@link MessageStatus#STREAMING}, e.g. after a crash; used at start to mark them
     * interrupted. Where several nodes share one database, answers other nodes are streaming are not included.
     */
    List<StoredMessage> streaming();
}

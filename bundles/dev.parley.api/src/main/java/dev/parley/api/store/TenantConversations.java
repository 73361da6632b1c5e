package dev.parley.api.store;

import dev.parley.api.chat.Conversation;
import dev.parley.api.chat.MessageStatus;
import dev.parley.api.chat.NewConversation;
import dev.parley.api.chat.Page;
import dev.parley.api.chat.Role;
import dev.parley.api.chat.StoredMessage;
import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * The conversations of one tenant ({@link ConversationStore#tenant}): every query it makes is limited to that
 * tenant; another tenant's conversation is {@code NOT_FOUND} here, as if it did not exist.
 */
@ProviderType
public interface TenantConversations {
    /** The tenant this view is limited to. */
    String tenantId();

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
     */
    List<StoredMessage> appendAll(String conversationId, List<NewMessage> messages);

    /** Messages of a conversation ordered by {@code seq}. */
    List<StoredMessage> messages(String conversationId);
}

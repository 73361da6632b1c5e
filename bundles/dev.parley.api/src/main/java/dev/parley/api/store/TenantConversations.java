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
 * tenant; another tenant's conversation is {@code NOT_FOUND} here, as if it did not exist. {@link #owner} narrows it
 * further to the conversations of one member.
 */
@ProviderType
public interface TenantConversations {
    /** The tenant this view is limited to. */
    String tenantId();

    /**
     * The subject this view is limited to ({@link #owner}), or null for the whole tenant's view.
     *
     * @since 2.1
     */
    String ownerSubject();

    /**
     * The conversations in this tenant that {@code subject} owns, plus those that have no owner (made before
     * conversations had owners): every statement it makes names the owner as well as the tenant, so another member's
     * conversation is {@code NOT_FOUND} there, as another tenant's is. What it creates is owned by {@code subject}.
     * Narrowing a view already limited to another subject is refused.
     *
     * @throws IllegalArgumentException when {@code subject} is null or blank, or this view is limited to another
     *         subject
     * @since 2.1
     */
    TenantConversations owner(String subject);

    /** Creates a conversation, owned by {@link #ownerSubject()} (none in the whole tenant's view). */
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

package dev.parley.api.chat;

import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import java.util.List;
import java.util.Optional;
import org.osgi.annotation.versioning.ProviderType;

/**
 * Chat orchestration for one caller, as the web front ends (REST, WebSocket, OpenAI-compatible) use it: got from
 * {@link ChatService#as}, so every conversation it creates, lists, reads or deletes is in the caller's tenant, and
 * every operation is checked against the caller's permissions ({@link dev.parley.api.error.ErrorCode#FORBIDDEN}
 * otherwise). Another tenant's conversation is {@link dev.parley.api.error.ErrorCode#NOT_FOUND}, as if it did not
 * exist. Failures are {@link dev.parley.api.error.ParleyException}s: thrown for synchronous calls, delivered to the
 * listener for streaming ones.
 */
@ProviderType
public interface Chat {
    Conversation createConversation(NewConversation spec);

    Optional<Conversation> conversation(String id);

    /** Newest first. */
    Page<Conversation> conversations(int offset, int limit);

    /** @return false when there was no such conversation */
    boolean deleteConversation(String id);

    /** All messages of a conversation, in order. Throws NOT_FOUND for an unknown conversation. */
    List<StoredMessage> messages(String conversationId);

    /**
     * Runs one turn: persists the user message, streams the answer to {@code listener}, persists the answer
     * (as {@link MessageStatus#INTERRUPTED} with what arrived, if it failed or was cancelled). Validation
     * errors (unknown conversation, empty message, no provider) are thrown before anything is stored.
     */
    StreamHandle send(String conversationId, SendMessage message, TurnListener listener);

    /**
     * {@link #send}, for a client that wants the answer whole rather than streamed: the provider is asked for it
     * with {@link dev.parley.api.llm.ChatModelProvider#complete}, so one that can answers in one non-streamed
     * upstream call. Persistence, validation, cancellation and the listener's order are {@code send}'s; the
     * listener may get no {@link TurnListener#onToken} at all before {@link TurnListener#onComplete}, whose stored
     * answer always holds the whole text.
     *
     * @since 1.1 (package {@code dev.parley.api.chat} 1.1.0)
     */
    StreamHandle sendWhole(String conversationId, SendMessage message, TurnListener listener);

    /**
     * Resumes the stream of answer {@code answerId} of conversation {@code conversationId} (a turn of
     * {@link #send}) after event {@code after} (0: from the first, {@link TurnListener#onAccepted}): the events the
     * client missed, then the rest as it is produced, on this node or another that shares the stream log. A stream
     * whose producing node is gone ends with {@link TurnListener#onInterrupted} and the partial answer, stored as
     * interrupted; a stream that ended long ago (its log expired) ends with the stored answer's end event.
     * Throws NOT_FOUND for an unknown conversation or answer, and when no stream log serves this node.
     * Cancelling the handle stops following, not the answer.
     *
     * @since 2.1
     */
    StreamHandle resume(String conversationId, String answerId, long after, TurnListener listener);

    /**
     * Whether answers of {@link #send} are written to a stream log: then a client that leaves does not stop the
     * answer (it runs to its end, so that a reconnect gets the rest), and {@link #resume} serves it.
     *
     * @since 2.1
     */
    boolean resumable();

    /** A stateless completion (nothing persisted), routed to the provider of {@code request.model()}. */
    StreamHandle complete(ChatRequest request, ChatStreamHandler handler);

    /**
     * {@link #complete}, for a client that wants the answer whole rather than streamed: routed to
     * {@link dev.parley.api.llm.ChatModelProvider#complete}, so a provider that can answers in one non-streamed
     * upstream call. The handler may get no {@code onToken} at all; the {@code onComplete} response holds the whole
     * text.
     *
     * @since 1.1 (package {@code dev.parley.api.chat} 1.1.0)
     */
    StreamHandle completeWhole(ChatRequest request, ChatStreamHandler handler);

    /**
     * Estimates how many input tokens {@code request} takes with the provider that would answer it (its
     * {@link dev.parley.api.llm.ChatModelProvider#estimateTokens}), tool definitions included; nothing is sent to
     * the model. Throws like {@link #complete} does for an unknown model or when no provider is up.
     *
     * @since 1.2 (package {@code dev.parley.api.chat} 1.2.0)
     */
    int estimateInputTokens(ChatRequest request);

    /** The models of every provider that is up, sorted by id. */
    List<ModelDescriptor> models();
}

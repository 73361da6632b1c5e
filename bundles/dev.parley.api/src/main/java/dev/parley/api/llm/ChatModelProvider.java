package dev.parley.api.llm;

import dev.parley.api.chat.ChatMessage;
import java.util.List;
import org.osgi.annotation.versioning.ConsumerType;

/**
 * The SPI a model provider plugin registers as an OSGi service. Core finds providers dynamically:
 * one that is registered is used at once; one that goes away fails only the calls that need it.
 */
@ConsumerType
public interface ChatModelProvider {
    /**
     * Service property of a provider instance that one tenant owns (its own key, made through the tenant's provider
     * settings): the tenant's id. Such a provider, chat or embedding, serves that tenant's callers only, never claims a
     * bare model id (its models are named {@code providerId/model}), and is never a target for another tenant. A
     * provider without the property is the operator's.
     */
    String TENANT_PROPERTY = "parley.tenant";

    /** Short stable id of this provider instance, e.g. {@code openai}. */
    String id();

    /** The models this provider serves now. */
    List<ModelDescriptor> models();

    /**
     * Starts answering {@code request} and returns at once. The outcome reaches {@code handler}; errors are
     * reported there as {@link dev.parley.api.error.ParleyException}s, never thrown from this method
     * (except for programming errors such as a null argument).
     */
    StreamHandle stream(ChatRequest request, ChatStreamHandler handler);

    /**
     * Starts answering {@code request} for a caller that wants the answer whole (a client that did not ask for a
     * stream), and returns at once. A provider that can ask its model server for the whole answer in one
     * non-streamed upstream call should do so here; the default streams it with {@link #stream}, so a provider
     * that does not override this method still works unchanged.
     *
     * <p>The contract is {@link #stream}'s, with one difference for the handler: it may get any number of
     * {@link ChatStreamHandler#onToken} calls, none at all included (an override that answers in one upstream call
     * sends none; the default sends the streamed tokens), then exactly one {@link ChatStreamHandler#onComplete} or
     * {@link ChatStreamHandler#onError}. The {@link ChatResponse#text()} given to {@code onComplete} is always the
     * whole answer text, whether tokens came before or not, so a caller that wants the answer whole may ignore
     * {@code onToken}. Errors reach {@code onError} as {@link dev.parley.api.error.ParleyException}s, never thrown
     * from this method (except for programming errors); the returned handle cancels the upstream call, after which
     * the handler gets {@code onError} with {@code CANCELLED} unless the answer had already ended; timeouts are the
     * provider's, as for {@link #stream}.
     *
     * @since 1.1 (package {@code dev.parley.api.llm} 1.1.0)
     */
    default StreamHandle complete(ChatRequest request, ChatStreamHandler handler) {
        return stream(request, handler);
    }

    /**
     * Estimates how many prompt tokens {@code messages} take for {@code model}. Used to fit a conversation
     * into the model's context window. The default assumes about four characters per token.
     */
    default int estimateTokens(String model, List<ChatMessage> messages) {
        int chars = 0;
        for (ChatMessage m : messages) {
            chars += m.content().length() + 16;
        }
        return (chars + 3) / 4;
    }
}

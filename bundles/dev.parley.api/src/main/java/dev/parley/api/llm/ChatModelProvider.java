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

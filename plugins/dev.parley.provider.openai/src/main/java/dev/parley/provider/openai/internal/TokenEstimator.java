package dev.parley.provider.openai.internal;

import com.knuddels.jtokkit.Encodings;
import com.knuddels.jtokkit.api.Encoding;
import com.knuddels.jtokkit.api.EncodingRegistry;
import com.knuddels.jtokkit.api.EncodingType;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.llm.ToolCall;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Counts tokens with the model's own tokenizer (jtokkit), for the OpenAI models jtokkit knows; empty for others.
 * The per-message overheads follow OpenAI's cookbook ("How to count tokens with tiktoken"), as langchain4j's
 * estimator did before.
 */
final class TokenEstimator {

    private final Map<String, Optional<Encoding>> byModel = new ConcurrentHashMap<>();
    /** Loads each encoding's table (several MB) only when a model needs it. */
    private volatile EncodingRegistry registry;

    /** Tokens of {@code messages} as a prompt for {@code model}, or empty when the model's tokenizer is unknown. */
    Optional<Integer> messages(String model, List<ChatMessage> messages) {
        Optional<Encoding> encoding = encoding(model);
        if (encoding.isEmpty()) {
            return Optional.empty();
        }
        Encoding e = encoding.get();
        int tokens = 3; // every reply is primed with <|start|>assistant<|message|>
        for (ChatMessage m : messages) {
            tokens += 1 + 3; // role, and the message's framing
            tokens += e.countTokensOrdinary(m.content());
            List<ToolCall> calls = m.toolCalls();
            if (!calls.isEmpty()) {
                tokens += 3;
                if (calls.size() == 1) {
                    ToolCall c = calls.get(0);
                    tokens += -1 + 2 * e.countTokensOrdinary(c.name()) + e.countTokensOrdinary(c.argumentsJson());
                } else {
                    tokens += 15;
                    for (ToolCall c : calls) {
                        tokens += 7 + e.countTokensOrdinary(c.name()) + e.countTokensOrdinary(c.argumentsJson());
                    }
                }
            }
        }
        if (model.startsWith("o")) {
            tokens -= 1;
        }
        return Optional.of(tokens);
    }

    /** Tokens of {@code text} for {@code model}, or empty when the model's tokenizer is unknown. */
    Optional<Integer> text(String model, String text) {
        return encoding(model).map(e -> e.countTokensOrdinary(text));
    }

    private Optional<Encoding> encoding(String model) {
        return byModel.computeIfAbsent(model, m -> {
            // jtokkit reads its tables as resources of its own classes (inside this bundle): make sure any
            // lookup through the context class loader sees this bundle too.
            Thread current = Thread.currentThread();
            ClassLoader previous = current.getContextClassLoader();
            current.setContextClassLoader(TokenEstimator.class.getClassLoader());
            try {
                if (m.startsWith("o") || m.startsWith("gpt-4.")) {
                    // o1/o3/o4 and gpt-4.1 use o200k; the jtokkit release Parley embeds does not list them yet.
                    return Optional.of(registry().getEncoding(EncodingType.O200K_BASE));
                }
                return registry().getEncodingForModel(m);
            } catch (RuntimeException | LinkageError e) {
                return Optional.empty();
            } finally {
                current.setContextClassLoader(previous);
            }
        });
    }

    private EncodingRegistry registry() {
        EncodingRegistry r = registry;
        if (r == null) {
            synchronized (this) {
                r = registry;
                if (r == null) {
                    registry = r = Encodings.newLazyEncodingRegistry();
                }
            }
        }
        return r;
    }
}

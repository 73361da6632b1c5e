package dev.parley.itests.oop;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.embedding.Embedding;
import dev.parley.api.embedding.EmbeddingModel;
import dev.parley.api.embedding.EmbeddingProvider;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.embedding.EmbeddingResponse;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.Usage;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionStage;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * A provider that answers on the calling thread, with no threads, files or sockets of its own, so that the untrusted
 * tier's admission (threads may not be granted there) admits it: {@code "[inline] <last user message>"}. It logs
 * through SLF4J, which the untrusted tier may import. Its embedding model {@code <model>-embed} embeds each input as
 * {@code [its length, its index]}.
 */
public final class InlineHostedProvider implements ChatModelProvider, EmbeddingProvider {
    private static final Logger LOG = LoggerFactory.getLogger(InlineHostedProvider.class);
    private String providerId;
    private String model;

    public void activate(Map<String, Object> properties) {
        providerId = (String) properties.get("providerId");
        model = (String) properties.get("models");
        LOG.info("event=inline_provider_activated provider={}", providerId); // SLF4J resolves in the host too
    }

    public void deactivate() {
        // nothing runs
    }

    @Override
    public String id() {
        return providerId;
    }

    @Override
    public List<ModelDescriptor> models() {
        return List.of(new ModelDescriptor(model, providerId, "Inline hosted test", 8192, 4096));
    }

    @Override
    public List<EmbeddingModel> embeddingModels() {
        return List.of(new EmbeddingModel(model + "-embed", providerId, 2, 512, 16, false));
    }

    @Override
    public CompletionStage<EmbeddingResponse> embed(EmbeddingRequest request) {
        List<Embedding> vectors = new ArrayList<>();
        for (int i = 0; i < request.inputs().size(); i++) {
            vectors.add(new Embedding(i, new float[] {request.inputs().get(i).length(), i}));
        }
        return CompletableFuture.completedFuture(new EmbeddingResponse(request.model(), vectors, 1));
    }

    @Override
    public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
        String last = "";
        for (ChatMessage m : request.messages()) {
            last = m.content();
        }
        String text = "[inline] " + last;
        for (String word : text.split("(?<= )")) {
            handler.onToken(word);
        }
        handler.onComplete(new ChatResponse(text, List.of(), FinishReason.STOP, new Usage(1, 1), model));
        return () -> {
        };
    }
}

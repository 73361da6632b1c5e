package dev.parley.provider.ollama.internal;

import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import java.util.concurrent.CompletableFuture;

/**
 * The handler of a call that is not a chat (an embedding, the model list): its failure fails a future; its success
 * is delivered by the caller through {@link UpstreamCall#succeed}.
 */
final class FutureHandler implements ChatStreamHandler {
    private final CompletableFuture<?> future;

    FutureHandler(CompletableFuture<?> future) {
        this.future = future;
    }

    @Override
    public void onToken(String delta) {
        // not a chat: no tokens
    }

    @Override
    public void onComplete(ChatResponse response) {
        // not a chat: success goes through UpstreamCall.succeed
    }

    @Override
    public void onError(ParleyException error) {
        future.completeExceptionally(error);
    }
}

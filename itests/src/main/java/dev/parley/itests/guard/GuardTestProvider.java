package dev.parley.itests.guard;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.chat.Role;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.Usage;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;

/**
 * A provider plugin that misbehaves as its component property {@code mode} says, packed into a plugin jar by
 * {@link GuardPluginJars}: {@code block-models} (its model list never answers), {@code throw-stream} (every answer
 * throws from {@code stream()}) or {@code ok} (answers "guard: " and the last user message). Blocked calls wait until
 * the component is deactivated or the calling thread is interrupted.
 */
public class GuardTestProvider implements ChatModelProvider {
    private volatile String id = "guard-test";
    private volatile List<ModelDescriptor> models = List.of();
    private volatile String mode = "ok";
    private final CountDownLatch deactivated = new CountDownLatch(1);

    public void activate(Map<String, Object> properties) {
        id = String.valueOf(properties.getOrDefault("providerId", id));
        mode = String.valueOf(properties.getOrDefault("mode", mode));
        String names = String.valueOf(properties.getOrDefault("models", ""));
        models = Arrays.stream(names.split(",")).map(String::strip).filter(s -> !s.isEmpty())
                .map(m -> new ModelDescriptor(m, id, "guard test " + m, 8192, 1024)).toList();
    }

    public void deactivate() {
        deactivated.countDown();
    }

    @Override
    public String id() {
        return id;
    }

    @Override
    public List<ModelDescriptor> models() {
        if ("block-models".equals(mode)) {
            try {
                deactivated.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return models;
    }

    @Override
    public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
        if ("throw-stream".equals(mode)) {
            throw new IllegalStateException("bug in the guard test plugin");
        }
        String last = "";
        for (ChatMessage m : request.messages()) {
            if (m.role() == Role.USER) {
                last = m.content();
            }
        }
        String answer = "guard: " + last;
        handler.onToken(answer);
        handler.onComplete(new ChatResponse(answer, List.of(), FinishReason.STOP, new Usage(4, 4), request.model()));
        return () -> { };
    }
}

package dev.parley.provider.mistral.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.llm.ChatRequest;
import dev.parley.testsupport.mistral.FakeMistralServer;
import dev.parley.testsupport.mistral.MistralBehaviour;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The API key is never logged (at any level, by the plugin or the embedded library) and never appears in what the
 * provider hands out. slf4j-simple writes every level to {@code target/provider-test.log} (see the POM).
 */
class SecretsTest {

    static final String GOOD = "mk-secret-GOOD-7e3b0c";
    static final String BAD = "mk-secret-BAD-91d2aa";

    @Test
    void theKeyIsNeverLoggedNorShown() throws Exception {
        Path log = Path.of(System.getProperty("org.slf4j.simpleLogger.logFile"));
        try (FakeMistralServer server = FakeMistralServer.start(GOOD)) {
            server.models("mistral-small-latest");
            for (String key : List.of(GOOD, BAD)) {
                MistralProvider p = new MistralProvider(MistralProviderTest.settings(server.baseUrl(), key, List.of()));
                try {
                    server.enqueue(MistralBehaviour.rateLimited(1));
                    ChatRequest r = new ChatRequest("mistral-small-latest", List.of(ChatMessage.user("hi")), null, null);
                    RecordingHandler a = new RecordingHandler();
                    p.stream(r, a);
                    RecordingHandler b = new RecordingHandler();
                    p.complete(r, b);
                    a.await(Duration.ofSeconds(20));
                    b.await(Duration.ofSeconds(20));
                    for (RecordingHandler h : List.of(a, b)) {
                        if (h.error != null) {
                            assertThat(h.error.getMessage()).doesNotContain(key);
                            assertThat(String.valueOf(h.error.getCause())).doesNotContain(key);
                        }
                    }
                    try {
                        p.embed(new EmbeddingRequest("mistral-embed", List.of("x"), null)).toCompletableFuture().join();
                    } catch (RuntimeException e) {
                        assertThat(String.valueOf(e)).doesNotContain(key);
                    }
                    assertThat(p.models().toString()).doesNotContain(key);
                } finally {
                    p.deactivate();
                }
            }
        }
        assertThat(log).exists();
        String logged = Files.readString(log);
        assertThat(logged).contains("event=provider_activated").contains("apiKey=set");
        assertThat(logged).doesNotContain(GOOD).doesNotContain(BAD);
    }
}

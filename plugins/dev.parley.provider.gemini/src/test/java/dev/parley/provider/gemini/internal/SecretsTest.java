package dev.parley.provider.gemini.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.llm.ChatRequest;
import dev.parley.testsupport.gemini.FakeGeminiServer;
import dev.parley.testsupport.gemini.GeminiBehaviour;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * The key stays out of logs (every line at DEBUG, langchain4j's included, goes to the file surefire names) and out
 * of what the provider returns; and a stopped provider leaves none of its threads behind.
 */
class SecretsTest {

    static final String KEY = "AIza-never-log-me-4242";

    @Test
    void theKeyIsInNoLogLineAndNoMessage() throws Exception {
        Path log = Path.of(System.getProperty("org.slf4j.simpleLogger.logFile"));
        try (FakeGeminiServer server = FakeGeminiServer.start(KEY)) {
            TestConfig config = new TestConfig(server.baseUrl(), KEY);
            config.id = "secret-test";
            GeminiProvider provider = new GeminiProvider(config, config.properties());
            try {
                var ok = new RecordingHandler();
                provider.stream(new ChatRequest("gemini-2.5-flash", List.of(ChatMessage.user("hi")), null, null), ok);
                ok.await();
                assertThat(ok.error).isNull();
                server.enqueue(GeminiBehaviour.fail(500, "INTERNAL"));
                var failed = new RecordingHandler();
                provider.complete(new ChatRequest("gemini-2.5-flash", List.of(ChatMessage.user("hi")), null, null),
                        failed);
                failed.await();
                assertThat(failed.error.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
                assertThat(failed.error.getMessage()).doesNotContain(KEY);
                assertThat(provider.toString()).doesNotContain(KEY);
            } finally {
                provider.deactivate();
            }
            // The request reached the server with the key, so it was there to leak.
            assertThat(server.lastGenerateRequest().header("x-goog-api-key")).isEqualTo(KEY);
        }
        String lines = Files.readString(log);
        assertThat(lines).contains("event=provider_activated provider=secret-test").contains("apiKey=set");
        assertThat(lines).doesNotContain(KEY);
        assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.isAlive()
                && t.getName().startsWith("parley-gemini-secret-test"));
    }
}

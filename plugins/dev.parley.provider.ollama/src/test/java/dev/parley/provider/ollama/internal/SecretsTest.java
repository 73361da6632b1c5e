package dev.parley.provider.ollama.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.llm.ChatRequest;
import dev.parley.testsupport.ollama.FakeOllamaServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The bearer token reaches the server and nothing else: not the log (at debug), not an error, not toString. */
class SecretsTest {

    static final String TOKEN = "s3cr3t-bearer-token-0042";

    @Test
    void theTokenIsSentButNeverLoggedNorShown() throws Exception {
        Path log = Path.of(System.getProperty("parley.test.log"));
        try (FakeOllamaServer proxied = FakeOllamaServer.start(TOKEN); FakeOllamaServer wrong = FakeOllamaServer.start("other")) {
            // An instance that lists its models from the server, answers a chat, and one whose token is refused.
            OllamaProvider good = new OllamaProvider(new OllamaSettings("good", proxied.baseUrl(), TOKEN, List.of(),
                    List.of(), 8192, 2048, 8, Duration.ofSeconds(2), Duration.ofSeconds(5), Duration.ofSeconds(20),
                    1 << 20, Duration.ofSeconds(1)));
            OllamaProvider refused = new OllamaProvider(new OllamaSettings("refused", wrong.baseUrl(), TOKEN,
                    List.of(), List.of(), 8192, 2048, 8, Duration.ofSeconds(2), Duration.ofSeconds(5),
                    Duration.ofSeconds(20), 1 << 20, Duration.ofSeconds(1)));
            try {
                org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> !good.models().isEmpty());
                RecordingHandler ok = new RecordingHandler();
                good.stream(new ChatRequest("llama3.2:latest", List.of(ChatMessage.user("hi")), null, null), ok);
                ok.awaitResponse();
                assertThat(proxied.lastChatRequest().header("Authorization")).isEqualTo("Bearer " + TOKEN);

                RecordingHandler denied = new RecordingHandler();
                refused.stream(new ChatRequest("llama3.2:latest", List.of(ChatMessage.user("hi")), null, null), denied);
                assertThat(denied.awaitError(ErrorCode.PROVIDER_AUTH).getMessage()).doesNotContain(TOKEN);
                // The refused instance's model list fails too, and is logged: without the token.
                org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(10)).until(() -> Files.exists(log)
                        && Files.readString(log).contains("event=models_fetch_failed provider=refused"));
            } finally {
                good.deactivate();
                refused.deactivate();
            }
            assertThat(good.toString()).doesNotContain(TOKEN);
            assertThat(OllamaSettings.of(config(), TOKEN).toString()).doesNotContain(TOKEN).contains("apiKey=set");
        }
        String logged = Files.readString(log);
        assertThat(logged).contains("event=provider_activated provider=good").contains("token=set");
        assertThat(logged).doesNotContain(TOKEN);
    }

    private static OllamaProviderConfig config() {
        return (OllamaProviderConfig) java.lang.reflect.Proxy.newProxyInstance(SecretsTest.class.getClassLoader(),
                new Class<?>[] {OllamaProviderConfig.class}, (p, m, a) -> {
                    Map<String, Object> values = Map.of("id", "x", "baseUrl", "http://127.0.0.1:1", "contextWindow", 8192,
                            "maxOutputTokens", 1024, "embeddingDimensions", 8, "connectTimeoutSeconds", 1,
                            "responseTimeoutSeconds", 1, "answerTimeoutSeconds", 1, "maxAnswerBytes", 4096,
                            "drainTimeoutSeconds", 0);
                    if (m.getName().equals("models") || m.getName().equals("embeddingModels")) {
                        return new String[0];
                    }
                    if (m.getName().equals("_apiKey")) {
                        return "";
                    }
                    return values.get(m.getName());
                });
    }
}

package dev.parley.provider.anthropic.internal;

import static dev.parley.provider.anthropic.internal.TestConfigs.provider;
import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.llm.ChatRequest;
import dev.parley.testsupport.anthropic.AnthropicBehaviour;
import dev.parley.testsupport.anthropic.FakeAnthropicServer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The key reaches the vendor and nothing else: not the log (read back from slf4j-simple's file), not an error. */
class SecretsTest {

    static final String KEY = "sk-ant-never-log-me-314159";

    @Test
    void theKeyIsSentUpstreamButNeverLoggedNorInAnError() throws Exception {
        try (var server = FakeAnthropicServer.start(KEY)) {
            var p = provider(server.baseUrl() + "/", KEY, "models", new String[] {"claude-sonnet-4-5"});
            try {
                var ok = new RecordingHandler();
                p.stream(new ChatRequest("claude-sonnet-4-5", List.of(ChatMessage.user("hi")), null, null), ok);
                ok.completed();
                server.enqueue(AnthropicBehaviour.fail(401, "authentication_error").message("invalid x-api-key " + KEY));
                var failed = new RecordingHandler();
                p.stream(new ChatRequest("claude-sonnet-4-5", List.of(ChatMessage.user("hi")), null, null), failed);
                assertThat(failed.failed().getMessage()).doesNotContain(KEY);
                assertThat(server.lastMessageRequest().header("x-api-key")).isEqualTo(KEY);
            } finally {
                p.deactivate();
            }
        }
        String log = Files.readString(Path.of("target/unit-test.log"));
        assertThat(log).contains("event=provider_activated").contains("apiKey=set").contains("code=provider-auth");
        assertThat(log).doesNotContain(KEY).doesNotContain("sk-ant-");
    }
}

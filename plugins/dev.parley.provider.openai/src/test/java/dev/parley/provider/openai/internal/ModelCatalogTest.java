package dev.parley.provider.openai.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.core.JsonFactory;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.http.HttpClient;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The model list call's failures are logged by the provider: they must not carry the key upstream quotes back. */
class ModelCatalogTest {
    static final String KEY = "sk-proj-catalog-Secret-4242";
    private HttpServer server;
    private int status;
    private String body;

    @BeforeEach
    void start() throws IOException {
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/v1/models", ex -> {
            byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
            ex.getResponseHeaders().add("Content-Type", "application/json");
            ex.sendResponseHeaders(status, bytes.length);
            ex.getResponseBody().write(bytes);
            ex.close();
        });
        server.start();
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    private ModelCatalog catalog() {
        return new ModelCatalog(new JsonFactory(), HttpClient.newHttpClient(),
                "http://127.0.0.1:" + server.getAddress().getPort() + "/v1", Map.of("Authorization", "Bearer " + KEY),
                Duration.ofSeconds(5));
    }

    @Test
    void aRefusedKeyIsReportedWithoutWhatUpstreamQuotesOfIt() {
        status = 401;
        // What api.openai.com answers for a wrong key: the message quotes the key, partly masked.
        body = "{\"error\":{\"message\":\"Incorrect API key provided: " + KEY + ". You can find your API key at "
                + "https://platform.openai.com/account/api-keys.\",\"type\":\"invalid_request_error\",\"code\":\"invalid_api_key\"}}";
        assertThatThrownBy(() -> catalog().fetch()).isInstanceOf(IOException.class)
                .hasMessageContaining("HTTP 401").hasMessageContaining("OPENAI_API_KEY")
                .hasMessageNotContaining(KEY).hasMessageNotContaining("Secret");
    }

    @Test
    void otherFailuresKeepUpstreamsMessage() {
        status = 503;
        body = "{\"error\":{\"message\":\"The engine is currently overloaded\"}}";
        assertThatThrownBy(() -> catalog().fetch()).hasMessageContaining("HTTP 503").hasMessageContaining("overloaded");
    }

    @Test
    void theModelListIsRead() throws Exception {
        status = 200;
        body = "{\"data\":[{\"id\":\"gpt-4o-mini\"},{\"id\":\"text-embedding-3-small\"}]}";
        assertThat(catalog().fetch()).containsExactly("gpt-4o-mini");
    }

    @Test
    void theLoggedBaseUrlLeavesOutWhatMayBeACredential() {
        assertThat(OpenAiChatModelProvider.loggable("https://api.openai.com/v1")).isEqualTo("https://api.openai.com/v1");
        assertThat(OpenAiChatModelProvider.loggable("http://127.0.0.1:11434/v1")).isEqualTo("http://127.0.0.1:11434/v1");
        assertThat(OpenAiChatModelProvider.loggable("https://user:pa55@gw.example.com:8443/v1?api-key=k3y#x"))
                .isEqualTo("https://gw.example.com:8443/v1");
        assertThat(OpenAiChatModelProvider.loggable("not a url")).isEqualTo("(unparsable)");
    }
}

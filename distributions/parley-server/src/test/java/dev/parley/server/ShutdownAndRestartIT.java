package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.testsupport.FakeOpenAiServer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** SIGTERM lets a running stream finish; what was said survives a restart on the embedded database. */
class ShutdownAndRestartIT {
    static final ObjectMapper JSON = new ObjectMapper();

    @Test
    void aStreamInFlightFinishesOnShutdownAndTheConversationSurvivesRestart(@TempDir Path temp) throws Exception {
        var http = HttpClient.newHttpClient();
        try (var upstream = FakeOpenAiServer.start()) {
            upstream.tokenDelay(Duration.ofMillis(200));
            var env = Map.of("OPENAI_BASE_URL", upstream.baseUrl(), "OPENAI_MODELS", "fake-model");
            var parley = ParleyProcess.start(temp.resolve("data"), env);
            String id;
            try {
                var created = http.send(parley.request("/api/v1/conversations")
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                id = JSON.readTree(created.body()).get("id").asText();

                var accepted = new CountDownLatch(1);
                var stream = CompletableFuture.supplyAsync(() -> {
                    try {
                        var r = http.send(parley.request("/api/v1/conversations/" + id + "/messages?stream=true")
                                .header("Content-Type", "application/json")
                                .POST(HttpRequest.BodyPublishers.ofString("{\"content\":\"a slow answer of several words\"}")).build(),
                                HttpResponse.BodyHandlers.ofLines());
                        return Sse.read(r.body(), e -> {
                            if (e.name().equals("token")) {
                                accepted.countDown();
                            }
                        });
                    } catch (Exception e) {
                        throw new IllegalStateException(e);
                    }
                });
                assertThat(accepted.await(20, TimeUnit.SECONDS)).isTrue();
                assertThat(parley.stop()).as("exit status after SIGTERM").isEqualTo(143);
                assertThat(parley.logLinesWith("Exception")).isEmpty();
                var events = stream.get(30, TimeUnit.SECONDS);
                assertThat(events.get(events.size() - 1).name()).as("%s", events).isEqualTo("done");
            } finally {
                parley.close();
            }

            var again = ParleyProcess.start(temp.resolve("data"), env);
            try {
                var messages = JSON.readTree(http.send(again.request("/api/v1/conversations/" + id + "/messages").build(),
                        HttpResponse.BodyHandlers.ofString()).body()).get("items");
                assertThat(messages).hasSize(2);
                assertThat(messages.get(1).get("status").asText()).isEqualTo("complete");
                assertThat(messages.get(1).get("content").asText()).isEqualTo("echo: a slow answer of several words");
            } finally {
                again.close();
            }
        }
    }
}

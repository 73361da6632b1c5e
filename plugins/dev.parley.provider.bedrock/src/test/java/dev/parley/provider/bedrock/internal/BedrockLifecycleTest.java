package dev.parley.provider.bedrock.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.llm.ChatRequest;
import dev.parley.testsupport.bedrock.BedrockBehaviour;
import dev.parley.testsupport.bedrock.FakeBedrockServer;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Start and stop: no thread left behind, answers in flight drained, secrets never logged. */
class BedrockLifecycleTest {

    static final String MODEL = "amazon.nova-lite-v1:0";
    FakeBedrockServer server;

    @BeforeEach
    void start() {
        server = FakeBedrockServer.start();
    }

    @AfterEach
    void stop() {
        server.close();
    }

    static ChatRequest ask(String text) {
        return new ChatRequest(MODEL, List.of(ChatMessage.user(text)), null, null);
    }

    static long threadsOf(String id) {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive)
                .filter(t -> t.getName().startsWith("parley-bedrock-") && t.getName().contains(id)
                        || t.getName().startsWith("sdk-async-response") || t.getName().startsWith("sdk-ScheduledExecutor")
                        || t.getName().startsWith("aws-java-sdk-NettyEventLoop"))
                .count();
    }

    @Test
    void deactivatingLeavesNoThreadOfTheProviderOrTheSdkBehind() throws Exception {
        BedrockProvider p = new BedrockProvider(TestConfigs.forServer(server, "id", "bedrock-threads"));
        RecordingHandler h = new RecordingHandler();
        p.stream(ask("hello"), h);
        assertThat(h.await().error).isNull();
        assertThat(threadsOf("bedrock-threads")).isPositive();

        long started = System.nanoTime();
        p.deactivate();

        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(2));
        await().atMost(Duration.ofSeconds(5)).until(() -> threadsOf("bedrock-threads") == 0);
    }

    @Test
    void anAnswerInFlightFinishesWhileTheProviderStopsAndNewOnesAreRefused() throws Exception {
        BedrockProvider p = new BedrockProvider(TestConfigs.forServer(server, "drainTimeoutSeconds", 10));
        server.enqueue(BedrockBehaviour.reply("one two three four five").tokenDelay(Duration.ofMillis(150)));
        RecordingHandler running = new RecordingHandler();
        p.stream(ask("count"), running);
        assertThat(running.firstToken.await(10, TimeUnit.SECONDS)).isTrue();

        CompletableFuture<Void> stopping = CompletableFuture.runAsync(p::deactivate);

        assertThat(running.await().error).isNull();
        assertThat(running.response.text()).isEqualTo("one two three four five");
        stopping.get(10, TimeUnit.SECONDS);
        RecordingHandler late = new RecordingHandler();
        p.stream(ask("too late"), late);
        assertThat(late.await().error.code()).isEqualTo(ErrorCode.UNAVAILABLE);
    }

    @Test
    void anAnswerStillRunningAfterTheDrainTimeoutEndsUnavailable() throws Exception {
        BedrockProvider p = new BedrockProvider(TestConfigs.forServer(server, "drainTimeoutSeconds", 0));
        server.enqueue(BedrockBehaviour.reply("one two three four five").tokenDelay(Duration.ofSeconds(1)));
        RecordingHandler running = new RecordingHandler();
        p.stream(ask("count"), running);
        assertThat(running.firstToken.await(10, TimeUnit.SECONDS)).isTrue();

        p.deactivate();

        assertThat(running.await().error.code()).isEqualTo(ErrorCode.UNAVAILABLE);
        assertThat(running.ends).hasValue(1);
    }

    @Test
    void halfStaticCredentialsAreRefusedAndLeaveNothingRunning() {
        assertThatThrownBy(() -> new BedrockProvider(TestConfigs.forServer(server, "id", "bedrock-half",
                "_secretAccessKey", ""))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining(".secretAccessKey").hasMessageNotContaining(FakeBedrockServer.ACCESS_KEY_ID);
        await().atMost(Duration.ofSeconds(5)).until(() -> threadsOf("bedrock-half") == 0);
    }

    @Test
    void neitherTheSecretNorTheSessionTokenEverReachTheLog() throws Exception {
        PrintStream original = System.err;
        ByteArrayOutputStream captured = new ByteArrayOutputStream();
        System.setErr(new PrintStream(captured, true, StandardCharsets.UTF_8));
        try (FakeBedrockServer tokenServer = FakeBedrockServer.start(FakeBedrockServer.ACCESS_KEY_ID,
                FakeBedrockServer.SECRET_ACCESS_KEY, "session-token-xyz", FakeBedrockServer.REGION)) {
            BedrockProvider p = new BedrockProvider(TestConfigs.forServer(tokenServer, "_sessionToken",
                    "session-token-xyz"));
            RecordingHandler ok = new RecordingHandler();
            p.stream(ask("hello"), ok);
            assertThat(ok.await().error).isNull();
            tokenServer.enqueue(BedrockBehaviour.httpError(403, "AccessDeniedException", "no access"));
            RecordingHandler denied = new RecordingHandler();
            p.complete(ask("hello"), denied);
            assertThat(denied.await().error.getMessage()).doesNotContain(FakeBedrockServer.SECRET_ACCESS_KEY);
            p.deactivate();
        } finally {
            System.setErr(original);
        }
        String log = captured.toString(StandardCharsets.UTF_8);
        assertThat(log).contains("event=provider_activated").contains("credentials=static-session");
        assertThat(log).doesNotContain(FakeBedrockServer.SECRET_ACCESS_KEY).doesNotContain("session-token-xyz");
    }
}

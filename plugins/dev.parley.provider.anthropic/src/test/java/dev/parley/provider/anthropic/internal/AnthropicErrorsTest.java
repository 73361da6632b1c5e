package dev.parley.provider.anthropic.internal;

import static dev.parley.provider.anthropic.internal.TestConfigs.provider;
import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatRequest;
import dev.parley.testsupport.anthropic.AnthropicBehaviour;
import dev.parley.testsupport.anthropic.FakeAnthropicServer;
import java.net.ServerSocket;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** Every error class of the Messages API, through the real SDK, mapped into Parley's error model. */
class AnthropicErrorsTest {

    static final String KEY = "sk-ant-errors-secret-42";

    FakeAnthropicServer server;
    AnthropicChatModelProvider provider;

    @BeforeEach
    void start() {
        server = FakeAnthropicServer.start(KEY);
        provider = provider(server.baseUrl(), KEY, "models", new String[] {"claude-sonnet-4-5"});
    }

    @AfterEach
    void stop() {
        provider.deactivate();
        server.close();
    }

    static ChatRequest ask() {
        return new ChatRequest("claude-sonnet-4-5", List.of(ChatMessage.user("hello")), null, null);
    }

    ParleyException streamed() throws InterruptedException {
        var h = new RecordingHandler();
        provider.stream(ask(), h);
        return h.failed();
    }

    ParleyException whole() throws InterruptedException {
        var h = new RecordingHandler();
        provider.complete(ask(), h);
        return h.failed();
    }

    @ParameterizedTest(name = "HTTP {0} {1} -> {2}")
    @CsvSource({
            "400, invalid_request_error, INVALID_REQUEST",
            "401, authentication_error, PROVIDER_AUTH",
            "403, permission_error, PROVIDER_PERMISSION",
            "404, not_found_error, MODEL_NOT_FOUND",
            "413, request_too_large, INVALID_REQUEST",
            "429, rate_limit_error, RATE_LIMITED",
            "500, api_error, UPSTREAM_FAILURE",
            "503, api_error, UPSTREAM_FAILURE",
            "504, timeout_error, UPSTREAM_TIMEOUT",
            "529, overloaded_error, OVERLOADED"})
    void everyDocumentedErrorStatusMapsStreamedAndWhole(int status, String type, ErrorCode expected) throws Exception {
        server.enqueue(AnthropicBehaviour.fail(status, type));
        ParleyException s = streamed();
        assertThat(s.code()).isEqualTo(expected);
        server.enqueue(AnthropicBehaviour.fail(status, type));
        assertThat(whole().code()).isEqualTo(expected);
        assertThat(s.getMessage()).doesNotContain(KEY);
    }

    @Test
    void aWrongKeyIsProviderAuthAndTheMessageNamesNoKey() throws Exception {
        var wrong = provider(server.baseUrl(), "sk-ant-wrong-key-77", "models", new String[] {"claude-sonnet-4-5"});
        try {
            var h = new RecordingHandler();
            wrong.stream(ask(), h);
            ParleyException e = h.failed();
            assertThat(e.code()).isEqualTo(ErrorCode.PROVIDER_AUTH);
            assertThat(e.getMessage()).contains(".apiKey").doesNotContain("sk-ant-wrong-key-77").doesNotContain(KEY);
            assertThat(server.lastMessageRequest().header("x-api-key")).isEqualTo("sk-ant-wrong-key-77");
        } finally {
            wrong.deactivate();
        }
    }

    @Test
    void rateLimitedCarriesTheVendorsRetryHint() throws Exception {
        server.enqueue(AnthropicBehaviour.rateLimited(7));
        ParleyException e = streamed();
        assertThat(e.code()).isEqualTo(ErrorCode.RATE_LIMITED);
        assertThat(e.retryAfter()).contains(Duration.ofSeconds(7));
        assertThat(e.getMessage()).contains("rate limit");
    }

    @Test
    void overloadedCarriesARetryHintWhenTheVendorSendsOne() throws Exception {
        server.enqueue(AnthropicBehaviour.overloaded().retryAfter(3));
        ParleyException e = whole();
        assertThat(e.code()).isEqualTo(ErrorCode.OVERLOADED);
        assertThat(e.retryAfter()).contains(Duration.ofSeconds(3));
    }

    @Test
    void aPromptTooLongIsContextTooLong() throws Exception {
        server.enqueue(AnthropicBehaviour.fail(400, "invalid_request_error")
                .message("prompt is too long: 215000 tokens > 200000 maximum"));
        ParleyException e = streamed();
        assertThat(e.code()).isEqualTo(ErrorCode.CONTEXT_TOO_LONG);
        assertThat(e.getMessage()).contains("215000 tokens");
    }

    @Test
    void anErrorEventInTheMiddleOfTheStreamMapsByItsType() throws Exception {
        server.enqueue(AnthropicBehaviour.reply("one two three four").errorEventAfter(2, "overloaded_error", "Overloaded"));
        var h = new RecordingHandler();
        provider.stream(ask(), h);
        ParleyException e = h.failed();
        assertThat(e.code()).isEqualTo(ErrorCode.OVERLOADED);
        assertThat(e.getMessage()).contains("Overloaded");
        assertThat(h.tokens).containsExactly("one", " two");
        server.enqueue(AnthropicBehaviour.reply("one two").errorEventAfter(1, "api_error", "Internal server error"));
        assertThat(streamed().code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
    }

    @Test
    void aStreamCutMidAnswerIsUpstreamFailure() throws Exception {
        // Deltas 200 ms apart, as a model writes them: the JDK client drops bytes it has queued but not yet handed over
        // when the connection fails, so a cut right behind the data could swallow it.
        server.enqueue(AnthropicBehaviour.reply("one two three four").deltaDelay(Duration.ofMillis(200)).cutAfter(2));
        var h = new RecordingHandler();
        provider.stream(ask(), h);
        assertThat(h.failed().code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(h.tokens).containsExactly("one", " two");
        server.enqueue(AnthropicBehaviour.reply("one two three four").cutAfter(0));
        assertThat(whole().code()).isIn(ErrorCode.UPSTREAM_FAILURE, ErrorCode.UPSTREAM_PROTOCOL);
    }

    @Test
    void aMalformedEventIsUpstreamProtocol() throws Exception {
        server.enqueue(AnthropicBehaviour.reply("one two three").deltaDelay(Duration.ofMillis(200)).malformedAfter(1));
        var h = new RecordingHandler();
        provider.stream(ask(), h);
        assertThat(h.failed().code()).isEqualTo(ErrorCode.UPSTREAM_PROTOCOL);
        assertThat(h.tokens).containsExactly("one");
        server.enqueue(AnthropicBehaviour.reply("x").malformedAfter(0));
        assertThat(whole().code()).isEqualTo(ErrorCode.UPSTREAM_PROTOCOL);
    }

    @Test
    void aRefusalIsContentFiltered() throws Exception {
        server.enqueue(AnthropicBehaviour.reply("I can't help").stopReason("refusal"));
        assertThat(streamed().code()).isEqualTo(ErrorCode.CONTENT_FILTERED);
        server.enqueue(AnthropicBehaviour.reply("I can't help").stopReason("refusal"));
        assertThat(whole().code()).isEqualTo(ErrorCode.CONTENT_FILTERED);
    }

    @Test
    void aServerThatIsNotThereIsUpstreamFailure() throws Exception {
        int port;
        try (var s = new ServerSocket(0)) {
            port = s.getLocalPort();
        }
        var nowhere = provider("http://127.0.0.1:" + port, KEY, "models", new String[] {"claude-sonnet-4-5"});
        try {
            var h = new RecordingHandler();
            nowhere.stream(ask(), h);
            assertThat(h.failed().code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        } finally {
            nowhere.deactivate();
        }
    }
}

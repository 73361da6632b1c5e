package dev.parley.provider.bedrock.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.llm.ChatRequest;
import dev.parley.testsupport.bedrock.BedrockBehaviour;
import dev.parley.testsupport.bedrock.BedrockBehaviour.Malformation;
import dev.parley.testsupport.bedrock.FakeBedrockServer;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * Every error class Bedrock documents, as the fake server sends it (HTTP errors with {@code x-amzn-ErrorType},
 * exception messages inside the event stream, a cut or malformed stream), read by the real SDK and mapped by the
 * provider into Parley's error codes.
 */
class BedrockErrorClassesTest {

    static final String MODEL = "amazon.nova-lite-v1:0";
    static FakeBedrockServer server;
    static BedrockProvider provider;

    @BeforeAll
    static void start() {
        server = FakeBedrockServer.start();
        provider = new BedrockProvider(TestConfigs.forServer(server));
    }

    @AfterAll
    static void stop() {
        provider.deactivate();
        server.close();
    }

    static ChatRequest ask(String text) {
        return new ChatRequest(MODEL, List.of(ChatMessage.user(text)), null, null);
    }

    static RecordingHandler stream(BedrockProvider p, ChatRequest r) throws InterruptedException {
        RecordingHandler h = new RecordingHandler();
        p.stream(r, h);
        return h.await();
    }

    static RecordingHandler complete(BedrockProvider p, ChatRequest r) throws InterruptedException {
        RecordingHandler h = new RecordingHandler();
        p.complete(r, h);
        return h.await();
    }

    @ParameterizedTest(name = "HTTP {0} {1} -> {3}")
    @CsvSource(delimiter = '|', textBlock = """
            403 | AccessDeniedException        | You don't have access to the model with the specified model ID. | PROVIDER_PERMISSION
            400 | ValidationException          | The provided model identifier is invalid.                        | INVALID_REQUEST
            429 | ThrottlingException          | Too many requests, please wait before trying again.              | RATE_LIMITED
            429 | ModelNotReadyException       | Model is not ready to serve inference requests.                  | OVERLOADED
            503 | ServiceUnavailableException  | Service unavailable.                                             | OVERLOADED
            500 | InternalServerException      | Internal server error.                                           | UPSTREAM_FAILURE
            424 | ModelErrorException          | The model failed to process the request.                         | UPSTREAM_FAILURE
            404 | ResourceNotFoundException    | Model not found.                                                 | MODEL_NOT_FOUND
            408 | ModelTimeoutException        | Model timed out.                                                 | UPSTREAM_TIMEOUT
            400 | ServiceQuotaExceededException | Your request exceeds the service quota for your account.       | RATE_LIMITED
            """)
    void httpErrorsMapToTheirCodeInBothCallKinds(int status, String type, String message, ErrorCode expected)
            throws Exception {
        server.enqueue(BedrockBehaviour.httpError(status, type, message));
        RecordingHandler streamed = stream(provider, ask("hi"));
        server.enqueue(BedrockBehaviour.httpError(status, type, message));
        RecordingHandler whole = complete(provider, ask("hi"));

        assertThat(streamed.error).isNotNull();
        assertThat(streamed.error.code()).isEqualTo(expected);
        assertThat(whole.error.code()).isEqualTo(expected);
        assertThat(streamed.ends).hasValue(1);
        if (expected != ErrorCode.PROVIDER_AUTH) {
            assertThat(streamed.error.getMessage()).contains(message);
        }
    }

    @Test
    void throttlingCarriesTheRetryHintWhenOneComes() throws Exception {
        server.enqueue(BedrockBehaviour.httpError(429, "ThrottlingException", "Too many requests").retryAfter(7));
        RecordingHandler h = stream(provider, ask("hi"));
        assertThat(h.error.code()).isEqualTo(ErrorCode.RATE_LIMITED);
        assertThat(h.error.retryAfter()).contains(Duration.ofSeconds(7));

        server.enqueue(BedrockBehaviour.httpError(429, "ThrottlingException", "Too many requests"));
        assertThat(stream(provider, ask("hi")).error.retryAfter()).isEmpty();
    }

    @Test
    void aPromptTooLongForTheModelIsContextTooLong() throws Exception {
        server.maxInputWords(5);
        try {
            RecordingHandler h = stream(provider, ask("one two three four five six seven"));
            assertThat(h.error.code()).isEqualTo(ErrorCode.CONTEXT_TOO_LONG);
            assertThat(h.error.getMessage()).contains("Input is too long");
        } finally {
            server.maxInputWords(Integer.MAX_VALUE);
        }
    }

    @ParameterizedTest(name = "stream exception {0} -> {1}")
    @CsvSource(delimiter = '|', textBlock = """
            throttlingException          | RATE_LIMITED
            modelStreamErrorException    | UPSTREAM_FAILURE
            validationException          | INVALID_REQUEST
            serviceUnavailableException  | OVERLOADED
            internalServerException      | UPSTREAM_FAILURE
            modelTimeoutException        | UPSTREAM_TIMEOUT
            """)
    void exceptionEventsInsideTheStreamMapToTheirCodeAfterTheTokensBeforeThem(String type, ErrorCode expected)
            throws Exception {
        server.enqueue(BedrockBehaviour.reply("one two three four").exceptionAfter(2, type, "went wrong: " + type));

        RecordingHandler h = stream(provider, ask("hi"));

        assertThat(h.tokens).containsExactly("one", " two");
        assertThat(h.error.code()).isEqualTo(expected);
        assertThat(h.error.getMessage()).contains("went wrong");
        assertThat(h.ends).hasValue(1);
    }

    @Test
    void aStreamCutMidAnswerIsAnUpstreamFailure() throws Exception {
        server.enqueue(BedrockBehaviour.reply("one two three four").cutAfter(2));
        RecordingHandler h = stream(provider, ask("hi"));
        assertThat(h.tokens).containsExactly("one", " two");
        assertThat(h.error.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
    }

    @Test
    void aStreamThatEndsWithoutMessageStopIsAnUpstreamFailure() throws Exception {
        server.enqueue(BedrockBehaviour.reply("one two").endWithoutStop());
        RecordingHandler h = stream(provider, ask("hi"));
        assertThat(h.tokens).containsExactly("one", " two");
        assertThat(h.error.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(h.error.getMessage()).contains("ended before the message was complete");
    }

    @ParameterizedTest
    @CsvSource({"BAD_CRC", "BAD_JSON"})
    void aMalformedEventIsAnUpstreamProtocolError(Malformation how) throws Exception {
        server.enqueue(BedrockBehaviour.reply("one two three").malformedAfter(1, how));
        RecordingHandler h = stream(provider, ask("hi"));
        assertThat(h.tokens).containsExactly("one");
        assertThat(h.error.code()).isEqualTo(ErrorCode.UPSTREAM_PROTOCOL);
    }

    @ParameterizedTest
    @CsvSource({"guardrail_intervened", "content_filtered"})
    void aFilteredAnswerIsContentFiltered(String stopReason) throws Exception {
        server.enqueue(BedrockBehaviour.reply("Sorry, I cannot help with that.").stopReason(stopReason));
        assertThat(stream(provider, ask("something bad")).error.code()).isEqualTo(ErrorCode.CONTENT_FILTERED);
        server.enqueue(BedrockBehaviour.reply("Sorry, I cannot help with that.").stopReason(stopReason));
        assertThat(complete(provider, ask("something bad")).error.code()).isEqualTo(ErrorCode.CONTENT_FILTERED);
    }

    @Test
    void answersTheUpstreamEndedThemselvesLeaveTheirPooledConnectionToTheNextRequest() throws Exception {
        // One connection, so every request takes the one the previous answer handed back to the pool. Stopping the
        // SDK call of an answer the upstream had already finished closed that connection under the next request.
        BedrockProvider p = new BedrockProvider(TestConfigs.forServer(server, "maxConnections", 1));
        try {
            for (int i = 0; i < 40; i++) {
                server.enqueue(BedrockBehaviour.reply("Sorry, I cannot help.").stopReason("guardrail_intervened"));
                assertThat(stream(p, ask("something bad")).error.code()).as("stream %d", i)
                        .isEqualTo(ErrorCode.CONTENT_FILTERED);
                RecordingHandler whole = complete(p, ask("hello " + i));
                assertThat(whole.error).as("complete %d", i).isNull();
                RecordingHandler streamed = stream(p, ask("again " + i));
                assertThat(streamed.error).as("stream after %d", i).isNull();
                assertThat(streamed.response.text()).isEqualTo("echo: again " + i);
            }
        } finally {
            p.deactivate();
        }
    }

    @Test
    void maxTokensEndsTheAnswerWithLength() throws Exception {
        server.enqueue(BedrockBehaviour.reply("cut short").stopReason("max_tokens"));
        assertThat(stream(provider, ask("hi")).response.finishReason())
                .isEqualTo(dev.parley.api.llm.FinishReason.LENGTH);
    }

    @Test
    void aWrongSecretIsProviderAuthAndTheMessageNamesNoSecret() throws Exception {
        BedrockProvider wrong = new BedrockProvider(TestConfigs.forServer(server, "_secretAccessKey",
                "not-the-right-secret"));
        try {
            RecordingHandler h = stream(wrong, ask("hi"));
            assertThat(h.error.code()).isEqualTo(ErrorCode.PROVIDER_AUTH);
            assertThat(h.error.getMessage()).contains("InvalidSignatureException")
                    .doesNotContain("not-the-right-secret").doesNotContain(FakeBedrockServer.ACCESS_KEY_ID);
            assertThat(server.lastRequest().header("authorization")).doesNotContain("not-the-right-secret");
        } finally {
            wrong.deactivate();
        }
    }

    @Test
    void anUnknownAccessKeyIsProviderAuth() throws Exception {
        BedrockProvider wrong = new BedrockProvider(TestConfigs.forServer(server, "_accessKeyId",
                "AKIDSOMEONEELSE00001"));
        try {
            RecordingHandler h = complete(wrong, ask("hi"));
            assertThat(h.error.code()).isEqualTo(ErrorCode.PROVIDER_AUTH);
            assertThat(h.error.getMessage()).contains("UnrecognizedClientException");
        } finally {
            wrong.deactivate();
        }
    }

    @Test
    void aServerThatIsNotThereIsAnUpstreamFailure() throws Exception {
        // Port 1 on loopback: privileged and unused, so the connection is refused. (A port freed by a closed test
        // server may be taken at once by another build running on the same machine.)
        BedrockProvider p = new BedrockProvider(TestConfigs.forServer(server, "endpoint", "http://127.0.0.1:1",
                "connectTimeoutSeconds", 2));
        try {
            RecordingHandler h = stream(p, ask("hi"));
            // The SDK's Netty pool usually reports the refusal itself; now and then (seen on a busy machine) it
            // reports only that no connection was acquired in time instead (aws-sdk-java-v2 issue 6013). Each is
            // mapped for what it says.
            if (causedBy(h.error, java.net.ConnectException.class)) {
                assertThat(h.error.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
                assertThat(h.error.getMessage()).isEqualTo("cannot connect to Bedrock");
            } else {
                assertThat(causedBy(h.error, java.util.concurrent.TimeoutException.class)).isTrue();
                assertThat(h.error.code()).isEqualTo(ErrorCode.UPSTREAM_TIMEOUT);
            }
        } finally {
            p.deactivate();
        }
    }

    static boolean causedBy(Throwable t, Class<? extends Throwable> type) {
        for (; t != null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return true;
            }
        }
        return false;
    }

    @Test
    void anAnswerLargerThanAllowedIsStoppedAsAnUpstreamProtocolError() throws Exception {
        BedrockProvider p = new BedrockProvider(TestConfigs.forServer(server, "maxAnswerChars", 12));
        try {
            server.enqueue(BedrockBehaviour.reply("one two three four five six").tokenDelay(Duration.ofMillis(50)));
            RecordingHandler h = stream(p, ask("hi"));
            assertThat(h.error.code()).isEqualTo(ErrorCode.UPSTREAM_PROTOCOL);
            assertThat(h.error.getMessage()).contains("largest answer");
            assertThat(String.join("", h.tokens).length()).isLessThanOrEqualTo(12);
        } finally {
            p.deactivate();
        }
    }

    @Test
    void silenceLongerThanTheReadTimeoutIsAnUpstreamTimeout() throws Exception {
        BedrockProvider p = new BedrockProvider(TestConfigs.forServer(server, "readTimeoutSeconds", 1));
        try {
            server.enqueue(BedrockBehaviour.reply("one two three").tokenDelay(Duration.ofSeconds(3)));
            RecordingHandler h = stream(p, ask("hi"));
            assertThat(h.tokens).containsExactly("one");
            assertThat(h.error.code()).isEqualTo(ErrorCode.UPSTREAM_TIMEOUT);
        } finally {
            p.deactivate();
        }
    }
}

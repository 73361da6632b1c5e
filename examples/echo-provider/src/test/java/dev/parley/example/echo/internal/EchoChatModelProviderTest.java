package dev.parley.example.echo.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.StreamHandle;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class EchoChatModelProviderTest {

    private final List<EchoChatModelProvider> providers = new ArrayList<>();

    private EchoChatModelProvider provider(long tokenDelayMs, Duration drainTimeout) {
        var p = new EchoChatModelProvider("1.2.3",
                new EchoSettings(Duration.ofMillis(tokenDelayMs), EchoSettings.DEFAULTS.prefix(), drainTimeout));
        providers.add(p);
        return p;
    }

    /** What {@code p} answers to {@code request} with the default settings: the contract tests need not know it. */
    private static String answerOf(EchoChatModelProvider p, ChatRequest request) {
        return p.answer(EchoSettings.DEFAULTS.prefix(), request.messages());
    }

    @AfterEach
    void stopProviders() throws InterruptedException {
        for (var p : providers) {
            p.deactivate();
        }
    }

    private static ChatRequest request(String model, Integer maxTokens, String... userMessages) {
        List<ChatMessage> messages = new ArrayList<>();
        messages.add(ChatMessage.system("Be brief."));
        for (String m : userMessages) {
            messages.add(ChatMessage.user(m));
            messages.add(ChatMessage.assistant("an earlier answer"));
        }
        messages.remove(messages.size() - 1);
        return new ChatRequest(model, messages, new ChatOptions(null, null, maxTokens, null), null);
    }

    @Test
    void listsOneModel() {
        var p = provider(0, Duration.ofSeconds(1));
        assertThat(p.id()).isEqualTo("echo");
        assertThat(p.models()).singleElement().satisfies(m -> {
            assertThat(m.id()).isEqualTo("echo-1");
            assertThat(m.providerId()).isEqualTo("echo");
        });
    }

    /**
     * The one test that knows what this plugin answers (the rest check the provider contract, whatever the answer).
     * When you change {@code answer}, change this test with it.
     */
    @Test
    void theAnswerIsThePrefixAndTheLastUserMessage() throws Exception {
        var handler = new RecordingHandler();
        provider(0, Duration.ofSeconds(1)).stream(request("echo-1", null, "first question", "hello  big world"), handler);

        assertThat(handler.awaitEnd()).isTrue();
        assertThat(handler.tokens).containsExactly("[echo", " 1.2.3]", " hello", "  big", " world");
        assertThat(handler.response.text()).isEqualTo("[echo 1.2.3] hello  big world");
    }

    @Test
    void streamsTheAnswerPieceByPieceAndEndsOnce() throws Exception {
        var p = provider(0, Duration.ofSeconds(1));
        var request = request("echo-1", null, "first question", "hello  big world");
        var handler = new RecordingHandler();
        p.stream(request, handler);

        assertThat(handler.awaitEnd()).isTrue();
        assertThat(handler.error).isNull();
        assertThat(handler.tokens).isNotEmpty();
        assertThat(String.join("", handler.tokens)).isEqualTo(answerOf(p, request));
        assertThat(handler.response.text()).isEqualTo(answerOf(p, request));
        assertThat(handler.response.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(handler.response.model()).isEqualTo("echo-1");
        assertThat(handler.response.usage().completionTokens()).isEqualTo(handler.tokens.size());
        assertThat(handler.response.usage().promptTokens()).isPositive();
        assertThat(handler.terminalCalls).hasValue(1);
        assertThat(handler.overlaps).hasValue(0);
    }

    @Test
    void stopsAtMaxTokensWithFinishReasonLength() throws Exception {
        var p = provider(0, Duration.ofSeconds(1));
        var request = request("echo-1", 3, "one two three four");
        var handler = new RecordingHandler();
        p.stream(request, handler);

        assertThat(handler.awaitEnd()).isTrue();
        List<String> whole = EchoChatModelProvider.tokens(answerOf(p, request));
        assertThat(whole).as("the test needs an answer longer than maxTokens").hasSizeGreaterThan(3);
        assertThat(handler.response.text()).isEqualTo(String.join("", whole.subList(0, 3)));
        assertThat(handler.response.finishReason()).isEqualTo(FinishReason.LENGTH);
        assertThat(handler.response.usage().completionTokens()).isEqualTo(3);
    }

    @Test
    void aWholeAnswerComesFromTheDefaultCompleteOnce() throws Exception {
        var p = provider(0, Duration.ofSeconds(1));
        var request = request("echo-1", null, "hello world");
        var handler = new RecordingHandler();
        // No override: the SPI's default complete() streams, and onComplete carries the whole text.
        p.complete(request, handler);

        assertThat(handler.awaitEnd()).isTrue();
        assertThat(handler.error).isNull();
        assertThat(handler.response.text()).isEqualTo(answerOf(p, request)).isEqualTo(String.join("", handler.tokens));
        assertThat(handler.response.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(handler.terminalCalls).hasValue(1);
        assertThat(handler.overlaps).hasValue(0);
    }

    @Test
    void refusesAnUnknownModelThroughTheHandler() throws Exception {
        var handler = new RecordingHandler();
        provider(0, Duration.ofSeconds(1)).stream(request("gpt-4o", null, "hi"), handler);

        assertThat(handler.awaitEnd()).isTrue();
        assertThat(handler.error.code()).isEqualTo(ErrorCode.MODEL_NOT_FOUND);
        assertThat(handler.error.getMessage()).contains("gpt-4o");
        assertThat(handler.tokens).isEmpty();
    }

    @Test
    void cancelEndsTheStreamOnceWithCancelled() throws Exception {
        var handler = new RecordingHandler();
        // A token every 10 s: the cancel surely comes before the first one.
        StreamHandle handle = provider(10_000, Duration.ofSeconds(1)).stream(request("echo-1", null, "hi there"), handler);
        handle.cancel();
        handle.cancel();

        assertThat(handler.awaitEnd()).isTrue();
        assertThat(handler.error.code()).isEqualTo(ErrorCode.CANCELLED);
        assertThat(handler.tokens).isEmpty();
        assertThat(handler.terminalCalls).hasValue(1);
    }

    @Test
    void cancelRacingTheLastTokenStillEndsEachStreamExactlyOnce() throws Exception {
        var p = provider(0, Duration.ofSeconds(5));
        ExecutorService cancellers = Executors.newFixedThreadPool(2);
        try {
            List<RecordingHandler> handlers = new ArrayList<>();
            List<Future<?>> cancels = new ArrayList<>();
            for (int i = 0; i < 300; i++) {
                var handler = new RecordingHandler();
                handlers.add(handler);
                StreamHandle handle = p.stream(request("echo-1", null, "a b c"), handler);
                cancels.add(cancellers.submit(handle::cancel));
            }
            for (Future<?> f : cancels) {
                f.get(10, TimeUnit.SECONDS);
            }
            for (RecordingHandler h : handlers) {
                assertThat(h.awaitEnd()).isTrue();
                assertThat(h.terminalCalls).hasValue(1);
                assertThat(h.overlaps).hasValue(0);
                assertThat(h.tokensAfterEnd).hasValue(0);
            }
        } finally {
            cancellers.shutdownNow();
        }
    }

    @Test
    void deactivateLetsAnswersInFlightFinishAndRefusesNewOnes() throws Exception {
        var p = provider(20, Duration.ofSeconds(30));
        var request = request("echo-1", null, "one two three four five six seven eight");
        var inFlight = new RecordingHandler();
        p.stream(request, inFlight);
        assertThat(inFlight.firstToken.await(10, TimeUnit.SECONDS)).isTrue();

        p.deactivate(); // returns once the answer has finished

        assertThat(inFlight.ended.getCount()).isZero();
        assertThat(inFlight.error).isNull();
        assertThat(inFlight.response.text()).isEqualTo(answerOf(p, request));

        var late = new RecordingHandler();
        p.stream(request("echo-1", null, "too late"), late);
        assertThat(late.awaitEnd()).isTrue();
        assertThat(late.error.code()).isEqualTo(ErrorCode.UNAVAILABLE);
    }

    @Test
    void deactivateCutsOffAnswersThatOutlastTheDrainTimeout() throws Exception {
        var p = provider(60_000, Duration.ofMillis(200));
        var slow = new RecordingHandler();
        p.stream(request("echo-1", null, "never finishes"), slow);

        long start = System.nanoTime();
        p.deactivate();
        long tookMillis = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);

        assertThat(slow.ended.getCount()).isZero();
        assertThat(slow.error.code()).isEqualTo(ErrorCode.UNAVAILABLE);
        assertThat(slow.terminalCalls).hasValue(1);
        assertThat(tookMillis).isBetween(150L, 10_000L);
        assertThat(p.inFlight()).isZero();
    }

    @Test
    void newSettingsApplyToNewAnswersOnly() throws Exception {
        var p = provider(0, Duration.ofSeconds(1));
        var request = request("echo-1", null, "hi");
        p.modified(config(0, "[v{version}]"));
        var handler = new RecordingHandler();
        p.stream(request, handler);
        assertThat(handler.awaitEnd()).isTrue();
        assertThat(handler.response.text()).isEqualTo(p.answer("[v{version}]", request.messages()))
                .isNotEqualTo(answerOf(p, request));
    }

    @Test
    void wordsJoinBackToTheText() {
        for (String text : List.of("a", " lead", "trail ", "many   spaces\tand\nlines", "")) {
            assertThat(String.join("", EchoChatModelProvider.tokens(text))).isEqualTo(text);
        }
    }

    private static EchoConfig config(long delay, String prefix) {
        return new EchoConfig() {
            @Override
            public Class<? extends java.lang.annotation.Annotation> annotationType() {
                return EchoConfig.class;
            }

            @Override
            public long tokenDelayMs() {
                return delay;
            }

            @Override
            public String prefix() {
                return prefix;
            }

            @Override
            public int drainTimeoutSeconds() {
                return 1;
            }
        };
    }
}

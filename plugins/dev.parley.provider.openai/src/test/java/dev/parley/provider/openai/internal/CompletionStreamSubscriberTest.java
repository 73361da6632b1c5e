package dev.parley.provider.openai.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonFactory;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.Usage;
import java.net.http.HttpHeaders;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.Flow;
import java.util.concurrent.ScheduledExecutorService;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The body subscriber driven directly, with the byte sequences a real connection can deliver. */
class CompletionStreamSubscriberTest {

    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final OpenAiChatModelProviderTest.Recorder recorder = new OpenAiChatModelProviderTest.Recorder();
    private final ParleyStream stream = new ParleyStream(recorder, "gpt-4o-mini", Duration.ofSeconds(30),
            Duration.ofSeconds(30), scheduler, () -> 11, text -> text.length());
    private final CompletionStreamSubscriber subscriber = new CompletionStreamSubscriber(stream,
            new ChunkParser(new JsonFactory()));
    private final Subscription subscription = new Subscription();

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
    }

    private static final class Subscription implements Flow.Subscription {
        long requested;
        boolean cancelled;

        @Override
        public void request(long n) {
            requested += n;
        }

        @Override
        public void cancel() {
            cancelled = true;
        }
    }

    private void deliver(String... pieces) {
        List<ByteBuffer> buffers = new ArrayList<>();
        for (String p : pieces) {
            buffers.add(ByteBuffer.wrap(p.getBytes(StandardCharsets.UTF_8)));
        }
        subscriber.onNext(buffers);
    }

    private static String chunk(String content) {
        return "data: {\"model\":\"gpt-4o-mini-2024-07-18\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\""
                + content + "\"},\"finish_reason\":null}],\"usage\":null}\n\n";
    }

    @Test
    void deliversTokensAndCompletesWithUpstreamUsageAfterDone() {
        subscriber.onSubscribe(subscription);
        String first = chunk("Hel");
        deliver(first.substring(0, 20), first.substring(20), ": keep-alive\r\n\r\n");
        deliver(chunk("lo").replace("\n", "\r\n"));
        deliver("data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}\n\n",
                "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":4,\"completion_tokens\":2}}\n\ndata: [DONE]\n\n");
        assertThat(recorder.terminals).hasValue(0);
        subscriber.onComplete();

        ChatResponse done = recorder.awaitCompletion();
        assertThat(subscription.requested).isPositive();
        assertThat(recorder.tokens).containsExactly("Hel", "lo");
        assertThat(done.text()).isEqualTo("Hello");
        assertThat(done.usage()).isEqualTo(new Usage(4, 2));
        assertThat(done.model()).isEqualTo("gpt-4o-mini-2024-07-18");
        assertThat(done.finishReason()).isEqualTo(FinishReason.STOP);
        assertThat(recorder.terminals).hasValue(1);
    }

    @Test
    void estimatesUsageWhenUpstreamReportsNone() {
        subscriber.onSubscribe(subscription);
        deliver(chunk("abcdef"), "data:[DONE]\n\n");
        subscriber.onComplete();

        // The estimators given to the stream: 11 for the prompt, one per character of the answer.
        assertThat(recorder.awaitCompletion().usage()).isEqualTo(new Usage(11, 6));
    }

    @Test
    void aBodyThatEndsWithoutDoneIsAProtocolError() {
        subscriber.onSubscribe(subscription);
        deliver(chunk("one"));
        subscriber.onComplete();

        var error = recorder.awaitError();
        assertThat(error.code()).isEqualTo(ErrorCode.UPSTREAM_PROTOCOL);
        assertThat(error.getMessage()).contains("[DONE]");
        assertThat(recorder.tokens).containsExactly("one");
    }

    @Test
    void anErrorChunkFailsOnceAndStopsReading() {
        subscriber.onSubscribe(subscription);
        deliver(chunk("one"), "data: {\"error\":{\"message\":\"overloaded\",\"type\":\"server_error\"}}\n\n",
                chunk("two"));
        subscriber.onComplete();
        subscriber.onError(new java.io.IOException("late"));

        var error = recorder.awaitError();
        assertThat(error.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(error.getMessage()).contains("overloaded");
        assertThat(recorder.tokens).containsExactly("one");
        assertThat(subscription.cancelled).isTrue();
        assertThat(recorder.terminals).hasValue(1);
    }

    @Test
    void anEventErrorWithPlainTextIsReportedWithItsText() {
        subscriber.onSubscribe(subscription);
        deliver("event: error\ndata: upstream exploded\n\n");

        var error = recorder.awaitError();
        assertThat(error.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(error.getMessage()).contains("upstream exploded");
    }

    @Test
    void aMalformedChunkIsAProtocolError() {
        subscriber.onSubscribe(subscription);
        deliver(chunk("one"), "data: {not json\n\n");

        assertThat(recorder.awaitError().code()).isEqualTo(ErrorCode.UPSTREAM_PROTOCOL);
        assertThat(subscription.cancelled).isTrue();
    }

    @Test
    void aBrokenConnectionIsAnUpstreamFailure() {
        subscriber.onSubscribe(subscription);
        deliver(chunk("one"));
        subscriber.onError(new java.io.EOFException("EOF reached while reading"));

        var error = recorder.awaitError();
        assertThat(error.code()).isEqualTo(ErrorCode.UPSTREAM_FAILURE);
        assertThat(error.getMessage()).contains("broke");
    }

    @Test
    void emptyDataAndEverythingAfterDoneAreIgnored() {
        subscriber.onSubscribe(subscription);
        deliver("data:\n\n", chunk("a"), "data: [DONE]\n\n", chunk("late"), "data: {broken\n\n");
        subscriber.onComplete();

        assertThat(recorder.awaitCompletion().text()).isEqualTo("a");
        assertThat(recorder.tokens).containsExactly("a");
    }

    @Test
    void cancelBeforeSubscribeCancelsTheSubscriptionWhenItArrives() {
        subscriber.cancel();
        subscriber.onSubscribe(subscription);

        assertThat(subscription.cancelled).isTrue();
        assertThat(subscription.requested).isZero();
    }

    @Test
    void retryAfterIsReadAsSecondsOrAsAnHttpDate() {
        assertThat(UpstreamErrors.retryAfter(headers("17"))).isEqualTo(Duration.ofSeconds(17));
        String inAMinute = java.time.format.DateTimeFormatter.RFC_1123_DATE_TIME
                .format(java.time.ZonedDateTime.now(java.time.ZoneOffset.UTC).plusSeconds(60));
        assertThat(UpstreamErrors.retryAfter(headers(inAMinute))).isBetween(Duration.ofSeconds(55),
                Duration.ofSeconds(60));
        assertThat(UpstreamErrors.retryAfter(headers("Wed, 21 Oct 2015 07:28:00 GMT"))).isEqualTo(Duration.ZERO);
        assertThat(UpstreamErrors.retryAfter(headers("soon"))).isNull();
    }

    private static HttpHeaders headers(String retryAfter) {
        return HttpHeaders.of(Map.of("Retry-After", List.of(retryAfter)), (a, b) -> true);
    }
}

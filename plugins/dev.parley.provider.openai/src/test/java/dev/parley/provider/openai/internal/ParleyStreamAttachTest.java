package dev.parley.provider.openai.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonFactory;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The transport hands the stream its abort only once {@code sendAsync} has returned; on a fast upstream the answer
 * may be complete by then (read on the client's selector thread). Aborting that exchange would close a connection
 * the client has already put back in its pool, under the next request: the answer "broke" for someone else.
 */
class ParleyStreamAttachTest {
    private final ScheduledExecutorService scheduler = Executors.newSingleThreadScheduledExecutor();
    private final List<String> events = new CopyOnWriteArrayList<>();
    private final AtomicInteger aborts = new AtomicInteger();

    @AfterEach
    void stop() {
        scheduler.shutdownNow();
    }

    private ParleyStream stream() {
        ChatStreamHandler handler = new ChatStreamHandler() {
            @Override
            public void onToken(String delta) {
                events.add("token " + delta);
            }

            @Override
            public void onComplete(ChatResponse response) {
                events.add("complete " + response.text());
            }

            @Override
            public void onError(ParleyException error) {
                events.add("error " + error.code().slug());
            }
        };
        return new ParleyStream(handler, "m", Duration.ofSeconds(30), Duration.ofSeconds(30), scheduler, () -> 1,
                text -> 1);
    }

    private static UpstreamAnswer answer(String text) {
        byte[] body = ("{\"model\":\"m\",\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\""
                + text + "\"},\"finish_reason\":\"stop\"}]}").getBytes(StandardCharsets.UTF_8);
        return CompletionBody.parse(new JsonFactory(), body, body.length);
    }

    @Test
    void anAnswerUpstreamFinishedBeforeTheTransportAttachedIsNotAborted() {
        ParleyStream s = stream();
        s.complete(answer("quick"));
        s.attach(aborts::incrementAndGet);

        assertThat(events).containsExactly("complete quick");
        assertThat(aborts).as("the finished exchange's connection is left to the pool").hasValue(0);
    }

    @Test
    void anAnswerCancelledBeforeTheTransportAttachedIsAbortedAtOnce() {
        ParleyStream s = stream();
        s.cancel();
        s.attach(aborts::incrementAndGet);

        assertThat(events).containsExactly("error " + ErrorCode.CANCELLED.slug());
        assertThat(aborts).hasValue(1);
    }

    @Test
    void aCancelAfterAttachAbortsOnceAndAnAnswerAfterThatIsDropped() {
        ParleyStream s = stream();
        s.attach(aborts::incrementAndGet);
        s.cancel();
        s.complete(answer("late"));

        assertThat(events).containsExactly("error " + ErrorCode.CANCELLED.slug());
        assertThat(aborts).hasValue(1);
    }
}

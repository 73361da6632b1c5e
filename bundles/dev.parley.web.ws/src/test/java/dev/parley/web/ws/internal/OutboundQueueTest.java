package dev.parley.web.ws.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;
import org.junit.jupiter.api.Test;

class OutboundQueueTest {

    /** Records sends and completes them only when told, like a socket whose peer does not read. */
    private static final class ManualTransport implements OutboundQueue.Transport {
        final List<String> sent = new ArrayList<>();
        final List<Consumer<Throwable>> pending = new ArrayList<>();
        volatile boolean inline;

        @Override
        public void send(String text, Consumer<Throwable> done) {
            synchronized (this) {
                sent.add(text);
                if (!inline) {
                    pending.add(done);
                    return;
                }
            }
            done.accept(null);
        }

        void completeNext(Throwable error) {
            Consumer<Throwable> done;
            synchronized (this) {
                done = pending.remove(0);
            }
            done.accept(error);
        }

        synchronized int outstanding() {
            return pending.size();
        }
    }

    @Test
    void sendsOneFrameAtATimeInOrder() {
        var transport = new ManualTransport();
        var queue = new OutboundQueue(transport, 10, 1000, () -> { }, e -> { });

        assertThat(queue.offer("a")).isTrue();
        assertThat(queue.offer("b")).isTrue();
        assertThat(queue.offer("c")).isTrue();
        assertThat(transport.sent).containsExactly("a");
        assertThat(queue.framesHeld()).isEqualTo(3);

        transport.completeNext(null);
        assertThat(transport.sent).containsExactly("a", "b");
        assertThat(transport.outstanding()).isEqualTo(1);
        transport.completeNext(null);
        transport.completeNext(null);
        assertThat(transport.sent).containsExactly("a", "b", "c");
        assertThat(queue.framesHeld()).isZero();
        assertThat(queue.bytesHeld()).isZero();

        queue.offer("d");
        assertThat(transport.sent).containsExactly("a", "b", "c", "d");
    }

    @Test
    void aBacklogDrainedThroughInlineCompletionsDoesNotGrowTheStack() {
        var transport = new ManualTransport();
        var queue = new OutboundQueue(transport, 300_000, Long.MAX_VALUE, () -> { }, e -> { });
        queue.offer("first");
        for (int i = 0; i < 200_000; i++) {
            queue.offer("f" + i);
        }
        assertThat(transport.sent).hasSize(1);

        // From now on the socket is writable: every send completes before it returns, as Jetty's may.
        transport.inline = true;
        transport.completeNext(null);

        assertThat(transport.sent).hasSize(200_001).endsWith("f199999");
        assertThat(queue.framesHeld()).isZero();
        assertThat(queue.bytesHeld()).isZero();
    }

    @Test
    void overflowByFramesRunsTheActionOnceAndDropsEverything() {
        var transport = new ManualTransport();
        var overflows = new AtomicInteger();
        var queue = new OutboundQueue(transport, 3, 1_000_000, overflows::incrementAndGet, e -> { });

        assertThat(queue.offer("1")).isTrue();
        assertThat(queue.offer("2")).isTrue();
        assertThat(queue.offer("3")).isTrue();
        assertThat(queue.offer("4")).isFalse();
        assertThat(queue.offer("5")).isFalse();

        assertThat(overflows.get()).isEqualTo(1);
        assertThat(queue.isClosed()).isTrue();
        transport.completeNext(null);
        assertThat(transport.sent).containsExactly("1");
    }

    @Test
    void overflowByBytesCountsUtf8Size() {
        var transport = new ManualTransport();
        var overflows = new AtomicInteger();
        var queue = new OutboundQueue(transport, 100, 10, overflows::incrementAndGet, e -> { });

        assertThat(queue.offer("ééé")).isTrue(); // 6 bytes
        assertThat(queue.offer("abcd")).isTrue(); // 10
        assertThat(queue.offer("x")).isFalse();
        assertThat(overflows.get()).isEqualTo(1);
        assertThat(OutboundQueue.utf8Length("a\u00e9\u20ac\uD83D\uDE00")).isEqualTo(1 + 2 + 3 + 4);
    }

    @Test
    void aFailedSendClosesTheQueueAndReportsOnce() {
        var transport = new ManualTransport();
        var failures = new ArrayList<Throwable>();
        var queue = new OutboundQueue(transport, 10, 1000, () -> { }, failures::add);
        queue.offer("a");
        queue.offer("b");

        transport.completeNext(new IOException("reset"));

        assertThat(failures).hasSize(1);
        assertThat(failures.get(0)).hasMessage("reset");
        assertThat(queue.isClosed()).isTrue();
        assertThat(queue.offer("c")).isFalse();
        assertThat(transport.sent).containsExactly("a");
    }
}

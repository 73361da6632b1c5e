package dev.parley.streams.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.stream.StreamWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

class LocalStreamLogTest {
    final AtomicLong now = new AtomicLong();
    final LocalStreamLog log = new LocalStreamLog(TimeUnit.SECONDS.toNanos(10), TimeUnit.SECONDS.toNanos(100), now::get);

    @Test
    void aFollowerGetsWhatItMissedThenTheRestThenTheEnd() {
        StreamWriter w = log.open("a1");
        List<String> durable = new ArrayList<>();
        w.append("accepted", "{}", () -> durable.add("1"));
        w.append("token", "Hel", () -> durable.add("2"));
        w.append("token", "lo", () -> durable.add("3"));

        Recorder late = new Recorder();
        log.follow("a1", 2, late);
        assertThat(late.seqs()).containsExactly(3L);
        w.append("token", " world", () -> durable.add("4"));
        w.end("done", "{\"finish\":\"STOP\"}", () -> durable.add("5"));
        w.append("token", "after the end", () -> durable.add("6"));

        assertThat(late.data()).containsExactly("lo", " world", "{\"finish\":\"STOP\"}");
        assertThat(late.end).isEqualTo("end");
        assertThat(durable).containsExactly("1", "2", "3", "4", "5");
        Recorder afterEnd = new Recorder();
        log.follow("a1", 0, afterEnd);
        assertThat(afterEnd.seqs()).containsExactly(1L, 2L, 3L, 4L, 5L);
        assertThat(afterEnd.end).isEqualTo("end");
        assertThat(log.entries("a1").toCompletableFuture().join()).hasSize(5);
    }

    @Test
    void anUnknownStreamIsNotFoundAndAClosedFollowGetsNothingMore() throws Exception {
        Recorder unknown = new Recorder();
        log.follow("nope", 0, unknown);
        assertThat(unknown.end).isEqualTo("not found");
        assertThat(log.entries("nope").toCompletableFuture().join()).isEmpty();

        StreamWriter w = log.open("a2");
        w.append("accepted", "{}", () -> { });
        Recorder leaving = new Recorder();
        AutoCloseable follow = log.follow("a2", 0, leaving);
        follow.close();
        w.append("token", "x", () -> { });
        assertThat(leaving.seqs()).containsExactly(1L);
        assertThat(leaving.end).isNull();
    }

    @Test
    void finishedStreamsAreKeptForTheRetentionAndUnfinishedOnesForTheLongestStream() {
        log.open("finished").end("done", "{}", () -> { });
        log.open("running").append("accepted", "{}", () -> { });
        now.addAndGet(TimeUnit.SECONDS.toNanos(11));
        log.sweep();
        assertThat(log.size()).isEqualTo(1);
        now.addAndGet(TimeUnit.SECONDS.toNanos(90));
        log.sweep();
        assertThat(log.size()).isZero();
    }
}

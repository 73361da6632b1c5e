package dev.parley.streams.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.api.stream.StreamWriter;
import java.lang.annotation.Annotation;
import java.time.Duration;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.stream.IntStream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Against the Redis on 127.0.0.1:6379 (PARLEY_TEST_REDIS_URI overrides), as every node would share it. */
class RedisStreamLogTest {
    static final String URI = System.getenv().getOrDefault("PARLEY_TEST_REDIS_URI", "redis://127.0.0.1:6379");
    final String prefix = "parley:test:stream:" + UUID.randomUUID() + ":";
    final List<RedisStreamLog> logs = new CopyOnWriteArrayList<>();

    @AfterEach
    void close() {
        logs.forEach(RedisStreamLog::close);
    }

    RedisStreamLog node(String uri) {
        RedisStreamLog log = new RedisStreamLog(uri, "", config(prefix));
        logs.add(log);
        return log;
    }

    @Test
    void anotherNodeFollowsFromTheLastEntryItsClientSawToTheEnd() {
        RedisStreamLog producer = node(URI);
        RedisStreamLog reader = node(URI);
        StreamWriter w = producer.open("answer-1");
        List<Integer> durable = new CopyOnWriteArrayList<>();
        for (int i = 1; i <= 200; i++) {
            int n = i;
            w.append("token", "t" + i, () -> durable.add(n));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> durable.size() == 200);
        assertThat(durable).isEqualTo(IntStream.rangeClosed(1, 200).boxed().toList());

        Recorder rest = new Recorder();
        reader.follow("answer-1", 150, rest);
        await().atMost(Duration.ofSeconds(10)).until(() -> rest.entries.size() == 50);
        for (int i = 201; i <= 700; i++) {
            w.append("token", "t" + i, () -> { });
        }
        w.end("done", "{}", () -> { });
        await().atMost(Duration.ofSeconds(10)).until(() -> rest.end != null);

        assertThat(rest.end).isEqualTo("end");
        assertThat(rest.seqs()).isEqualTo(IntStream.rangeClosed(151, 701).mapToObj(i -> (long) i).toList());
        assertThat(rest.data().get(0)).isEqualTo("t151");
        assertThat(reader.entries("answer-1").toCompletableFuture().join()).hasSize(701);
    }

    @Test
    void aReaderThatHasTheLastEntryOfAFinishedStreamGetsTheEndAtOnce() {
        RedisStreamLog producer = node(URI);
        StreamWriter w = producer.open("answer-4");
        w.append("accepted", "{}", () -> { });
        w.end("done", "{}", () -> { });
        Recorder past = new Recorder();
        // The producer lives on: without the check this reader would wait for entries that never come.
        producer.follow("answer-4", 2, past);
        await().atMost(Duration.ofSeconds(5)).until(() -> past.end != null);
        assertThat(past.end).isEqualTo("end");
        assertThat(past.entries).isEmpty();
    }

    @Test
    void aStreamWhoseNodeStopsIsGoneForItsReaderAndAnUnknownOneIsNotFound() {
        RedisStreamLog producer = node(URI);
        RedisStreamLog reader = node(URI);
        StreamWriter w = producer.open("answer-2");
        w.append("accepted", "{}", () -> { });
        w.append("token", "Half", () -> { });
        Recorder recorder = new Recorder();
        reader.follow("answer-2", 1, recorder);
        await().atMost(Duration.ofSeconds(10)).until(() -> recorder.entries.size() == 1);
        assertThat(recorder.end).isNull();

        producer.close();
        logs.remove(producer);

        await().atMost(Duration.ofSeconds(10)).until(() -> recorder.end != null);
        assertThat(recorder.end).startsWith("gone: ");
        assertThat(recorder.data()).containsExactly("Half");
        Recorder unknown = new Recorder();
        reader.follow("never-written", 0, unknown);
        await().atMost(Duration.ofSeconds(10)).until(() -> unknown.end != null);
        assertThat(unknown.end).isEqualTo("not found");
    }

    @Test
    void withoutRedisTheAnswerGoesOnInOrderAndAReaderIsToldTheLogFailed() {
        RedisStreamLog unreachable = node("redis://127.0.0.1:1");
        StreamWriter w = unreachable.open("answer-3");
        List<Integer> durable = new CopyOnWriteArrayList<>();
        for (int i = 1; i <= 5; i++) {
            int n = i;
            w.append("token", "t" + i, () -> durable.add(n));
        }
        assertThat(durable).containsExactly(1, 2, 3, 4, 5);
        Recorder recorder = new Recorder();
        unreachable.follow("answer-3", 0, recorder);
        await().atMost(Duration.ofSeconds(10)).until(() -> recorder.end != null);
        assertThat(recorder.end).startsWith("failure: ");
    }

    static StreamLogConfig config(String prefix) {
        return new StreamLogConfig() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return StreamLogConfig.class;
            }

            @Override
            public String store() {
                return "redis";
            }

            @Override
            public String redisUri() {
                return URI;
            }

            @Override
            public String _redisPassword() {
                return "";
            }

            @Override
            public String keyPrefix() {
                return prefix;
            }

            @Override
            public int retainSeconds() {
                return 60;
            }

            @Override
            public int maxStreamSeconds() {
                return 120;
            }

            @Override
            public int heartbeatMillis() {
                return 200;
            }

            @Override
            public int producerTimeoutMillis() {
                return 600;
            }

            @Override
            public int maxIdleSeconds() {
                return 60;
            }

            @Override
            public int maxFollowers() {
                return 16;
            }

            @Override
            public int timeoutMillis() {
                return 1000;
            }
        };
    }
}

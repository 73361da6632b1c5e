package dev.parley.identity.apikeys.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LastUsedRecorderTest {
    private final List<Map<String, Instant>> writes = new ArrayList<>();
    private boolean fail;
    private final LastUsedRecorder recorder = new LastUsedRecorder(batch -> {
        if (fail) {
            throw new IllegalStateException("database down");
        }
        writes.add(Map.copyOf(batch));
    });

    @Test
    void manyUsesBecomeOneWritePerKeyWithTheLatestTime() {
        Instant t0 = Instant.parse("2026-12-05T10:00:00Z");
        for (int i = 0; i < 1_000; i++) {
            recorder.used("k1", t0.plusMillis(i));
            recorder.used("k2", t0.plusMillis(i / 2));
        }
        recorder.used("k1", t0); // an older use arriving late changes nothing
        assertThat(writes).isEmpty(); // nothing is written on the request path

        assertThat(recorder.flush()).isEqualTo(2);
        assertThat(writes).containsExactly(Map.of("k1", t0.plusMillis(999), "k2", t0.plusMillis(499)));
        assertThat(recorder.flush()).isZero();
        assertThat(writes).hasSize(1);
    }

    @Test
    void aFailedWriteIsKeptForTheNextFlush() {
        Instant t0 = Instant.parse("2026-12-05T10:00:00Z");
        recorder.used("k1", t0);
        fail = true;
        assertThat(recorder.flush()).isZero();
        assertThat(recorder.pending()).isEqualTo(1);
        recorder.used("k1", t0.plusSeconds(5));
        fail = false;
        assertThat(recorder.flush()).isEqualTo(1);
        assertThat(writes).containsExactly(Map.of("k1", t0.plusSeconds(5)));
    }
}

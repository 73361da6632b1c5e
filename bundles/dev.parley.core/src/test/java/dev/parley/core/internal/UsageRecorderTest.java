package dev.parley.core.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.usage.UsagePage;
import dev.parley.api.usage.UsageOutcome;
import dev.parley.api.usage.UsageQuery;
import dev.parley.api.usage.UsageRecord;
import dev.parley.api.usage.UsageStore;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class UsageRecorderTest {
    private static final long NEVER = Duration.ofHours(1).toMillis();

    /** Keeps what it is given; refuses while {@code failing}. */
    static final class ListStore implements UsageStore {
        final List<List<UsageRecord>> batches = new CopyOnWriteArrayList<>();
        final AtomicInteger calls = new AtomicInteger();
        volatile boolean failing;

        @Override
        public void recordAll(List<UsageRecord> records) {
            calls.incrementAndGet();
            if (failing) {
                throw new ParleyException(ErrorCode.STORE_FAILURE, "Could not store usage records");
            }
            batches.add(List.copyOf(records));
        }

        @Override
        public UsagePage find(UsageQuery query) {
            throw new UnsupportedOperationException();
        }

        List<String> ids() {
            List<String> ids = new ArrayList<>();
            batches.forEach(b -> b.forEach(r -> ids.add(r.id())));
            return ids;
        }
    }

    private final ListStore store = new ListStore();
    private final AtomicReference<UsageStore> current = new AtomicReference<>(store);
    private final List<UsageRecorder> recorders = new ArrayList<>();

    private UsageRecorder recorder(long intervalMillis, int capacity, int batchSize) {
        var r = new UsageRecorder(current::get, intervalMillis, capacity, batchSize);
        recorders.add(r);
        return r;
    }

    @AfterEach
    void close() {
        store.failing = false;
        recorders.forEach(UsageRecorder::close);
    }

    private static UsageRecord usage(String id) {
        return new UsageRecord(id, Instant.parse("2026-12-01T10:00:00Z"), null, null, "openai", null, null, "m", "p",
                "m", UsageOutcome.COMPLETED, null, List.of(), 1, 1, 0, null, 5, 1L);
    }

    @Test
    void storesQueuedRecordsInBatchesInOrder() {
        var r = recorder(NEVER, 100, 3);
        for (int i = 0; i < 7; i++) {
            r.record(usage("u" + i));
        }
        assertThat(store.batches).isEmpty();

        assertThat(r.flush()).isTrue();

        assertThat(store.batches).extracting(List::size).containsExactly(3, 3, 1);
        assertThat(store.ids()).containsExactly("u0", "u1", "u2", "u3", "u4", "u5", "u6");
        assertThat(r.queued()).isZero();
    }

    @Test
    void aRefusedBatchStaysQueuedAndIsStoredOnceLaterInOrder() {
        var r = recorder(NEVER, 100, 2);
        r.record(usage("a"));
        r.record(usage("b"));
        r.record(usage("c"));
        store.failing = true;

        assertThat(r.flush()).isFalse();
        assertThat(r.queued()).isEqualTo(3);
        r.record(usage("d"));

        store.failing = false;
        assertThat(r.flush()).isTrue();
        assertThat(store.ids()).containsExactly("a", "b", "c", "d");
        assertThat(r.dropped()).isZero();
    }

    @Test
    void whenTheStoreRefusesForTooLongTheOldestAreDroppedAndCounted() {
        var r = recorder(NEVER, 3, 10);
        store.failing = true;
        for (int i = 0; i < 5; i++) {
            r.record(usage("u" + i));
        }
        assertThat(r.flush()).isFalse();
        assertThat(r.queued()).isEqualTo(3);
        assertThat(r.dropped()).isEqualTo(2);

        store.failing = false;
        r.flush();
        assertThat(store.ids()).containsExactly("u2", "u3", "u4");
    }

    @Test
    void recordsWaitForAStoreThatIsNotThereYet() {
        current.set(null);
        var r = recorder(NEVER, 10, 10);
        r.record(usage("early"));
        assertThat(r.flush()).isFalse();
        assertThat(r.queued()).isEqualTo(1);

        current.set(store);
        assertThat(r.flush()).isTrue();
        assertThat(store.ids()).containsExactly("early");
    }

    @Test
    void theTimerTriesARefusedBatchAgainWithoutNewRecords() {
        store.failing = true;
        var r = recorder(20, 100, 100);
        r.record(usage("refused"));
        await().atMost(Duration.ofSeconds(10)).until(() -> store.calls.get() >= 3);
        assertThat(store.ids()).isEmpty();

        store.failing = false;
        await().atMost(Duration.ofSeconds(10)).until(() -> store.ids().contains("refused"));
        assertThat(store.ids()).containsExactly("refused");
        assertThat(r.queued()).isZero();
    }

    @Test
    void theTimerStoresWhatIsQueuedAndCloseStoresTheRest() {
        var r = recorder(20, 100, 100);
        r.record(usage("timed"));
        await().atMost(Duration.ofSeconds(10)).until(() -> store.ids().contains("timed"));

        var slow = recorder(NEVER, 100, 100);
        slow.record(usage("last"));
        slow.close();
        assertThat(store.ids()).containsExactly("timed", "last");
    }
}

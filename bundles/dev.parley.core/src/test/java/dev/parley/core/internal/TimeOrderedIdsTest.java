package dev.parley.core.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.Test;

class TimeOrderedIdsTest {

    @Test
    void idsAreVersion7WithTheIetfVariantAndCarryTheirMillisecond() {
        long now = 1_780_000_000_123L;
        UUID id = TimeOrderedIds.at(now);
        assertThat(id.version()).isEqualTo(7);
        assertThat(id.variant()).isEqualTo(2);
        assertThat(id.getMostSignificantBits() >>> 16).isEqualTo(now);
    }

    @Test
    void laterIdsSortAfterEarlierOnesAsStringsAndNoneRepeats() {
        List<String> ids = new ArrayList<>();
        for (long t = 1_780_000_000_000L; t < 1_780_000_000_000L + 1000; t += 7) {
            ids.add(TimeOrderedIds.at(t).toString());
        }
        assertThat(ids).isSorted();
        assertThat(new HashSet<>(ids)).hasSameSizeAs(ids);
        assertThat(TimeOrderedIds.at(5).toString()).isNotEqualTo(TimeOrderedIds.at(5).toString());
    }
}

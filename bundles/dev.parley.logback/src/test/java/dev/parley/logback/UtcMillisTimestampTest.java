package dev.parley.logback;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;

class UtcMillisTimestampTest {
    /** What the pattern used to be: {@code %d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX,UTC}}. */
    static final DateTimeFormatter LOGBACK_PATTERN =
            DateTimeFormatter.ofPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX").withZone(ZoneOffset.UTC);

    final UtcMillisTimestamp converter = new UtcMillisTimestamp();

    @Test
    void printsWhatTheDatePatternPrinted() {
        long t = Instant.parse("2026-12-05T07:12:35Z").toEpochMilli();
        for (long at : new long[] {t, t + 1, t + 9, t + 10, t + 99, t + 100, t + 702, t + 999, t + 1000, t - 1,
                Instant.parse("2024-02-29T23:59:59.999Z").toEpochMilli(), 0L}) {
            assertThat(converter.format(at)).isEqualTo(LOGBACK_PATTERN.format(Instant.ofEpochMilli(at)));
        }
    }

    @Test
    void keepsUpWithTimeGoingBackAndForth() {
        var random = new SplittableRandom(7);
        long base = Instant.parse("2026-01-01T00:00:00Z").toEpochMilli();
        for (int i = 0; i < 10_000; i++) {
            long at = base + random.nextLong(0, 5_000);
            assertThat(converter.format(at)).isEqualTo(LOGBACK_PATTERN.format(Instant.ofEpochMilli(at)));
        }
    }
}

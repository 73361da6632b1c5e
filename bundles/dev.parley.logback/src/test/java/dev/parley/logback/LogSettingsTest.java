package dev.parley.logback;

import static org.assertj.core.api.Assertions.assertThat;

import ch.qos.logback.classic.Level;
import java.util.Map;
import org.junit.jupiter.api.Test;

class LogSettingsTest {
    @Test
    void defaultsAreTextAtInfo() {
        var s = LogSettings.from(Map.of());
        assertThat(s.format()).isEqualTo(LogSettings.Format.TEXT);
        assertThat(s.rootLevel()).isEqualTo(Level.INFO);
        assertThat(s.problems()).isEmpty();
    }

    @Test
    void valuesAreCaseInsensitive() {
        var s = LogSettings.from(Map.of("PARLEY_LOG_FORMAT", " Json ", "PARLEY_LOG_LEVEL", "debug"));
        assertThat(s.format()).isEqualTo(LogSettings.Format.JSON);
        assertThat(s.rootLevel()).isEqualTo(Level.DEBUG);
        assertThat(LogSettings.from(Map.of("PARLEY_LOG_LEVEL", "OFF")).rootLevel()).isEqualTo(Level.OFF);
    }

    @Test
    void unknownValuesFallBackToTheDefaultsAndSaySo() {
        // Logback itself would read "verbose" as DEBUG and "ALL" as ALL: neither is a level Parley documents.
        var s = LogSettings.from(Map.of("PARLEY_LOG_FORMAT", "xml", "PARLEY_LOG_LEVEL", "verbose"));
        assertThat(s.format()).isEqualTo(LogSettings.Format.TEXT);
        assertThat(s.rootLevel()).isEqualTo(Level.INFO);
        assertThat(s.problems()).hasSize(2).anySatisfy(p -> assertThat(p).startsWith("PARLEY_LOG_FORMAT"))
                .anySatisfy(p -> assertThat(p).startsWith("PARLEY_LOG_LEVEL"));
        assertThat(LogSettings.from(Map.of("PARLEY_LOG_LEVEL", "ALL")).rootLevel()).isEqualTo(Level.INFO);
    }
}

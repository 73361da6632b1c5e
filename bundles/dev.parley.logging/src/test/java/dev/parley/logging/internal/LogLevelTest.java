package dev.parley.logging.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class LogLevelTest {
    @Test
    void theSixLevelsInAnyCase() {
        assertThat(LogLevel.parse("TRACE")).isEqualTo(LogLevel.TRACE);
        assertThat(LogLevel.parse("debug")).isEqualTo(LogLevel.DEBUG);
        assertThat(LogLevel.parse("Info")).isEqualTo(LogLevel.INFO);
        assertThat(LogLevel.parse("wArN")).isEqualTo(LogLevel.WARN);
        assertThat(LogLevel.parse(" error ")).isEqualTo(LogLevel.ERROR);
        assertThat(LogLevel.parse("off")).isEqualTo(LogLevel.OFF);
        assertThat(LogLevel.DEBUG.logback()).isEqualTo(Level.DEBUG);
        assertThat(LogLevel.OFF.logback()).isEqualTo(Level.OFF);
    }

    @ParameterizedTest
    @NullAndEmptySource
    @ValueSource(strings = {"ALL", "verbose", "WARNING", "FINE", "SEVERE", "1", "DEBUG,INFO", "deb ug"})
    void anythingElseIsRefused(String value) {
        // Logback's own Level.toLevel would turn most of these into DEBUG without a word.
        assertThatThrownBy(() -> LogLevel.parse(value)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageStartingWith("level must be TRACE, DEBUG, INFO, WARN, ERROR or OFF");
    }

    @Test
    void aLongValueIsShortenedInTheMessage() {
        assertThatThrownBy(() -> LogLevel.parse("x".repeat(500))).hasMessageContaining("x".repeat(40) + "…")
                .hasMessageNotContaining("x".repeat(41));
    }
}

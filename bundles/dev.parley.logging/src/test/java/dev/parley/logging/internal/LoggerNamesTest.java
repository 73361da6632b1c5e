package dev.parley.logging.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class LoggerNamesTest {
    @ParameterizedTest
    @ValueSource(strings = {"dev", "dev.parley.core", "dev.parley.core.internal.CoreChatService",
            "dev.parley.web.ws.internal.ChatSocket$Turn", "org.eclipse.jetty", "com.zaxxer.hikari.pool.HikariPool",
            "_private.x", "my-plugin.logger", "a1.b2"})
    void dottedJavaLikeNamesAreLoggerNames(String name) {
        assertThat(LoggerNames.normalize(name)).isEqualTo(name);
    }

    @ParameterizedTest
    @ValueSource(strings = {"ROOT", "root", "Root"})
    void rootInAnyCaseIsTheRootLogger(String name) {
        assertThat(LoggerNames.normalize(name)).isEqualTo("ROOT");
    }

    @ParameterizedTest
    @NullAndEmptySource
    @ValueSource(strings = {" ", "a b", ".dev", "dev.", "dev..parley", "1dev", "dev.2x", "-x", "../etc/passwd",
            "dev/parley", "dev;parley", "dev.parley\n", "dev%20parley", "über", "*", "dev.*"})
    void anythingElseIsRefused(String name) {
        assertThatThrownBy(() -> LoggerNames.normalize(name)).isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void namesHaveALimit() {
        String longest = "a".repeat(LoggerNames.MAX_LENGTH);
        assertThat(LoggerNames.normalize(longest)).isEqualTo(longest);
        assertThatThrownBy(() -> LoggerNames.normalize(longest + "a")).hasMessageContaining("at most 200");
    }
}

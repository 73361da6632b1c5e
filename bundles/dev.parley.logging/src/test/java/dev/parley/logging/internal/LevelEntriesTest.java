package dev.parley.logging.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class LevelEntriesTest {
    @Test
    void entriesAreLoggerEqualsLevelOnePerStringOrCommaSeparated() {
        var e = LevelEntries.parse(new String[] {"dev.parley.core=debug", " org.eclipse.jetty = WARN , com.zaxxer=error",
                "root=warn", ""});
        assertThat(e.levels()).isEqualTo(Map.of("dev.parley.core", LogLevel.DEBUG, "org.eclipse.jetty", LogLevel.WARN,
                "com.zaxxer", LogLevel.ERROR, "ROOT", LogLevel.WARN));
        assertThat(e.problems()).isEmpty();
    }

    @Test
    void badEntriesAreReportedAndTheRestIsKept() {
        var e = LevelEntries.parse(new String[] {"dev.parley.core=DEBUG", "dev.parley.store", "bad name=INFO",
                "dev.parley.web=LOUD"});
        assertThat(e.levels()).isEqualTo(Map.of("dev.parley.core", LogLevel.DEBUG));
        assertThat(e.problems()).hasSize(3);
        assertThat(e.problems().get(0)).contains("not logger=LEVEL");
        assertThat(e.problems().get(1)).contains("is not a logger name");
        assertThat(e.problems().get(2)).contains("level must be");
    }

    @Test
    void nothingConfiguredIsNoLevels() {
        assertThat(LevelEntries.parse(null).levels()).isEmpty();
        assertThat(LevelEntries.parse(new String[0]).levels()).isEmpty();
    }
}

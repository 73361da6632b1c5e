package dev.parley.logging.internal;

import static dev.parley.logging.internal.TestConfig.config;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class LogLevelsTest {
    LoggerContext context;

    @BeforeEach
    void freshContext() {
        context = new LoggerContext();
        context.getLogger("ROOT").setLevel(Level.WARN);
        context.getLogger("org.apache.aries.spifly").setLevel(Level.ERROR);
    }

    @AfterEach
    void stop() {
        context.stop();
    }

    @Test
    void configurationSetsTheLevelsLoggersStartWith() {
        new LogLevels(context, config("debug", "dev.parley.core=TRACE", "org.eclipse.jetty=warn"));
        assertThat(context.getLogger("ROOT").getLevel()).isEqualTo(Level.DEBUG);
        assertThat(context.getLogger("dev.parley.core").getLevel()).isEqualTo(Level.TRACE);
        assertThat(context.getLogger("dev.parley.core.internal.Turn").getEffectiveLevel()).isEqualTo(Level.TRACE);
        assertThat(context.getLogger("org.eclipse.jetty").getLevel()).isEqualTo(Level.WARN);
    }

    @Test
    void anEmptyRootLevelKeepsTheLevelTheLogStartedWith() {
        new LogLevels(context, config(""));
        assertThat(context.getLogger("ROOT").getLevel()).isEqualTo(Level.WARN);
    }

    @Test
    void aChangedConfigurationReleasesTheLoggersItNoLongerNames() {
        var levels = new LogLevels(context, config("INFO", "dev.parley.core=DEBUG", "dev.parley.store=ERROR"));
        levels.modified(config("INFO", "dev.parley.store=WARN"));
        assertThat(context.getLogger("dev.parley.core").getLevel()).isNull();
        assertThat(context.getLogger("dev.parley.store").getLevel()).isEqualTo(Level.WARN);
        // A level the configuration never named (the backend's quiet defaults) is left alone.
        assertThat(context.getLogger("org.apache.aries.spifly").getLevel()).isEqualTo(Level.ERROR);
    }

    @Test
    void badConfigurationEntriesAreSkipped() {
        new LogLevels(context, config("LOUD", "dev.parley.core=DEBUG", "nonsense"));
        assertThat(context.getLogger("ROOT").getLevel()).isEqualTo(Level.WARN);
        assertThat(context.getLogger("dev.parley.core").getLevel()).isEqualTo(Level.DEBUG);
    }

    @Test
    void setChangesOneLoggerAndNullMakesItInheritAgain() {
        var levels = new LogLevels(context, config("INFO"));
        var view = levels.set("dev.parley.core", LogLevel.DEBUG);
        assertThat(view).isEqualTo(new LoggerView("dev.parley.core", "DEBUG", "DEBUG"));
        assertThat(levels.view("dev.parley.core.internal.CoreChatService"))
                .isEqualTo(new LoggerView("dev.parley.core.internal.CoreChatService", null, "DEBUG"));
        assertThat(levels.configured()).extracting(LoggerView::name).contains("ROOT", "dev.parley.core");

        assertThat(levels.set("dev.parley.core", null)).isEqualTo(new LoggerView("dev.parley.core", null, "INFO"));
        assertThat(levels.configured()).extracting(LoggerView::name).doesNotContain("dev.parley.core");
    }

    @Test
    void theRootLoggerResetsToItsConfiguredLevel() {
        var levels = new LogLevels(context, config("ERROR"));
        assertThat(levels.set("root", LogLevel.TRACE)).isEqualTo(new LoggerView("ROOT", "TRACE", "TRACE"));
        assertThat(levels.rootLevel()).isEqualTo(Level.TRACE);
        assertThat(levels.set("ROOT", null)).isEqualTo(new LoggerView("ROOT", "ERROR", "ERROR"));

        var unconfigured = new LogLevels(context, config(""));
        unconfigured.set("ROOT", LogLevel.DEBUG);
        assertThat(unconfigured.set("ROOT", null).level()).isEqualTo("ERROR");
    }

    @Test
    void lookingAtAnUnknownLoggerDoesNotCreateIt() {
        var levels = new LogLevels(context, config("INFO", "dev.parley=WARN"));
        assertThat(levels.view("dev.parley.nothing.Here")).isEqualTo(new LoggerView("dev.parley.nothing.Here", null, "WARN"));
        assertThat(levels.view("com.example.Other")).isEqualTo(new LoggerView("com.example.Other", null, "INFO"));
        assertThat(context.exists("dev.parley.nothing.Here")).isNull();
        assertThat(context.exists("com.example")).isNull();
    }

    @Test
    void anInvalidNameChangesNothing() {
        var levels = new LogLevels(context, config("INFO"));
        int loggers = context.getLoggerList().size();
        assertThatThrownBy(() -> levels.set("dev..parley", LogLevel.DEBUG)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> levels.view("a b")).isInstanceOf(IllegalArgumentException.class);
        assertThat(context.getLoggerList()).hasSize(loggers);
    }
}

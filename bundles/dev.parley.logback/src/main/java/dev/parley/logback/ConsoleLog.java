package dev.parley.logback;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.PatternLayout;
import ch.qos.logback.classic.jul.LevelChangePropagator;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.OutputStreamAppender;
import ch.qos.logback.core.encoder.Encoder;
import ch.qos.logback.core.encoder.LayoutWrappingEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import net.logstash.logback.encoder.LogstashEncoder;
import org.slf4j.Logger;

/**
 * Builds Parley's console log on a logger context: one line per event, plain text or one JSON object, INFO unless
 * told otherwise, and quiet defaults for third-party loggers that talk without saying anything an operator can act on.
 */
final class ConsoleLog {
    /** Close to slf4j-simple's line, which Parley printed before, with a UTC time stamp in front. */
    /** {@code %utc} is {@code %d{yyyy-MM-dd'T'HH:mm:ss.SSSXXX,UTC}}, cheaper ({@link UtcMillisTimestamp}). */
    static final String TEXT_PATTERN = "%utc [%thread] %level %logger - %msg%n";
    /**
     * Start-up chatter at INFO that says nothing an operator can act on (the same list the launcher gives
     * java.util.logging before Logback takes it over). An operator can change each through the admin API.
     */
    static final Map<String, Level> QUIET = Map.of(
            "org.apache.aries.spifly", Level.WARN,
            // Jersey reports whiteboard resources registered as instances as "not providers"; they are served all the same.
            "org.glassfish.jersey.internal.inject.Providers", Level.ERROR,
            // WADL needs JAXB, which Parley does not ship; Jersey then disables WADL and says so on every start.
            "org.glassfish.jersey.server.wadl.WadlFeature", Level.ERROR);

    private ConsoleLog() {
    }

    /**
     * Configures {@code context} to write every event through {@code appender} (not yet started) in the format the
     * settings ask for. With {@code propagateToJul}, level changes are also applied to java.util.logging, so that
     * records filtered there by level reach SLF4J whenever Logback would log them.
     */
    static void configure(LoggerContext context, LogSettings settings, OutputStreamAppender<ILoggingEvent> appender,
            boolean propagateToJul) {
        // Levels first: a fresh context's root logger is at DEBUG, and the propagator below hands Logback's levels to
        // java.util.logging, where SPI Fly reports every class it weaves at FINE while the encoders are loaded.
        ch.qos.logback.classic.Logger root = context.getLogger(Logger.ROOT_LOGGER_NAME);
        root.setLevel(settings.rootLevel());
        QUIET.forEach((name, level) -> context.getLogger(name).setLevel(level));

        appender.setContext(context);
        appender.setName(settings.format() == LogSettings.Format.JSON ? "json" : "text");
        appender.setEncoder(encoder(context, settings.format()));
        appender.start();
        root.addAppender(appender);

        if (propagateToJul) {
            var propagator = new LevelChangePropagator();
            propagator.setContext(context);
            // Drop the levels the launcher gave java.util.logging: from now on Logback's levels are the only ones.
            propagator.setResetJUL(true);
            context.addListener(propagator);
            propagator.start();
        }
    }

    static Encoder<ILoggingEvent> encoder(LoggerContext context, LogSettings.Format format) {
        if (format == LogSettings.Format.JSON) {
            // Field names of logstash-logback-encoder (what ELK and Loki pipelines expect): @timestamp, level,
            // logger_name, thread_name, message, stack_trace, every MDC entry at the top level, plus "service".
            var json = new LogstashEncoder();
            json.setContext(context);
            json.setTimeZone("UTC");
            // Milliseconds, like the text lines: a fixed width that every log pipeline parses as ISO-8601.
            json.setTimestampPattern("yyyy-MM-dd'T'HH:mm:ss.SSSXXX");
            json.setIncludeContext(false);
            json.getFieldNames().setVersion("[ignore]");
            json.getFieldNames().setLevelValue("[ignore]");
            json.setCustomFields("{\"service\":\"parley\"}");
            json.start();
            return json;
        }
        var layout = new PatternLayout();
        layout.setContext(context);
        layout.getInstanceConverterMap().put("utc", UtcMillisTimestamp::new);
        layout.setPattern(TEXT_PATTERN);
        layout.start();
        var text = new LayoutWrappingEncoder<ILoggingEvent>();
        text.setContext(context);
        text.setLayout(layout);
        text.setCharset(StandardCharsets.UTF_8);
        text.start();
        return text;
    }
}

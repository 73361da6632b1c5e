package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import ch.qos.logback.classic.Level;
import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.core.read.ListAppender;
import java.time.Duration;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.osgi.framework.BundleContext;
import org.osgi.service.log.LogService;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.slf4j.Logger;

/**
 * What bundles log through the OSGi Log Service (Event Admin's warnings, SCR's errors) reaches Logback, and so the
 * one log stream in the operator's format. Without a Log Service, Event Admin prints its warnings straight to stdout
 * as plain text, which breaks a JSON log pipeline (docs/architecture.md, "Logging").
 */
class OsgiLogTest {
    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    LogService log;

    @Test
    @SuppressWarnings("deprecation") // LogService.log(int, String) is what Event Admin and SCR call
    void logServiceEntriesReachLogback() {
        var logback = (LoggerContext) org.slf4j.LoggerFactory.getILoggerFactory();
        var captured = new ListAppender<ILoggingEvent>();
        captured.setContext(logback);
        captured.start();
        var root = logback.getLogger(Logger.ROOT_LOGGER_NAME);
        root.addAppender(captured);
        try {
            String message = "osgi log check " + UUID.randomUUID();
            log.log(LogService.LOG_WARNING, message);
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(captured.list)
                    .filteredOn(e -> e.getFormattedMessage().contains(message))
                    .singleElement()
                    .satisfies(e -> {
                        assertThat(e.getLevel()).isEqualTo(Level.WARN);
                        assertThat(e.getLoggerName()).contains(context.getBundle().getSymbolicName());
                    }));
        } finally {
            root.detachAppender(captured);
        }
    }
}

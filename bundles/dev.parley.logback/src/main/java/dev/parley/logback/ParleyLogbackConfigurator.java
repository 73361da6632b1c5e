package dev.parley.logback;

import ch.qos.logback.classic.LoggerContext;
import ch.qos.logback.classic.spi.Configurator;
import ch.qos.logback.classic.spi.ConfiguratorRank;
import ch.qos.logback.classic.spi.ILoggingEvent;
import ch.qos.logback.classic.util.ContextInitializer;
import ch.qos.logback.core.ConsoleAppender;
import ch.qos.logback.core.spi.ContextAwareBase;
import org.slf4j.bridge.SLF4JBridgeHandler;

/**
 * Parley's Logback configuration. Logback asks every {@link Configurator} it finds through {@code ServiceLoader} in
 * its own class space, and this bundle is a fragment of logback-classic, so it runs when SLF4J first binds to Logback
 * (before any Parley bundle logs) and leaves nothing to Logback's fallback, which would print every event at DEBUG.
 *
 * <p>It writes to stdout, as text lines or as one JSON object per line ({@code PARLEY_LOG_FORMAT}), at the root level
 * {@code PARLEY_LOG_LEVEL} names (INFO by default), and takes over java.util.logging (Jersey, HK2, SPI Fly, the
 * launcher, plugins that log through {@code System.Logger}), so that every log line of the process has one format.
 * An operator who sets {@code logback.configurationFile} gets that file instead (java.util.logging is still bridged).
 */
@ConfiguratorRank(ConfiguratorRank.CUSTOM_HIGH_PRIORITY)
public final class ParleyLogbackConfigurator extends ContextAwareBase implements Configurator {

    @Override
    public ExecutionStatus configure(LoggerContext context) {
        if (System.getProperty(ContextInitializer.CONFIG_FILE_PROPERTY) != null) {
            addInfo(ContextInitializer.CONFIG_FILE_PROPERTY + " is set: Parley's configuration steps aside");
            bridgeJavaUtilLogging();
            return ExecutionStatus.INVOKE_NEXT_IF_ANY;
        }
        LogSettings settings = LogSettings.from(System.getenv());
        var stdout = new ConsoleAppender<ILoggingEvent>();
        ConsoleLog.configure(context, settings, stdout, true);
        // Last: SLF4J is still binding, and every class loaded until now was woven by SPI Fly, which logs through
        // java.util.logging; a record bridged to SLF4J while SLF4J itself is being loaded would load SLF4J in a cycle.
        bridgeJavaUtilLogging();
        settings.problems().forEach(p -> context.getLogger(ParleyLogbackConfigurator.class).warn("log settings: {}", p));
        return ExecutionStatus.DO_NOT_INVOKE_NEXT_IF_ANY;
    }

    /** Routes java.util.logging's root logger to SLF4J instead of its console handler (stderr). */
    private static void bridgeJavaUtilLogging() {
        if (!SLF4JBridgeHandler.isInstalled()) {
            SLF4JBridgeHandler.removeHandlersForRootLogger();
            SLF4JBridgeHandler.install();
        }
    }
}

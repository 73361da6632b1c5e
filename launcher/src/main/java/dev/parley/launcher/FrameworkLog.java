package dev.parley.launcher;

import java.util.logging.Level;
import java.util.logging.Logger;

/**
 * Felix's own log (framework property {@code felix.log.logger}), sent to java.util.logging instead of Felix's default,
 * plain lines on stdout. Inside the framework Logback takes java.util.logging over, so these records come out in the
 * log's format (text or JSON) like every other line. Felix still decides what to log ({@code felix.log.level},
 * errors by default).
 */
final class FrameworkLog extends org.apache.felix.framework.Logger {
    static final String LOGGER = "org.apache.felix.framework";
    private final Logger logger = Logger.getLogger(LOGGER);

    @Override
    protected void doLog(int level, String message, Throwable throwable) {
        logger.log(level(level), message, throwable);
    }

    /** Felix's levels: 1 error, 2 warning, 3 info, 4 debug. */
    static Level level(int felixLevel) {
        return switch (felixLevel) {
            case LOG_ERROR -> Level.SEVERE;
            case LOG_WARNING -> Level.WARNING;
            case LOG_INFO -> Level.INFO;
            default -> Level.FINE;
        };
    }
}

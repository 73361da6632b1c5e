package dev.parley.logging.internal;

import ch.qos.logback.classic.Level;
import java.util.Locale;

/** The levels an operator can give a logger. Logback would also take ALL, and read any unknown word as DEBUG. */
enum LogLevel {
    TRACE(Level.TRACE), DEBUG(Level.DEBUG), INFO(Level.INFO), WARN(Level.WARN), ERROR(Level.ERROR), OFF(Level.OFF);

    static final String NAMES = "TRACE, DEBUG, INFO, WARN, ERROR or OFF";

    private final Level logback;

    LogLevel(Level logback) {
        this.logback = logback;
    }

    Level logback() {
        return logback;
    }

    /** Case-insensitive; surrounding blanks are ignored. */
    static LogLevel parse(String value) {
        if (value != null) {
            String v = value.strip().toUpperCase(Locale.ROOT);
            for (LogLevel l : values()) {
                if (l.name().equals(v)) {
                    return l;
                }
            }
        }
        throw new IllegalArgumentException("level must be " + NAMES + ", not '" + shorten(value) + "'");
    }

    static String shorten(String value) {
        if (value == null) {
            return "null";
        }
        return value.length() <= 40 ? value : value.substring(0, 40) + "…";
    }
}

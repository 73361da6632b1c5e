package dev.parley.logback;

import ch.qos.logback.classic.Level;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * What the environment asks of the console log: {@code PARLEY_LOG_FORMAT} ({@code text} or {@code json}) and
 * {@code PARLEY_LOG_LEVEL} (the root level). A value that is not understood falls back to the default and is reported
 * in {@link #problems()}, which the configurator logs once the log works.
 */
record LogSettings(Format format, Level rootLevel, List<String> problems) {
    static final String FORMAT_VARIABLE = "PARLEY_LOG_FORMAT";
    static final String LEVEL_VARIABLE = "PARLEY_LOG_LEVEL";
    /** The levels an operator may name; logback would also take ALL and silently turn anything else into DEBUG. */
    static final Set<String> LEVELS = Set.of("TRACE", "DEBUG", "INFO", "WARN", "ERROR", "OFF");

    enum Format { TEXT, JSON }

    static LogSettings from(Map<String, String> env) {
        var problems = new ArrayList<String>();
        Format format = Format.TEXT;
        String f = blankToNull(env.get(FORMAT_VARIABLE));
        if (f != null) {
            switch (f.toLowerCase(Locale.ROOT)) {
                case "text" -> format = Format.TEXT;
                case "json" -> format = Format.JSON;
                default -> problems.add(FORMAT_VARIABLE + " must be text or json; using text");
            }
        }
        Level level = Level.INFO;
        String l = blankToNull(env.get(LEVEL_VARIABLE));
        if (l != null) {
            if (LEVELS.contains(l.toUpperCase(Locale.ROOT))) {
                level = Level.toLevel(l.toUpperCase(Locale.ROOT));
            } else {
                problems.add(LEVEL_VARIABLE + " must be one of TRACE, DEBUG, INFO, WARN, ERROR, OFF; using INFO");
            }
        }
        return new LogSettings(format, level, List.copyOf(problems));
    }

    private static String blankToNull(String s) {
        return s == null || s.isBlank() ? null : s.strip();
    }
}

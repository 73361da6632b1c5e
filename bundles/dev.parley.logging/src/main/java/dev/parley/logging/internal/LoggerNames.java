package dev.parley.logging.internal;

import java.util.regex.Pattern;

/** What a logger may be called through the admin API and in configuration. */
final class LoggerNames {
    /** The root logger's name, in any case (Logback's convention). */
    static final String ROOT = "ROOT";
    static final int MAX_LENGTH = 200;
    /** Dotted Java-like names: a package, a class (nested classes with $), a library's own dotted category. */
    private static final Pattern NAME = Pattern.compile("[A-Za-z_$][A-Za-z0-9_$-]*(\\.[A-Za-z_$][A-Za-z0-9_$-]*)*");

    private LoggerNames() {
    }

    /** The name as Logback knows it ({@value #ROOT} for the root logger); throws when it is not a logger name. */
    static String normalize(String name) {
        if (name == null || name.isEmpty()) {
            throw new IllegalArgumentException("a logger name is required");
        }
        if (name.length() > MAX_LENGTH) {
            throw new IllegalArgumentException("a logger name has at most " + MAX_LENGTH + " characters");
        }
        if (name.equalsIgnoreCase(ROOT)) {
            return ROOT;
        }
        if (!NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("'" + LogLevel.shorten(name)
                    + "' is not a logger name: dotted parts of letters, digits, '_', '$' and '-', each starting with"
                    + " a letter, '_' or '$' (e.g. dev.parley.core), or ROOT");
        }
        return name;
    }
}

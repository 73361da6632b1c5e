package dev.parley.logging.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Reads the {@code levels} configuration: entries {@code logger=LEVEL}, several per string when separated by commas. */
record LevelEntries(Map<String, LogLevel> levels, List<String> problems) {

    static LevelEntries parse(String[] entries) {
        Map<String, LogLevel> levels = new LinkedHashMap<>();
        List<String> problems = new ArrayList<>();
        if (entries != null) {
            for (String entry : entries) {
                if (entry == null) {
                    continue;
                }
                for (String part : entry.split(",")) {
                    String e = part.strip();
                    if (e.isEmpty()) {
                        continue;
                    }
                    int eq = e.indexOf('=');
                    if (eq < 0) {
                        problems.add("'" + LogLevel.shorten(e) + "' is not logger=LEVEL");
                        continue;
                    }
                    try {
                        levels.put(LoggerNames.normalize(e.substring(0, eq).strip()), LogLevel.parse(e.substring(eq + 1)));
                    } catch (IllegalArgumentException ex) {
                        problems.add("'" + LogLevel.shorten(e) + "': " + ex.getMessage());
                    }
                }
            }
        }
        return new LevelEntries(Map.copyOf(levels), List.copyOf(problems));
    }
}

package dev.parley.itests.hostile;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.SerializationFeature;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The figures of each attack of a run, written as JSON (by default {@code itests/target/hostile-results.json}, beside
 * the tests' data directory) for the table in {@code docs/sandbox.md}. Each suite writes its own rows into the one
 * file: a row of an attack and tier this run did not try is kept from the run that did (its {@code run} says when).
 */
final class HostileResults {
    private static final ObjectMapper JSON = new ObjectMapper().enable(SerializationFeature.INDENT_OUTPUT);
    private final String run = Instant.now().toString();
    private final List<Map<String, Object>> rows = new ArrayList<>();

    /**
     * @param attack    the attack, as the docs' table names it
     * @param tier      the tier it was tried in
     * @param stoppedBy where it was stopped (admission with the rule, the guard, the framework hooks, ...)
     * @param adminSees what the admin sees: the refusal's detail, the quarantine reason, the refused plugin
     * @param load      the unaffected provider's chats while the attack ran
     */
    synchronized void record(String attack, String tier, String stoppedBy, String adminSees, ChatLoad.Figures load) {
        Map<String, Object> row = new LinkedHashMap<>();
        row.put("attack", attack);
        row.put("tier", tier);
        row.put("stoppedBy", stoppedBy);
        row.put("adminSees", adminSees);
        row.put("chatsAttempted", load.attempted());
        row.put("chatsSucceeded", load.succeeded());
        row.put("successPercent", Math.round(load.successPercent() * 10) / 10.0);
        row.put("slowestChatMillis", load.slowestMillis());
        row.put("run", run);
        rows.add(row);
        System.out.printf("hostile: %s (%s): stopped by %s; %d of %d chats of the other provider succeeded (%.1f %%), "
                + "the slowest in %d ms%n", attack, tier, stoppedBy, load.succeeded(), load.attempted(),
                load.successPercent(), load.slowestMillis());
    }

    synchronized void write(Path file) {
        List<Object> all = new ArrayList<>();
        try {
            if (Files.exists(file)) {
                for (JsonNode old : JSON.readTree(file.toFile()).path("attacks")) {
                    boolean redone = rows.stream().anyMatch(r -> r.get("attack").equals(old.path("attack").asText())
                            && r.get("tier").equals(old.path("tier").asText()));
                    if (!redone) {
                        all.add(old);
                    }
                }
            }
            all.addAll(rows);
            Map<String, Object> doc = new LinkedHashMap<>();
            doc.put("run", run);
            doc.put("java", System.getProperty("java.version"));
            doc.put("attacks", all);
            Files.createDirectories(file.getParent());
            JSON.writeValue(file.toFile(), doc);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

package dev.parley.identity.apikeys.internal;

import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * When each key was last used, summarised: a request only notes the time in memory ({@link #used}); {@link #flush},
 * run by the owner every write interval off the request path, writes the latest time of each key used since the
 * last flush in one batch. So a key costs the database at most one write per interval on each node, however many
 * requests it makes, and key use is never a write per request.
 */
final class LastUsedRecorder {
    private static final Logger LOG = LoggerFactory.getLogger(LastUsedRecorder.class);

    private final ConcurrentHashMap<String, Instant> pending = new ConcurrentHashMap<>();
    private final Consumer<Map<String, Instant>> writer;
    private volatile boolean failing;

    /** @param writer writes one batch (key id → last use); may throw, the batch is then kept for the next flush */
    LastUsedRecorder(Consumer<Map<String, Instant>> writer) {
        this.writer = writer;
    }

    /** Notes that key {@code id} was used at {@code at} (cheap: one map update). */
    void used(String id, Instant at) {
        pending.merge(id, at, (a, b) -> a.isAfter(b) ? a : b);
    }

    /** Writes what was noted since the last flush; returns how many keys it wrote. */
    int flush() {
        if (pending.isEmpty()) {
            return 0;
        }
        Map<String, Instant> batch = new HashMap<>();
        for (String id : pending.keySet()) {
            Instant at = pending.remove(id);
            if (at != null) {
                batch.put(id, at);
            }
        }
        try {
            writer.accept(batch);
            if (failing) {
                failing = false;
                LOG.info("Last-used times of API keys are written again");
            }
            return batch.size();
        } catch (RuntimeException e) {
            // Kept for the next flush (a later use of the same key wins); logged once per outage.
            batch.forEach(this::used);
            if (!failing) {
                failing = true;
                LOG.warn("Could not write the last-used times of API keys; keeping them for the next try keys={}: {}",
                        batch.size(), e.getMessage());
            }
            return 0;
        }
    }

    /** How many keys wait for the next flush. */
    int pending() {
        return pending.size();
    }
}

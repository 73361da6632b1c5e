package dev.parley.plugins.internal;

import dev.parley.plugins.internal.PluginStartStore.Row;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.function.Supplier;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Crash-loop protection for one node's plugin starts, kept in the database ({@link PluginStartStore}) so that it
 * outlives the process a plugin takes down.
 *
 * <ul>
 * <li>Before a plugin is started on this node, the attempt is recorded (committed first). It is closed as healthy
 * once the plugin has stayed up for the probation time after passing its health gate, and the count of failed starts
 * starts over; a start that fails (its activation throws, its gate fails) counts one failed start.</li>
 * <li>When the runtime activates (a process starts), an attempt an earlier process left open counts as a crash: that
 * process ended while the plugin was starting or within its probation time ({@code System.exit}, {@code halt}, a
 * kill, running out of memory).</li>
 * <li>After {@code maxFailedStarts} failed or crashed starts in a row the plugin is held as {@code crash-loop} on this
 * node: it stays installed (so it can be uninstalled or enabled again) but is not started, with the reason.</li>
 * <li>A plugin that has failed or crashed before (a suspect) is started only while no other plugin on this node is
 * starting or in its probation, so that a crash counts against one plugin, not against every plugin that happened to
 * start with it.</li>
 * <li>A stop the admin asked for (SIGTERM, SIGINT, a framework stop) closes the open attempts without a verdict;
 * a process that ends without one ({@code System.exit} from a plugin, a kill) leaves them for the next start to
 * count.</li>
 * </ul>
 */
final class PluginStarts {
    private static final Logger LOG = LoggerFactory.getLogger(PluginStarts.class);

    /** Why a plugin is kept stopped on this node. */
    record Hold(String kind, String reason) {
    }

    private final PluginStartStore store;
    private final String nodeId;
    private final String process;
    private final int maxFailedStarts;
    private final Duration probation;
    private final Predicate<String> running;
    private final Clock clock;
    private final ScheduledThreadPoolExecutor timers;
    /** This process's open attempts: plugin id to attempt id. */
    private final Map<String, String> open = new ConcurrentHashMap<>();

    /**
     * @param process an id of this process (the framework's UUID): attempts of another one are crashes
     * @param running whether the plugin's bundle is active now (read when its probation ends)
     */
    PluginStarts(PluginStartStore store, String nodeId, String process, int maxFailedStarts, Duration probation,
            Predicate<String> running, Clock clock) {
        this.store = store;
        this.nodeId = nodeId;
        this.process = process;
        this.maxFailedStarts = Math.max(1, maxFailedStarts);
        this.probation = probation;
        this.running = running;
        this.clock = clock;
        this.timers = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "parley-plugin-probation");
            t.setDaemon(true);
            return t;
        });
        timers.setRemoveOnCancelPolicy(true);
        timers.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    int maxFailedStarts() {
        return maxFailedStarts;
    }

    Duration probation() {
        return probation;
    }

    /**
     * At activation: every attempt an earlier process left open is a crash, counted (and perhaps held); this
     * process's own (the runtime restarted within the process) get their probation back.
     *
     * @return the rows of the crashed starts counted, as they are now (held or not)
     */
    List<Row> sweep() {
        List<Row> counted = new ArrayList<>();
        for (Row row : store.rows(nodeId)) {
            if (!row.attemptOpen()) {
                continue;
            }
            if (process.equals(row.attemptProcess())) {
                open.put(row.pluginId(), row.attemptId());
                long left = row.attemptAt() == null ? 0
                        : Math.max(0, row.attemptAt().plus(probation).toEpochMilli() - clock.millis());
                schedule(row.pluginId(), row.attemptId(), left);
                continue;
            }
            String failure = "the server stopped while the plugin was starting or within " + probation.toSeconds()
                    + " s after it started (at " + row.attemptAt() + "): a crash, a kill or an exit";
            Row now = store.failed(nodeId, row.pluginId(), row.attemptId(), failure, maxFailedStarts, clock.instant());
            LOG.error("event=plugin_start_crashed node={} plugin={} version={} failedStarts={} held={} reason=\"{}\"",
                    nodeId, row.pluginId(), row.version(), now.failedStarts(), now.hold(), failure);
            counted.add(now);
        }
        return counted;
    }

    /** The hold that keeps {@code pluginId} stopped on this node, if any. */
    Optional<Hold> hold(String pluginId) {
        return store.row(nodeId, pluginId).filter(Row::held).map(r -> new Hold(r.hold(), r.holdReason()));
    }

    /**
     * Whether {@code pluginId} may be started now: always, unless it failed or crashed before and another plugin on
     * this node is starting or in its probation (then it waits for a later pass).
     */
    boolean mayStartNow(String pluginId) {
        int failed = store.row(nodeId, pluginId).map(Row::failedStarts).orElse(0);
        if (failed == 0) {
            return true;
        }
        for (String other : open.keySet()) {
            if (!other.equals(pluginId)) {
                LOG.info("event=plugin_start_deferred node={} plugin={} failedStarts={} waitingFor={} hint=\"it failed "
                        + "or crashed before: it starts alone, once no other plugin is in its first {} s\"", nodeId,
                        pluginId, failed, other, probation.toSeconds());
                return false;
            }
        }
        return true;
    }

    /**
     * Starts a plugin with its attempt recorded first. A start that throws counts one failed start (and may hold the
     * plugin); one that returns is closed as healthy after the probation time if the plugin is still running then.
     */
    <T> T start(String pluginId, String version, Supplier<T> start) {
        String attempt = UUID.randomUUID().toString();
        store.openAttempt(nodeId, pluginId, version, attempt, process, clock.instant());
        open.put(pluginId, attempt);
        T result;
        try {
            result = start.get();
        } catch (RuntimeException e) {
            open.remove(pluginId, attempt);
            Row now = store.failed(nodeId, pluginId, attempt, String.valueOf(e.getMessage()), maxFailedStarts,
                    clock.instant());
            LOG.warn("event=plugin_start_failed node={} plugin={} version={} failedStarts={} of={} held={}", nodeId,
                    pluginId, version, now.failedStarts(), maxFailedStarts, now.hold());
            throw e;
        }
        schedule(pluginId, attempt, probation.toMillis());
        return result;
    }

    private void schedule(String pluginId, String attempt, long delayMillis) {
        try {
            timers.schedule(() -> endProbation(pluginId, attempt), delayMillis, TimeUnit.MILLISECONDS);
        } catch (RejectedExecutionException stopping) {
            // stopping: the attempt stays open, judged by the next start (see stop)
        }
    }

    /** The probation of one attempt ended: healthy if the plugin still runs, else closed without a verdict. */
    void endProbation(String pluginId, String attempt) {
        if (!open.remove(pluginId, attempt)) {
            return; // superseded by a newer start, or stopped meanwhile
        }
        try {
            if (running.test(pluginId)) {
                if (store.closeHealthy(nodeId, pluginId, attempt, clock.instant())) {
                    LOG.info("event=plugin_start_healthy node={} plugin={} probationSeconds={}", nodeId, pluginId,
                            probation.toSeconds());
                }
            } else {
                store.closeUnjudged(nodeId, pluginId, attempt, clock.instant());
            }
        } catch (RuntimeException e) {
            // The database is away: the attempt stays open, and the next start of this process re-arms it.
            LOG.warn("event=plugin_probation_not_recorded node={} plugin={} reason=\"{}\"", nodeId, pluginId,
                    e.getMessage());
            open.putIfAbsent(pluginId, attempt);
            schedule(pluginId, attempt, probation.toMillis());
        }
    }

    /** The plugin was stopped on purpose (disabled, quarantined): its open attempt, if any, closes without a verdict. */
    void stopped(String pluginId) {
        String attempt = open.remove(pluginId);
        if (attempt != null) {
            store.closeUnjudged(nodeId, pluginId, attempt, clock.instant());
        }
    }

    /** Keeps {@code pluginId} stopped on this node with {@code kind} and {@code reason}. */
    void hold(String pluginId, String version, String kind, String reason) {
        stopped(pluginId);
        store.hold(nodeId, pluginId, version, kind, reason, clock.instant());
    }

    /** An admin's enable (or install, upgrade, rollback): every node's hold goes, and counting starts over. */
    int clearHolds(String pluginId) {
        return store.clearHolds(pluginId, clock.instant());
    }

    /** Uninstalled: every node's record of the plugin goes. */
    void forget(String pluginId) {
        open.remove(pluginId);
        store.delete(pluginId);
    }

    /** Every node's record of one plugin, for its admin view. */
    List<Row> rowsOf(String pluginId) {
        return store.rowsOf(pluginId);
    }

    /** Every node's record of every plugin. */
    List<Row> all() {
        return store.all();
    }

    List<Row> held() {
        return store.held();
    }

    /**
     * The runtime stops. {@code clean}: the server is being stopped on purpose, so the open attempts close without a
     * verdict; otherwise (the process is exiting without having been asked to, or only the runtime restarts) they stay
     * for the next activation to judge.
     */
    void stop(boolean clean) {
        timers.shutdownNow();
        if (!clean) {
            if (!open.isEmpty()) {
                LOG.warn("event=plugin_starts_left_open node={} plugins={} hint=\"these plugins are in their first {} "
                        + "s: the runtime's next activation judges their starts (in another process: as a crash)\"",
                        nodeId, open.keySet(), probation.toSeconds());
            }
            return;
        }
        for (Map.Entry<String, String> e : open.entrySet()) {
            try {
                store.closeUnjudged(nodeId, e.getKey(), e.getValue(), clock.instant());
            } catch (RuntimeException ex) {
                LOG.warn("event=plugin_start_not_closed node={} plugin={} reason=\"{}\"", nodeId, e.getKey(),
                        ex.getMessage());
            }
        }
        open.clear();
    }
}

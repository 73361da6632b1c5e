package dev.parley.plugins.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.db.internal.PooledDatabase;
import dev.parley.plugins.internal.PluginStartStore.Row;
import java.time.Clock;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Crash-loop protection on the real Database (embedded H2, this bundle's migrations): start attempts recorded before a
 * start, crashed and failed starts counted, holds after three, suspects started alone, holds lifted by an admin.
 * A "process" here is a {@link PluginStarts} with its own process id on the same tables, as a restarted server is.
 */
class PluginStartsTest {
    private PooledDatabase database;
    private PluginStartStore store;
    private final Set<String> running = new HashSet<>();
    private PluginStarts current;

    @BeforeEach
    void setUp() {
        database = new PooledDatabase("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "", "", 8, 5000);
        new PluginStateStore(database, TestSealers.sealer(TestSealers.newKey("k1")));
        store = new PluginStartStore(database);
    }

    @AfterEach
    void tearDown() {
        if (current != null) {
            current.stop(false);
        }
        database.close();
    }

    /** A new process on node-a: its runtime activates (and sweeps) as the real one does. */
    private PluginStarts process(String id) {
        if (current != null) {
            current.stop(false);
        }
        current = new PluginStarts(store, "node-a", id, 3, Duration.ofSeconds(30), running::contains,
                Clock.systemUTC());
        current.sweep();
        return current;
    }

    private Row row(String pluginId) {
        return store.row("node-a", pluginId).orElseThrow();
    }

    @Test
    void aStartIsRecordedBeforeItRunsAndAProcessThatDiesDuringItCountsAsACrashAtTheNextStart() {
        PluginStarts first = process("p1");
        first.start("evil", "1.0.0", () -> {
            // While the plugin starts, the attempt is already committed.
            assertThat(row("evil").attemptOpen()).isTrue();
            assertThat(row("evil").attemptProcess()).isEqualTo("p1");
            return null;
        });
        // The process ends here (System.exit from the plugin): nothing closes the attempt.

        List<Row> crashed = new PluginStarts(store, "node-a", "p2", 3, Duration.ofSeconds(30), running::contains,
                Clock.systemUTC()).sweep();

        assertThat(crashed).singleElement().satisfies(r -> {
            assertThat(r.pluginId()).isEqualTo("evil");
            assertThat(r.failedStarts()).isEqualTo(1);
            assertThat(r.attemptOpen()).isFalse();
            assertThat(r.held()).isFalse();
            assertThat(r.lastFailure()).contains("the server stopped while the plugin was starting");
        });
    }

    @Test
    void afterThreeCrashedStartsThePluginIsHeldWithTheReasonAndAnAdminsEnableLiftsItEverywhere() {
        for (int i = 1; i <= 3; i++) {
            PluginStarts p = process("p" + i);
            assertThat(p.hold("evil")).isEmpty();
            p.start("evil", "1.0.0", () -> null);
        }
        PluginStarts fourth = process("p4");

        assertThat(fourth.hold("evil")).hasValueSatisfying(h -> {
            assertThat(h.kind()).isEqualTo(PluginStartStore.CRASH_LOOP);
            assertThat(h.reason()).contains("after 3 starts in a row").contains("ended with the server");
        });
        assertThat(row("evil").failedStarts()).isEqualTo(3);
        // Another node's hold of the same plugin is lifted by the same enable.
        store.hold("node-b", "evil", "1.0.0", PluginStartStore.QUARANTINED, "kept failing", java.time.Instant.now());

        assertThat(fourth.clearHolds("evil")).isEqualTo(2);
        assertThat(fourth.hold("evil")).isEmpty();
        assertThat(store.row("node-b", "evil").orElseThrow().held()).isFalse();
        assertThat(row("evil").failedStarts()).isZero();
    }

    @Test
    void aStartThatFailsCountsAndTheThirdHoldsTheFailureStillReachesTheCaller() {
        PluginStarts p = process("p1");
        for (int i = 1; i <= 3; i++) {
            int n = i;
            assertThatThrownBy(() -> p.start("throws", "2.0.0", () -> {
                throw new PluginRejected("boom in activate " + n);
            })).hasMessage("boom in activate " + i);
        }
        Row r = row("throws");
        assertThat(r.failedStarts()).isEqualTo(3);
        assertThat(r.hold()).isEqualTo(PluginStartStore.CRASH_LOOP);
        assertThat(r.holdReason()).contains("boom in activate 3");
        assertThat(r.attemptOpen()).isFalse();
    }

    @Test
    void aStartThatStaysUpThroughItsProbationIsHealthyAndTheCountStartsOver() {
        PluginStarts p = process("p1");
        assertThatThrownBy(() -> p.start("flaky", "1.0.0", () -> {
            throw new PluginRejected("not today");
        }));
        running.add("flaky");
        p.start("flaky", "1.0.0", () -> null);
        String attempt = row("flaky").attemptId();

        p.endProbation("flaky", attempt);

        assertThat(row("flaky").failedStarts()).isZero();
        assertThat(row("flaky").attemptOpen()).isFalse();
        // A plugin no longer running when its probation ends gets no verdict either way.
        p.start("gone", "1.0.0", () -> null);
        p.endProbation("gone", row("gone").attemptId());
        assertThat(row("gone").attemptOpen()).isFalse();
        assertThat(row("gone").failedStarts()).isZero();
    }

    @Test
    void aPluginThatCrashedBeforeStartsAloneSoThatACrashCountsAgainstItOnly() {
        PluginStarts p = process("p1");
        p.start("good", "1.0.0", () -> null);
        p.start("evil", "1.0.0", () -> null);
        PluginStarts next = process("p2");
        // Both were in their probation when the process ended: both are suspects now.
        assertThat(row("good").failedStarts()).isEqualTo(1);
        assertThat(row("evil").failedStarts()).isEqualTo(1);

        assertThat(next.mayStartNow("good")).isTrue();
        next.start("good", "1.0.0", () -> null);
        assertThat(next.mayStartNow("evil")).as("waits while good is in its probation").isFalse();
        assertThat(next.mayStartNow("fresh")).as("a plugin that never failed starts at once").isTrue();
        running.add("good");
        next.endProbation("good", row("good").attemptId());
        assertThat(next.mayStartNow("evil")).isTrue();
        next.start("evil", "1.0.0", () -> null);
        process("p3");

        assertThat(row("good").failedStarts()).isZero();
        assertThat(row("evil").failedStarts()).isEqualTo(2);
    }

    @Test
    void aRequestedStopClosesAttemptsWithoutAVerdictAndTheSameProcessRearmsItsOwn() {
        PluginStarts p = process("p1");
        p.start("calm", "1.0.0", () -> null);
        p.stop(true);
        current = null;
        assertThat(row("calm").attemptOpen()).isFalse();
        PluginStarts after = process("p2");
        assertThat(row("calm").failedStarts()).isZero();

        // The runtime restarting inside one process: its own open attempt is not a crash.
        after.start("calm", "1.0.0", () -> null);
        process("p2");
        assertThat(row("calm").failedStarts()).isZero();
        assertThat(row("calm").attemptOpen()).isTrue();
    }

    @Test
    void quarantineHoldsAndClosesTheAttemptAndUninstallForgetsEveryNode() {
        PluginStarts p = process("p1");
        p.start("noisy", "1.0.0", () -> null);
        p.hold("noisy", "1.0.0", PluginStartStore.QUARANTINED, "stream() threw 5 times");

        assertThat(p.hold("noisy")).hasValue(new PluginStarts.Hold(PluginStartStore.QUARANTINED,
                "stream() threw 5 times"));
        assertThat(row("noisy").attemptOpen()).isFalse();
        store.hold("node-b", "noisy", "1.0.0", PluginStartStore.QUARANTINED, "also here", java.time.Instant.now());

        p.forget("noisy");
        assertThat(store.rowsOf("noisy")).isEmpty();
    }
}

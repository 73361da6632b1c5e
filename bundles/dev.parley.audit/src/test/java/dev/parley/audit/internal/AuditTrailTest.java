package dev.parley.audit.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.api.audit.AuditEvent;
import dev.parley.api.audit.AuditOutcome;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.db.Database;
import dev.parley.db.SqlWork;
import dev.parley.db.internal.PooledDatabase;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import javax.sql.DataSource;
import org.apache.felix.hc.api.Result;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The component on the real Database (embedded H2): recording, reading, the purge, health, deactivation. */
class AuditTrailTest {
    /** The real database, with a switch that makes storing fail as when the database is away. */
    static final class SwitchableDatabase implements Database {
        final PooledDatabase real;
        volatile boolean down;

        SwitchableDatabase(PooledDatabase real) {
            this.real = real;
        }

        @Override
        public <T> T inTransaction(String action, SqlWork<T> work) {
            if (down) {
                throw new ParleyException(ErrorCode.STORE_FAILURE, "Could not " + action);
            }
            return real.inTransaction(action, work);
        }

        @Override
        public void migrate(String module, ClassLoader loader, String location, List<String> files) {
            real.migrate(module, loader, location, files);
        }

        @Override
        public String dialect() {
            return real.dialect();
        }

        @Override
        public DataSource dataSource() {
            return real.dataSource();
        }
    }

    private PooledDatabase pooled;
    private SwitchableDatabase database;
    private AuditTrail trail;

    @BeforeEach
    void setUp() {
        pooled = new PooledDatabase("jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "", "", 4, 5000);
        database = new SwitchableDatabase(pooled);
    }

    @AfterEach
    void tearDown() {
        if (trail != null) {
            trail.close();
        }
        pooled.close();
    }

    private AuditTrail trail(Map<String, ?> config) {
        trail = new AuditTrail(database, TestConfigs.audit(config), Clock.systemUTC(), Duration.ofMillis(10),
                Duration.ofMillis(50), Duration.ofSeconds(2));
        return trail;
    }

    private static AuditEvent event(Instant at, String action, String target) {
        return new AuditEvent(at, "alice", "acme", action, target, AuditOutcome.SUCCESS, "127.0.0.1", Map.of());
    }

    private List<String> actions() {
        return trail.find(new AuditQuery(null, null, false, null, null, null, null, null, null, 500)).events().stream()
                .map(AuditEntry::action).toList();
    }

    @Test
    void recordedEventsAreStoredAndReadNewestFirst() {
        var t = trail(Map.of("batchSize", 3));
        for (int i = 0; i < 10; i++) {
            t.record(event(Instant.now(), "test.e" + i, "x"));
        }
        await().atMost(Duration.ofSeconds(10)).until(() -> t.status().stored() == 10);
        assertThat(actions()).containsExactly("test.e9", "test.e8", "test.e7", "test.e6", "test.e5", "test.e4",
                "test.e3", "test.e2", "test.e1", "test.e0");
        assertThat(t.execute().getStatus()).isEqualTo(Result.Status.OK);
    }

    @Test
    void whileTheDatabaseFailsEventsWaitAndHealthWarnsThenTheyAreStored() {
        var t = trail(Map.of());
        database.down = true;
        t.record(event(Instant.now(), "test.waiting", "x"));
        await().atMost(Duration.ofSeconds(10)).until(() -> t.status().failing());
        Result health = t.execute();
        assertThat(health.getStatus()).isEqualTo(Result.Status.WARN);
        assertThat(health.toString()).contains("cannot be stored").contains("queued=1");

        database.down = false;
        await().atMost(Duration.ofSeconds(10)).until(() -> t.status().stored() == 1);
        assertThat(actions()).containsExactly("test.waiting");
        assertThat(t.execute().getStatus()).isEqualTo(Result.Status.OK);
    }

    @Test
    void aFullQueueShowsInHealth() {
        var t = trail(Map.of("queueSize", 1));
        database.down = true;
        t.record(event(Instant.now(), "test.a", "x"));
        await().atMost(Duration.ofSeconds(10)).until(() -> t.status().failing());
        t.record(event(Instant.now(), "test.b", "x"));
        t.record(event(Instant.now(), "test.c", "x"));
        assertThat(t.status().dropped()).isEqualTo(1);
        assertThat(t.execute().toString()).contains("1 audit events were dropped");
    }

    @Test
    void thePurgeRemovesOnlyWhatIsPastTheRetentionAndRecordsItself() {
        var t = trail(Map.of("retentionDays", 30, "purgeBatchSize", 2));
        Instant now = Instant.now();
        for (int i = 0; i < 5; i++) {
            t.record(event(now.minus(31, ChronoUnit.DAYS), "test.old", "o" + i));
        }
        t.record(event(now.minus(29, ChronoUnit.DAYS), "test.kept", "k"));
        await().atMost(Duration.ofSeconds(10)).until(() -> t.status().stored() == 6);

        assertThat(t.purge()).isEqualTo(5);
        await().atMost(Duration.ofSeconds(10)).until(() -> t.status().stored() == 7);
        var page = t.find(new AuditQuery(null, null, false, null, null, null, null, null, null, 50));
        assertThat(page.events()).extracting(AuditEntry::action).containsExactly("audit.purge", "test.kept");
        AuditEntry purge = page.events().get(0);
        assertThat(purge.actor()).isEqualTo("system");
        assertThat(purge.tenant()).isEqualTo("default");
        assertThat(purge.outcome()).isEqualTo("SUCCESS");
        assertThat(purge.detail()).containsEntry("deleted", "5").containsEntry("retentionDays", "30");

        assertThat(t.purge()).as("nothing left to purge: no event either").isZero();
        assertThat(t.status().queued()).isZero();
        assertThat(t.status().stored()).isEqualTo(7);
    }

    @Test
    void closingStoresWhatIsQueued() {
        var t = trail(Map.of());
        for (int i = 0; i < 50; i++) {
            t.record(event(Instant.now(), "test.close", "c" + i));
        }
        t.close();
        trail = null;
        var reopened = trail(Map.of());
        assertThat(reopened.find(new AuditQuery(null, "test.close", false, null, null, null, null, null, null, 500))
                .events()).hasSize(50);
    }
}

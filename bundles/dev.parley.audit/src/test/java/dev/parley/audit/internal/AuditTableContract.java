package dev.parley.audit.internal;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.audit.AuditEvent;
import dev.parley.api.audit.AuditOutcome;
import dev.parley.db.internal.PooledDatabase;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Clock;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The audit table on the real Database; one subclass per database kind. */
abstract class AuditTableContract {
    protected PooledDatabase database;
    protected AuditTable table;
    private final AuditIds ids = new AuditIds(Clock.systemUTC());
    private final Instant now = Instant.now().truncatedTo(ChronoUnit.MICROS);

    protected abstract PooledDatabase open() throws Exception;

    protected void afterClose() throws Exception {
    }

    @BeforeEach
    void setUp() throws Exception {
        database = open();
        table = new AuditTable(database);
        table.migrate();
        table.migrate(); // the second call applies nothing
    }

    @AfterEach
    void tearDown() throws Exception {
        database.close();
        afterClose();
    }

    AuditRow row(Instant at, String actor, String tenant, String action, String target, AuditOutcome outcome) {
        return new AuditRow(ids.next(), new AuditEvent(at, actor, tenant, action, target, outcome, "10.0.0.7",
                Map.of("reason", "because")));
    }

    @Test
    void storesEveryFieldAndReadsItBack() {
        var r = row(now, "alice", "acme", "plugin.install", "plugin:acme.weather", AuditOutcome.SUCCESS);
        table.insert(List.of(r));

        var page = table.find(query(null, null, false, null, null, null, null));
        assertThat(page.events()).singleElement().isEqualTo(new AuditEntry(r.id(), now, "alice", "acme",
                "plugin.install", "plugin:acme.weather", "SUCCESS", "10.0.0.7", Map.of("reason", "because")));
        assertThat(page.nextCursor()).isNull();
    }

    @Test
    void aBatchStoredTwiceIsStoredOnce() {
        var a = row(now, "alice", "acme", "x.a", "", AuditOutcome.SUCCESS);
        var b = row(now, "alice", "acme", "x.b", "", AuditOutcome.SUCCESS);
        table.insert(List.of(a));
        var c = row(now, "alice", "acme", "x.c", "", AuditOutcome.SUCCESS);
        table.insert(List.of(a, b, c)); // a retry of a batch whose first row made it
        assertThat(table.find(query(null, null, false, null, null, null, null)).events()).extracting(AuditEntry::action)
                .containsExactly("x.c", "x.b", "x.a");
    }

    @Test
    void valuesTooLongForTheirColumnsAreCutNotRefused() {
        String longTarget = "t".repeat(1000);
        String huge = "v".repeat(5000);
        var r = new AuditRow(ids.next(), new AuditEvent(now, "a\0b", "acme", "x.long", longTarget,
                AuditOutcome.FAILURE, "s".repeat(100), Map.of("k1", huge, "k2", huge, "k3", huge, "k4", huge,
                        "k5", huge, "k6", huge, "k7", huge, "k8", huge, "k9", huge)));
        table.insert(List.of(r));
        AuditEntry e = table.find(query(null, null, false, null, null, null, null)).events().get(0);
        assertThat(e.actor()).isEqualTo("ab");
        assertThat(e.target()).hasSize(AuditTable.TARGET_MAX);
        assertThat(e.sourceAddress()).hasSize(AuditTable.SOURCE_MAX);
        assertThat(e.detail()).containsEntry("truncated", "true").containsEntry("k1", "v".repeat(1000));
        assertThat(AuditTable.detailJson(r.event().detail()).length()).isLessThanOrEqualTo(AuditTable.DETAIL_MAX);
    }

    @Test
    void filtersAndPagesNewestFirst() {
        List<AuditRow> rows = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            rows.add(row(now.minusSeconds(100 - i), i % 2 == 0 ? "alice" : "bob", i < 5 ? "acme" : "globex",
                    i % 3 == 0 ? "plugin.install" : "router.alias.put", "target-" + i,
                    i == 6 ? AuditOutcome.DENIED : AuditOutcome.SUCCESS));
        }
        rows.add(row(now, "carol", "acme", "plugin_install", "odd", AuditOutcome.SUCCESS));
        table.insert(rows);

        var first = table.find(query(null, null, false, null, null, null, null, 3));
        assertThat(first.events()).extracting(AuditEntry::target).containsExactly("odd", "target-6", "target-5");
        var second = table.find(query(null, null, false, null, null, null, AuditCursor.id(first.nextCursor()), 3));
        assertThat(second.events()).extracting(AuditEntry::target).containsExactly("target-4", "target-3", "target-2");
        var third = table.find(query(null, null, false, null, null, null, AuditCursor.id(second.nextCursor()), 3));
        assertThat(third.events()).extracting(AuditEntry::target).containsExactly("target-1", "target-0");
        assertThat(third.nextCursor()).isNull();

        assertThat(targets(query("alice", null, false, null, null, null, null))).containsExactly("target-6",
                "target-4", "target-2", "target-0");
        assertThat(targets(query(null, "plugin.install", false, null, null, null, null))).containsExactly(
                "target-6", "target-3", "target-0");
        // A prefix: '_' in the data is not a wildcard and '.' in the filter is matched as itself.
        assertThat(targets(query(null, "plugin.", true, null, null, null, null))).containsExactly("target-6",
                "target-3", "target-0");
        assertThat(targets(query(null, "plugin", true, null, null, null, null))).hasSize(4);
        assertThat(targets(query(null, null, false, AuditOutcome.DENIED, null, null, null))).containsExactly(
                "target-6");
        assertThat(targets(query(null, null, false, null, "globex", null, null))).containsExactly("target-6",
                "target-5");
        assertThat(targets(new AuditQuery(null, null, false, "target-3", null, null, null, null, null, 50)))
                .containsExactly("target-3");
        // from inclusive, to exclusive, on the event's time
        assertThat(targets(new AuditQuery(null, null, false, null, null, null, now.minusSeconds(98),
                now.minusSeconds(95), null, 50))).containsExactly("target-4", "target-3", "target-2");
    }

    @Test
    void purgeDeletesOnlyRowsOlderThanTheCutoffInBoundedBatches() {
        List<AuditRow> rows = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            rows.add(row(now.minus(400, ChronoUnit.DAYS).plusSeconds(i), "alice", "acme", "old", "o" + i,
                    AuditOutcome.SUCCESS));
        }
        rows.add(row(now.minus(10, ChronoUnit.DAYS), "alice", "acme", "recent", "r", AuditOutcome.SUCCESS));
        table.insert(rows);

        Instant cutoff = now.minus(365, ChronoUnit.DAYS);
        assertThat(table.purge(cutoff, 2)).isEqualTo(2);
        assertThat(table.purge(cutoff, 2)).isEqualTo(2);
        assertThat(table.purge(cutoff, 2)).isEqualTo(1);
        assertThat(table.purge(cutoff, 2)).isZero();
        assertThat(targets(query(null, null, false, null, null, null, null))).containsExactly("r");
    }

    protected List<String> targets(AuditQuery q) {
        return table.find(q).events().stream().map(AuditEntry::target).toList();
    }

    static AuditQuery query(String actor, String action, boolean prefix, AuditOutcome outcome, String tenant,
            String unused, String before) {
        return query(actor, action, prefix, outcome, tenant, unused, before, 50);
    }

    static AuditQuery query(String actor, String action, boolean prefix, AuditOutcome outcome, String tenant,
            String unused, String before, int limit) {
        return new AuditQuery(actor, action, prefix, null, outcome, tenant, null, null, before, limit);
    }

    protected long count() throws Exception {
        return database.inTransaction("count", c -> {
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery("SELECT COUNT(*) FROM parley_audit")) {
                rs.next();
                return rs.getLong(1);
            }
        });
    }
}

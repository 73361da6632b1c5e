package dev.parley.store.jdbc.internal;

import dev.parley.api.usage.UsageAttempt;
import dev.parley.api.usage.UsageOutcome;
import dev.parley.api.usage.UsagePage;
import dev.parley.api.usage.UsageQuery;
import dev.parley.api.usage.UsageRecord;
import java.math.BigDecimal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.parley.api.chat.Conversation;
import dev.parley.api.chat.MessageStatus;
import dev.parley.api.chat.NewConversation;
import dev.parley.api.chat.Page;
import dev.parley.api.chat.Role;
import dev.parley.api.chat.StoredMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.store.NewMessage;
import dev.parley.api.llm.Usage;
import dev.parley.db.Database;
import dev.parley.db.internal.PooledDatabase;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.IntStream;
import io.opentelemetry.api.common.Attributes;
import io.opentelemetry.sdk.OpenTelemetrySdk;
import io.opentelemetry.sdk.metrics.SdkMeterProvider;
import io.opentelemetry.sdk.metrics.data.HistogramPointData;
import io.opentelemetry.sdk.metrics.data.MetricData;
import io.opentelemetry.sdk.testing.exporter.InMemoryMetricReader;
import java.util.IdentityHashMap;
import javax.sql.DataSource;
import org.h2.jdbcx.JdbcDataSource;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/**
 * The behaviour every database behind {@link JdbcConversationStore} must show. Subclasses hand each test a fresh,
 * empty database. Each store is opened as the framework would start it: on a {@link PooledDatabase} of its own (as a
 * process has one), configured from the same configuration.
 */
abstract class ConversationStoreContract {
    /** The versions of this bundle's migrations (the others were numbered for other bundles' tables). */
    /** The tenant most tests work in; {@link #tenantsNeverSeeEachOthersConversations} uses two more. */
    static final String TENANT = "t-contract";
    static final List<Integer> STORE_VERSIONS = List.of(1, 2, 5, 6, 7, 11, 12, 13, 14, 15);

    private final Map<JdbcConversationStore, PooledDatabase> opened = new IdentityHashMap<>();
    private final TickingClock clock = new TickingClock(Instant.parse("2026-03-01T10:00:00.123456Z"));

    /** The store configuration for this test's database (may leave {@code url} empty). */
    protected abstract Map<String, Object> storeConfig();

    /** The {@code parley.data.dir} framework property the store sees; null for none. */
    protected abstract String dataDir();

    /** Called after every store of the test is closed. */
    protected void afterStoresClosed() throws Exception {
    }

    @AfterEach
    final void closeStores() throws Exception {
        try {
            opened.forEach((store, database) -> {
                store.deactivate();
                database.close();
            });
        } finally {
            afterStoresClosed();
        }
    }

    protected JdbcConversationStore open() {
        return open(storeConfig());
    }

    /** A store of the node {@code nodeId} on this test's database, as a second process sharing it would open. */
    protected JdbcConversationStore openAsNode(String nodeId) {
        var config = new java.util.HashMap<String, Object>(storeConfig());
        config.put("nodeId", nodeId);
        return open(config);
    }

    /** A store on this test's database with some settings changed. */
    protected JdbcConversationStore openWith(Map<String, Object> changes) {
        var config = new java.util.HashMap<String, Object>(storeConfig());
        config.putAll(changes);
        return open(config);
    }

    private JdbcConversationStore open(Map<String, Object> config) {
        var database = new PooledDatabase(url(), "", "", (Integer) config.getOrDefault("poolSize", 10),
                (Integer) config.getOrDefault("connectionTimeoutMs", 5000));
        try {
            var store = new JdbcConversationStore(TestConfigs.store(config), database, clock);
            opened.put(store, database);
            return store;
        } catch (RuntimeException e) {
            database.close();
            throw e;
        }
    }

    /** The database {@code store} was opened on. */
    protected Database databaseOf(JdbcConversationStore store) {
        return opened.get(store);
    }

    /** Stops the store and the database under it, as a process that stops. */
    protected void close(JdbcConversationStore store) {
        PooledDatabase database = opened.remove(store);
        store.deactivate();
        database.close();
    }

    /** This test's database URL, as the database component makes it from the configuration. */
    private String url() {
        return PooledDatabase.jdbcUrl((String) storeConfig().get("url"), dataDir());
    }

    /** A connection that bypasses the store, to look at or tamper with what it wrote. */
    protected Connection rawConnection() throws SQLException {
        String url = url();
        DataSource ds;
        if (url.startsWith("jdbc:h2:")) {
            var h2 = new JdbcDataSource();
            h2.setURL(url);
            ds = h2;
        } else {
            var pg = new PGSimpleDataSource();
            pg.setURL(url);
            ds = pg;
        }
        return ds.getConnection();
    }

    protected long count(String sql, String parameter) throws SQLException {
        try (Connection c = rawConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            if (parameter != null) {
                ps.setString(1, parameter);
            }
            try (ResultSet rs = ps.executeQuery()) {
                rs.next();
                return rs.getLong(1);
            }
        }
    }

    @Test
    void tenantsNeverSeeEachOthersConversations() {
        var store = open();
        var acme = store.tenant("acme");
        var globex = store.tenant("globex");
        Conversation mine = acme.create(new NewConversation("acme's", null, null));
        acme.append(mine.id(), Role.USER, "acme's secret", MessageStatus.COMPLETE, null);
        Conversation theirs = globex.create(new NewConversation("globex's", null, null));

        // Read, list, change, delete: another tenant's conversation is as if it did not exist.
        assertThat(globex.find(mine.id())).isEmpty();
        assertThat(globex.list(0, 100).items()).extracting(Conversation::id).containsExactly(theirs.id());
        assertThat(globex.list(0, 100).total()).isEqualTo(1);
        assertThatThrownBy(() -> globex.messages(mine.id())).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
        assertThatThrownBy(() -> globex.append(mine.id(), Role.USER, "injected", MessageStatus.COMPLETE, null))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
        assertThatThrownBy(() -> globex.appendAll(mine.id(), List.of(new NewMessage(Role.USER, "x",
                MessageStatus.COMPLETE, null)))).isInstanceOf(ParleyException.class);
        assertThat(globex.delete(mine.id())).isFalse();

        // Nothing of it changed acme's conversation.
        assertThat(acme.find(mine.id())).isPresent();
        assertThat(acme.messages(mine.id())).extracting(StoredMessage::content).containsExactly("acme's secret");
        assertThat(acme.list(0, 100).items()).extracting(Conversation::id).containsExactly(mine.id());
        assertThat(store.tenant(TENANT).list(0, 100).total()).isZero();
        assertThat(acme.delete(mine.id())).isTrue();
        assertThat(globex.find(theirs.id())).isPresent();
    }

    @Test
    void anOwnersViewNeverShowsAnotherMembersConversations() throws SQLException {
        var store = open();
        var ann = store.tenant("acme").owner("ann");
        var bob = store.tenant("acme").owner("bob");
        var bobAtGlobex = store.tenant("globex").owner("bob");
        Conversation annS = ann.create(new NewConversation("ann's", null, null));
        ann.append(annS.id(), Role.USER, "ann's secret", MessageStatus.COMPLETE, null);
        Conversation bobS = bob.create(new NewConversation("bob's", null, null));
        // Made before conversations had owners: no owner, so every member of the tenant sees it.
        Conversation legacy = store.tenant("acme").create(new NewConversation("legacy", null, null));
        assertThat(count("SELECT COUNT(*) FROM conversations WHERE id = ? AND owner_subject = 'ann'", annS.id()))
                .isEqualTo(1);
        assertThat(count("SELECT COUNT(*) FROM conversations WHERE id = ? AND owner_subject IS NULL", legacy.id()))
                .isEqualTo(1);
        assertThat(ann.ownerSubject()).isEqualTo("ann");
        assertThat(store.tenant("acme").ownerSubject()).isNull();

        // Read, list, change, delete: another member's conversation is as if it did not exist.
        assertThat(bob.find(annS.id())).isEmpty();
        assertThat(bob.list(0, 100).items()).extracting(Conversation::id).containsExactly(legacy.id(), bobS.id());
        assertThat(bob.list(0, 100).total()).isEqualTo(2);
        assertThatThrownBy(() -> bob.messages(annS.id())).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
        assertThatThrownBy(() -> bob.append(annS.id(), Role.USER, "injected", MessageStatus.COMPLETE, null))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
        assertThatThrownBy(() -> bob.appendAll(annS.id(), List.of(new NewMessage(Role.USER, "x",
                MessageStatus.COMPLETE, null)))).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
        assertThat(bob.delete(annS.id())).isFalse();
        // The same subject in another tenant is another member.
        assertThat(bobAtGlobex.find(bobS.id())).isEmpty();
        assertThat(bobAtGlobex.list(0, 100).total()).isZero();
        assertThat(bobAtGlobex.delete(bobS.id())).isFalse();

        // Legacy rows: every member reads and writes them.
        bob.append(legacy.id(), Role.USER, "bob was here", MessageStatus.COMPLETE, null);
        assertThat(ann.messages(legacy.id())).extracting(StoredMessage::content).containsExactly("bob was here");

        // Nothing of it changed ann's conversation; the whole tenant's view sees all three.
        assertThat(ann.messages(annS.id())).extracting(StoredMessage::content).containsExactly("ann's secret");
        assertThat(ann.list(0, 100).items()).extracting(Conversation::id).containsExactlyInAnyOrder(annS.id(),
                legacy.id());
        assertThat(store.tenant("acme").list(0, 100).items()).extracting(Conversation::id)
                .containsExactlyInAnyOrder(annS.id(), bobS.id(), legacy.id());
        assertThat(store.tenant("acme").find(bobS.id())).contains(bobS);
        assertThat(bob.delete(bobS.id())).isTrue();
        assertThat(ann.delete(annS.id())).isTrue();
        assertThat(count("SELECT COUNT(*) FROM messages WHERE conversation_id = ?", annS.id())).isZero();
    }

    @Test
    void anOwnersViewIsRefusedABlankOrSecondOwner() {
        var store = open();
        var acme = store.tenant("acme");
        assertThatThrownBy(() -> acme.owner(null)).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> acme.owner(" ")).isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> acme.owner("x".repeat(JdbcConversationStore.MAX_OWNER + 1)))
                .isInstanceOf(IllegalArgumentException.class);
        var ann = acme.owner("ann");
        assertThat(ann.owner("ann").ownerSubject()).isEqualTo("ann");
        assertThatThrownBy(() -> ann.owner("bob")).isInstanceOf(IllegalArgumentException.class);
        var longest = acme.owner("x".repeat(JdbcConversationStore.MAX_OWNER));
        Conversation made = longest.create(new NewConversation("long subject", null, null));
        assertThat(longest.find(made.id())).contains(made);
        assertThat(ann.find(made.id())).isEmpty();
    }

    @Test
    void createsAndFindsConversations() {
        var store = open();

        Conversation created = store.tenant(TENANT).create(new NewConversation("Trip to Lisbon", "gpt-4o-mini", "Be brief."));
        Conversation bare = store.tenant(TENANT).create(new NewConversation(null, null, null));

        assertThat(created.id()).startsWith("conv_").isNotEqualTo(bare.id());
        assertThat(created.title()).isEqualTo("Trip to Lisbon");
        assertThat(created.model()).isEqualTo("gpt-4o-mini");
        assertThat(created.systemPrompt()).isEqualTo("Be brief.");
        assertThat(created.updatedAt()).isEqualTo(created.createdAt());
        assertThat(store.tenant(TENANT).find(created.id())).contains(created);
        assertThat(store.tenant(TENANT).find(bare.id())).contains(bare);
        assertThat(bare.title()).isNull();
        assertThat(store.tenant(TENANT).find("conv_missing")).isEmpty();
    }

    @Test
    void listsNewestFirstInPagesWithTotal() {
        var store = open();
        List<Conversation> created = IntStream.rangeClosed(1, 5)
                .mapToObj(i -> store.tenant(TENANT).create(new NewConversation("c" + i, null, null))).toList();

        Page<Conversation> first = store.tenant(TENANT).list(0, 2);
        Page<Conversation> last = store.tenant(TENANT).list(4, 2);

        assertThat(first.items()).extracting(Conversation::title).containsExactly("c5", "c4");
        assertThat(first.total()).isEqualTo(5);
        assertThat(first.offset()).isZero();
        assertThat(first.limit()).isEqualTo(2);
        assertThat(store.tenant(TENANT).list(2, 2).items()).extracting(Conversation::title).containsExactly("c3", "c2");
        assertThat(last.items()).extracting(Conversation::title).containsExactly("c1");
        assertThat(store.tenant(TENANT).list(10, 2).items()).isEmpty();
        assertThat(store.tenant(TENANT).list(10, 2).total()).isEqualTo(5);

        store.tenant(TENANT).append(created.get(0).id(), Role.USER, "bump", MessageStatus.COMPLETE, null);

        assertThat(store.tenant(TENANT).list(0, 10).items()).extracting(Conversation::title)
                .containsExactly("c1", "c5", "c4", "c3", "c2");
    }

    @Test
    void rejectsNegativeOffsetAndEmptyPage() {
        var store = open();

        assertThatThrownBy(() -> store.tenant(TENANT).list(-1, 10)).isInstanceOf(ParleyException.class)
                .extracting(e -> ((ParleyException) e).code()).isEqualTo(ErrorCode.INVALID_REQUEST);
        assertThatThrownBy(() -> store.tenant(TENANT).list(0, 0)).isInstanceOf(ParleyException.class)
                .extracting(e -> ((ParleyException) e).code()).isEqualTo(ErrorCode.INVALID_REQUEST);
    }

    @Test
    void deleteRemovesTheConversationAndItsMessages() throws SQLException {
        var store = open();
        var doomed = store.tenant(TENANT).create(new NewConversation("doomed", null, null));
        var kept = store.tenant(TENANT).create(new NewConversation("kept", null, null));
        store.tenant(TENANT).append(doomed.id(), Role.USER, "hi", MessageStatus.COMPLETE, null);
        store.tenant(TENANT).append(doomed.id(), Role.ASSISTANT, "hello", MessageStatus.COMPLETE, "m");
        store.tenant(TENANT).append(kept.id(), Role.USER, "stay", MessageStatus.COMPLETE, null);

        assertThat(store.tenant(TENANT).delete(doomed.id())).isTrue();

        assertThat(store.tenant(TENANT).find(doomed.id())).isEmpty();
        assertThat(count("SELECT COUNT(*) FROM messages WHERE conversation_id = ?", doomed.id())).isZero();
        assertThat(store.tenant(TENANT).messages(kept.id())).extracting(StoredMessage::content).containsExactly("stay");
        assertThat(store.tenant(TENANT).delete(doomed.id())).isFalse();
        assertThat(store.tenant(TENANT).list(0, 10).total()).isEqualTo(1);
    }

    @Test
    void appendNumbersMessagesPerConversationAndTouchesIt() {
        var store = open();
        var conversation = store.tenant(TENANT).create(new NewConversation("t", null, null));
        var other = store.tenant(TENANT).create(new NewConversation("o", null, null));

        StoredMessage user = store.tenant(TENANT).append(conversation.id(), Role.USER, "question", MessageStatus.COMPLETE, null);
        StoredMessage answer = store.tenant(TENANT).append(conversation.id(), Role.ASSISTANT, "", MessageStatus.STREAMING, "m1");
        StoredMessage elsewhere = store.tenant(TENANT).append(other.id(), Role.USER, "other", MessageStatus.COMPLETE, null);
        StoredMessage tool = store.tenant(TENANT).append(conversation.id(), Role.TOOL, "{\"ok\":true}", MessageStatus.COMPLETE, null);

        assertThat(user.id()).startsWith("msg_");
        assertThat(List.of(user.seq(), answer.seq(), tool.seq())).containsExactly(1L, 2L, 3L);
        assertThat(elsewhere.seq()).isEqualTo(1L);
        assertThat(answer.model()).isEqualTo("m1");
        assertThat(answer.usage()).isNull();
        assertThat(store.tenant(TENANT).messages(conversation.id())).containsExactly(user, answer, tool);
        assertThat(store.tenant(TENANT).find(conversation.id()).orElseThrow().updatedAt()).isEqualTo(tool.createdAt())
                .isAfter(conversation.createdAt());
    }

    @Test
    void appendAllStoresATurnInOneTransaction() {
        var store = open();
        var conversation = store.tenant(TENANT).create(new NewConversation("t", null, null));
        store.tenant(TENANT).append(conversation.id(), Role.SYSTEM, "earlier", MessageStatus.COMPLETE, null);

        List<StoredMessage> turn = store.tenant(TENANT).appendAll(conversation.id(), List.of(
                new NewMessage(Role.USER, "question", MessageStatus.COMPLETE, null),
                new NewMessage(Role.ASSISTANT, "", MessageStatus.STREAMING, "m1")));

        assertThat(turn).extracting(StoredMessage::seq).containsExactly(2L, 3L);
        assertThat(turn).extracting(StoredMessage::role).containsExactly(Role.USER, Role.ASSISTANT);
        assertThat(turn.get(1).status()).isEqualTo(MessageStatus.STREAMING);
        assertThat(turn.get(1).model()).isEqualTo("m1");
        assertThat(store.tenant(TENANT).messages(conversation.id())).endsWith(turn.get(0), turn.get(1));
        // A streaming answer appended this way is this node's own, for crash recovery.
        assertThat(store.streaming()).extracting(StoredMessage::id).contains(turn.get(1).id());
    }

    @Test
    void appendAllToAnUnknownConversationStoresNothing() {
        var store = open();
        assertThatThrownBy(() -> store.tenant(TENANT).appendAll("conv_nope", List.of(
                new NewMessage(Role.USER, "q", MessageStatus.COMPLETE, null))))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
        assertThatThrownBy(() -> store.tenant(TENANT).appendAll("conv_nope", List.of()))
                .isInstanceOfSatisfying(ParleyException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST));
    }

    @Test
    void concurrentAppendsToOneConversationGetDistinctConsecutiveSeqs() throws Exception {
        var store = open();
        var conversation = store.tenant(TENANT).create(new NewConversation("busy", null, null));
        int threads = 8;
        int perThread = 25;
        ExecutorService executor = Executors.newFixedThreadPool(threads);
        try {
            var start = new CountDownLatch(1);
            var futures = new ArrayList<Future<List<Long>>>();
            for (int t = 0; t < threads; t++) {
                int thread = t;
                futures.add(executor.submit(() -> {
                    start.await();
                    var seqs = new ArrayList<Long>();
                    for (int i = 0; i < perThread; i++) {
                        seqs.add(store.tenant(TENANT).append(conversation.id(), Role.USER, thread + "-" + i, MessageStatus.COMPLETE,
                                null).seq());
                    }
                    return seqs;
                }));
            }
            start.countDown();
            var returned = new ArrayList<Long>();
            for (Future<List<Long>> f : futures) {
                returned.addAll(f.get(60, TimeUnit.SECONDS));
            }

            List<Long> expected = IntStream.rangeClosed(1, threads * perThread).mapToObj(i -> (long) i).toList();
            assertThat(returned).containsExactlyInAnyOrderElementsOf(expected);
            assertThat(store.tenant(TENANT).messages(conversation.id())).extracting(StoredMessage::seq)
                    .containsExactlyElementsOf(expected);
        } finally {
            executor.shutdownNow();
        }
    }

    @Test
    void finishRecordsContentStatusUsageAndTimings() {
        var store = open();
        var conversation = store.tenant(TENANT).create(new NewConversation(null, null, null));
        StoredMessage pending = store.tenant(TENANT).append(conversation.id(), Role.ASSISTANT, "", MessageStatus.STREAMING, "m1");
        StoredMessage cut = store.tenant(TENANT).append(conversation.id(), Role.ASSISTANT, "", MessageStatus.STREAMING, "m1");

        StoredMessage done = store.finish(pending.id(), "The answer.", MessageStatus.COMPLETE, new Usage(12, 34), null,
                Duration.ofMillis(1500), Duration.ofMillis(210));
        StoredMessage interrupted = store.finish(cut.id(), "Half an", MessageStatus.INTERRUPTED, null,
                "provider failed", null, null);

        assertThat(done).isEqualTo(new StoredMessage(pending.id(), conversation.id(), 1, Role.ASSISTANT,
                "The answer.", MessageStatus.COMPLETE, "m1", new Usage(12, 34), null, 1500L, 210L,
                pending.createdAt()));
        assertThat(interrupted.status()).isEqualTo(MessageStatus.INTERRUPTED);
        assertThat(interrupted.content()).isEqualTo("Half an");
        assertThat(interrupted.error()).isEqualTo("provider failed");
        assertThat(interrupted.usage()).isNull();
        assertThat(interrupted.latencyMs()).isNull();
        assertThat(interrupted.timeToFirstTokenMs()).isNull();
        assertThat(store.tenant(TENANT).messages(conversation.id())).containsExactly(done, interrupted);
    }

    @Test
    void finishSetsTheModelThatAnsweredAndANullModelKeepsTheStoredOne() {
        var store = open();
        var conversation = store.tenant(TENANT).create(new NewConversation(null, null, null));
        StoredMessage fellBack = store.tenant(TENANT).append(conversation.id(), Role.ASSISTANT, "", MessageStatus.STREAMING, "first");
        StoredMessage kept = store.tenant(TENANT).append(conversation.id(), Role.ASSISTANT, "", MessageStatus.STREAMING, "first");

        StoredMessage done = store.finish(fellBack.id(), "From the second.", MessageStatus.COMPLETE, "second",
                new Usage(3, 4), null, Duration.ofMillis(20), Duration.ofMillis(5));
        StoredMessage same = store.finish(kept.id(), "x", MessageStatus.COMPLETE, null, new Usage(1, 1), null, null,
                null);

        assertThat(done.model()).isEqualTo("second");
        assertThat(same.model()).isEqualTo("first");
        assertThat(store.tenant(TENANT).messages(conversation.id())).extracting(StoredMessage::model).containsExactly("second",
                "first");
    }

    @Test
    void streamingListsOnlyAnswersStillStreaming() {
        var store = open();
        var a = store.tenant(TENANT).create(new NewConversation("a", null, null));
        var b = store.tenant(TENANT).create(new NewConversation("b", null, null));
        store.tenant(TENANT).append(a.id(), Role.USER, "q", MessageStatus.COMPLETE, null);
        StoredMessage first = store.tenant(TENANT).append(a.id(), Role.ASSISTANT, "", MessageStatus.STREAMING, "m");
        StoredMessage second = store.tenant(TENANT).append(b.id(), Role.ASSISTANT, "partial", MessageStatus.STREAMING, "m");
        StoredMessage third = store.tenant(TENANT).append(b.id(), Role.ASSISTANT, "", MessageStatus.STREAMING, "m");

        assertThat(store.streaming()).containsExactly(first, second, third);

        store.finish(second.id(), "partial", MessageStatus.INTERRUPTED, null, "crash", null, null);

        assertThat(store.streaming()).containsExactly(first, third);
    }

    @Test
    void streamingListsOnlyThisNodesAnswersAndUntaggedOnes() throws SQLException {
        var nodeA = openAsNode("node-a");
        var nodeB = openAsNode("node-b");
        var conversation = nodeA.tenant(TENANT).create(new NewConversation("shared", null, null));
        StoredMessage question = nodeA.tenant(TENANT).append(conversation.id(), Role.USER, "q", MessageStatus.COMPLETE, null);
        StoredMessage byA = nodeA.tenant(TENANT).append(conversation.id(), Role.ASSISTANT, "", MessageStatus.STREAMING, "m");
        StoredMessage byB = nodeB.tenant(TENANT).append(conversation.id(), Role.ASSISTANT, "", MessageStatus.STREAMING, "m");
        StoredMessage legacy = nodeB.tenant(TENANT).append(conversation.id(), Role.ASSISTANT, "old", MessageStatus.STREAMING, "m");
        // As written before answers were tagged (the column came with V5 and is NULL on older rows).
        execute("UPDATE messages SET node_id = NULL WHERE id = ?", legacy.id());

        assertThat(nodeColumn(byA.id())).isEqualTo("node-a");
        assertThat(nodeColumn(byB.id())).isEqualTo("node-b");
        assertThat(nodeColumn(question.id())).isNull();
        assertThat(nodeA.streaming()).containsExactly(byA, legacy);
        assertThat(nodeB.streaming()).containsExactly(byB, legacy);
        // A store without a node id tags nothing and claims only untagged answers.
        var untagged = open();
        StoredMessage byUntagged = untagged.tenant(TENANT).append(conversation.id(), Role.ASSISTANT, "", MessageStatus.STREAMING, "m");
        assertThat(nodeColumn(byUntagged.id())).isNull();
        assertThat(untagged.streaming()).containsExactly(legacy, byUntagged);
        assertThat(nodeA.streaming()).containsExactly(byA, legacy, byUntagged);
    }

    @Test
    void recoveryOnOneNodeLeavesAnotherNodesLiveAnswerStreaming() {
        var nodeA = openAsNode("node-a");
        var nodeB = openAsNode("node-b");
        var conversation = nodeA.tenant(TENANT).create(new NewConversation(null, null, null));
        StoredMessage cutByCrash = nodeA.tenant(TENANT).append(conversation.id(), Role.ASSISTANT, "Half", MessageStatus.STREAMING, "m");
        StoredMessage live = nodeB.tenant(TENANT).append(conversation.id(), Role.ASSISTANT, "", MessageStatus.STREAMING, "m");
        close(nodeA);

        // Node A restarts and runs the crash recovery of dev.parley.core: its streaming answers become interrupted.
        var restartedA = openAsNode("node-a");
        for (StoredMessage m : restartedA.streaming()) {
            restartedA.finish(m.id(), m.content(), MessageStatus.INTERRUPTED, m.usage(), "server restarted", null, null);
        }

        List<StoredMessage> after = restartedA.tenant(TENANT).messages(conversation.id());
        assertThat(after).extracting(StoredMessage::id).containsExactly(cutByCrash.id(), live.id());
        assertThat(after.get(0).status()).isEqualTo(MessageStatus.INTERRUPTED);
        assertThat(after.get(0).content()).isEqualTo("Half");
        assertThat(after.get(1)).isEqualTo(live);
        assertThat(restartedA.streaming()).isEmpty();
        // Node B finishes its answer normally.
        assertThat(nodeB.finish(live.id(), "Whole answer", MessageStatus.COMPLETE, null, null, null, null).status())
                .isEqualTo(MessageStatus.COMPLETE);
        assertThat(nodeB.streaming()).isEmpty();
    }

    @Test
    void interruptIfStreamingEndsOnlyAnAnswerStillStreaming() {
        var nodeA = openAsNode("node-a");
        var nodeB = openAsNode("node-b");
        var conversation = nodeA.tenant(TENANT).create(new NewConversation(null, null, null));
        StoredMessage orphan = nodeA.tenant(TENANT).append(conversation.id(), Role.ASSISTANT, "", MessageStatus.STREAMING, "m");
        StoredMessage finished = nodeA.tenant(TENANT).append(conversation.id(), Role.ASSISTANT, "", MessageStatus.STREAMING, "m");
        StoredMessage done = nodeA.finish(finished.id(), "Whole", MessageStatus.COMPLETE, null, new Usage(1, 2), null,
                Duration.ofMillis(30), Duration.ofMillis(3));

        // Node B ends node A's orphan with the partial text it read elsewhere; a second end changes nothing.
        StoredMessage ended = nodeB.interruptIfStreaming(orphan.id(), "Half an", "node gone");
        StoredMessage again = nodeB.interruptIfStreaming(orphan.id(), "Other", "again");
        StoredMessage untouched = nodeB.interruptIfStreaming(finished.id(), "Half", "node gone");

        assertThat(ended.status()).isEqualTo(MessageStatus.INTERRUPTED);
        assertThat(ended.content()).isEqualTo("Half an");
        assertThat(ended.error()).isEqualTo("node gone");
        assertThat(again).isEqualTo(ended);
        assertThat(untouched).isEqualTo(done);
        assertThat(nodeA.streaming()).isEmpty();
        assertThatThrownBy(() -> nodeB.interruptIfStreaming("no-such-message", "x", "y"))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
    }

    @Test
    void refusesANodeIdLongerThanItsColumn() {
        assertThatThrownBy(() -> openAsNode("n".repeat(201))).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("nodeId");
        assertThat(openAsNode("n".repeat(200)).tenant(TENANT).list(0, 1).total()).isZero();
    }

    private String nodeColumn(String messageId) throws SQLException {
        try (Connection c = rawConnection();
                PreparedStatement ps = c.prepareStatement("SELECT node_id FROM messages WHERE id = ?")) {
            ps.setString(1, messageId);
            try (ResultSet rs = ps.executeQuery()) {
                assertThat(rs.next()).isTrue();
                return rs.getString(1);
            }
        }
    }

    private void execute(String sql, String parameter) throws SQLException {
        try (Connection c = rawConnection(); PreparedStatement ps = c.prepareStatement(sql)) {
            ps.setString(1, parameter);
            assertThat(ps.executeUpdate()).isEqualTo(1);
            if (!c.getAutoCommit()) {
                c.commit();
            }
        }
    }

    @Test
    void reportsMissingConversationsAndMessagesAsNotFound() {
        var store = open();
        var empty = store.tenant(TENANT).create(new NewConversation(null, null, null));

        assertThatThrownBy(() -> store.tenant(TENANT).append("conv_missing", Role.USER, "x", MessageStatus.COMPLETE, null))
                .isInstanceOf(ParleyException.class).extracting(e -> ((ParleyException) e).code())
                .isEqualTo(ErrorCode.NOT_FOUND);
        assertThatThrownBy(() -> store.tenant(TENANT).messages("conv_missing")).isInstanceOf(ParleyException.class)
                .extracting(e -> ((ParleyException) e).code()).isEqualTo(ErrorCode.NOT_FOUND);
        assertThatThrownBy(() -> store.finish("msg_missing", "x", MessageStatus.COMPLETE, null, null, null, null))
                .isInstanceOf(ParleyException.class).extracting(e -> ((ParleyException) e).code())
                .isEqualTo(ErrorCode.NOT_FOUND);
        assertThat(store.tenant(TENANT).messages(empty.id())).isEmpty();
        assertThat(store.tenant(TENANT).delete("conv_missing")).isFalse();
    }

    @Test
    void sqlFailuresBecomeStoreFailuresWithoutSqlInTheMessage() {
        var store = open();
        var conversation = store.tenant(TENANT).create(new NewConversation(null, null, null));
        String tooLongModel = "m".repeat(500);

        assertThatThrownBy(() -> store.tenant(TENANT).append(conversation.id(), Role.USER, "x", MessageStatus.COMPLETE, tooLongModel))
                .isInstanceOfSatisfying(ParleyException.class, e -> {
                    assertThat(e.code()).isEqualTo(ErrorCode.STORE_FAILURE);
                    assertThat(e.getMessage()).isEqualTo("Could not append the message")
                            .doesNotContain("INSERT", tooLongModel);
                    assertThat(e.getCause()).isInstanceOf(SQLException.class);
                });
        // The failed transaction was rolled back: the next append still gets seq 1.
        assertThat(store.tenant(TENANT).append(conversation.id(), Role.USER, "x", MessageStatus.COMPLETE, null).seq()).isEqualTo(1);
    }

    @Test
    void roundTripsUnicodeAndLargeContent() {
        var store = open();
        String title = "Ünïcødé 对话 محادثة 🚀";
        String unicode = "Emoji 👩‍👩‍👧‍👦🇵🇹, CJK 你好世界, RTL שלום, combining e\u0301, math 𝔸, quotes \"'` and ; -- not SQL";
        String large = "Lorem ipsum dolor sit amet, 🚀 consectetur adipiscing elit. ".repeat(40_000);
        var conversation = store.tenant(TENANT).create(new NewConversation(title, null, unicode));

        StoredMessage small = store.tenant(TENANT).append(conversation.id(), Role.USER, unicode, MessageStatus.COMPLETE, null);
        StoredMessage big = store.tenant(TENANT).append(conversation.id(), Role.ASSISTANT, "", MessageStatus.STREAMING, "m");
        store.finish(big.id(), large, MessageStatus.COMPLETE, null, null, null, null);

        assertThat(large.length()).isGreaterThan(2_000_000);
        assertThat(store.tenant(TENANT).find(conversation.id()).orElseThrow().title()).isEqualTo(title);
        assertThat(store.tenant(TENANT).find(conversation.id()).orElseThrow().systemPrompt()).isEqualTo(unicode);
        assertThat(store.tenant(TENANT).messages(conversation.id())).extracting(StoredMessage::content)
                .containsExactly(small.content(), large);
        assertThat(small.content()).isEqualTo(unicode);
    }

    @Test
    void secondStartFindsTheSchemaCurrentAndKeepsTheData() throws SQLException {
        var first = open();
        var conversation = first.tenant(TENANT).create(new NewConversation("survives", null, null));
        first.tenant(TENANT).append(conversation.id(), Role.USER, "hello", MessageStatus.COMPLETE, null);
        close(first);

        var second = open();

        Conversation found = second.tenant(TENANT).find(conversation.id()).orElseThrow();
        assertThat(found.title()).isEqualTo("survives");
        assertThat(found.createdAt()).isEqualTo(conversation.createdAt());
        assertThat(second.tenant(TENANT).messages(conversation.id())).extracting(StoredMessage::content).containsExactly("hello");
        assertThat(second.tenant(TENANT).append(conversation.id(), Role.ASSISTANT, "hi", MessageStatus.COMPLETE, null).seq())
                .isEqualTo(2);
        assertThat(appliedVersions()).containsExactlyElementsOf(STORE_VERSIONS);
    }

    @Test
    void refusesToStartWhenAnAppliedMigrationChanged() throws SQLException {
        close(open());
        try (Connection c = rawConnection(); Statement st = c.createStatement()) {
            assertThat(st.executeUpdate("UPDATE parley_schema_history SET checksum = 'tampered' "
                    + "WHERE module = 'dev.parley.store.jdbc' AND version = 1")).isEqualTo(1);
            if (!c.getAutoCommit()) {
                c.commit();
            }
        }

        assertThatThrownBy(this::open).isInstanceOfSatisfying(ParleyException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.STORE_FAILURE);
            assertThat(e.getMessage()).contains("V1", "conversations");
        });
        awaitNoPoolThreads();
    }

    @Test
    void recordsEachAppliedMigrationOnceUnderThisBundle() throws SQLException {
        open();

        try (Connection c = rawConnection(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT module, version, description, checksum, applied_at "
                        + "FROM parley_schema_history ORDER BY module, version")) {
            var descriptions = new ArrayList<String>();
            while (rs.next()) {
                descriptions.add(rs.getString(1) + " " + rs.getInt(2) + ":" + rs.getString(3));
                assertThat(rs.getString(4)).hasSize(64);
                assertThat(rs.getObject(5)).isNotNull();
            }
            var expected = new ArrayList<>(List.of("dev.parley.store.jdbc 1:conversations",
                    "dev.parley.store.jdbc 2:messages", "dev.parley.store.jdbc 5:message_node",
                    "dev.parley.store.jdbc 6:router_state", "dev.parley.store.jdbc 7:usage_records",
                    "dev.parley.store.jdbc 11:usage_single_attempt", "dev.parley.store.jdbc 12:conversation_tenant",
                    "dev.parley.store.jdbc 13:usage_cut", "dev.parley.store.jdbc 14:conversation_owner",
                    "dev.parley.store.jdbc 15:router_provider_plugins"));
            if (c.getMetaData().getDatabaseProductName().toLowerCase(java.util.Locale.ROOT).contains("postgres")) {
                // Row-level security (ADR 24): PostgreSQL only, a module of its own.
                expected.add("dev.parley.store.jdbc.postgresql 1:row_level_security");
            }
            assertThat(descriptions).containsExactlyElementsOf(expected);
        }
    }

    @Test
    void closingTheStoreLeavesNoThreadsBehind() {
        var before = liveThreads();
        var store = open();
        store.tenant(TENANT).create(new NewConversation(null, null, null));
        assertThat(poolThreads()).isNotEmpty();

        close(store);

        awaitNoPoolThreads();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(liveThreads())
                .filteredOn(t -> !before.contains(t)).extracting(Thread::getName)
                .filteredOn(name -> !name.startsWith("awaitility")).isEmpty());
    }


    // ---- telemetry ----------------------------------------------------------------------------------------------

    /** The database's {@code db.system.name}: h2 or postgresql. */
    private String dbSystem() {
        return url().startsWith("jdbc:h2:") ? "h2" : "postgresql";
    }

    private static OpenTelemetrySdk sdk(InMemoryMetricReader reader) {
        return OpenTelemetrySdk.builder()
                .setMeterProvider(SdkMeterProvider.builder().registerMetricReader(reader).build()).build();
    }

    private Attributes call(String operation) {
        return Attributes.of(StoreTelemetry.DB_SYSTEM, dbSystem(), StoreTelemetry.DB_OPERATION, operation);
    }

    private Attributes failedCall(String operation, String errorType) {
        return call(operation).toBuilder().put(StoreTelemetry.ERROR_TYPE, errorType).build();
    }

    /** Points of {@code db.client.operation.duration}: attributes → number of calls. */
    private static Map<Attributes, Long> callCounts(InMemoryMetricReader reader) {
        return reader.collectAllMetrics().stream().filter(m -> m.getName().equals("db.client.operation.duration"))
                .flatMap(m -> m.getHistogramData().getPoints().stream())
                .collect(java.util.stream.Collectors.toMap(HistogramPointData::getAttributes, HistogramPointData::getCount));
    }

    @Test
    void eachStoreCallIsTimedByOperationWithTheErrorTypeOnFailure() {
        var reader = InMemoryMetricReader.create();
        var store = open();
        store.bindOpenTelemetry(sdk(reader));

        var conversation = store.tenant(TENANT).create(new NewConversation("timed", null, null));
        store.tenant(TENANT).find(conversation.id());
        store.tenant(TENANT).list(0, 10);
        StoredMessage answer = store.tenant(TENANT).append(conversation.id(), Role.ASSISTANT, "", MessageStatus.STREAMING, "m");
        store.tenant(TENANT).appendAll(conversation.id(), List.of(new NewMessage(Role.USER, "q", MessageStatus.COMPLETE, null),
                new NewMessage(Role.ASSISTANT, "", MessageStatus.STREAMING, "m")));
        store.finish(answer.id(), "done", MessageStatus.COMPLETE, null, null, null, null);
        store.tenant(TENANT).messages(conversation.id());
        store.streaming();
        assertThatThrownBy(() -> store.tenant(TENANT).messages("conv_missing")).isInstanceOf(ParleyException.class);
        assertThatThrownBy(() -> store.tenant(TENANT).append(conversation.id(), Role.USER, "x", MessageStatus.COMPLETE, "m".repeat(500)))
                .isInstanceOf(ParleyException.class);
        store.tenant(TENANT).delete(conversation.id());

        assertThat(callCounts(reader)).containsOnly(
                Map.entry(call("create"), 1L), Map.entry(call("find"), 1L), Map.entry(call("list"), 1L),
                Map.entry(call("append"), 1L), Map.entry(call("appendAll"), 1L), Map.entry(call("finish"), 1L),
                Map.entry(call("messages"), 1L), Map.entry(call("streaming"), 1L), Map.entry(call("delete"), 1L),
                Map.entry(failedCall("messages", "not-found"), 1L),
                Map.entry(failedCall("append", "store-failure"), 1L));
        MetricData duration = reader.collectAllMetrics().stream()
                .filter(m -> m.getName().equals("db.client.operation.duration")).findFirst().orElseThrow();
        assertThat(duration.getUnit()).isEqualTo("s");
        assertThat(duration.getInstrumentationScopeInfo().getName()).isEqualTo("dev.parley.store.jdbc");
        assertThat(duration.getHistogramData().getPoints()).allSatisfy(p -> {
            assertThat(p.getBoundaries()).isEqualTo(StoreTelemetry.DURATION_BUCKETS);
            assertThat(p.getSum()).isPositive().isLessThan(60.0 * p.getCount());
        });
    }

    @Test
    void withoutTheOpenTelemetryServiceTheStoreWorksUnmeasuredAndAReplacementTakesOver() {
        var first = InMemoryMetricReader.create();
        var second = InMemoryMetricReader.create();
        var firstSdk = sdk(first);
        var secondSdk = sdk(second);
        var store = open();

        var conversation = store.tenant(TENANT).create(new NewConversation(null, null, null));
        store.bindOpenTelemetry(firstSdk);
        store.tenant(TENANT).find(conversation.id());
        // A greedy replacement: the new service is bound before the old one is unbound.
        store.bindOpenTelemetry(secondSdk);
        store.unbindOpenTelemetry(firstSdk);
        store.tenant(TENANT).messages(conversation.id());
        store.unbindOpenTelemetry(secondSdk);
        store.tenant(TENANT).list(0, 1);

        assertThat(callCounts(first)).containsOnly(Map.entry(call("find"), 1L));
        assertThat(callCounts(second)).containsOnly(Map.entry(call("messages"), 1L));
        assertThat(store.tenant(TENANT).find(conversation.id())).isPresent();
    }

    // --- the router's state (RouterStateStore) on the same database ---

    @Test
    void routerClaimsAreTakenOnceAndTheEarlierClaimStands() {
        var state = new JdbcRouterStateStore(databaseOf(open()), clock);

        assertThat(state.claimIfAbsent("gpt-4o", "openai")).isEqualTo("openai");
        assertThat(state.claimIfAbsent("gpt-4o", "azure")).isEqualTo("openai");
        assertThat(state.load().claims()).containsExactly(Map.entry("gpt-4o", "openai"));
    }

    @Test
    void routerStateSurvivesARestartAndIsSharedByNodes() {
        var node1 = new JdbcRouterStateStore(databaseOf(open()), clock);
        node1.claimIfAbsent("llama3", "ollama");
        node1.putAlias("fast", "priority:openai/gpt-4o-mini,anthropic/claude-3-5-haiku");
        node1.putClaim("llama3", "ollama-gpu");

        var node2 = new JdbcRouterStateStore(databaseOf(openAsNode("node-2")), clock);
        var loaded = node2.load();

        assertThat(loaded.claims()).containsExactly(Map.entry("llama3", "ollama-gpu"));
        assertThat(loaded.aliases()).containsExactly(
                Map.entry("fast", "priority:openai/gpt-4o-mini,anthropic/claude-3-5-haiku"));
        node2.putAlias("fast", "weighted:openai/gpt-4o@3,anthropic/claude-sonnet-4@1");
        assertThat(node1.load().aliases()).containsEntry("fast", "weighted:openai/gpt-4o@3,anthropic/claude-sonnet-4@1");

        assertThat(node1.deleteAlias("fast")).isTrue();
        assertThat(node1.deleteAlias("fast")).isFalse();
        assertThat(node2.deleteClaim("llama3")).isTrue();
        assertThat(node2.deleteClaim("llama3")).isFalse();
        assertThat(node1.load().claims()).isEmpty();
        assertThat(node1.load().aliases()).isEmpty();
    }

    @Test
    void aProviderIdIsBoundToTheFirstPluginUntilThatPluginReleasesIt() {
        var node1 = new JdbcRouterStateStore(databaseOf(open()), clock);
        var node2 = new JdbcRouterStateStore(databaseOf(openAsNode("node-2")), clock);

        assertThat(node1.bindProviderIfAbsent("echo", "example.echo")).isEqualTo("example.echo");
        assertThat(node2.bindProviderIfAbsent("echo", "evil.plugin")).isEqualTo("example.echo");
        assertThat(node2.providerPlugins()).containsExactly(Map.entry("echo", "example.echo"));
        assertThat(node2.releaseProvider("echo", "evil.plugin")).as("only the holder releases").isFalse();
        assertThat(node1.providerPlugins()).containsEntry("echo", "example.echo");

        assertThat(node1.releaseProvider("echo", "example.echo")).isTrue();
        assertThat(node2.bindProviderIfAbsent("echo", "other.plugin")).isEqualTo("other.plugin");
        assertThat(node1.providerPlugins()).containsExactly(Map.entry("echo", "other.plugin"));
    }

    @Test
    void nodesClaimingOneModelTogetherAgreeOnOneClaimant() throws Exception {
        var store = open();
        int nodes = 4;
        ExecutorService executor = Executors.newFixedThreadPool(nodes);
        try {
            var start = new CountDownLatch(1);
            var futures = new ArrayList<Future<String>>();
            for (int i = 0; i < nodes; i++) {
                String provider = "provider-" + i;
                var state = new JdbcRouterStateStore(databaseOf(store), clock);
                futures.add(executor.submit(() -> {
                    start.await();
                    return state.claimIfAbsent("shared-model", provider);
                }));
            }
            start.countDown();
            var winners = new java.util.HashSet<String>();
            for (Future<String> f : futures) {
                winners.add(f.get(30, TimeUnit.SECONDS));
            }
            assertThat(winners).hasSize(1);
            assertThat(new JdbcRouterStateStore(databaseOf(store), clock).load().claims())
                    .containsExactly(Map.entry("shared-model", winners.iterator().next()));
        } finally {
            executor.shutdownNow();
        }
    }

    @Test
    void routerStateFailuresAreStoreFailures() {
        var store = open();
        var state = new JdbcRouterStateStore(databaseOf(store), clock);
        close(store);

        assertThatThrownBy(state::load).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.STORE_FAILURE));
        assertThatThrownBy(() -> state.claimIfAbsent("m", "p")).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.STORE_FAILURE));
    }

    private static List<Thread> liveThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).toList();
    }

    protected List<Integer> appliedVersions() throws SQLException {
        try (Connection c = rawConnection(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT version FROM parley_schema_history "
                        + "WHERE module = 'dev.parley.store.jdbc' ORDER BY version")) {
            var versions = new ArrayList<Integer>();
            while (rs.next()) {
                versions.add(rs.getInt(1));
            }
            return versions;
        }
    }

    protected static void awaitNoPoolThreads() {
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(poolThreads()).isEmpty());
    }

    private static List<String> poolThreads() {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(name -> name.startsWith(PooledDatabase.POOL_NAME)).toList();
    }

    // ---- usage records (JdbcUsageStore on the pool this store shares) ------------------------------------------------

    private static UsageRecord usage(String id, Instant at, String requested, String provider, String model,
            UsageOutcome outcome, String conversationId, BigDecimal cost, UsageAttempt... attempts) {
        return new UsageRecord(id, at, null, null, "openai", conversationId, null, requested, provider, model, outcome,
                outcome == UsageOutcome.FAILED ? "rate-limited" : null, List.of(attempts), 100, 20, 40, cost, 850L,
                outcome == UsageOutcome.COMPLETED ? 120L : null);
    }

    @Test
    void usageRecordsRoundTripWithTheirAttemptsNewestFirst() {
        var usage = new JdbcUsageStore(databaseOf(open()));
        Instant t0 = Instant.parse("2026-03-01T10:00:00Z");
        var answered = usage("u1", t0, "fast", "anthropic", "claude-haiku", UsageOutcome.COMPLETED, "c1",
                new BigDecimal("0.00123"), new UsageAttempt("openai", "gpt-4o-mini", "rate-limited", 40),
                new UsageAttempt("anthropic", "claude-haiku", null, 800));
        var failed = usage("u2", t0.plusSeconds(60), "gpt-4o", "openai", "gpt-4o", UsageOutcome.FAILED, null, null,
                new UsageAttempt("openai", "gpt-4o", "rate-limited", 10));
        usage.recordAll(List.of(answered, failed));

        UsagePage page = usage.find(new UsageQuery(null, null, null, null, null, 0, 10, null));
        assertThat(page.total()).isEqualTo(2);
        assertThat(page.items()).extracting(UsageRecord::id).containsExactly("u2", "u1");
        UsageRecord back = page.items().get(1);
        assertThat(back).isEqualTo(answered);
        assertThat(back.attempts()).extracting(UsageAttempt::answered).containsExactly(false, true);
        assertThat(page.items().get(0)).isEqualTo(failed);
        assertThat(page.items().get(0).costUsd()).isNull();
        assertThat(page.items().get(0).timeToFirstTokenMs()).isNull();
        assertThat(page.totals().requests()).isEqualTo(2);
        assertThat(page.totals().promptTokens()).isEqualTo(200);
        assertThat(page.totals().completionTokens()).isEqualTo(40);
        assertThat(page.totals().cachedPromptTokens()).isEqualTo(80);
        assertThat(page.totals().costUsd()).isEqualByComparingTo("0.00123");
    }

    @Test
    void aCutStreamsRecordKeepsItsCountedTokensAndItsMark() {
        var usage = new JdbcUsageStore(databaseOf(open()));
        var cut = new UsageRecord("u-cut", Instant.parse("2026-03-01T10:00:00Z"), "acme", "alice", "turn", "c1", "m1",
                null, "openai", "gpt-4o", UsageOutcome.CANCELLED, "cancelled",
                List.of(new UsageAttempt("openai", "gpt-4o", "cancelled", 300)), 50, 4, 0, new BigDecimal("0.0001"),
                300L, 90L, true);
        var whole = usage("u-whole", Instant.parse("2026-03-01T10:01:00Z"), null, "openai", "gpt-4o",
                UsageOutcome.COMPLETED, "c1", null, new UsageAttempt("openai", "gpt-4o", null, 800));
        usage.recordAll(List.of(cut, whole));

        UsagePage page = usage.find(new UsageQuery(null, null, null, null, null, 0, 10, null));
        assertThat(page.items()).containsExactly(whole, cut);
        assertThat(page.items().get(1).cut()).isTrue();
        assertThat(page.items().get(0).cut()).isFalse();
        assertThat(page.totals().completionTokens()).isEqualTo(24);
    }

    @Test
    void usageIsFilteredByModelProviderConversationAndTimeAndPaged() {
        var usage = new JdbcUsageStore(databaseOf(open()));
        Instant t0 = Instant.parse("2026-03-01T10:00:00Z");
        List<UsageRecord> batch = new ArrayList<>();
        for (int i = 0; i < 7; i++) {
            String model = i % 2 == 0 ? "gpt-4o" : "claude-haiku";
            batch.add(usage("r" + i, t0.plusSeconds(i), i < 3 ? "fast" : model, i % 2 == 0 ? "openai" : "anthropic",
                    model, UsageOutcome.COMPLETED, i < 2 ? "conv-a" : "conv-b", new BigDecimal("0.5"),
                    new UsageAttempt(i % 2 == 0 ? "openai" : "anthropic", model, null, 5)));
        }
        usage.recordAll(batch);

        // The alias the client named, or the model that answered.
        assertThat(ids(usage.find(new UsageQuery("fast", null, null, null, null, 0, 10, null)))).containsExactly("r2", "r1", "r0");
        assertThat(ids(usage.find(new UsageQuery("gpt-4o", null, null, null, null, 0, 10, null))))
                .containsExactly("r6", "r4", "r2", "r0");
        assertThat(ids(usage.find(new UsageQuery(null, "anthropic", null, null, null, 0, 10, null))))
                .containsExactly("r5", "r3", "r1");
        assertThat(ids(usage.find(new UsageQuery(null, null, "conv-a", null, null, 0, 10, null)))).containsExactly("r1", "r0");
        assertThat(ids(usage.find(new UsageQuery(null, null, null, t0.plusSeconds(2), t0.plusSeconds(5), 0, 10, null))))
                .containsExactly("r4", "r3", "r2");

        UsagePage second = usage.find(new UsageQuery(null, null, null, null, null, 3, 3, null));
        assertThat(ids(second)).containsExactly("r3", "r2", "r1");
        assertThat(second.total()).isEqualTo(7);
        assertThat(second.totals().costUsd()).as("totals cover every match, not the page").isEqualByComparingTo("3.5");
        assertThat(usage.find(new UsageQuery(null, null, null, null, null, 10, 3, null)).items()).isEmpty();
    }

    @Test
    void aRequestTriedOnceAtItsOwnTargetNeedsNoAttemptRow() throws SQLException {
        var usage = new JdbcUsageStore(databaseOf(open()));
        Instant t0 = Instant.parse("2026-03-01T10:00:00Z");
        var once = usage("once", t0, "fast", "openai", "gpt-4o", UsageOutcome.COMPLETED, null, null,
                new UsageAttempt("openai", "gpt-4o", null, 830));
        // One attempt, but not at the target the record names: it needs its row.
        var elsewhere = usage("elsewhere", t0.plusSeconds(1), "fast", "openai", "gpt-4o", UsageOutcome.COMPLETED, null,
                null, new UsageAttempt("openai", "gpt-4o-2024", null, 700));
        var fallback = usage("fallback", t0.plusSeconds(2), "fast", "anthropic", "claude-haiku",
                UsageOutcome.COMPLETED, null, null, new UsageAttempt("openai", "gpt-4o", "overloaded", 20),
                new UsageAttempt("anthropic", "claude-haiku", null, 600));
        var none = usage("none", t0.plusSeconds(3), "fast", "openai", "gpt-4o", UsageOutcome.CANCELLED, null, null);
        usage.recordAll(List.of(once, elsewhere, fallback, none));

        assertThat(usage.find(new UsageQuery(null, null, null, null, null, 0, 10, null)).items())
                .containsExactly(none, fallback, elsewhere, once);
        var rows = new ArrayList<String>();
        try (Connection c = rawConnection(); Statement st = c.createStatement();
                ResultSet rs = st.executeQuery("SELECT record_id, seq FROM usage_attempts ORDER BY record_id, seq")) {
            while (rs.next()) {
                rows.add(rs.getString(1) + "#" + rs.getInt(2));
            }
        }
        assertThat(rows).containsExactly("elsewhere#0", "fallback#0", "fallback#1");
    }

    @Test
    void aUsageBatchStoredTwiceCountsOnce() {
        var usage = new JdbcUsageStore(databaseOf(open()));
        var r = usage("once", Instant.parse("2026-03-01T10:00:00Z"), "m", "p", "m", UsageOutcome.COMPLETED, null,
                BigDecimal.ONE, new UsageAttempt("p", "m", null, 3));
        usage.recordAll(List.of(r));
        usage.recordAll(List.of(r, usage("twice", Instant.parse("2026-03-01T10:00:01Z"), "m", "p", "m",
                UsageOutcome.CANCELLED, null, null)));

        UsagePage page = usage.find(new UsageQuery(null, null, null, null, null, 0, 10, null));
        assertThat(ids(page)).containsExactly("twice", "once");
        assertThat(page.items().get(1).attempts()).hasSize(1);
        assertThat(page.totals().costUsd()).isEqualByComparingTo("1");
    }

    @Test
    void aUsageBatchThatFailsStoresNothingOfIt() {
        var usage = new JdbcUsageStore(databaseOf(open()));
        var good = usage("good", Instant.parse("2026-03-01T10:00:00Z"), "m", "p", "m", UsageOutcome.COMPLETED, null,
                null, new UsageAttempt("p", "m", null, 3));
        // An attempt with a provider id longer than its column: the whole batch is refused, nothing half-stored.
        var bad = usage("bad", Instant.parse("2026-03-01T10:00:01Z"), "m", "p", "m", UsageOutcome.COMPLETED, null, null,
                new UsageAttempt("p".repeat(300), "m", null, 3));

        assertThatThrownBy(() -> usage.recordAll(List.of(good, bad)))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.STORE_FAILURE));
        assertThat(usage.find(new UsageQuery(null, null, null, null, null, 0, 10, null)).total()).isZero();
    }

    private static List<String> ids(UsagePage page) {
        return page.items().stream().map(UsageRecord::id).toList();
    }
}

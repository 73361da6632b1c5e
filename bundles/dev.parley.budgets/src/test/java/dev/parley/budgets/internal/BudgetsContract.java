package dev.parley.budgets.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import dev.parley.api.limits.Reservation;
import dev.parley.budgets.internal.TestSupport.CountingDatabase;
import dev.parley.budgets.internal.TestSupport.MutableClock;
import dev.parley.db.internal.PooledDatabase;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.awaitility.Awaitility;

/**
 * Budgets in a real database (H2 and PostgreSQL subclasses), usually through two components on one database (two
 * nodes): reservations all or nothing, concurrent ones never past a limit, settle and release once, periods renewing
 * by the clock, callers without a budget costing no query.
 */
abstract class BudgetsContract {
    static final Instant T0 = Instant.parse("2026-12-05T10:00:00Z");

    protected PooledDatabase database;
    private CountingDatabase counting;
    private final MutableClock clock = new MutableClock(T0);
    private final AtomicLong nanos = new AtomicLong(1_000);
    private DatabaseBudgets node1;
    private DatabaseBudgets node2;

    private final Principal acmeAdmin = user("carol", "acme", Role.ADMIN);
    private final Principal alice = key("alice", "acme", "key-a1");
    private final Principal aliceOtherKey = key("alice", "acme", "key-a2");
    private final Principal bob = key("bob", "acme", "key-b1");

    protected abstract PooledDatabase open() throws Exception;

    protected void afterDatabaseClosed() throws Exception {
    }

    static Principal user(String subject, String tenant, Role... roles) {
        return new Principal(subject, tenant, Set.of(roles), AuthMethod.PASSWORD, "https://parley.local", Set.of(),
                null, "session-" + subject);
    }

    static Principal key(String subject, String tenant, String keyId) {
        return new Principal(subject, tenant, Set.of(Role.DEVELOPER), AuthMethod.API_KEY, "api-key", Set.of(), null,
                keyId);
    }

    @BeforeEach
    void setUp() throws Exception {
        database = open();
        counting = new CountingDatabase(database);
        node1 = node();
        node2 = node();
    }

    @AfterEach
    void tearDown() throws Exception {
        node1.deactivate();
        node2.deactivate();
        database.close();
        afterDatabaseClosed();
    }

    private DatabaseBudgets node() {
        return new DatabaseBudgets(new BudgetStore(counting), TestSupport.config(5), clock, nanos::get);
    }

    private Budget define(DatabaseBudgets node, Scope scope, String scopeId, Period period, Long requests, Long tokens,
            String cost) {
        return node.put(acmeAdmin, new BudgetRules.Spec(null, scope, scopeId, period, requests, tokens,
                cost == null ? null : new BigDecimal(cost))).budget();
    }

    private Spend spent(DatabaseBudgets node, Budget b) {
        return node.list(acmeAdmin, null).stream().filter(v -> v.budget().id().equals(b.id())).findFirst()
                .orElseThrow().spent();
    }

    @Test
    void aCallerWithoutABudgetCostsNoQueryWhileTheCacheHoldsItsTenant() {
        assertThat(node1.appliesTo(alice)).isFalse(); // loads acme's (empty) definitions: one query
        int before = counting.transactions.get();
        for (int i = 0; i < 100; i++) {
            assertThat(node1.appliesTo(alice)).isFalse();
            assertThat(node1.reserve(alice, "m", 500)).isSameAs(Reservation.NONE);
        }
        Reservation.NONE.settle(10, BigDecimal.ONE);
        assertThat(counting.transactions.get()).isEqualTo(before);

        // Five seconds on, the definitions are read again: once.
        nanos.addAndGet(TimeUnit.SECONDS.toNanos(5));
        node1.reserve(alice, "m", 500);
        node1.reserve(alice, "m", 500);
        assertThat(counting.transactions.get()).isEqualTo(before + 1);
    }

    @Test
    void aBudgetDefinedOnOneNodeAppliesThereAtOnceAndOnTheOtherWhenItsCacheAges() {
        assertThat(node1.appliesTo(alice)).isFalse();
        assertThat(node2.appliesTo(alice)).isFalse();
        define(node1, Scope.USER, "alice", Period.DAY, 1L, null, null);

        assertThat(node1.appliesTo(alice)).isTrue();
        assertThat(node1.appliesTo(bob)).isFalse();
        assertThat(node2.appliesTo(alice)).isFalse();
        nanos.addAndGet(TimeUnit.SECONDS.toNanos(5));
        assertThat(node2.appliesTo(alice)).isTrue();
    }

    @Test
    void concurrentReservationsFromTwoNodesNeverTakeMoreThanTheBudget() throws Exception {
        Budget requests = define(node1, Scope.USER, "alice", Period.DAY, 40L, null, null);
        Budget tokens = define(node1, Scope.TENANT, "", Period.MONTH, null, 1_000L, null);
        List<Callable<Boolean>> tries = new ArrayList<>();
        CountDownLatch go = new CountDownLatch(1);
        for (int i = 0; i < 120; i++) {
            DatabaseBudgets node = i % 2 == 0 ? node1 : node2;
            Principal who = i % 3 == 0 ? bob : alice;
            tries.add(() -> {
                go.await();
                try {
                    node.reserve(who, "m", 30);
                    return true;
                } catch (ParleyException e) {
                    assertThat(e.code()).as(e.getMessage()).isEqualTo(ErrorCode.BUDGET_EXCEEDED);
                    return false;
                }
            });
        }
        ExecutorService pool = Executors.newFixedThreadPool(12);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (Callable<Boolean> t : tries) {
                results.add(pool.submit(t));
            }
            go.countDown();
            int granted = 0;
            for (Future<Boolean> f : results) {
                granted += f.get(60, TimeUnit.SECONDS) ? 1 : 0;
            }
            // 1000 tokens / 30 per request: 33 requests in all, alice's and bob's together, whoever wins the race.
            assertThat(granted).isEqualTo(33);
        } finally {
            pool.shutdownNow();
        }
        assertThat(spent(node1, tokens).tokens()).isEqualTo(33 * 30);
        assertThat(spent(node1, tokens).requests()).isEqualTo(33);
        assertThat(spent(node1, requests).requests()).isLessThanOrEqualTo(40);
    }

    @Test
    void concurrentReservationsOfTheFirstRequestOfAPeriodMakeOneRowAndCountEach() throws Exception {
        Budget b = define(node1, Scope.TENANT, "", Period.DAY, 10L, null, null);
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(8);
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < 16; i++) {
                DatabaseBudgets node = i % 2 == 0 ? node1 : node2;
                results.add(pool.submit(() -> {
                    go.await();
                    try {
                        node.reserve(alice, "m", 1);
                        return true;
                    } catch (ParleyException e) {
                        assertThat(e.code()).as(e.getMessage()).isEqualTo(ErrorCode.BUDGET_EXCEEDED);
                        return false;
                    }
                }));
            }
            go.countDown();
            int granted = 0;
            for (Future<Boolean> f : results) {
                granted += f.get(60, TimeUnit.SECONDS) ? 1 : 0;
            }
            assertThat(granted).isEqualTo(10);
        } finally {
            pool.shutdownNow();
        }
        assertThat(spent(node1, b)).isEqualTo(new Spend(10, 10, spent(node1, b).costUsd()));
    }

    @Test
    void aRefusedReservationLeavesEverySpendAsItWasAndNamesTheBudgetThatRanOut() {
        Budget tenant = define(node1, Scope.TENANT, "", Period.DAY, 100L, 100_000L, null);
        Budget user = define(node1, Scope.USER, "alice", Period.DAY, 1L, null, null);
        node1.reserve(alice, "m", 200);
        Spend before = spent(node1, tenant);

        ParleyException refused = catchThrowableOfType(() -> node1.reserve(alice, "m", 200), ParleyException.class);

        assertThat(refused.code()).isEqualTo(ErrorCode.BUDGET_EXCEEDED);
        assertThat(refused.getMessage()).isEqualTo("The daily request budget of the user 'alice' is used up (1 of 1 "
                + "requests). It renews at 2026-12-06T00:00:00Z.");
        assertThat(refused.retryAfter()).contains(Duration.ofHours(14).plusSeconds(1));
        // The tenant's budget comes first in the lock order and was taken from before the user's refused: undone.
        assertThat(spent(node1, tenant)).isEqualTo(before);
        assertThat(spent(node1, user).requests()).isEqualTo(1);
        // Bob has no user budget; the tenant's still has room.
        node1.reserve(bob, "m", 200);
        assertThat(spent(node1, tenant).requests()).isEqualTo(2);
    }

    @Test
    void aTokenRefusalSaysWhatIsLeftAndARequestLargerThanTheBudgetIsToldSo() {
        define(node1, Scope.KEY, "key-a1", Period.MONTH, null, 1_000L, null);
        node1.reserve(alice, "m", 900);

        assertThatThrownBy(() -> node1.reserve(alice, "m", 200)).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.getMessage()).isEqualTo("The monthly token budget of the API key 'key-a1' is used "
                        + "up (900 of 1000 tokens; this request may use up to 200). It renews at "
                        + "2027-01-01T00:00:00Z."));
        assertThatThrownBy(() -> node1.reserve(alice, "m", 5_000)).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.getMessage()).startsWith("The monthly token budget of the API key 'key-a1' (1000 "
                        + "tokens) is smaller than this request may use (up to 5000 tokens"));
        // Another key of the same user is not limited by this key's budget.
        node1.reserve(aliceOtherKey, "m", 5_000);
    }

    @Test
    void settleReplacesTheEstimateWithWhatWasUsedAndAddsTheCostOnce() {
        Budget b = define(node1, Scope.USER, "alice", Period.DAY, null, 10_000L, "1.00");
        Reservation r = node1.reserve(alice, "m", 4_000);
        assertThat(spent(node1, b)).isEqualTo(new Spend(1, 4_000, spent(node1, b).costUsd()));

        r.settle(1_234, new BigDecimal("0.0123"));
        r.settle(9_999, new BigDecimal("5")); // a second end does nothing
        r.release();

        Spend s = spent(node2, b);
        assertThat(s.requests()).isEqualTo(1);
        assertThat(s.tokens()).isEqualTo(1_234);
        assertThat(s.costUsd()).isEqualByComparingTo("0.0123");
    }

    @Test
    void releaseGivesTheRequestAndTheEstimateBackOnce() {
        Budget b = define(node1, Scope.USER, "alice", Period.DAY, 1L, 1_000L, null);
        Reservation r = node1.reserve(alice, "m", 800);
        assertThatThrownBy(() -> node1.reserve(alice, "m", 1)).isInstanceOf(ParleyException.class);

        r.release();
        r.release();
        r.settle(500, BigDecimal.ONE);

        assertThat(spent(node1, b)).isEqualTo(new Spend(0, 0, spent(node1, b).costUsd()));
        assertThat(spent(node1, b).costUsd()).isEqualByComparingTo("0");
        node1.reserve(alice, "m", 800);
    }

    @Test
    void aCostBudgetRefusesOnceWhatWasSettledReachesIt() {
        define(node1, Scope.TENANT, "", Period.MONTH, null, null, "0.50");
        node1.reserve(alice, "m", 10).settle(10, new BigDecimal("0.30"));
        node1.reserve(bob, "m", 10).settle(10, new BigDecimal("0.20"));

        assertThatThrownBy(() -> node2.reserve(alice, "m", 10)).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.getMessage()).startsWith("The monthly cost budget of the tenant 'acme' is used up "
                        + "(USD 0.5 of 0.5)"));
    }

    @Test
    void aPeriodRenewsAtMidnightUtcAndTheSettleOfAnOldReservationStaysInItsPeriod() {
        clock.set(Instant.parse("2026-12-31T23:59:58Z"));
        Budget day = define(node1, Scope.USER, "alice", Period.DAY, 1L, null, null);
        Budget month = define(node1, Scope.TENANT, "", Period.MONTH, 10L, null, null);
        Reservation late = node1.reserve(alice, "m", 100);
        ParleyException refused = catchThrowableOfType(() -> node1.reserve(alice, "m", 100), ParleyException.class);
        assertThat(refused.retryAfter()).contains(Duration.ofSeconds(3));

        clock.advance(Duration.ofSeconds(2)); // 2027-01-01T00:00:00Z: a new day and a new month
        Reservation early = node1.reserve(alice, "m", 100);
        late.settle(40, null);
        early.settle(60, null);

        assertThat(spent(node1, day)).isEqualTo(new Spend(1, 60, spent(node1, day).costUsd()));
        assertThat(spent(node1, month)).isEqualTo(new Spend(1, 60, spent(node1, month).costUsd()));
        clock.set(Instant.parse("2026-12-31T12:00:00Z"));
        assertThat(spent(node1, day).tokens()).isEqualTo(40);
        assertThat(spent(node1, month).tokens()).isEqualTo(40);
    }

    @Test
    void replacingABudgetKeepsItsIdAndWhatWasSpentAndAppliesAtOnce() {
        Budget first = define(node1, Scope.USER, "alice", Period.DAY, 1L, null, null);
        node1.reserve(alice, "m", 1);
        assertThatThrownBy(() -> node1.reserve(alice, "m", 1)).isInstanceOf(ParleyException.class);

        Budget second = define(node1, Scope.USER, "alice", Period.DAY, 2L, null, null);

        assertThat(second.id()).isEqualTo(first.id());
        assertThat(second.maxRequests()).isEqualTo(2L);
        node1.reserve(alice, "m", 1);
        assertThat(spent(node1, second).requests()).isEqualTo(2);

        node1.delete(acmeAdmin, null, second.id());
        assertThat(node1.appliesTo(alice)).isFalse();
        assertThat(node1.list(acmeAdmin, null)).isEmpty();
    }

    @Test
    void adminsManageTheirOwnTenantAndTheOperatorTenantAnyTenant() {
        Principal globexAdmin = user("dave", "globex", Role.ADMIN);
        Principal operator = user("root", Principal.OPERATOR_TENANT, Role.OWNER);
        Budget acme = define(node1, Scope.TENANT, "", Period.DAY, 5L, null, null);

        assertThat(node1.list(globexAdmin, null)).isEmpty();
        assertThatThrownBy(() -> node1.list(globexAdmin, "acme")).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN));
        assertThatThrownBy(() -> node1.delete(globexAdmin, null, acme.id()))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.NOT_FOUND));
        assertThatThrownBy(() -> node1.list(user("mo", "acme", Role.MEMBER), null))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN));

        assertThat(node1.list(operator, "acme")).extracting(v -> v.budget().id()).containsExactly(acme.id());
        Budget globex = node1.put(operator, new BudgetRules.Spec("globex", Scope.TENANT, "", Period.DAY, 1L, null,
                null)).budget();
        assertThat(globex.tenantId()).isEqualTo("globex");
        assertThat(node1.list(globexAdmin, null)).extracting(v -> v.budget().id()).containsExactly(globex.id());
        node1.reserve(key("gus", "globex", "k"), "m", 1);
        assertThatThrownBy(() -> node1.reserve(key("gus", "globex", "k"), "m", 1))
                .isInstanceOfSatisfying(ParleyException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.BUDGET_EXCEEDED));
        node1.reserve(alice, "m", 1); // acme's budget is acme's own
    }

    @Test
    void concurrentReservationsAgainstACostBudgetAdmitExactlyWhatTheirEstimatesFit() throws Exception {
        // $1.00 a day, each request estimated at $0.07: floor(1.00 / 0.07) = 14, from two nodes at once.
        Budget b = define(node1, Scope.TENANT, "", Period.DAY, null, null, "1.00");
        BigDecimal estimate = new BigDecimal("0.07");
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService pool = Executors.newFixedThreadPool(12);
        List<Reservation> taken = new java.util.concurrent.CopyOnWriteArrayList<>();
        try {
            List<Future<Boolean>> results = new ArrayList<>();
            for (int i = 0; i < 60; i++) {
                DatabaseBudgets node = i % 2 == 0 ? node1 : node2;
                Principal who = i % 3 == 0 ? bob : alice;
                results.add(pool.submit(() -> {
                    go.await();
                    try {
                        taken.add(node.reserve(who, "m", 10, estimate));
                        return true;
                    } catch (ParleyException e) {
                        assertThat(e.code()).as(e.getMessage()).isEqualTo(ErrorCode.BUDGET_EXCEEDED);
                        return false;
                    }
                }));
            }
            go.countDown();
            int granted = 0;
            for (Future<Boolean> f : results) {
                granted += f.get(60, TimeUnit.SECONDS) ? 1 : 0;
            }
            assertThat(granted).isEqualTo(14);
        } finally {
            pool.shutdownNow();
        }
        assertThat(spent(node1, b).costUsd()).isEqualByComparingTo("0.98");
        assertThatThrownBy(() -> node1.reserve(alice, "m", 10, estimate)).isInstanceOfSatisfying(
                ParleyException.class, e -> assertThat(e.getMessage()).isEqualTo("The daily cost budget of the "
                        + "tenant 'acme' is used up (USD 0.98 of 1; this request may cost up to USD 0.07). It renews "
                        + "at 2026-12-06T00:00:00Z."));

        // Settled to their real cost ($0.01 each): the estimates are given back, what they cost stays.
        for (Reservation r : taken) {
            r.settle(5, new BigDecimal("0.01"));
        }
        assertThat(spent(node2, b).costUsd()).isEqualByComparingTo("0.14");
        assertThat(spent(node2, b).tokens()).isEqualTo(14 * 5);
        node2.reserve(alice, "m", 10, estimate);
    }

    @Test
    void aCostEstimateIsGivenBackOnReleaseAndARequestCostlierThanTheBudgetIsToldSo() {
        Budget b = define(node1, Scope.USER, "alice", Period.MONTH, null, null, "0.50");
        Reservation r = node1.reserve(alice, "m", 100, new BigDecimal("0.40"));
        assertThat(spent(node1, b).costUsd()).isEqualByComparingTo("0.40");
        assertThatThrownBy(() -> node1.reserve(alice, "m", 100, new BigDecimal("0.20")))
                .isInstanceOf(ParleyException.class);
        // A request of no known cost still fits while the budget is not used up.
        node1.reserve(alice, "m", 100, null).settle(100, null);

        r.release();
        assertThat(spent(node1, b).costUsd()).isEqualByComparingTo("0");
        assertThatThrownBy(() -> node1.reserve(alice, "m", 100, new BigDecimal("0.75")))
                .isInstanceOfSatisfying(ParleyException.class, e -> assertThat(e.getMessage()).startsWith(
                        "The monthly cost budget of the user 'alice' (USD 0.5) is smaller than this request may cost "
                                + "(up to USD 0.75"));
        // Settled above its estimate (a fallback to a dearer model): the real cost counts, and a budget so used up
        // refuses even a request of no known cost.
        node1.reserve(alice, "m", 100, new BigDecimal("0.10")).settle(100, new BigDecimal("0.60"));
        assertThat(spent(node1, b).costUsd()).isEqualByComparingTo("0.60");
        assertThatThrownBy(() -> node1.reserve(alice, "m", 1, null)).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.getMessage()).contains("cost budget of the user 'alice' is used up (USD 0.6 of 0.5)"));
    }

    @Test
    void spendOfPeriodsThatEndedBeforeTheRetentionIsPurgedInBatchesAndTheRestStays() {
        define(node1, Scope.TENANT, "", Period.DAY, 1_000L, null, null);
        define(node1, Scope.TENANT, "", Period.MONTH, 1_000L, null, null);
        define(node1, Scope.USER, "alice", Period.DAY, 1_000L, null, null);
        // Spend on 40 days from 2026-09-01 (three rows a day, one more for each new month).
        clock.set(Instant.parse("2026-09-01T12:00:00Z"));
        for (int day = 0; day < 40; day++) {
            node1.reserve(alice, "m", 1);
            clock.advance(Duration.ofDays(1));
        }
        clock.set(T0); // 2026-12-05: with 90 days' retention, periods that ended before 2026-09-06 go
        node1.reserve(alice, "m", 1);
        int before = spendRows();
        assertThat(before).isEqualTo(40 * 2 + 2 + 2 + 1); // 80 daily rows, September and October, today's and December

        DatabaseBudgets purging = new DatabaseBudgets(new BudgetStore(counting), TestSupport.config(5, 90, 0, 3),
                clock, nanos::get);
        int transactions = counting.transactions.get();
        int purged = purging.purgeOldSpend();

        // Days 2026-09-01 .. 09-05 (ended by 09-06 00:00), alice's and the tenant's: 10 rows. September has not ended
        // by the cut-off, so the month row stays.
        assertThat(purged).isEqualTo(10);
        assertThat(spendRows()).isEqualTo(before - 10);
        assertThat(counting.transactions.get() - transactions).as("batches of 3").isEqualTo(4);
        assertThat(spendRowsBefore(Instant.parse("2026-09-06T00:00:00Z"), "day")).isZero();
        assertThat(spendRowsBefore(Instant.parse("2026-09-07T00:00:00Z"), "day")).isEqualTo(2);
        assertThat(purging.purgeOldSpend()).isZero();

        // A month later September's row goes too; the current period is never touched.
        clock.set(Instant.parse("2027-01-05T10:00:00Z"));
        purging.purgeOldSpend();
        assertThat(spendRowsBefore(Instant.parse("2026-10-01T00:00:00Z"), "month")).isZero();
        assertThat(spendRowsBefore(Instant.parse("2026-11-01T00:00:00Z"), "month")).isEqualTo(1);
        clock.set(T0);
        assertThat(spent(node1, node1.list(acmeAdmin, null).get(0).budget()).requests()).isEqualTo(1);
    }

    @Test
    void eachNodePurgesOnItsOwnSchedule() {
        define(node1, Scope.TENANT, "", Period.DAY, 1_000L, null, null);
        clock.set(Instant.parse("2026-01-01T12:00:00Z"));
        node1.reserve(alice, "m", 1);
        clock.set(T0);
        node1.reserve(alice, "m", 1);
        assertThat(spendRows()).isEqualTo(2);

        DatabaseBudgets scheduled = new DatabaseBudgets(new BudgetStore(counting), TestSupport.config(5, 30, 1, 100),
                clock, nanos::get);
        try {
            Awaitility.await().atMost(Duration.ofSeconds(20)).until(() -> spendRows() == 1);
            assertThat(spendRowsBefore(Instant.parse("2026-12-05T00:00:00Z"), "day")).isZero();
        } finally {
            scheduled.deactivate();
        }
    }

    private int spendRows() {
        return database.inTransaction("count", c -> {
            try (var st = c.createStatement(); var rs = st.executeQuery("SELECT COUNT(*) FROM budget_spend")) {
                rs.next();
                return rs.getInt(1);
            }
        });
    }

    private int spendRowsBefore(Instant start, String period) {
        return database.inTransaction("count", c -> {
            try (var ps = c.prepareStatement("SELECT COUNT(*) FROM budget_spend WHERE period_start < ? AND "
                    + "budget_period = ?")) {
                ps.setObject(1, dev.parley.db.Sql.timestamp(start));
                ps.setString(2, period);
                try (var rs = ps.executeQuery()) {
                    rs.next();
                    return rs.getInt(1);
                }
            }
        });
    }
}

package dev.parley.budgets.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Permission;
import dev.parley.api.identity.Principal;
import dev.parley.api.limits.Budgets;
import dev.parley.api.limits.Reservation;
import dev.parley.db.Database;
import dev.parley.web.rest.admin.AdminAudit;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.LongSupplier;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * {@link Budgets} over Parley's database, and the operations of the admin API. The definitions come from a per-node
 * {@link BudgetCache}, so a caller without a budget costs no query; a caller with one costs one transaction to
 * reserve and one to settle.
 */
@Component(service = { Budgets.class, DatabaseBudgets.class }, configurationPid = BudgetsConfig.PID)
@Designate(ocd = BudgetsConfig.class)
public final class DatabaseBudgets implements Budgets {
    static final Duration RETRY_WHEN_UNAVAILABLE = Duration.ofSeconds(5);
    private static final Logger LOG = LoggerFactory.getLogger(DatabaseBudgets.class);

    /** A budget with what its scope spent in the current period. */
    record View(Budget budget, Spend spent, Instant periodStart, Instant renewsAt) {
    }

    private final BudgetStore store;
    private final BudgetCache cache;
    private final Clock clock;
    private final Duration retention;
    private final int purgeBatchSize;
    /** Deletes old spend every {@code purgeIntervalSeconds}; null when that is 0. */
    private final ScheduledExecutorService purger;

    @Activate
    public DatabaseBudgets(@Reference Database database, BudgetsConfig config) {
        this(new BudgetStore(database), config, Clock.systemUTC(), System::nanoTime);
    }

    DatabaseBudgets(BudgetStore store, BudgetsConfig config, Clock clock, LongSupplier ticker) {
        this.store = store;
        this.clock = clock;
        this.cache = new BudgetCache(TimeUnit.SECONDS.toNanos(Math.max(0, config.cacheSeconds())),
                Math.max(100, config.cacheMaxTenants()), ticker);
        this.retention = Duration.ofDays(Math.max(1, config.spendRetentionDays()));
        this.purgeBatchSize = Math.max(1, config.purgeBatchSize());
        int every = Math.max(0, config.purgeIntervalSeconds());
        if (every == 0) {
            this.purger = null;
        } else {
            this.purger = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "parley-budgets-purge");
                t.setDaemon(true);
                return t;
            });
            purger.scheduleWithFixedDelay(this::purgeQuietly, every, every, TimeUnit.SECONDS);
        }
    }

    @Deactivate
    void deactivate() {
        if (purger == null) {
            return;
        }
        purger.shutdownNow();
        try {
            purger.awaitTermination(10, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Deletes the spend of periods that ended more than the retention ago, in batches.
     *
     * @return how many spend rows were deleted
     */
    int purgeOldSpend() {
        Instant cutoff = clock.instant().minus(retention);
        int deleted = store.purge(cutoff, purgeBatchSize);
        if (deleted > 0) {
            LOG.info("budget spend purged rows={} endedBefore={}", deleted, cutoff);
        }
        return deleted;
    }

    private void purgeQuietly() {
        try {
            purgeOldSpend();
        } catch (RuntimeException e) {
            // Tried again at the next interval; old rows only take room meanwhile.
            LOG.warn("budget spend purge failed: {}", e.getMessage());
        }
    }

    // --- Budgets ---------------------------------------------------------------------------------------------------

    @Override
    public boolean appliesTo(Principal caller) {
        return !applicable(caller).isEmpty();
    }

    @Override
    public Reservation reserve(Principal caller, String model, int estimatedTokens, BigDecimal estimatedCostUsd) {
        List<Budget> budgets = applicable(caller);
        if (budgets.isEmpty()) {
            return Reservation.NONE;
        }
        long estimate = Math.max(0, estimatedTokens);
        BigDecimal cost = BudgetStore.scaled(estimatedCostUsd);
        List<SpendKey> taken;
        try {
            taken = store.reserve(budgets, estimate, cost, clock.instant());
        } catch (ParleyException e) {
            if (e.code() == ErrorCode.BUDGET_EXCEEDED) {
                LOG.debug("budget refused tenant={} subject={} model={} reason=\"{}\"", caller.tenantId(),
                        caller.subject(), model, e.getMessage());
                throw e;
            }
            throw unavailable(e);
        }
        return new StoredReservation(taken, estimate, cost);
    }

    /** The budgets that limit {@code caller}: its tenant's, its user's, its credential's. */
    private List<Budget> applicable(Principal caller) {
        List<Budget> all;
        try {
            all = cache.get(caller.tenantId(), store::budgets);
        } catch (ParleyException e) {
            throw unavailable(e);
        }
        if (all.isEmpty()) {
            return List.of();
        }
        List<Budget> out = new ArrayList<>(all.size());
        for (Budget b : all) {
            if (b.appliesTo(caller.subject(), caller.credentialId())) {
                out.add(b);
            }
        }
        return out;
    }

    private static ParleyException unavailable(ParleyException cause) {
        LOG.warn("budgets could not be checked: {}", cause.getMessage());
        return new ParleyException(ErrorCode.UNAVAILABLE, "Budgets cannot be checked right now; try again shortly.",
                RETRY_WHEN_UNAVAILABLE, cause);
    }

    /** Settled or released once; a store that fails is logged (the spend stays as reserved). */
    private final class StoredReservation implements Reservation {
        private final List<SpendKey> keys;
        private final long estimate;
        private final BigDecimal estimatedCost;
        private final AtomicBoolean ended = new AtomicBoolean();

        StoredReservation(List<SpendKey> keys, long estimate, BigDecimal estimatedCost) {
            this.keys = List.copyOf(keys);
            this.estimate = estimate;
            this.estimatedCost = estimatedCost;
        }

        @Override
        public void settle(int tokensUsed, BigDecimal costUsd) {
            if (!ended.compareAndSet(false, true)) {
                return;
            }
            try {
                store.settle(keys, estimate, estimatedCost, Math.max(0, tokensUsed), costUsd);
            } catch (RuntimeException e) {
                LOG.warn("budget spend not settled rows={} tokens={} (the estimate stays counted): {}", keys.size(),
                        tokensUsed, e.getMessage());
            }
        }

        @Override
        public void release() {
            if (!ended.compareAndSet(false, true)) {
                return;
            }
            try {
                store.release(keys, estimate, estimatedCost);
            } catch (RuntimeException e) {
                LOG.warn("budget reservation not released rows={} (it stays counted): {}", keys.size(),
                        e.getMessage());
            }
        }

        @Override
        public String toString() {
            return "Reservation[rows=" + keys.size() + ", estimate=" + estimate + ", cost="
                    + estimatedCost.stripTrailingZeros().toPlainString() + "]";
        }
    }

    // --- The admin API ---------------------------------------------------------------------------------------------

    /**
     * The tenant an admin acts on: its own, or (for the operator tenant's admins) the one it names.
     *
     * @throws ParleyException FORBIDDEN for another tenant named by an admin outside the operator tenant
     */
    static String tenantFor(Principal actor, String requested) {
        return AdminAudit.tenantFor(actor, requested, Permission.BUDGETS_ADMIN, "budgets", t -> true);
    }

    List<View> list(Principal actor, String tenant) {
        String t = tenantFor(actor, tenant);
        return views(store.budgets(t));
    }

    View get(Principal actor, String tenant, String id) {
        String t = tenantFor(actor, tenant);
        return views(List.of(store.find(t, id).orElseThrow(() -> notFound(id)))).get(0);
    }

    /** Creates or replaces the budget of {@code spec}'s scope and period; drops this node's cache of the tenant. */
    BudgetStore.Put put(Principal actor, BudgetRules.Spec spec) {
        String t = tenantFor(actor, spec.tenant());
        Budget b = new Budget(BudgetStore.newId(), t, spec.scope(), spec.scopeId(), spec.period(), spec.maxRequests(),
                spec.maxTokens(), spec.maxCostUsd(), clock.instant(), actor.subject());
        BudgetStore.Put put = store.put(b);
        cache.invalidate(t);
        LOG.info("budget {} tenant={} scope={} period={} by={}", put.created() ? "created" : "replaced", t,
                spec.scope().slug(), spec.period().slug(), actor.subject());
        return put;
    }

    Budget delete(Principal actor, String tenant, String id) {
        String t = tenantFor(actor, tenant);
        Budget gone = store.delete(t, id).orElseThrow(() -> notFound(id));
        cache.invalidate(t);
        LOG.info("budget deleted tenant={} scope={} period={} by={}", t, gone.scope().slug(), gone.period().slug(),
                actor.subject());
        return gone;
    }

    View view(Budget b) {
        return views(List.of(b)).get(0);
    }

    private List<View> views(List<Budget> budgets) {
        Instant now = clock.instant();
        List<SpendKey> keys = budgets.stream().map(b -> b.spendKey(b.period().start(now))).toList();
        Map<SpendKey, Spend> spent = store.spend(keys);
        List<View> out = new ArrayList<>(budgets.size());
        for (int i = 0; i < budgets.size(); i++) {
            Budget b = budgets.get(i);
            SpendKey k = keys.get(i);
            out.add(new View(b, spent.getOrDefault(k, Spend.NONE), k.periodStart(), b.period().end(k.periodStart())));
        }
        return out;
    }

    BudgetCache cache() {
        return cache;
    }

    private static ParleyException notFound(String id) {
        return new ParleyException(ErrorCode.NOT_FOUND, "No budget '" + BudgetRules.shorten(String.valueOf(id))
                + "' in this tenant.");
    }
}

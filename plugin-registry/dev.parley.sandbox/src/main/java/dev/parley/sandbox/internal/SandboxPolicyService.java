package dev.parley.sandbox.internal;

import dev.parley.db.Database;
import dev.parley.sandbox.HeldUpgrades;
import dev.parley.sandbox.PolicyException;
import dev.parley.sandbox.SandboxPolicies;
import dev.parley.sandbox.SandboxPolicy;
import dev.parley.sandbox.Tier;
import dev.parley.sandbox.TierPolicy;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The sandbox policy of this node: the defaults this bundle carries (the files of {@code sandbox-policy/}), overlaid
 * with the tiers admins changed (table {@code sandbox_policy}), read again at most every {@code cacheSeconds}; and the
 * upgrades held for an admin's approval. A stored tier that no longer reads as a valid policy (changed by hand in the
 * database) is replaced by its default for this node, with an ERROR line, rather than leaving the tier without one.
 *
 * <p>The policy in force is also handed to the framework hooks and the plugin call guard as their tier
 * configurations ({@link TierConfigurations}): when this service starts, at once after a change made here, and after a
 * change made on another node within {@code cacheSeconds} (the policy is read again that often).
 */
@Component(service = {SandboxPolicies.class, HeldUpgrades.class}, configurationPid = SandboxConfig.PID)
@Designate(ocd = SandboxConfig.class)
public class SandboxPolicyService implements SandboxPolicies, HeldUpgrades {
    private static final Logger LOG = LoggerFactory.getLogger(SandboxPolicyService.class);

    private record Snapshot(SandboxPolicy policy, List<Stored> stored, long readAtNanos) {
    }

    private final PolicyStore store;
    private final SandboxPolicy defaults;
    private final long cacheNanos;
    private final Clock clock;
    private final Consumer<SandboxPolicy> publish;
    /** One hand-over at a time, each of the policy read last. */
    private final Object publishing = new Object();
    private final ScheduledExecutorService rereads;
    private volatile Snapshot snapshot;

    @Activate
    public SandboxPolicyService(@Reference Database database, @Reference ConfigurationAdmin configAdmin,
            SandboxConfig config) {
        this(database, Duration.ofSeconds(Math.max(0, config.cacheSeconds())), Clock.systemUTC(),
                new TierConfigurations(configAdmin)::write, true);
    }

    SandboxPolicyService(Database database, Duration cache, Clock clock) {
        this(database, cache, clock, p -> { }, false);
    }

    /**
     * @param publish hands the policy in force on (the tiers' configurations)
     * @param reread  whether to read the policy again every {@code cache} (at least every second), so that changes
     *                made on other nodes are handed on without anyone asking for the policy
     */
    SandboxPolicyService(Database database, Duration cache, Clock clock, Consumer<SandboxPolicy> publish,
            boolean reread) {
        this.store = new PolicyStore(database);
        this.defaults = PolicyJson.defaults(SandboxPolicyService.class.getClassLoader());
        this.cacheNanos = cache.toNanos();
        this.clock = clock;
        this.publish = publish;
        LOG.info("event=sandbox_policy_ready tiers={}", current().tiers().keySet());
        publish();
        if (reread) {
            var executor = new ScheduledThreadPoolExecutor(1, r -> {
                Thread t = new Thread(r, "parley-sandbox-policy");
                t.setDaemon(true);
                return t;
            });
            executor.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
            long period = Math.max(1, cache.toSeconds());
            executor.scheduleWithFixedDelay(this::publishQuietly, period, period, TimeUnit.SECONDS);
            this.rereads = executor;
        } else {
            this.rereads = null;
        }
    }

    @Deactivate
    void deactivate() {
        if (rereads != null) {
            rereads.shutdownNow();
        }
    }

    /** Hands the policy in force on (read again when the cached one is older than {@code cacheSeconds}). */
    void publish() {
        synchronized (publishing) {
            publish.accept(current());
        }
    }

    private void publishQuietly() {
        try {
            publish();
        } catch (RuntimeException e) {
            LOG.error("event=sandbox_policy_publish_failed reason=\"{}\"", e.toString());
        }
    }

    @Override
    public SandboxPolicy current() {
        return snapshot().policy();
    }

    @Override
    public SandboxPolicy defaults() {
        return defaults;
    }

    @Override
    public List<Stored> stored() {
        return snapshot().stored();
    }

    @Override
    public synchronized Stored replace(TierPolicy policy, String actor) {
        // The tier alone was checked when it was read; now with every other tier as it is in force.
        Map<Tier, TierPolicy> tiers = new EnumMap<>(current().tiers());
        tiers.put(policy.tier(), policy);
        PolicyJson.validate(new SandboxPolicy(tiers));
        PolicyStore.Row row = store.put(policy.tier().slug(), PolicyJson.write(policy), actor, clock.instant());
        snapshot = null;
        LOG.info("event=sandbox_policy_changed tier={} generation={} by={}", row.tier(), row.generation(), actor);
        publish();
        return stored().stream().filter(s -> s.policy().tier() == policy.tier()).findFirst().orElseThrow();
    }

    @Override
    public synchronized Stored reset(Tier tier, String actor) {
        Map<Tier, TierPolicy> tiers = new EnumMap<>(current().tiers());
        tiers.put(tier, defaults.tier(tier));
        PolicyJson.validate(new SandboxPolicy(tiers));
        store.delete(tier.slug());
        snapshot = null;
        LOG.info("event=sandbox_policy_reset tier={} by={}", tier.slug(), actor);
        publish();
        return stored().stream().filter(s -> s.policy().tier() == tier).findFirst().orElseThrow();
    }

    private Snapshot snapshot() {
        Snapshot s = snapshot;
        if (s != null && System.nanoTime() - s.readAtNanos() < cacheNanos) {
            return s;
        }
        s = read();
        snapshot = s;
        return s;
    }

    private Snapshot read() {
        Map<Tier, Stored> byTier = new EnumMap<>(Tier.class);
        for (Tier t : Tier.values()) {
            byTier.put(t, new Stored(defaults.tier(t), Stored.DEFAULT, 0, null, null));
        }
        for (PolicyStore.Row row : store.policies()) {
            Optional<Tier> tier = Tier.of(row.tier());
            if (tier.isEmpty()) {
                LOG.error("event=sandbox_policy_row_ignored tier={} reason=\"not a tier\"", row.tier());
                continue;
            }
            try {
                TierPolicy p = PolicyJson.parse(row.policy());
                if (p.tier() != tier.get()) {
                    throw new PolicyException("the row of tier " + row.tier() + " describes " + p.tier().slug());
                }
                byTier.put(tier.get(), new Stored(p, Stored.DATABASE, row.generation(), row.updatedAt(), row.updatedBy()));
            } catch (PolicyException e) {
                LOG.error("event=sandbox_policy_row_ignored tier={} reason=\"{}\"", row.tier(), e.getMessage());
            }
        }
        Map<Tier, TierPolicy> tiers = new EnumMap<>(Tier.class);
        byTier.forEach((t, s) -> tiers.put(t, s.policy()));
        SandboxPolicy policy = new SandboxPolicy(tiers);
        try {
            PolicyJson.validate(policy);
        } catch (PolicyException e) {
            // Only possible after hand edits in the database: fall back to the shipped policy as a whole.
            LOG.error("event=sandbox_policy_invalid reason=\"{}\" using=defaults", e.getMessage());
            policy = defaults;
            byTier.replaceAll((t, s) -> new Stored(defaults.tier(t), Stored.DEFAULT, 0, null, null));
        }
        return new Snapshot(policy, List.copyOf(new ArrayList<>(byTier.values())), System.nanoTime());
    }

    // ---- held upgrades --------------------------------------------------------------------------------------

    @Override
    public void hold(Held held) {
        store.hold(held);
        LOG.info("event=plugin_upgrade_held plugin={} from={} to={} permissionsAdded={} by={}", held.pluginId(),
                held.fromVersion(), held.toVersion(), held.permissionsAdded().size(), held.requestedBy());
    }

    @Override
    public Optional<Held> held(String pluginId) {
        return store.held(pluginId);
    }

    @Override
    public List<Held> all() {
        return store.held();
    }

    @Override
    public void release(String pluginId) {
        store.release(pluginId);
    }
}

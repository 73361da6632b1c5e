package dev.parley.plugins.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.secrets.SecretSealer;
import dev.parley.db.Database;
import dev.parley.plugins.internal.PluginStateStore.Desired;
import dev.parley.plugins.internal.PluginStateStore.Event;
import dev.parley.plugins.internal.PluginStateStore.NodeStatus;
import dev.parley.plugins.internal.PluginTelemetry.Operation;
import dev.parley.plugins.internal.PluginTelemetry.Tracked;
import dev.parley.registry.Permission;
import dev.parley.registry.PluginDescriptor;
import dev.parley.registry.PluginDescriptors;
import dev.parley.registry.PluginRegistry;
import dev.parley.registry.RegistryEntry;
import dev.parley.registry.RegistryException;
import dev.parley.registry.Signatures;
import dev.parley.pluginhost.HostLimits;
import dev.parley.pluginhost.PluginHosts;
import dev.parley.sandbox.AdmissionReport;
import dev.parley.sandbox.SandboxPolicies;
import dev.parley.sandbox.SandboxPolicy;
import dev.parley.sandbox.Tier;
import dev.parley.sandbox.TierPolicy;
import dev.parley.sandbox.AdmissionRequest;
import dev.parley.sandbox.Finding;
import dev.parley.sandbox.HeldUpgrades;
import dev.parley.sandbox.HeldUpgrades.Held;
import dev.parley.sandbox.PluginAdmission;
import dev.parley.sandbox.hooks.Confinement;
import io.opentelemetry.api.OpenTelemetry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import java.util.stream.Collectors;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.FrameworkListener;
import org.osgi.framework.Version;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.component.annotations.ReferencePolicyOption;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.metatype.MetaTypeService;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The plugin lifecycle on this node: admin operations (verify → install beside → health gate → switch → retire the
 * old version → commit the desired state) and a reconciler that brings this node to the desired state other nodes
 * committed, and that moves a plugin in or out of process when the sandbox policy in force places it otherwise than it
 * runs ({@link #place(List)}). One lock serialises every change to this node's plugins. Operations, health-gate failures, this node's
 * plugins by state and the reconciler's lag are recorded through the {@link OpenTelemetry} service when there is one
 * ({@link PluginTelemetry}); without it everything runs unmeasured.
 */
// The configuration carries this node's id (dev.parley.config always writes it): without it there is nothing to run as.
@Component(service = PluginOperations.class, configurationPid = PluginsConfig.PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE, immediate = true)
@Designate(ocd = PluginsConfig.class)
public class PluginOperations {
    private static final Logger LOG = LoggerFactory.getLogger(PluginOperations.class);

    /** States this node reports per plugin. */
    static final String ACTIVE = "active";
    static final String DISABLED = "disabled";
    static final String NEEDS_CONFIGURATION = "needs-configuration";
    static final String FAILED = "failed";
    /** Kept stopped on this node: core's call guard saw it keep failing or timing out (ADR 28). */
    static final String QUARANTINED = PluginStartStore.QUARANTINED;
    /** Kept stopped on this node: too many starts in a row failed or ended with the server (ADR 28). */
    static final String CRASH_LOOP = PluginStartStore.CRASH_LOOP;
    /**
     * System property the launcher sets when the server is asked to stop (SIGTERM, SIGINT, SIGHUP): a process that
     * ends without it while a plugin is in its first seconds counts that as the plugin's crash.
     */
    static final String STOP_REQUESTED_PROPERTY = "parley.stop.requested";

    private final PluginRegistry registry;
    private final PluginAdmission admission;
    private final HeldUpgrades heldUpgrades;
    private final PluginStateStore store;
    private final FrameworkPlugins framework;
    private final Confinement confinement;
    private final PluginSettings settings;
    private final ArtifactCache cache;
    /** Crash-loop protection: start attempts recorded durably, failed and crashed starts counted, holds. */
    private final PluginStarts starts;
    private final String nodeId;
    private final Clock clock = Clock.systemUTC();
    private final ReentrantLock lock = new ReentrantLock();
    private final ScheduledExecutorService reconciler;
    /** Generation of the desired row this node last applied (or failed to apply), per plugin. */
    private final Map<String, Long> appliedGeneration = new HashMap<>();
    /** When a reconcile step last failed, per plugin; such a step is tried again after {@code retryFailedSeconds}. */
    private final Map<String, Instant> failedAt = new HashMap<>();
    private final Duration retryFailed;
    private final BundleContext context;
    private final FrameworkListener startLevelListener;
    /** The state this node last reported per plugin (its node-status rows), for the plugins-by-state gauge. */
    private final Map<String, String> localStates = new ConcurrentHashMap<>();
    /** {@link System#nanoTime()} when the reconciler last finished a pass that left no plugin failed (or activation). */
    private volatile long lastConvergedNanos = System.nanoTime();
    /** Swapped whole when the OpenTelemetry service comes or goes. */
    private volatile PluginTelemetry telemetry;
    /** The tiers' limits: whether a plugin runs out of process, and with what (ADR 31). */
    private final SandboxPolicies policies;
    /**
     * The policy under which each installed plugin was last found in the form its tier asks for (in process, or out of
     * process with the tier's limits), per plugin: it is looked at again when the policy in force is another one.
     */
    private final Map<String, SandboxPolicy> placedBy = new HashMap<>();
    /** Runs plugins of an out-of-process tier in plugin hosts (ADR 31); without it such plugins are not installed. */
    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    private volatile PluginHosts pluginHosts;

    /** Framework property: the start level of plugin bundles (the launcher sets it; otherwise {@code startLevel}). */
    static final String PLUGIN_START_LEVEL_PROPERTY = "parley.plugin.startlevel";

    @Activate
    public PluginOperations(PluginsConfig config, BundleContext context,
            @Reference PluginRegistry registry,
            @Reference PluginAdmission admission,
            @Reference HeldUpgrades heldUpgrades,
            @Reference Database database,
            @Reference SecretSealer sealer,
            @Reference ServiceComponentRuntime scr,
            @Reference MetaTypeService metaType,
            @Reference ConfigurationAdmin configAdmin,
            @Reference Confinement confinement,
            @Reference SandboxPolicies policies) {
        this.policies = policies;
        Path dataDir = Path.of(Objects.requireNonNullElse(context.getProperty("parley.data.dir"), "data"));
        this.registry = registry;
        this.admission = admission;
        this.heldUpgrades = heldUpgrades;
        this.store = new PluginStateStore(database, sealer);
        resealSecrets();
        this.retryFailed = Duration.ofSeconds(Math.max(1, config.retryFailedSeconds()));
        String level = context.getProperty(PLUGIN_START_LEVEL_PROPERTY);
        int startLevel = level == null || level.isBlank() ? config.startLevel() : Integer.parseInt(level.strip());
        // The sandbox's service comes with its framework hooks: without them no plugin is installed here (ADR 29).
        this.framework = new FrameworkPlugins(context, scr, startLevel,
                Duration.ofSeconds(Math.max(1, config.healthGateTimeoutSeconds())), () -> telemetry.healthGateFailed(),
                confinement, () -> pluginHosts);
        this.confinement = confinement;
        this.settings = new PluginSettings(metaType, configAdmin);
        this.cache = new ArtifactCache(dataDir.resolve("plugins"));
        if (config.nodeId() == null || config.nodeId().isBlank()) {
            throw new IllegalStateException("configuration " + PluginsConfig.PID + " has no nodeId; dev.parley.config "
                    + "sets it from PARLEY_NODE_ID or the data directory's node-id file");
        }
        this.nodeId = config.nodeId().strip();
        this.telemetry = telemetry(OpenTelemetry.noop());
        String process = Objects.requireNonNullElseGet(context.getProperty(Constants.FRAMEWORK_UUID),
                () -> java.util.UUID.randomUUID().toString());
        this.starts = new PluginStarts(new PluginStartStore(database), nodeId, process, config.maxFailedStarts(),
                Duration.ofSeconds(Math.max(1, config.startProbationSeconds())),
                id -> framework.installed(id).map(b -> b.getState() == Bundle.ACTIVE).orElse(false), clock);
        // Before anything starts: attempts an earlier process left open are crashes, counted and perhaps held.
        sweepCrashes();
        this.reconciler = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "parley-plugin-reconciler");
            t.setDaemon(true);
            return t;
        });
        // After a restart the framework climbs level by level: reconcile as soon as it reaches the plugins' level.
        this.context = context;
        this.startLevelListener = event -> {
            if (event.getType() == FrameworkEvent.STARTLEVEL_CHANGED) {
                trigger();
            }
        };
        context.addFrameworkListener(startLevelListener);
        long interval = Math.max(1, config.reconcileIntervalSeconds());
        reconciler.scheduleWithFixedDelay(this::reconcileQuietly, 0, interval, TimeUnit.SECONDS);
        LOG.info("event=plugins_ready node={} reconcileIntervalSeconds={}", nodeId, interval);
    }

    /**
     * Optional and dynamic: the plugin runtime must not restart (and stop every plugin's reconciliation) when the
     * observability bundle comes or goes; greedy, so a replacement service is taken at once.
     */
    @Reference(service = OpenTelemetry.class, cardinality = ReferenceCardinality.OPTIONAL,
            policy = ReferencePolicy.DYNAMIC, policyOption = ReferencePolicyOption.GREEDY,
            unbind = "unbindOpenTelemetry")
    synchronized void bindOpenTelemetry(OpenTelemetry otel) {
        PluginTelemetry previous = telemetry;
        telemetry = telemetry(otel);
        previous.close();
    }

    synchronized void unbindOpenTelemetry(OpenTelemetry otel) {
        // A greedy replacement binds the new service before it unbinds the old one: then there is nothing to undo.
        PluginTelemetry current = telemetry;
        if (current.recordsTo(otel)) {
            telemetry = telemetry(OpenTelemetry.noop());
            current.close();
        }
    }

    private PluginTelemetry telemetry(OpenTelemetry otel) {
        return new PluginTelemetry(otel, nodeId, localStates::values, () -> lastConvergedNanos);
    }

    /**
     * Secret plugin settings stored in plain text (before sealing existed) or sealed with a rotated-out master key are
     * sealed again with the current one. A value this node cannot open (its key is not configured) stays as it is and
     * is reported; the plugin's own start then says which key is missing.
     */
    private void resealSecrets() {
        try {
            int rows = store.resealSecrets();
            if (rows > 0) {
                LOG.info("plugin secret settings sealed with the current master key plugins={}", rows);
            }
        } catch (RuntimeException e) {
            LOG.error("plugin secret settings could not be sealed again: {}", e.getMessage());
        }
    }

    @Deactivate
    void deactivate() {
        context.removeFrameworkListener(startLevelListener);
        starts.stop(cleanStop());
        // Let retirements already queued finish (they end with the old versions removed); no new rounds start.
        reconciler.shutdown();
        try {
            if (!reconciler.awaitTermination(60, TimeUnit.SECONDS)) {
                reconciler.shutdownNow();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        telemetry.close();
    }

    String nodeId() {
        return nodeId;
    }

    /**
     * Whether this is a stop someone asked for: the framework is stopping and either the process goes on (an embedded
     * framework, the tests) or the launcher saw a stop signal. A process that exits without one ({@code System.exit}
     * from a plugin's thread, which runs the same shutdown) is not a clean stop, nor is a restart of this component
     * alone (the same process judges its attempts again at its next activation).
     */
    private boolean cleanStop() {
        boolean frameworkStopping;
        try {
            frameworkStopping = context.getBundle(0).getState() == Bundle.STOPPING;
        } catch (IllegalStateException e) {
            frameworkStopping = true;
        }
        return frameworkStopping && (!jvmExiting() || System.getProperty(STOP_REQUESTED_PROPERTY) != null);
    }

    private static boolean jvmExiting() {
        Thread probe = new Thread(() -> { });
        try {
            Runtime.getRuntime().addShutdownHook(probe);
            Runtime.getRuntime().removeShutdownHook(probe);
            return false;
        } catch (IllegalStateException shuttingDown) {
            return true;
        }
    }

    /** At activation: an attempt an earlier process left open is a crashed start; each is recorded as an event. */
    private void sweepCrashes() {
        try {
            for (PluginStartStore.Row r : starts.sweep()) {
                event(r.pluginId(), "start", null, r.version(), r.held() ? CRASH_LOOP : "crashed",
                        r.held() ? r.holdReason() : r.lastFailure() + " (" + r.failedStarts() + " of "
                                + starts.maxFailedStarts() + ")", System.nanoTime());
            }
        } catch (RuntimeException e) {
            LOG.error("event=plugin_crash_sweep_failed node={} reason=\"{}\"", nodeId, e.getMessage());
        }
    }

    // ---- admin operations -------------------------------------------------------------------------------------

    /** What installing or moving to {@code version} (null: newest stable) would do; changes nothing. */
    Plan plan(String pluginId, String version) {
        lock.lock();
        try {
            Optional<Desired> desired = store.desired(pluginId);
            // A yanked version is shown with the reason it cannot be installed, not refused outright.
            RegistryEntry target = target(pluginId, version, true);
            List<String> problems = new ArrayList<>();
            List<String> warnings = new ArrayList<>();
            PluginDescriptor descriptor = null;
            AdmissionReport admitted = null;
            try {
                byte[] artifact = verifiedArtifact(target);
                descriptor = PluginDescriptors.read(artifact);
                problems.addAll(framework.unsatisfiedImports(descriptor));
                admitted = admit(target, artifact, descriptor, true);
                if (!admitted.admitted()) {
                    problems.add(new AdmissionRefused(admitted).getMessage());
                }
            } catch (PluginRejected | RegistryException e) {
                problems.add(e.getMessage());
            }
            if (target.yanked()) {
                String reason = "version " + target.version() + " is yanked ("
                        + Objects.toString(target.yankReason(), "no reason given") + ")";
                if (desired.map(d -> target.version().equals(d.previousVersion())).orElse(false)) {
                    warnings.add(reason + "; only a rollback may return to it");
                } else {
                    problems.add(reason + "; it cannot be installed");
                }
            }
            if (RegistryEntry.BETA.equals(target.channel())) {
                warnings.add("version " + target.version() + " is on the beta channel");
            }
            String from = desired.map(Desired::version).orElse(null);
            List<Permission> before = from == null ? List.of()
                    : registry.entry(pluginId, from).map(RegistryEntry::permissions).orElse(List.of());
            List<Permission> added = target.permissions().stream().filter(p -> !before.contains(p)).toList();
            List<Permission> removed = before.stream().filter(p -> !target.permissions().contains(p)).toList();
            boolean approval = from != null && !added.isEmpty();
            if (approval) {
                warnings.add("version " + target.version() + " asks for permissions " + from + " was not granted "
                        + describe(added) + "; an upgrade to it is held until an admin approves it");
            }
            return new Plan(pluginId, action(from, target.version()), from, target.version(), target,
                    problems.isEmpty(), problems, warnings, target.permissions(), added, removed,
                    descriptor == null ? Map.of() : descriptor.apiImports(),
                    admitted == null || admitted.tier() == null ? null : admitted.tier().slug(),
                    admitted == null ? null : AdmissionView.of(admitted), approval,
                    heldUpgrades.held(pluginId).orElse(null));
        } finally {
            lock.unlock();
        }
    }

    StateView install(String pluginId, String version, String actor) {
        return tracked(Operation.INSTALL, pluginId, op -> install(pluginId, version, actor, op));
    }

    private StateView install(String pluginId, String version, String actor, Tracked op) {
        lock.lock();
        try {
            if (store.desired(pluginId).isPresent()) {
                throw new ParleyException(ErrorCode.CONFLICT, "plugin " + pluginId
                        + " is installed already; upgrade it to change its version");
            }
            RegistryEntry target = target(pluginId, version, false);
            op.versions(null, target.version());
            long started = System.nanoTime();
            // What an earlier install that never committed (it took the server down) counted starts over.
            starts.clearHolds(pluginId);
            FrameworkPlugins.Gate gate;
            try {
                gate = switchTo(pluginId, null, target, "install", true);
            } catch (AdmissionRefused e) {
                event(pluginId, "install", null, target.version(), "refused", e.getMessage(), started);
                throw new AdmissionRefusedException("install of " + pluginId + " " + target.version()
                        + " was refused; nothing was installed. Reason: " + e.getMessage(), e.report());
            } catch (PluginRejected e) {
                event(pluginId, "install", null, target.version(), "refused", e.getMessage(), started);
                throw new ParleyException(ErrorCode.PLUGIN_REJECTED, "install of " + pluginId + " " + target.version()
                        + " was refused; nothing was installed. Reason: " + e.getMessage());
            }
            Desired d = new Desired(pluginId, target.version(), true, null, Map.of(), 1, clock.instant(), actor);
            commit(d, 0, () -> framework.installed(pluginId).ifPresent(framework::remove));
            releaseHeld(pluginId);
            report(d, gate);
            event(pluginId, "install", null, target.version(), "ok", gateDetail(gate), started);
            return state(pluginId);
        } finally {
            lock.unlock();
        }
    }

    /** Moves an installed plugin to {@code version} (null: newest stable); an older version is allowed. */
    StateView upgrade(String pluginId, String version, String actor) {
        return tracked(Operation.UPGRADE, pluginId, op -> move(pluginId, version, actor, "upgrade", op, d -> true, false));
    }

    /**
     * Runs the upgrade held for {@code pluginId} because it asks for more permissions: the admin's approval grants
     * them.
     *
     * @param version the held version the admin approves; null: whichever is held
     * @throws ParleyException NOT_FOUND when nothing is held, CONFLICT when another version is held
     */
    StateView approve(String pluginId, String version, String actor) {
        return tracked(Operation.UPGRADE, pluginId, op -> {
            lock.lock();
            try {
                Held held = heldUpgrades.held(pluginId).orElseThrow(() -> new ParleyException(ErrorCode.NOT_FOUND,
                        "no upgrade of " + pluginId + " is waiting for approval"));
                if (version != null && !version.isBlank()
                        && !new Version(version.strip()).equals(new Version(held.toVersion()))) {
                    throw new ParleyException(ErrorCode.CONFLICT, "the upgrade of " + pluginId + " waiting for approval "
                            + "is to " + held.toVersion() + ", not " + version.strip());
                }
                return move(pluginId, held.toVersion(), actor, "upgrade", op, d -> true, true);
            } finally {
                lock.unlock();
            }
        });
    }

    /** The upgrade of {@code pluginId} waiting for an admin's approval, if any. */
    Optional<Held> held(String pluginId) {
        return heldUpgrades.held(pluginId);
    }

    /** Moves back to the version that ran before the last change. */
    StateView rollback(String pluginId, String actor) {
        return tracked(Operation.ROLLBACK, pluginId, op -> {
            lock.lock();
            try {
                Desired d = desired(pluginId);
                if (d.previousVersion() == null) {
                    throw new ParleyException(ErrorCode.CONFLICT, "plugin " + pluginId
                            + " has no previous version to roll back to");
                }
                return move(pluginId, d.previousVersion(), actor, "rollback", op, any -> true, true);
            } finally {
                lock.unlock();
            }
        });
    }

    /**
     * @param onlyIf   checked on the desired state read under the lock; when it fails, nothing changes (CONFLICT)
     * @param approved whether permissions the running version was not granted may be granted now: an admin's
     *                 approval, a rollback (to a version that ran before), the server's own upgrade of a plugin it
     *                 ships; otherwise such an upgrade is held until an admin approves it ({@link #approve})
     */
    private StateView move(String pluginId, String version, String actor, String action, Tracked op,
            java.util.function.Predicate<Desired> onlyIf, boolean approved) {
        lock.lock();
        try {
            Desired d = desired(pluginId);
            if (!onlyIf.test(d)) {
                throw new ParleyException(ErrorCode.CONFLICT, "plugin " + pluginId + " was changed by " + d.updatedBy()
                        + " meanwhile; left as it is");
            }
            op.versions(d.version(), version);
            RegistryEntry target = target(pluginId, version, "rollback".equals(action));
            op.versions(null, target.version());
            if (target.version().equals(d.version())) {
                throw new ParleyException(ErrorCode.CONFLICT, "plugin " + pluginId + " is at " + d.version() + " already");
            }
            long started = System.nanoTime();
            List<Permission> added = permissionsAdded(pluginId, d.version(), target);
            if (!approved && !added.isEmpty()) {
                // Nothing is held that admission would refuse anyway: the admin would approve a dead end.
                try {
                    byte[] artifact = verifiedArtifact(target);
                    PluginDescriptor descriptor;
                    try {
                        descriptor = PluginDescriptors.read(artifact);
                    } catch (RegistryException e) {
                        throw new PluginRejected(e.getMessage(), e);
                    }
                    requireAdmitted(target, artifact, descriptor, true);
                } catch (AdmissionRefused e) {
                    event(pluginId, action, d.version(), target.version(), "refused", e.getMessage(), started);
                    throw new AdmissionRefusedException(action + " of " + pluginId + " to " + target.version()
                            + " was refused; nothing was installed and " + d.version() + " keeps running. Reason: "
                            + e.getMessage(), e.report());
                } catch (PluginRejected e) {
                    event(pluginId, action, d.version(), target.version(), "refused", e.getMessage(), started);
                    throw new ParleyException(ErrorCode.PLUGIN_REJECTED, action + " of " + pluginId + " to "
                            + target.version() + " was refused; " + d.version() + " keeps running. Reason: "
                            + e.getMessage());
                }
                Held held = new Held(pluginId, d.version(), target.version(), added, actor, clock.instant());
                heldUpgrades.hold(held);
                event(pluginId, action, d.version(), target.version(), "held", "asks for permissions "
                        + d.version() + " was not granted: " + describe(added) + "; waiting for an admin's approval",
                        started);
                return state(pluginId);
            }
            // Another version is another try: every node's hold of this plugin is lifted (the generation changes, so
            // every node's reconciler applies it).
            if (starts.clearHolds(pluginId) > 0) {
                event(pluginId, "release", d.version(), target.version(), "ok", "holds lifted by the " + action + " of "
                        + actor, started);
            }
            FrameworkPlugins.Gate gate;
            try {
                gate = d.enabled() ? switchTo(pluginId, d.version(), target, action, true)
                        : installDisabled(pluginId, target, true);
            } catch (AdmissionRefused e) {
                event(pluginId, action, d.version(), target.version(), "refused", e.getMessage(), started);
                throw new AdmissionRefusedException(action + " of " + pluginId + " to " + target.version()
                        + " was refused; nothing was installed and " + d.version() + " keeps running. Reason: "
                        + e.getMessage(), e.report());
            } catch (PluginRejected e) {
                event(pluginId, action, d.version(), target.version(), "rolled-back", e.getMessage(), started);
                throw new ParleyException(ErrorCode.PLUGIN_REJECTED, action + " of " + pluginId + " to " + target.version()
                        + " was rolled back; " + d.version() + " keeps running. Reason: " + e.getMessage());
            }
            Desired next = d.next(target.version(), d.enabled(), d.version(), d.config(), clock.instant(), actor);
            commit(next, d.generation(), () -> { });
            releaseHeld(pluginId);
            report(next, gate);
            event(pluginId, action, d.version(), target.version(), "ok", gateDetail(gate), started);
            return state(pluginId);
        } finally {
            lock.unlock();
        }
    }

    // ---- plugins the server ships (ADR 11) --------------------------------------------------------------------

    /**
     * Applies the seeding rules to one shipped version that is in the registry: a plugin nobody has installed or
     * uninstalled is claimed for the distribution (the desired row, in one statement: of nodes seeding at once one
     * wins); one whose desired state the distribution set last moves up to a newer shipped version, beside the
     * running one (ADR 6); one an admin has touched is left alone. Installing a claimed plugin on this node is the
     * reconciler's step ({@link #reconcileNow}).
     */
    ShippedSeeding.Decision seedShipped(RegistryEntry shipped) {
        lock.lock();
        try {
            String pluginId = shipped.id();
            Optional<Desired> current = store.desired(pluginId);
            boolean uninstalled = current.isEmpty() && store.uninstalled(pluginId);
            ShippedSeeding.Decision decision = ShippedSeeding.decide(current, uninstalled, shipped.version());
            long started = System.nanoTime();
            switch (decision) {
                case INSTALL -> {
                    Desired claim = new Desired(pluginId, shipped.version(), true, null, Map.of(), 1, clock.instant(),
                            ShippedSeeding.ACTOR);
                    if (!store.claimShipped(claim)) {
                        return ShippedSeeding.Decision.LEAVE; // another node claimed it first, or an admin acted
                    }
                    event(pluginId, "seed", null, shipped.version(), "ok", "shipped with the server", started);
                }
                case UPGRADE -> {
                    long generation = current.orElseThrow().generation();
                    // The operator who upgraded the server approved what its own plugins ask for.
                    tracked(Operation.UPGRADE, pluginId, op -> move(pluginId, shipped.version(), ShippedSeeding.ACTOR,
                            "upgrade", op, d -> d.generation() == generation, true));
                }
                default -> { }
            }
            return decision;
        } finally {
            lock.unlock();
        }
    }

    /** Brings this node to the desired state now, on the caller's thread; false while plugins cannot run yet. */
    boolean reconcileNow() {
        if (!pluginLevelReached()) {
            return false;
        }
        reconcile();
        return true;
    }

    /** Whether the framework has reached the start level plugins run at. */
    boolean pluginLevelReached() {
        return framework.activeStartLevel() >= framework.startLevel();
    }

    /** This node's reported state of a plugin (active, needs-configuration, disabled, failed), if any. */
    Optional<String> localState(String pluginId) {
        return Optional.ofNullable(localStates.get(pluginId));
    }

    StateView setEnabled(String pluginId, boolean enabled, String actor) {
        return tracked(enabled ? Operation.ENABLE : Operation.DISABLE, pluginId,
                op -> setEnabled(pluginId, enabled, actor, op));
    }

    private StateView setEnabled(String pluginId, boolean enabled, String actor, Tracked op) {
        lock.lock();
        try {
            Desired d = desired(pluginId);
            op.versions(d.version(), d.version());
            long started = System.nanoTime();
            Bundle bundle = framework.installed(pluginId).orElseThrow(() -> notRunningHere(pluginId));
            FrameworkPlugins.Gate gate = new FrameworkPlugins.Gate(List.of());
            if (enabled) {
                // An admin's enable lifts every node's hold (quarantine, crash loop) and starts the count over.
                int lifted = starts.clearHolds(pluginId);
                if (lifted > 0) {
                    event(pluginId, "release", d.version(), d.version(), "ok", "holds lifted by " + actor, started);
                }
                try {
                    gate = startGuarded(pluginId, d.version(), bundle);
                } catch (PluginRejected e) {
                    event(pluginId, "enable", d.version(), d.version(), "refused", e.getMessage(), started);
                    throw new ParleyException(ErrorCode.PLUGIN_REJECTED, "plugin " + pluginId + " did not come up and "
                            + "stays disabled. Reason: " + e.getMessage());
                }
            } else {
                framework.stop(bundle);
                starts.stopped(pluginId);
            }
            Desired next = d.next(d.version(), enabled, d.previousVersion(), d.config(), clock.instant(), actor);
            commit(next, d.generation(), () -> { });
            report(next, gate);
            event(pluginId, enabled ? "enable" : "disable", d.version(), d.version(), "ok", null, started);
            return state(pluginId);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Starts an installed plugin bundle and gates it, with the attempt recorded first; a start that fails leaves the
     * bundle stopped (so the next try starts it again).
     */
    private FrameworkPlugins.Gate startGuarded(String pluginId, String version, Bundle bundle) {
        return starts.start(pluginId, version, () -> {
            try {
                framework.start(bundle);
                return framework.healthGate(bundle);
            } catch (PluginRejected e) {
                framework.stop(bundle);
                throw e;
            }
        });
    }

    /**
     * A held plugin (quarantined or in a crash loop on this node): installed at its desired version but stopped, its
     * hold reported as this node's state.
     */
    private void holdHere(Desired d, Bundle current, PluginStarts.Hold hold, long started) {
        String from = current == null ? null : current.getVersion().toString();
        if (current == null || !new Version(d.version()).equals(current.getVersion())) {
            RegistryEntry target = registry.entry(d.pluginId(), d.version()).orElseThrow(
                    () -> new PluginRejected("version " + d.version() + " is not in the registry"));
            installDisabled(d.pluginId(), target, false);
        } else if (current.getState() == Bundle.ACTIVE) {
            framework.stop(current);
        }
        putStatus(new NodeStatus(nodeId, d.pluginId(), d.version(), d.generation(), hold.kind(), hold.reason(),
                clock.instant()));
        if (!hold.kind().equals(localStates.get(d.pluginId()))) {
            event(d.pluginId(), "hold", from, d.version(), hold.kind(), hold.reason(), started);
        }
        LOG.warn("event=plugin_held node={} plugin={} version={} hold={} reason=\"{}\" hint=\"installed but not started "
                + "on this node; POST /api/v1/admin/plugins/{}/enable starts it again, DELETE uninstalls it\"", nodeId,
                d.pluginId(), d.version(), hold.kind(), hold.reason(), d.pluginId());
    }

    private Optional<PluginStarts.Hold> heldQuietly(String pluginId) {
        try {
            return starts.hold(pluginId);
        } catch (RuntimeException e) {
            return Optional.empty();
        }
    }

    /**
     * Core's call guard quarantined {@code pluginId} on this node ({@code dev/parley/plugin/QUARANTINE}): on the
     * reconciler's thread, never the event's, it is stopped, held with the reason and reported.
     */
    void quarantineLater(String pluginId, long bundleId, String reason) {
        try {
            reconciler.execute(() -> {
                try {
                    quarantine(pluginId, bundleId, reason);
                } catch (RuntimeException e) {
                    LOG.error("event=plugin_quarantine_failed node={} plugin={} reason=\"{}\"", nodeId, pluginId,
                            e.getMessage(), e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            LOG.warn("event=plugin_quarantine_dropped node={} plugin={} hint=\"the plugin runtime is stopping\"",
                    nodeId, pluginId);
        }
    }

    void quarantine(String pluginId, long bundleId, String reason) {
        lock.lock();
        try {
            long started = System.nanoTime();
            Optional<Desired> desired = store.desired(pluginId);
            Optional<Bundle> bundle = framework.installed(pluginId);
            if (desired.isEmpty() || bundle.isEmpty()) {
                LOG.error("event=plugin_quarantine_unmanaged node={} plugin={} bundle={} reason=\"{}\" hint=\"not a "
                        + "plugin this runtime installed: core keeps refusing calls into it until its bundle restarts\"",
                        nodeId, pluginId, bundleId, reason);
                return;
            }
            Bundle b = bundle.get();
            if (bundleId >= 0 && b.getBundleId() != bundleId) {
                // A replaced version still finishing its turns misbehaved: it is on its way out; stop it now.
                Bundle other = context.getBundle(bundleId);
                if (other != null && other.getLocation().startsWith(FrameworkPlugins.LOCATION_PREFIX + pluginId + "@")) {
                    framework.stop(other);
                }
                event(pluginId, "quarantine", other == null ? null : other.getVersion().toString(), null, "stopped",
                        "a replaced version: " + reason, started);
                return;
            }
            Desired d = desired.get();
            framework.stop(b);
            starts.hold(pluginId, d.version(), QUARANTINED, reason);
            putStatus(new NodeStatus(nodeId, pluginId, d.version(), d.generation(), QUARANTINED, reason,
                    clock.instant()));
            appliedGeneration.put(pluginId, d.generation());
            failedAt.remove(pluginId);
            event(pluginId, "quarantine", d.version(), d.version(), QUARANTINED, reason, started);
        } finally {
            lock.unlock();
        }
    }

    void uninstall(String pluginId, String actor) {
        tracked(Operation.UNINSTALL, pluginId, op -> {
            lock.lock();
            try {
                Desired d = desired(pluginId);
                op.versions(d.version(), null);
                long started = System.nanoTime();
                framework.installed(pluginId).ifPresent(framework::remove);
                store.uninstall(pluginId, d.generation(), d.version(), actor, clock.instant());
                starts.forget(pluginId);
                releaseHeld(pluginId);
                deleteStatus(pluginId);
                appliedGeneration.remove(pluginId);
                failedAt.remove(pluginId);
                event(pluginId, "uninstall", d.version(), null, "ok", "by " + actor, started);
                return null;
            } finally {
                lock.unlock();
            }
        });
    }

    /** Runs one operation on a plugin, counted by outcome, timed and spanned ({@link PluginTelemetry}). */
    private <T> T tracked(Operation operation, String pluginId, Function<Tracked, T> work) {
        Tracked op = telemetry.start(operation, pluginId);
        try {
            return op.succeeded(work.apply(op));
        } catch (RuntimeException e) {
            op.failed(e);
            throw e;
        }
    }

    /** The bundle of {@code pluginId} running on this node, installed by this runtime or started with the server. */
    Optional<Bundle> pluginBundle(String pluginId) {
        return framework.pluginBundle(pluginId);
    }

    /** The provider plugins active on this node, by plugin id. */
    Map<String, Bundle> providerPlugins() {
        return framework.providerPlugins();
    }

    Map<String, Object> settings(String pluginId) {
        lock.lock();
        try {
            desired(pluginId);
            Bundle bundle = framework.installed(pluginId).orElseThrow(() -> notRunningHere(pluginId));
            Map<String, Object> out = new LinkedHashMap<>();
            out.put("schemas", settings.schemas(bundle));
            out.put("values", settings.current(bundle));
            return out;
        } finally {
            lock.unlock();
        }
    }

    StateView configure(String pluginId, Map<String, Map<String, Object>> values, String actor) {
        lock.lock();
        try {
            Desired d = desired(pluginId);
            Bundle bundle = framework.installed(pluginId).orElseThrow(() -> notRunningHere(pluginId));
            Map<String, Map<String, Object>> valid = settings.validate(bundle, values);
            Map<String, Map<String, Object>> merged = new LinkedHashMap<>(d.config());
            valid.forEach((pid, props) -> merged.merge(pid, props, (a, b) -> {
                Map<String, Object> m = new LinkedHashMap<>(a);
                m.putAll(b);
                return m;
            }));
            Desired next = d.next(d.version(), d.enabled(), d.previousVersion(), merged, clock.instant(), actor);
            store.putDesired(next, d.generation());
            settings.apply(merged);
            appliedGeneration.put(pluginId, next.generation());
            long started = System.nanoTime();
            event(pluginId, "configure", d.version(), d.version(), "ok", "settings of " + valid.keySet(), started);
            return state(pluginId);
        } finally {
            lock.unlock();
        }
    }

    // ---- views ------------------------------------------------------------------------------------------------

    List<StateView> states() {
        // One read of each source for the whole list, not one per plugin.
        Map<String, Desired> desired = new LinkedHashMap<>();
        store.desired().forEach(d -> desired.put(d.pluginId(), d));
        Map<String, Bundle> installed = framework.installed();
        List<NodeStatus> statuses = store.statuses();
        List<PluginStartStore.Row> guard = starts.all();
        Map<String, Held> held = new HashMap<>();
        heldUpgrades.all().forEach(h -> held.put(h.pluginId(), h));
        List<String> ids = new ArrayList<>(desired.keySet());
        installed.keySet().stream().filter(id -> !desired.containsKey(id)).forEach(ids::add);
        return ids.stream().map(id -> view(id, Optional.ofNullable(desired.get(id)), Optional.ofNullable(installed.get(id)),
                statuses, guard, held)).toList();
    }

    StateView state(String pluginId) {
        Optional<Desired> desired = store.desired(pluginId);
        Optional<Bundle> bundle = framework.installed(pluginId);
        if (desired.isEmpty() && bundle.isEmpty()) {
            throw new ParleyException(ErrorCode.NOT_FOUND, "plugin " + pluginId + " is not installed");
        }
        Map<String, Held> held = new HashMap<>();
        heldUpgrades.held(pluginId).ifPresent(h -> held.put(pluginId, h));
        return view(pluginId, desired, bundle, store.statuses(), starts.rowsOf(pluginId), held);
    }

    private StateView view(String pluginId, Optional<Desired> desired, Optional<Bundle> bundle, List<NodeStatus> statuses,
            List<PluginStartStore.Row> guard, Map<String, Held> held) {
        List<NodeStatus> nodes = statuses.stream().filter(s -> s.pluginId().equals(pluginId)).toList();
        Optional<NodeStatus> here = nodes.stream().filter(n -> n.nodeId().equals(nodeId)).findFirst();
        Optional<RegistryEntry> entry = desired.flatMap(d -> registry.entry(pluginId, d.version()));
        String latest = latestStable(pluginId).map(RegistryEntry::version).orElse(null);
        LocalView local = bundle.map(b -> new LocalView(b.getVersion().toString(), b.getBundleId(), bundleState(b),
                here.map(NodeStatus::state).orElse(null), here.map(NodeStatus::error).orElse(null),
                confinement.refusedCalls(b), hostOf(b))).orElse(null);
        List<StartRecord> startRecords = guard.stream().filter(r -> r.pluginId().equals(pluginId))
                .map(r -> new StartRecord(r.nodeId(), r.failedStarts(), starts.maxFailedStarts(), r.lastFailure(),
                        r.attemptOpen(), r.attemptAt(), r.hold(), r.holdReason(), r.heldAt()))
                .toList();
        return new StateView(pluginId, desired.map(PluginOperations::withoutSecrets).orElse(null), local, nodes,
                entry.orElse(null), latest,
                latest != null && desired.isPresent()
                        && new Version(latest).compareTo(new Version(desired.get().version())) > 0, startRecords,
                desired.isPresent() ? held.get(pluginId) : null);
    }

    List<Event> events(String pluginId, int limit) {
        return store.events(pluginId, limit);
    }

    // ---- reconciler -------------------------------------------------------------------------------------------

    private void trigger() {
        try {
            reconciler.execute(this::reconcileQuietly);
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            // deactivated meanwhile
        }
    }

    private void reconcileQuietly() {
        try {
            reconcile();
        } catch (RuntimeException e) {
            LOG.warn("event=plugin_reconcile_failed node={} reason=\"{}\"", nodeId, e.getMessage());
        }
    }

    /**
     * Brings this node to the desired state. A step that fails is reported and tried again when the desired state
     * changes or {@code retryFailedSeconds} later (storage or database may have been down for a moment).
     */
    void reconcile() {
        if (framework.activeStartLevel() < framework.startLevel()) {
            return; // still starting (or stopping): the start-level listener calls again
        }
        lock.lock();
        try {
            Map<String, Bundle> installed = framework.installed();
            List<Desired> all = store.desired();
            for (Desired d : all) {
                Instant failed = failedAt.get(d.pluginId());
                boolean retryDue = failed != null && !clock.instant().isBefore(failed.plus(retryFailed));
                if (Objects.equals(appliedGeneration.get(d.pluginId()), d.generation()) && !retryDue) {
                    continue;
                }
                reconcile(d, installed.get(d.pluginId()));
            }
            place(all);
            for (var e : installed.entrySet()) {
                if (all.stream().noneMatch(d -> d.pluginId().equals(e.getKey()))) {
                    String version = e.getValue().getVersion().toString();
                    tracked(Operation.RECONCILE, e.getKey(), op -> {
                        op.versions(version, null);
                        long started = System.nanoTime();
                        framework.remove(e.getValue());
                        starts.stopped(e.getKey());
                        deleteStatus(e.getKey());
                        appliedGeneration.remove(e.getKey());
                        failedAt.remove(e.getKey());
                        event(e.getKey(), "reconcile-uninstall", version, null, "ok", null, started);
                        return null;
                    });
                }
            }
            // A plugin uninstalled elsewhere while its step had failed here is no longer this node's to converge.
            Set<String> desiredIds = all.stream().map(Desired::pluginId).collect(Collectors.toSet());
            failedAt.keySet().retainAll(desiredIds);
            placedBy.keySet().retainAll(desiredIds);
            localStates.keySet().retainAll(desiredIds);
            if (failedAt.isEmpty()) {
                lastConvergedNanos = System.nanoTime();
            }
        } finally {
            lock.unlock();
        }
    }

    private void reconcile(Desired d, Bundle current) {
        long started = System.nanoTime();
        String from = current == null ? null : current.getVersion().toString();
        boolean sameVersion = current != null && new Version(d.version()).equals(current.getVersion());
        Optional<PluginStarts.Hold> hold = d.enabled() ? starts.hold(d.pluginId()) : Optional.empty();
        if (hold.isEmpty() && d.enabled() && (!sameVersion || current.getState() != Bundle.ACTIVE)
                && !starts.mayStartNow(d.pluginId())) {
            return; // a plugin that crashed before starts alone: a later pass (the generation is not marked applied)
        }
        Tracked op = telemetry.start(Operation.RECONCILE, d.pluginId());
        op.versions(from, d.version());
        try {
            FrameworkPlugins.Gate gate = new FrameworkPlugins.Gate(List.of());
            if (!d.config().isEmpty()) {
                settings.apply(d.config());
            }
            if (hold.isPresent()) {
                holdHere(d, current, hold.get(), started);
                failedAt.remove(d.pluginId());
                op.succeeded();
                appliedGeneration.put(d.pluginId(), d.generation());
                return;
            }
            if (!sameVersion) {
                RegistryEntry target = registry.entry(d.pluginId(), d.version()).orElseThrow(
                        () -> new PluginRejected("version " + d.version() + " is not in the registry"));
                // Admitted when it was installed: scanned again only where the tier refuses something.
                gate = d.enabled() ? switchTo(d.pluginId(), from, target, "reconcile", false)
                        : installDisabled(d.pluginId(), target, false);
                event(d.pluginId(), "reconcile", from, d.version(), "ok", gateDetail(gate), started);
            } else if (d.enabled() && current.getState() != Bundle.ACTIVE) {
                gate = startGuarded(d.pluginId(), d.version(), current);
            } else if (!d.enabled() && current.getState() == Bundle.ACTIVE) {
                framework.stop(current);
                starts.stopped(d.pluginId());
            }
            report(d, gate);
            failedAt.remove(d.pluginId());
            op.succeeded();
        } catch (PluginRejected | ParleyException | RegistryException e) {
            op.failed(e);
            failedAt.put(d.pluginId(), clock.instant());
            Optional<PluginStarts.Hold> now = d.enabled() ? heldQuietly(d.pluginId()) : Optional.empty();
            putStatus(new NodeStatus(nodeId, d.pluginId(), from, d.generation(), now.map(PluginStarts.Hold::kind)
                    .orElse(FAILED), now.map(PluginStarts.Hold::reason).orElse(e.getMessage()), clock.instant()));
            event(d.pluginId(), "reconcile", from, d.version(), now.isPresent() ? now.get().kind() : "failed",
                    e.getMessage(), started);
            LOG.warn("event=plugin_reconcile_step_failed node={} plugin={} version={} reason=\"{}\"", nodeId, d.pluginId(),
                    d.version(), e.getMessage());
        } catch (RuntimeException e) {
            op.failed(e);
            throw e;
        }
        appliedGeneration.put(d.pluginId(), d.generation());
    }

    // ---- placement: in process or out of process, as the tier says now ------------------------------------------

    /**
     * Brings each installed plugin into the form its tier asks for under the policy in force (ADR 27, ADR 31): a plugin
     * whose tier now runs out of process while it runs in process (its tier's {@code outOfProcess} flipped, or an admin
     * listed it in another tier), the other way round, or whose host limits are no longer its tier's, is installed again
     * at the same version in the right form beside the running one, which keeps serving until the new form has passed
     * its health gate. The policy is read as {@link SandboxPolicies#current()} has it (on other nodes than the changing
     * one at most {@code cacheSeconds} old), once per reconciler pass; a plugin is looked at again only when the policy
     * differs from the one it was last placed by.
     */
    private void place(List<Desired> all) {
        SandboxPolicy policy;
        try {
            policy = policies.current();
        } catch (RuntimeException e) {
            LOG.warn("event=plugin_placement_skipped node={} reason=\"{}\"", nodeId, e.getMessage());
            return;
        }
        Map<String, Bundle> installed = null;
        for (Desired d : all) {
            if (policy.equals(placedBy.get(d.pluginId()))) {
                continue;
            }
            if (installed == null) {
                installed = framework.installed();
            }
            Bundle current = installed.get(d.pluginId());
            if (current == null || !new Version(d.version()).equals(current.getVersion())) {
                continue; // the reconciler's step for this plugin comes first; it installs in the tier's form
            }
            place(d, current, policy);
        }
    }

    /** One plugin: see {@link #place(List)}. A failure leaves the running form as it is, recorded as an event. */
    private void place(Desired d, Bundle current, SandboxPolicy policy) {
        String pluginId = d.pluginId();
        long started = System.nanoTime();
        RegistryEntry entry;
        Optional<Tier> tier;
        try {
            entry = registry.entry(pluginId, d.version()).orElse(null);
            if (entry == null) {
                placedBy.put(pluginId, policy); // nothing to install it from: it stays as it runs
                return;
            }
            boolean registered = entry.shipped() || registry.publisher(entry.publisher()).isPresent();
            tier = policy.tierOf(pluginId, entry.publisher(), registered);
        } catch (RegistryException | ParleyException e) {
            LOG.warn("event=plugin_placement_unknown node={} plugin={} reason=\"{}\"", nodeId, pluginId, e.getMessage());
            return; // the registry failed for a moment: the next pass asks again
        }
        if (tier.isEmpty()) {
            // No tier admits it now: its next install is refused; a running plugin is not stopped for it (ADR 27).
            placedBy.put(pluginId, policy);
            return;
        }
        TierPolicy tierPolicy = policy.tier(tier.get());
        Optional<HostLimits> wanted;
        try {
            wanted = hostLimits(tierPolicy.limits());
        } catch (IllegalArgumentException e) {
            LOG.warn("event=plugin_placement_skipped node={} plugin={} tier={} reason=\"{}\"", nodeId, pluginId,
                    tier.get().slug(), e.getMessage());
            placedBy.put(pluginId, policy);
            return;
        }
        Optional<HostLimits> now = formOf(current);
        if (wanted.equals(now)) {
            placedBy.put(pluginId, policy);
            return;
        }
        String why = (tierPolicy.plugins().contains(pluginId) ? "listed in tier " : "in its publisher's tier ")
                + tier.get().slug() + ", which runs its plugins "
                + wanted.map(l -> "out of process (" + l.header() + ")").orElse("in process") + "; it ran "
                + now.map(l -> "out of process (" + l.header() + ")").orElse("in process");
        boolean running = current.getState() == Bundle.ACTIVE;
        Tracked op = telemetry.start(Operation.RECONCILE, pluginId);
        op.versions(d.version(), d.version());
        try {
            byte[] artifact = verifiedArtifact(entry);
            PluginDescriptor descriptor;
            try {
                descriptor = PluginDescriptors.read(artifact);
            } catch (RegistryException e) {
                throw new PluginRejected(e.getMessage(), e);
            }
            // Admitted again under the tier it moves to (scanned where that tier refuses anything).
            byte[] bundle = forTier(requireAdmitted(entry, artifact, descriptor, false), artifact);
            String location = FrameworkPlugins.locationBeside(current, pluginId, d.version());
            // A stopped plugin (disabled, held, or its start failed) is moved stopped; a running one comes up first.
            FrameworkPlugins.Gate gate = running
                    ? starts.start(pluginId, d.version(), () -> framework.installBeside(location, bundle, true))
                    : framework.installBeside(location, bundle, false);
            retireLater(pluginId, current);
            placedBy.put(pluginId, policy);
            if (running) {
                report(d, gate);
            }
            op.succeeded();
            event(pluginId, "move", d.version(), d.version(), "ok", why + "; moved "
                    + (wanted.isPresent() ? "out of process" : "into the server's process")
                    + (running ? "" : " (stopped, as it was)"), started);
        } catch (PluginRejected | ParleyException | RegistryException e) {
            op.failed(e);
            // Tried again at the next change of the policy (or the node's next re-install of the plugin): a plugin
            // that runs is not started again and again in a form that failed.
            placedBy.put(pluginId, policy);
            event(pluginId, "move", d.version(), d.version(), e instanceof AdmissionRefused ? "refused" : "failed",
                    why + "; not moved, it keeps running as it was: " + e.getMessage(), started);
            LOG.warn("event=plugin_move_failed node={} plugin={} version={} reason=\"{}\"", nodeId, pluginId,
                    d.version(), e.getMessage());
        } catch (RuntimeException e) {
            op.failed(e);
            throw e;
        }
    }

    /** The host limits of a tier that runs its plugins out of process; empty for one that runs them in process. */
    private static Optional<HostLimits> hostLimits(TierPolicy.Limits limits) {
        return limits.outOfProcess() ? Optional.of(new HostLimits(limits.heapMb(), limits.cpuMillicores(),
                limits.maxThreads(), limits.maxHostThreads())) : Optional.empty();
    }

    /** How a plugin's bundle runs: its stand-in's host limits (out of process), or empty (in process). */
    private static Optional<HostLimits> formOf(Bundle bundle) {
        String header;
        try {
            header = bundle.getHeaders("").get(PluginHosts.HEADER);
        } catch (IllegalStateException uninstalled) {
            return Optional.empty();
        }
        return header == null ? Optional.empty() : Optional.of(HostLimits.parse(header));
    }

    // ---- steps ------------------------------------------------------------------------------------------------

    /**
     * Verifies the target, installs it beside the running version, gates it, then retires the running version.
     * On failure the running version is untouched and the new one is gone.
     */
    private FrameworkPlugins.Gate switchTo(String pluginId, String fromVersion, RegistryEntry target, String action,
            boolean scan) {
        byte[] artifact = verifiedArtifact(target);
        PluginDescriptor descriptor;
        try {
            descriptor = PluginDescriptors.read(artifact);
        } catch (RegistryException e) {
            throw new PluginRejected(e.getMessage(), e);
        }
        if (!descriptor.id().equals(pluginId) || !new Version(descriptor.version()).equals(new Version(target.version()))) {
            throw new PluginRejected("the artifact describes itself as " + descriptor.id() + " " + descriptor.version()
                    + ", not " + pluginId + " " + target.version());
        }
        List<String> problems = framework.unsatisfiedImports(descriptor);
        if (!problems.isEmpty()) {
            throw new PluginRejected("not compatible with this Parley: " + String.join("; ", problems));
        }
        byte[] bundle = forTier(requireAdmitted(target, artifact, descriptor, scan), artifact);
        Optional<Bundle> old = framework.installed(pluginId)
                .filter(b -> fromVersion == null || !b.getVersion().equals(new Version(target.version())));
        // The attempt is recorded before the bundle starts: should the process end while it starts (or soon after),
        // the next start counts that against this plugin (crash-loop protection, ADR 28).
        FrameworkPlugins.Gate gate = starts.start(pluginId, target.version(),
                () -> framework.installBeside(pluginId, target.version(), bundle, true));
        cache.put(pluginId, target.version(), target.sha256(), artifact);
        // New turns now go to the new version (bound last); the old one finishes its turns while it stops, which
        // may take as long as its longest answer: that happens after this call returns.
        old.ifPresent(b -> retireLater(pluginId, b));
        LOG.info("event=plugin_switched node={} plugin={} from={} to={} action={}", nodeId, pluginId, fromVersion,
                target.version(), action);
        return gate;
    }

    private FrameworkPlugins.Gate installDisabled(String pluginId, RegistryEntry target, boolean scan) {
        byte[] artifact = verifiedArtifact(target);
        PluginDescriptor descriptor;
        try {
            descriptor = PluginDescriptors.read(artifact);
        } catch (RegistryException e) {
            throw new PluginRejected(e.getMessage(), e);
        }
        byte[] bundle = forTier(requireAdmitted(target, artifact, descriptor, scan), artifact);
        Optional<Bundle> old = framework.installed(pluginId);
        FrameworkPlugins.Gate gate = framework.installBeside(pluginId, target.version(), bundle, false);
        cache.put(pluginId, target.version(), target.sha256(), artifact);
        old.ifPresent(b -> retireLater(pluginId, b));
        return gate;
    }

    /**
     * The sandbox's admission of a verified artifact by its publisher's tier: who owns the id, whether the registry
     * knows the publisher, and (when {@code scan}, or where the tier refuses anything) the bytecode scan.
     */
    private AdmissionReport admit(RegistryEntry target, byte[] artifact, PluginDescriptor descriptor, boolean scan) {
        boolean registered = target.shipped() || registry.publisher(descriptor.publisher()).isPresent();
        String owner = registry.owner(target.id()).orElse(null);
        return admission.admit(artifact, new AdmissionRequest(descriptor, registered, owner, scan));
    }

    private AdmissionReport requireAdmitted(RegistryEntry target, byte[] artifact, PluginDescriptor descriptor,
            boolean scan) {
        AdmissionReport report = admit(target, artifact, descriptor, scan);
        if (!report.admitted()) {
            LOG.warn("event=plugin_admission_refused node={} plugin={} version={} tier={} reason=\"{}\"", nodeId,
                    target.id(), target.version(), report.tier() == null ? null : report.tier().slug(),
                    report.reason(AdmissionRefused.SHOWN));
            throw new AdmissionRefused(report);
        }
        return report;
    }

    /**
     * What to install for an admitted artifact: the artifact itself, or, when its tier runs plugins out of process
     * ({@code limits.outOfProcess}), the stand-in that runs the same jar in a plugin host with the tier's limits
     * (ADR 31). The stand-in is installed at the plugin's location, so everything that knows the plugin by its bundle
     * (the router's provider ids, the guard, quarantine, enable and disable) works on it unchanged.
     */
    private byte[] forTier(AdmissionReport report, byte[] artifact) {
        if (report.tier() == null) {
            return artifact;
        }
        TierPolicy.Limits limits = policies.current().tier(report.tier()).limits();
        if (!limits.outOfProcess()) {
            return artifact;
        }
        PluginHosts hosts = pluginHosts;
        if (hosts == null) {
            throw new PluginRejected("tier " + report.tier().slug() + " runs its plugins out of process, and this "
                    + "node has no plugin host (bundle dev.parley.pluginhost)");
        }
        LOG.info("event=plugin_out_of_process node={} plugin={} version={} tier={} heapMb={} cpuMillicores={} "
                + "maxThreads={} maxHostThreads={}", nodeId, report.pluginId(), report.version(), report.tier().slug(),
                limits.heapMb(), limits.cpuMillicores(), limits.maxThreads(), limits.maxHostThreads());
        return hosts.standIn(artifact, hostLimits(limits).orElseThrow());
    }

    /** Permissions {@code target} declares that the version {@code from} did not. */
    private List<Permission> permissionsAdded(String pluginId, String from, RegistryEntry target) {
        List<Permission> before = from == null ? List.of()
                : registry.entry(pluginId, from).map(RegistryEntry::permissions).orElse(List.of());
        return target.permissions().stream().filter(p -> !before.contains(p)).toList();
    }

    private void releaseHeld(String pluginId) {
        try {
            heldUpgrades.release(pluginId);
        } catch (ParleyException e) {
            LOG.warn("event=plugin_held_upgrade_not_released plugin={} reason=\"{}\"", pluginId, e.getMessage());
        }
    }

    private static String describe(List<Permission> permissions) {
        return permissions.stream().map(p -> p.kind() + (p.target() == null || p.target().isEmpty() ? "" : " " + p.target())
                + (p.actions() == null || p.actions().isEmpty() ? "" : " (" + p.actions() + ")"))
                .collect(Collectors.joining(", "));
    }

    /**
     * Stops (letting its turns finish), uninstalls and refreshes a replaced version on the reconciler thread, so the
     * admin call that replaced it does not wait for the longest answer still streaming on it.
     */
    private void retireLater(String pluginId, Bundle old) {
        framework.retiring(old);
        String version = old.getVersion().toString();
        Runnable retire = () -> {
            long started = System.nanoTime();
            framework.remove(old);
            event(pluginId, "retire", version, null, "ok", "replaced version stopped and removed", started);
        };
        try {
            reconciler.execute(retire);
        } catch (java.util.concurrent.RejectedExecutionException stopping) {
            retire.run();
        }
    }

    /**
     * The artifact's bytes, from this node's cache or the registry, checked against digest and signature. A version
     * the server ships has no signature: it is checked against its digest, and trusted as the server's own code is.
     */
    private byte[] verifiedArtifact(RegistryEntry entry) {
        var publisher = registry.publisher(entry.publisher()).orElse(null);
        if (entry.shipped()) {
            return verifiedShipped(entry);
        }
        Optional<byte[]> cached = cache.get(entry.id(), entry.version(), entry.sha256());
        try {
            if (cached.isPresent()) {
                try {
                    Signatures.verifyArtifact(cached.get(), entry, publisher);
                    return cached.get();
                } catch (RegistryException stale) {
                    LOG.warn("event=plugin_cache_rejected plugin={} version={} reason=\"{}\"", entry.id(), entry.version(),
                            stale.getMessage());
                }
            }
            byte[] artifact = registry.artifact(entry.id(), entry.version());
            Signatures.verifyArtifact(artifact, entry, publisher);
            return artifact;
        } catch (RegistryException e) {
            throw new PluginRejected(switch (e.reason()) {
                case DIGEST_MISMATCH -> "the artifact's digest does not match the registry's record: " + e.getMessage();
                case BAD_SIGNATURE -> "the publisher signature does not verify: " + e.getMessage();
                case UNKNOWN_PUBLISHER -> "the publisher " + entry.publisher() + " is not known: " + e.getMessage();
                default -> e.getMessage();
            }, e);
        }
    }

    private byte[] verifiedShipped(RegistryEntry entry) {
        Optional<byte[]> cached = cache.get(entry.id(), entry.version(), entry.sha256());
        if (cached.isPresent() && Signatures.sha256Hex(cached.get()).equals(entry.sha256())) {
            return cached.get();
        }
        try {
            // The registry checks the stored bytes against the recorded digest (DIGEST_MISMATCH otherwise).
            return registry.artifact(entry.id(), entry.version());
        } catch (RegistryException e) {
            throw new PluginRejected(e.reason() == RegistryException.Reason.DIGEST_MISMATCH
                    ? "the artifact's digest does not match the registry's record: " + e.getMessage() : e.getMessage(), e);
        }
    }

    private RegistryEntry target(String pluginId, String version, boolean allowYanked) {
        try {
            if (version == null || version.isBlank()) {
                return latestStable(pluginId).orElseThrow(() -> new ParleyException(ErrorCode.NOT_FOUND,
                        "the registry has no stable, non-yanked version of " + pluginId));
            }
            String v = version.strip();
            try {
                Version.parseVersion(v);
            } catch (IllegalArgumentException e) {
                throw new ParleyException(ErrorCode.INVALID_REQUEST, "'" + v + "' is not a version (e.g. 1.2.0)");
            }
            RegistryEntry entry = registry.entry(pluginId, v).orElseThrow(() -> new ParleyException(ErrorCode.NOT_FOUND,
                    "the registry has no version " + v + " of " + pluginId));
            if (entry.yanked() && !allowYanked) {
                throw new ParleyException(ErrorCode.PLUGIN_REJECTED, pluginId + " " + v + " is yanked ("
                        + Objects.toString(entry.yankReason(), "no reason given") + "); only a rollback may return to it");
            }
            return entry;
        } catch (RegistryException e) {
            throw new ParleyException(ErrorCode.UPSTREAM_FAILURE, "the plugin registry failed: " + e.getMessage(), e);
        }
    }

    /** {@link PluginRegistry#versions} lists newest first. */
    private Optional<RegistryEntry> latestStable(String pluginId) {
        return registry.versions(pluginId).stream().filter(RegistryEntry::stableRelease).findFirst();
    }

    private Desired desired(String pluginId) {
        return store.desired(pluginId).orElseThrow(() -> new ParleyException(ErrorCode.NOT_FOUND,
                "plugin " + pluginId + " is not installed"));
    }

    /** Writes the desired state; if someone else changed it meanwhile, undoes the local step first. */
    private void commit(Desired d, long expectedGeneration, Runnable undo) {
        try {
            store.putDesired(d, expectedGeneration);
            appliedGeneration.put(d.pluginId(), d.generation());
            failedAt.remove(d.pluginId());
        } catch (ParleyException e) {
            undo.run();
            throw e;
        }
    }

    private void report(Desired d, FrameworkPlugins.Gate gate) {
        String state = !d.enabled() ? DISABLED : gate.needsConfiguration().isEmpty() ? ACTIVE : NEEDS_CONFIGURATION;
        String detail = gate.needsConfiguration().isEmpty() ? null
                : "waiting for settings of " + gate.needsConfiguration();
        putStatus(new NodeStatus(nodeId, d.pluginId(), d.version(), d.generation(), state, detail, clock.instant()));
    }

    /** This node's status of a plugin: in its row, and in memory for the plugins-by-state gauge. */
    private void putStatus(NodeStatus status) {
        localStates.put(status.pluginId(), status.state());
        store.putStatus(status);
    }

    private void deleteStatus(String pluginId) {
        localStates.remove(pluginId);
        store.deleteStatus(nodeId, pluginId);
    }

    private void event(String pluginId, String action, String from, String to, String outcome, String detail, long startedNanos) {
        long ms = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startedNanos);
        try {
            store.record(new Event(0, pluginId, nodeId, action, from, to, outcome, detail, ms, Instant.now(clock)));
        } catch (ParleyException e) {
            LOG.warn("event=plugin_event_not_recorded plugin={} action={} reason=\"{}\"", pluginId, action, e.getMessage());
        }
        LOG.info("event=plugin_{} node={} plugin={} from={} to={} outcome={} durationMs={} detail=\"{}\"", action, nodeId,
                pluginId, from, to, outcome, ms, detail == null ? "" : detail);
    }

    /** Settings whose key starts with a dot are secrets: stored and applied, never shown. */
    static Desired withoutSecrets(Desired d) {
        Map<String, Map<String, Object>> shown = new LinkedHashMap<>();
        d.config().forEach((pid, props) -> {
            Map<String, Object> visible = new LinkedHashMap<>();
            props.forEach((k, v) -> visible.put(k, k.startsWith(".") ? "(secret)" : v));
            shown.put(pid, visible);
        });
        return new Desired(d.pluginId(), d.version(), d.enabled(), d.previousVersion(), shown, d.generation(),
                d.updatedAt(), d.updatedBy());
    }

    private static String gateDetail(FrameworkPlugins.Gate gate) {
        return gate.needsConfiguration().isEmpty() ? null : "waiting for settings of " + gate.needsConfiguration();
    }

    private ParleyException notRunningHere(String pluginId) {
        return new ParleyException(ErrorCode.CONFLICT, "plugin " + pluginId + " is not installed on node " + nodeId
                + " yet; see its per-node status");
    }

    private static String action(String from, String to) {
        if (from == null) {
            return "install";
        }
        int c = new Version(to).compareTo(new Version(from));
        return c > 0 ? "upgrade" : c < 0 ? "downgrade" : "none";
    }

    private static String bundleState(Bundle b) {
        return switch (b.getState()) {
            case Bundle.ACTIVE -> "active";
            case Bundle.RESOLVED -> "resolved";
            case Bundle.INSTALLED -> "installed";
            case Bundle.STARTING -> "starting";
            case Bundle.STOPPING -> "stopping";
            default -> "uninstalled";
        };
    }

    // ---- views as JSON ----------------------------------------------------------------------------------------

    /**
     * @param tier             the sandbox tier the plugin's publisher is in (null when it is in none)
     * @param admission        what the sandbox's admission found (null when the artifact could not be read)
     * @param approvalRequired an upgrade to this version asks for permissions the running one was not granted: it is
     *                         held until an admin approves it
     * @param held             the upgrade already waiting for approval, if any
     */
    record Plan(String pluginId, String action, String fromVersion, String toVersion, RegistryEntry entry,
            boolean compatible, List<String> problems, List<String> warnings, List<Permission> permissions,
            List<Permission> permissionsAdded, List<Permission> permissionsRemoved, Map<String, String> apiImports,
            String tier, AdmissionView admission, boolean approvalRequired, Held held) {
    }

    /** An admission report as the admin API shows it. */
    record AdmissionView(String tier, boolean admitted, List<Finding> refusals, List<Finding> reported,
            Map<String, Integer> reportedCount, AdmissionReport.Scan scan) {
        static AdmissionView of(AdmissionReport r) {
            return new AdmissionView(r.tier() == null ? null : r.tier().slug(), r.admitted(), r.refusals(),
                    r.reported(), r.reportedCount(), r.scan());
        }
    }

    /**
     * @param refusedCalls calls of the plugin's code the sandbox's run-time checks refused on this node since it was
     *                     installed or updated, by rule (ADR 30)
     * @param host         for a plugin run out of process, its plugin host on this node: state, pid, restarts, last
     *                     exit, providers, and the limits it runs under ({@code cgroups=…}, ADR 31); null otherwise
     */
    record LocalView(String version, long bundleId, String bundleState, String state, String error,
            Map<String, Long> refusedCalls, dev.parley.pluginhost.HostStatus host) {
    }

    private dev.parley.pluginhost.HostStatus hostOf(Bundle bundle) {
        PluginHosts hosts = pluginHosts;
        return hosts == null || bundle.getHeaders("").get(PluginHosts.HEADER) == null ? null
                : hosts.host(bundle.getBundleId()).orElse(null);
    }

    /**
     * @param starts per node: failed or crashed starts in a row (of {@code maxFailedStarts}), whether a start is in
     *               progress or in its probation, and the hold that keeps it stopped there ({@code quarantined},
     *               {@code crash-loop}), with its reason
     * @param held   an upgrade waiting for an admin's approval because it asks for more permissions; null if none
     */
    record StateView(String pluginId, Desired desired, LocalView thisNode, List<NodeStatus> nodes, RegistryEntry entry,
            String latestStable, boolean updateAvailable, List<StartRecord> starts, Held held) {
    }

    /** One node's start record of a plugin (crash-loop protection and quarantine, ADR 28). */
    record StartRecord(String nodeId, int failedStarts, int maxFailedStarts, String lastFailure, boolean starting,
            Instant startedAt, String hold, String holdReason, Instant heldAt) {
    }
}

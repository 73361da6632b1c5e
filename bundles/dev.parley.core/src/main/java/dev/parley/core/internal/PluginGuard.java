package dev.parley.core.internal;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.SynchronousQueue;
import java.util.concurrent.ThreadPoolExecutor;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;
import java.util.function.Supplier;

import io.opentelemetry.context.Context;

import org.osgi.framework.Bundle;
import org.osgi.framework.ServiceReference;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.component.annotations.ReferenceCardinality;
import org.osgi.service.component.annotations.ReferencePolicy;
import org.osgi.service.event.Event;
import org.osgi.service.event.EventAdmin;
import org.osgi.service.metatype.annotations.Designate;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.slf4j.MDC;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.plugin.PluginGuardEvents;
import dev.parley.api.plugin.PluginInfo;

/**
 * The guard around every call core makes into a provider plugin's code outside a running stream: its id and model
 * lists, token estimates, and the start of an answer or an embedding. Each plugin gets threads of its own, at most
 * {@code maxConcurrentCalls} at once, so a plugin that blocks or spins holds only its own threads, never a caller's
 * (an HTTP request thread, the router's timer, SCR's bind). A call gets {@code callTimeoutMillis}: then the caller goes
 * on without it (the last known model list, the default token estimate, the next target of its route) and the call
 * counts as timed out. Anything a plugin throws other than a {@link ParleyException} costs only that call's answer.
 *
 * <p>Model lists are read through a cache per provider registration, refreshed on the plugin's thread at most every
 * {@code modelsRefreshMillis}; a request waits at most {@code modelsWaitMillis} for a refresh and otherwise uses the
 * last list the provider gave, so {@code /v1/models}, readiness and every other provider's requests answer at once
 * while one provider's {@code models()} blocks (its models are left out until it first answers). An id is read once,
 * when the provider registers.
 *
 * <p>A plugin that keeps failing or timing out is <b>quarantined</b> on this node: core refuses every further call
 * into it at once (its models are no longer listed, the router falls back to another target or answers with a clear
 * error), interrupts its threads and posts {@link PluginGuardEvents#QUARANTINE}; the plugin runtime, which owns the
 * bundle's lifecycle, stops it, records the reason and keeps it stopped until an admin enables it again. The rule:
 * at least {@code quarantineFailures} failed calls within {@code quarantineWindowSeconds} that are also at least
 * {@code quarantineFailureRatePercent} of its calls in that window, or one call still running
 * {@code quarantineStuckSeconds} after it began. Failures the plugin reports as a {@link ParleyException} (its
 * upstream refused, timed out, is overloaded) never count: they are the router's breakers' business (ADR 10).
 *
 * <p><b>Tiers.</b> The sandbox policy's tiers of trust carry call limits ({@code limits.callTimeoutMs},
 * {@code limits.maxConcurrentCalls}); the policy writes them as factory configurations
 * {@code dev.parley.plugin.guard.tier~<tier>} ({@link GuardTier}). A plugin is in the tier naming its id, else the
 * one naming its publisher (its {@code Parley-Plugin} header's), else the one holding {@code *}. Its tier's bound
 * applies when it is set and tighter than the guard's own, which stays the default (no tier) and the ceiling. Each
 * call reads the bounds when it starts, so a change applies to the calls after it.
 *
 * <p>State is kept per plugin id (the {@code Parley-Plugin} id, else the bundle's symbolic name) while at least one of
 * its provider services is registered; when the last one leaves (the runtime stopped it), it is dropped, so a plugin
 * an admin enables again starts clean.
 */
@Component(service = PluginGuard.class, configurationPid = PluginGuardConfig.PID)
@Designate(ocd = PluginGuardConfig.class)
public final class PluginGuard {
    private static final Logger LOG = LoggerFactory.getLogger(PluginGuard.class);

    /**
     * Who a provider service belongs to: its plugin, its publisher (null for a bundle without one) and its bundle (-1
     * outside a framework).
     */
    record PluginRef(String pluginId, String publisher, long bundleId) {
        PluginRef {
            Objects.requireNonNull(pluginId, "pluginId");
        }

        PluginRef(String pluginId, long bundleId) {
            this(pluginId, null, bundleId);
        }

        /** The plugin of the bundle that registered {@code ref}; null when it is gone already. */
        static PluginRef of(ServiceReference<?> ref) {
            Bundle b = ref == null ? null : ref.getBundle();
            return b == null ? null : of(b);
        }

        static PluginRef of(Bundle b) {
            String header = b.getHeaders("").get(PluginInfo.HEADER);
            String id = header == null ? null : header.split("[;,]", 2)[0].strip();
            if (id == null || id.isEmpty()) {
                id = b.getSymbolicName() == null ? "bundle-" + b.getBundleId() : b.getSymbolicName();
                return new PluginRef(id, null, b.getBundleId());
            }
            return new PluginRef(id, publisherOf(header), b.getBundleId());
        }

        /**
         * The {@code publisher} attribute of a {@code Parley-Plugin} header ({@code id;type=provider;name="A; B";
         * publisher=acme}); null when it has none. Quoted values may hold separators.
         */
        static String publisherOf(String header) {
            boolean quoted = false;
            int start = 0;
            for (int i = 0; i <= header.length(); i++) {
                char c = i < header.length() ? header.charAt(i) : ';';
                if (c == '"') {
                    quoted = !quoted;
                } else if (!quoted && (c == ';' || c == ',')) {
                    String part = header.substring(start, i).strip();
                    int eq = part.indexOf('=');
                    if (eq > 0 && part.substring(0, eq).strip().equals("publisher")) {
                        String v = part.substring(eq + 1).strip();
                        if (v.length() >= 2 && v.startsWith("\"") && v.endsWith("\"")) {
                            v = v.substring(1, v.length() - 1);
                        }
                        return v.isEmpty() ? null : v;
                    }
                    start = i + 1;
                }
            }
            return null;
        }

        /** Outside a framework (unit tests): one plugin per implementation class. */
        static PluginRef unbundled(Object service) {
            return new PluginRef(service.getClass().getName(), -1);
        }
    }

    private final boolean direct;
    private final ScheduledThreadPoolExecutor watchdog;
    private final Map<String, Plugin> plugins = new ConcurrentHashMap<>();
    /** Plugins quarantined here, with the reason, until a service of theirs registers again (for error messages). */
    private final Map<String, String> quarantinedHere = new ConcurrentHashMap<>();
    private final List<Consumer<Quarantine>> listeners = new CopyOnWriteArrayList<>();
    private final AtomicReference<EventAdmin> eventAdmin = new AtomicReference<>();
    private volatile GuardSettings settings;
    /** The tiers' call limits ({@link GuardTier}), by configuration key; replaced whole on every change. */
    private final Map<String, TierLimits> tierConfigs = new TreeMap<>();
    private volatile TierLimits.Table tiers = TierLimits.Table.EMPTY;
    private volatile boolean closed;

    /** What was quarantined, and why. */
    record Quarantine(String pluginId, long bundleId, String reason) {
    }

    @Activate
    public PluginGuard(PluginGuardConfig config) {
        this(GuardSettings.of(config), false);
    }

    /**
     * @param direct run calls on the caller's thread (no threads of the plugin's own; timeouts are still counted, but
     *               cannot free the caller): only for tests of what lies behind the guard
     */
    PluginGuard(GuardSettings settings, boolean direct) {
        this.settings = settings;
        this.direct = direct;
        this.watchdog = new ScheduledThreadPoolExecutor(1, r -> {
            Thread t = new Thread(r, "parley-plugin-guard");
            t.setDaemon(true);
            return t;
        });
        watchdog.setRemoveOnCancelPolicy(true);
        watchdog.setExecuteExistingDelayedTasksAfterShutdownPolicy(false);
    }

    /** Calls on the caller's thread and model lists read at every use: the behaviour of core before the guard. */
    static PluginGuard direct() {
        return new PluginGuard(GuardSettings.DEFAULTS.withModelsRefresh(0, 0), true);
    }

    @Modified
    void modified(PluginGuardConfig config) {
        GuardSettings s = GuardSettings.of(config);
        settings = s;
        LOG.info("plugin guard configured callTimeoutMs={} maxConcurrentCalls={} quarantine={} failures={} "
                + "ratePercent={} windowSeconds={} stuckSeconds={}", s.callTimeoutMillis(), s.maxConcurrentCalls(),
                s.quarantine(), s.quarantineFailures(), s.quarantineFailureRatePercent(), s.quarantineWindowSeconds(),
                s.quarantineStuckSeconds());
    }

    /** Stops every plugin's threads (interrupting calls still running in plugin code) without waiting for them. */
    @Deactivate
    void deactivate() {
        closed = true;
        for (Plugin p : plugins.values()) {
            p.close();
        }
        plugins.clear();
        watchdog.shutdownNow();
    }

    @Reference(cardinality = ReferenceCardinality.OPTIONAL, policy = ReferencePolicy.DYNAMIC)
    void setEventAdmin(EventAdmin admin) {
        eventAdmin.set(admin);
    }

    void unsetEventAdmin(EventAdmin admin) {
        eventAdmin.compareAndSet(admin, null);
    }

    GuardSettings settings() {
        return settings;
    }

    /** Sets one tier's call limits (a configuration {@code dev.parley.plugin.guard.tier~<name>}); calls after it apply them. */
    synchronized void tier(String key, TierLimits limits) {
        tierConfigs.put(key, limits);
        tiers = new TierLimits.Table(List.copyOf(tierConfigs.values()));
        LOG.info("event=plugin_guard_tier tier={} plugins={} publishers={} callTimeoutMs={} maxConcurrentCalls={} "
                + "hint=\"0: the guard's own; a bound above the guard's ({} ms, {} calls) gives the guard's\"",
                limits.name(), limits.plugins(), limits.publishers(), limits.callTimeoutMillis(),
                limits.maxConcurrentCalls(), settings.callTimeoutMillis(), settings.maxConcurrentCalls());
    }

    synchronized void removeTier(String key) {
        if (tierConfigs.remove(key) != null) {
            tiers = new TierLimits.Table(List.copyOf(tierConfigs.values()));
        }
    }

    /** The tier {@code pluginId} is in (its id, else its publisher); null when none. */
    TierLimits tierOf(String pluginId, String publisher) {
        return tiers.of(pluginId, publisher);
    }

    /** The call timeout in force for {@code p}: its tier's when tighter than the guard's, else the guard's. */
    long callTimeoutMillis(Plugin p) {
        TierLimits t = tiers.of(p.id, p.publisher);
        long guard = settings.callTimeoutMillis();
        return t == null ? guard : TierLimits.effective(guard, t.callTimeoutMillis());
    }

    /** The calls at once in force for {@code p}: its tier's when tighter than the guard's, else the guard's. */
    int maxConcurrentCalls(Plugin p) {
        TierLimits t = tiers.of(p.id, p.publisher);
        int guard = settings.maxConcurrentCalls();
        return t == null ? guard : (int) TierLimits.effective(guard, t.maxConcurrentCalls());
    }

    /** Called for every quarantine decision (tests, and whoever must drop the plugin at once). */
    void onQuarantine(Consumer<Quarantine> listener) {
        listeners.add(listener);
    }

    void removeQuarantineListener(Consumer<Quarantine> listener) {
        listeners.remove(listener);
    }

    // --- registrations --------------------------------------------------------------------------------------

    /**
     * One provider service under guard: its plugin, its id (read once, when it registered) and its last model list.
     *
     * @param <M> what its model list holds
     */
    final class Registration<M> {
        final Plugin plugin;
        final Object service;
        private final Callable<List<M>> lister;
        private final String listCall;
        private volatile String id;
        private volatile List<M> models = List.of();
        /** {@link System#nanoTime()} when the list was last asked for and answered (or failed); valid once fetched. */
        private volatile long fetchedAt;
        private volatile boolean fetched;
        private final AtomicReference<Refresh> refreshing = new AtomicReference<>();
        private volatile boolean closed;

        private Registration(Plugin plugin, Object service, Callable<List<M>> lister, String listCall) {
            this.plugin = plugin;
            this.service = service;
            this.lister = lister;
            this.listCall = listCall;
        }

        /** The id the provider gave when it registered (its class name when it failed to give one in time). */
        String id() {
            return id;
        }

        String pluginId() {
            return plugin.id;
        }

        boolean quarantined() {
            return plugin.quarantine != null;
        }

        /** Why its plugin is quarantined; null when it is not. */
        String quarantineReason() {
            return plugin.quarantine;
        }
    }

    /** One model list refresh in flight: single flight per registration. */
    private record Refresh(GuardedCall<?> call, long startedNanos) {
    }

    /**
     * Puts a provider service under guard: reads its id and its first model list on the plugin's thread, waiting at
     * most the call timeout for each (a blocking provider delays its own registration by that much, no more).
     *
     * @param idCall      the provider's {@code id()}
     * @param lister      its model list ({@code models()} or {@code embeddingModels()})
     * @param listCall    the name of that call, for logs and reasons
     */
    <M> Registration<M> register(PluginRef ref, Object service, Callable<String> idCall, Callable<List<M>> lister,
            String listCall) {
        Plugin plugin;
        synchronized (this) {
            plugin = plugins.computeIfAbsent(ref.pluginId(), id -> new Plugin(id));
            plugin.registrations++;
            if (ref.publisher() != null) {
                plugin.publisher = ref.publisher();
            }
            plugin.bundleId = ref.bundleId();
        }
        quarantinedHere.remove(ref.pluginId());
        Registration<M> r = new Registration<>(plugin, service, lister, listCall);
        GuardedCall<String> id = prepare(r, "id()", idCall);
        start(id);
        String given;
        try {
            given = await(id);
        } catch (ParleyException e) {
            given = null;
        }
        if (given == null || given.isBlank()) {
            given = service.getClass().getName();
            LOG.warn("event=plugin_id_unknown plugin={} fallback={} hint=\"the provider did not give its id in time; "
                    + "it is known by its class name\"", plugin.id, given);
        }
        r.id = given;
        refresh(r, TimeUnit.MILLISECONDS.toNanos(callTimeoutMillis(plugin)));
        return r;
    }

    /** Takes a provider out of the guard; the plugin's threads stop when its last registration leaves. */
    void unregister(Registration<?> r) {
        if (r == null || r.closed) {
            return;
        }
        r.closed = true;
        Plugin p = r.plugin;
        boolean last;
        synchronized (this) {
            last = --p.registrations <= 0 && plugins.get(p.id) == p;
            if (last) {
                plugins.remove(p.id);
            }
        }
        if (last) {
            p.close();
        }
    }

    /** Plugins quarantined on this node by plugin id, with their reason (those whose services left included). */
    Map<String, String> quarantined() {
        Map<String, String> out = new TreeMap<>(quarantinedHere);
        for (Plugin p : plugins.values()) {
            if (p.quarantine != null) {
                out.put(p.id, p.quarantine);
            }
        }
        return out;
    }

    /** Why {@code pluginId} is quarantined on this node, or null. */
    String quarantineReason(String pluginId) {
        Plugin p = plugins.get(pluginId);
        return p != null && p.quarantine != null ? p.quarantine : quarantinedHere.get(pluginId);
    }

    // --- calls ----------------------------------------------------------------------------------------------

    /**
     * The provider's model list: the cached one while it is fresh, else a refresh on the plugin's thread, waited for
     * at most {@code modelsWaitMillis} (never again while a slow one is still running); empty while quarantined.
     */
    <M> List<M> models(Registration<M> r) {
        if (r.plugin.quarantine != null) {
            return List.of();
        }
        GuardSettings s = settings;
        if (r.fetched && System.nanoTime() - r.fetchedAt < TimeUnit.MILLISECONDS.toNanos(s.modelsRefreshMillis())) {
            return r.models;
        }
        return refresh(r, TimeUnit.MILLISECONDS.toNanos(s.modelsWaitMillis()));
    }

    private <M> List<M> refresh(Registration<M> r, long waitNanos) {
        long now = System.nanoTime();
        Refresh running = r.refreshing.get();
        if (running == null) {
            GuardedCall<List<M>> call = prepare(r, r.listCall, () -> {
                List<M> list;
                try {
                    list = r.lister.call();
                } finally {
                    r.fetchedAt = System.nanoTime();
                    r.fetched = true;
                }
                List<M> clean = clean(list);
                r.models = clean;
                return clean;
            });
            Refresh mine = new Refresh(call, now);
            if (r.refreshing.compareAndSet(null, mine)) {
                call.done.whenComplete((v, e) -> r.refreshing.compareAndSet(mine, null));
                start(call);
                running = mine;
            } else {
                running = r.refreshing.get();
            }
        }
        if (running != null) {
            long left = waitNanos - (now - running.startedNanos());
            try {
                if (left > 0) {
                    running.call().outcome.get(left, TimeUnit.NANOSECONDS);
                }
            } catch (TimeoutException | ExecutionException e) {
                // The last list it gave stands (none, if it never answered).
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        return r.plugin.quarantine != null ? List.of() : r.models;
    }

    private static <M> List<M> clean(List<M> list) {
        if (list == null) {
            return List.of();
        }
        List<M> out = new ArrayList<>(list.size());
        for (M m : list) {
            if (m != null) {
                out.add(m);
            }
        }
        return List.copyOf(out);
    }

    /**
     * Starts {@code body} (which calls into the plugin and must not wait for the answer) on the plugin's thread and
     * returns at once. {@code failed} hears at most once of what stopped it: the plugin is quarantined or busy (at
     * once, on this thread), what the body threw, or that it did not return within the call timeout (from the
     * guard's thread; the body still runs, and must itself drop what comes late).
     */
    void start(Registration<?> r, String what, Runnable body, Consumer<ParleyException> failed) {
        GuardedCall<Void> call = prepare(r, what, () -> {
            body.run();
            return null;
        });
        call.outcome.whenComplete((v, e) -> {
            if (e != null) {
                failed.accept(unwrap(e));
            }
        });
        start(call);
    }

    /**
     * Runs {@code body} on the plugin's thread and waits for it, at most the call timeout. A {@link ParleyException}
     * the body throws is thrown here; any other end (refused, timed out, failed) gives {@code otherwise}.
     */
    <T> T call(Registration<?> r, String what, Callable<T> body, Supplier<T> otherwise) {
        GuardedCall<T> call = prepare(r, what, body);
        start(call);
        try {
            return await(call);
        } catch (PluginCallRefused e) {
            return otherwise.get();
        }
    }

    /**
     * An asynchronous call whose start is guarded like {@link #start} and whose answer is bounded by
     * {@code answerTimeoutMillis} (0: unbounded): the stage fails with a {@link ParleyException}.
     */
    <T> CompletableFuture<T> async(Registration<?> r, String what, Callable<? extends java.util.concurrent.CompletionStage<T>> body,
            long answerTimeoutMillis) {
        GuardedCall<java.util.concurrent.CompletionStage<T>> call = prepare(r, what, body::call);
        start(call);
        CompletableFuture<T> answer = call.outcome.thenCompose(stage -> stage == null
                ? CompletableFuture.failedFuture(new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "plugin "
                        + r.plugin.id + " answered " + what + " with nothing"))
                : stage.toCompletableFuture());
        if (answerTimeoutMillis > 0) {
            CompletableFuture<T> bounded = new CompletableFuture<>();
            ScheduledFuture<?> timer = schedule(() -> bounded.completeExceptionally(new ParleyException(
                    ErrorCode.UPSTREAM_TIMEOUT, "plugin " + r.plugin.id + " did not answer " + what + " within "
                            + answerTimeoutMillis + " ms")), TimeUnit.MILLISECONDS.toNanos(answerTimeoutMillis));
            answer.whenComplete((v, e) -> {
                if (timer != null) {
                    timer.cancel(false);
                }
                if (e != null) {
                    bounded.completeExceptionally(unwrap(e));
                } else {
                    bounded.complete(v);
                }
            });
            return bounded;
        }
        return answer.handle((v, e) -> {
            if (e != null) {
                throw new java.util.concurrent.CompletionException(unwrap(e));
            }
            return v;
        });
    }

    static ParleyException unwrap(Throwable e) {
        Throwable t = e;
        while ((t instanceof java.util.concurrent.CompletionException || t instanceof ExecutionException)
                && t.getCause() != null) {
            t = t.getCause();
        }
        return t instanceof ParleyException pe ? pe
                : new ParleyException(ErrorCode.UPSTREAM_FAILURE, "plugin call failed: " + t, t);
    }

    private <T> T await(GuardedCall<T> call) {
        try {
            return call.outcome.get();
        } catch (ExecutionException e) {
            throw unwrap(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new PluginCallRefused(PluginCallRefused.Kind.STOPPED, ErrorCode.UNAVAILABLE,
                    "interrupted while waiting for plugin " + call.plugin.id, e);
        }
    }

    // --- the calls themselves ---------------------------------------------------------------------------------

    /** One call into plugin code: its first outcome ({@link #outcome}) and its body's real end ({@link #done}). */
    final class GuardedCall<T> implements Runnable {
        final Plugin plugin;
        final String what;
        private final Callable<T> body;
        private final ClassLoader loader;
        private final Context context;
        private final Map<String, String> mdc;
        /** Completed once: with the body's result, or its failure, or the refusal, or the timeout. */
        final CompletableFuture<T> outcome = new CompletableFuture<>();
        /** Completed when the body returned or threw (or was never run). */
        final CompletableFuture<Void> done = new CompletableFuture<>();
        private final AtomicInteger state = new AtomicInteger(PENDING);
        private volatile long startedNanos;
        /** The call timeout in force when it started (its tier's or the guard's). */
        private volatile long timeoutMillis;
        private volatile Thread thread;
        private volatile ScheduledFuture<?> timer;

        private GuardedCall(Plugin plugin, String what, Callable<T> body, ClassLoader loader) {
            this.plugin = plugin;
            this.what = what;
            this.body = body;
            this.loader = loader;
            this.context = Context.current();
            this.mdc = MDC.getCopyOfContextMap();
        }

        @Override
        public void run() {
            thread = Thread.currentThread();
            ClassLoader previousLoader = direct ? null : thread.getContextClassLoader();
            Map<String, String> previousMdc = direct ? null : MDC.getCopyOfContextMap();
            if (!direct) {
                thread.setContextClassLoader(loader);
                if (mdc == null) {
                    MDC.clear();
                } else {
                    MDC.setContextMap(mdc);
                }
            }
            T result = null;
            Throwable failure = null;
            try (var scope = direct ? null : context.makeCurrent()) {
                result = body.call();
            } catch (Throwable t) { // NOPMD: a plugin's Error is its own call's failure, not the caller's
                failure = t;
            } finally {
                if (!direct) {
                    thread.setContextClassLoader(previousLoader);
                    if (previousMdc == null) {
                        MDC.clear();
                    } else {
                        MDC.setContextMap(previousMdc);
                    }
                    // An interrupt the guard sent (quarantine, shutdown) must not outlive the call on a pooled thread.
                    Thread.interrupted();
                }
                thread = null;
                plugin.running.remove(this);
                if (!direct) {
                    plugin.exit();
                }
            }
            finish(result, failure);
            done.complete(null);
        }

        private void finish(T result, Throwable failure) {
            if (!state.compareAndSet(RUNNING, FINISHED)) {
                return; // timed out meanwhile: the caller went on without it
            }
            ScheduledFuture<?> t = timer;
            if (t != null) {
                t.cancel(false);
            }
            long now = System.nanoTime();
            if (failure == null) {
                plugin.record(false, now);
                outcome.complete(result);
            } else if (failure instanceof ParleyException pe && !(pe instanceof PluginCallRefused)) {
                // The plugin's own answer (against the SPI, thrown instead of reported, but an answer): not a fault.
                plugin.record(false, now);
                outcome.completeExceptionally(pe);
            } else {
                String reason = what + " threw " + failure.getClass().getName()
                        + (failure.getMessage() == null ? "" : ": " + failure.getMessage());
                LOG.warn("event=plugin_call_failed plugin={} call={} reason=\"{}\"", plugin.id, what, reason,
                        failure);
                // Counted (and perhaps quarantined) before the caller hears of it.
                plugin.failed(reason, now);
                outcome.completeExceptionally(new PluginCallRefused(PluginCallRefused.Kind.FAILED,
                        ErrorCode.UPSTREAM_FAILURE, "plugin " + plugin.id + " failed: " + reason, failure));
            }
        }

        /** The call timeout passed: the caller goes on; a call that is still running later quarantines the plugin. */
        private void timedOut() {
            if (!state.compareAndSet(RUNNING, TIMED_OUT)) {
                return;
            }
            GuardSettings s = settings;
            String reason = what + " did not return within " + timeoutMillis + " ms";
            LOG.warn("event=plugin_call_timeout plugin={} call={} timeoutMs={}", plugin.id, what, timeoutMillis);
            plugin.failed(reason, System.nanoTime());
            outcome.completeExceptionally(new PluginCallRefused(PluginCallRefused.Kind.TIMED_OUT,
                    ErrorCode.UPSTREAM_TIMEOUT, "plugin " + plugin.id + ": " + reason, null));
            long stuckNanos = TimeUnit.SECONDS.toNanos(s.quarantineStuckSeconds());
            if (stuckNanos > 0) {
                long left = startedNanos + stuckNanos - System.nanoTime();
                schedule(this::stillRunning, Math.max(0, left));
            }
        }

        /**
         * Its plugin was quarantined while it ran: the caller hears that now (with the reason), before the plugin's
         * thread is interrupted, and not whatever the plugin's code does with the interrupt.
         */
        void abandon(String pluginId, String reason) {
            if (!state.compareAndSet(RUNNING, ABANDONED)) {
                return;
            }
            ScheduledFuture<?> t = timer;
            if (t != null) {
                t.cancel(false);
            }
            outcome.completeExceptionally(new PluginCallRefused(PluginCallRefused.Kind.QUARANTINED,
                    ErrorCode.UPSTREAM_FAILURE, "plugin " + pluginId + " was quarantined on this node while " + what
                            + " ran (" + reason + ")", null));
        }

        private void stillRunning() {
            if (!done.isDone() && plugin.running.contains(this)) {
                quarantine(plugin, what + " has not returned for " + settings.quarantineStuckSeconds() + " s");
            }
        }
    }

    private static final int PENDING = 0;
    private static final int RUNNING = 1;
    private static final int FINISHED = 2;
    private static final int TIMED_OUT = 3;
    /** Its plugin was quarantined while it ran: the caller was told so. */
    private static final int ABANDONED = 4;

    private <T> GuardedCall<T> prepare(Registration<?> r, String what, Callable<T> body) {
        return new GuardedCall<>(r.plugin, what, body, r.service.getClass().getClassLoader());
    }

    /** Refuses at once (quarantined, busy, closed) or hands the call to one of the plugin's threads. */
    private <T> void start(GuardedCall<T> call) {
        Plugin p = call.plugin;
        String quarantine = p.quarantine;
        if (quarantine != null || closed) {
            refuse(call, quarantine != null
                    ? new PluginCallRefused(PluginCallRefused.Kind.QUARANTINED, ErrorCode.UPSTREAM_FAILURE,
                            "plugin " + p.id + " is quarantined on this node (" + quarantine + "); an admin can "
                                    + "enable it again: POST /api/v1/admin/plugins/" + p.id + "/enable", null)
                    : new PluginCallRefused(PluginCallRefused.Kind.STOPPED, ErrorCode.UNAVAILABLE,
                            "the plugin guard is stopping", null));
            return;
        }
        int max = maxConcurrentCalls(p);
        if (!direct && !p.tryEnter(max)) {
            refuse(call, new PluginCallRefused(PluginCallRefused.Kind.BUSY, ErrorCode.OVERLOADED, "plugin " + p.id
                    + " is busy: " + max + " calls into it are running", null));
            return;
        }
        call.state.set(RUNNING);
        call.startedNanos = System.nanoTime();
        call.timeoutMillis = callTimeoutMillis(p);
        p.running.add(call);
        call.timer = schedule(call::timedOut, TimeUnit.MILLISECONDS.toNanos(call.timeoutMillis));
        if (direct) {
            call.run();
            return;
        }
        try {
            p.executor.execute(call);
        } catch (RejectedExecutionException e) {
            // Only a stopping executor refuses: the call limit is the plugin's count of calls, not its threads.
            p.running.remove(call);
            p.exit();
            if (call.state.compareAndSet(RUNNING, FINISHED)) {
                ScheduledFuture<?> t = call.timer;
                if (t != null) {
                    t.cancel(false);
                }
            }
            refuse(call, new PluginCallRefused(PluginCallRefused.Kind.STOPPED, ErrorCode.UNAVAILABLE,
                    "plugin " + p.id + " is stopping", e));
        }
    }

    private static void refuse(GuardedCall<?> call, PluginCallRefused why) {
        call.outcome.completeExceptionally(why);
        call.done.complete(null);
    }

    private ScheduledFuture<?> schedule(Runnable task, long delayNanos) {
        try {
            return watchdog.schedule(task, Math.max(0, delayNanos), TimeUnit.NANOSECONDS);
        } catch (RejectedExecutionException stopping) {
            return null;
        }
    }

    // --- plugins ----------------------------------------------------------------------------------------------

    /** One plugin's threads, call counts and quarantine. */
    final class Plugin {
        final String id;
        volatile long bundleId;
        /** Its publisher (the Parley-Plugin header's), which decides its tier with its id; null for none. */
        volatile String publisher;
        /** Guarded by the guard. */
        int registrations;
        final ThreadPoolExecutor executor;
        final Set<GuardedCall<?>> running = ConcurrentHashMap.newKeySet();
        /**
         * Calls started and not yet returned from plugin code: the limit. Counted apart from the executor's threads,
         * since a thread that has just returned from a call is not yet ready for the next one (a hand-off to it
         * would be refused though the plugin is not busy).
         */
        private final AtomicInteger inFlight = new AtomicInteger();
        private final CallWindow window = new CallWindow();
        /** Why it is quarantined; null while it is not. */
        volatile String quarantine;

        Plugin(String id) {
            this.id = id;
            if (direct) {
                executor = null;
            } else {
                AtomicInteger n = new AtomicInteger();
                // No queue: a call runs at once on an idle or new thread; tryEnter bounds how many run at once.
                executor = new ThreadPoolExecutor(0, Integer.MAX_VALUE, 60, TimeUnit.SECONDS,
                        new SynchronousQueue<>(), r -> {
                            Thread t = new Thread(r, "parley-plugin-" + id + "-" + n.incrementAndGet());
                            t.setDaemon(true);
                            return t;
                        });
            }
        }

        /** Takes one of the plugin's {@code max} call slots; false when all are taken. */
        boolean tryEnter(int max) {
            int n;
            do {
                n = inFlight.get();
                if (n >= max) {
                    return false;
                }
            } while (!inFlight.compareAndSet(n, n + 1));
            return true;
        }

        void exit() {
            inFlight.decrementAndGet();
        }

        void record(boolean failed, long nowNanos) {
            window.record(failed, nowNanos, TimeUnit.SECONDS.toNanos(settings.quarantineWindowSeconds()));
        }

        /** A failed or timed out call: counted, and the quarantine rule checked. */
        void failed(String reason, long nowNanos) {
            GuardSettings s = settings;
            long windowNanos = TimeUnit.SECONDS.toNanos(s.quarantineWindowSeconds());
            window.record(true, nowNanos, windowNanos);
            long[] totals = window.totals(nowNanos, windowNanos);
            long calls = totals[0];
            long failures = totals[1];
            if (failures >= s.quarantineFailures() && failures * 100 >= (long) s.quarantineFailureRatePercent() * calls) {
                quarantine(this, failures + " of its last " + calls + " calls within " + s.quarantineWindowSeconds()
                        + " s failed or timed out (last: " + reason + ")");
            }
        }

        void close() {
            if (executor != null) {
                executor.shutdownNow();
            }
        }
    }

    /** Quarantines {@code p} on this node (once), with {@code reason}. */
    void quarantine(Plugin p, String reason) {
        GuardSettings s = settings;
        if (!s.quarantine()) {
            LOG.error("event=plugin_misbehaving plugin={} reason=\"{}\" hint=\"quarantine is off (PID {})\"", p.id,
                    reason, PluginGuardConfig.PID);
            return;
        }
        synchronized (p) {
            if (p.quarantine != null) {
                return;
            }
            p.quarantine = reason;
        }
        quarantinedHere.put(p.id, reason);
        LOG.error("event=plugin_quarantined plugin={} bundle={} reason=\"{}\" hint=\"calls into it are refused and "
                + "the plugin runtime stops it on this node; an admin enables it again with POST "
                + "/api/v1/admin/plugins/{}/enable\"", p.id, p.bundleId, reason, p.id);
        if (!direct) {
            // Its threads are ours: calls stuck in its code are interrupted (a plugin may still ignore that). Their
            // callers hear of the quarantine first, not of what the plugin makes of the interrupt.
            for (GuardedCall<?> c : p.running) {
                c.abandon(p.id, reason);
                Thread t = c.thread;
                if (t != null) {
                    t.interrupt();
                }
            }
        }
        Quarantine q = new Quarantine(p.id, p.bundleId, reason);
        for (Consumer<Quarantine> l : listeners) {
            try {
                l.accept(q);
            } catch (RuntimeException e) {
                LOG.warn("quarantine listener failed plugin={}", p.id, e);
            }
        }
        EventAdmin admin = eventAdmin.get();
        if (admin == null) {
            LOG.warn("event=plugin_quarantine_not_posted plugin={} hint=\"no Event Admin: the plugin runtime does not "
                    + "hear of it and the plugin stays started, refused by core\"", p.id);
            return;
        }
        Map<String, Object> props = new HashMap<>();
        props.put(PluginGuardEvents.PLUGIN_ID, p.id);
        props.put(PluginGuardEvents.BUNDLE_ID, p.bundleId);
        props.put(PluginGuardEvents.REASON, reason);
        try {
            admin.postEvent(new Event(PluginGuardEvents.QUARANTINE, props));
        } catch (RuntimeException e) {
            LOG.warn("event=plugin_quarantine_not_posted plugin={}", p.id, e);
        }
    }

    /** The number of calls running in {@code pluginId}'s code now (tests). */
    int running(String pluginId) {
        Plugin p = plugins.get(pluginId);
        return p == null ? 0 : p.running.size();
    }
}

package dev.parley.plugins.internal;

import dev.parley.api.error.ParleyException;
import dev.parley.plugins.internal.ShippedArtifacts.Shipped;
import dev.parley.registry.PluginRegistry;
import dev.parley.registry.RegistryEntry;
import dev.parley.registry.RegistryException;
import java.io.IOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.stream.Collectors;
import org.apache.felix.hc.api.FormattingResultLog;
import org.apache.felix.hc.api.HealthCheck;
import org.apache.felix.hc.api.Result;
import org.osgi.framework.BundleContext;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.FrameworkListener;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Reference;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Seeds the plugins the server distribution ships (ADR 11): once the framework reaches the plugins' start level, it
 * publishes every shipped version the registry lacks ({@link PluginRegistry#publishShipped}), applies the seeding
 * rules to each ({@link PluginOperations#seedShipped}) and brings this node to the resulting desired state. It is
 * also the "Parley shipped plugins" readiness check: not ready until that has finished. A shipped version the
 * registry holds with other bytes stops the seeding (nothing is installed or upgraded); that, and a plugin refused
 * (e.g. over the size limit), is reported as a warning in the check's detail and logged as an error, but does not
 * keep the node from being ready: every plugin installed is served.
 */
@Component(service = HealthCheck.class, configurationPid = PluginsConfig.PID,
        configurationPolicy = ConfigurationPolicy.REQUIRE, immediate = true,
        property = { HealthCheck.NAME + "=" + ShippedPlugins.CHECK_NAME, HealthCheck.TAGS + "=ready" })
public class ShippedPlugins implements HealthCheck {
    static final String CHECK_NAME = "Parley shipped plugins";
    /** Framework property (set by the launcher): the server jar, or a directory holding the index and the jars. */
    static final String LOCATION_PROPERTY = "parley.shipped.plugins";
    private static final Logger LOG = LoggerFactory.getLogger(ShippedPlugins.class);

    enum Phase { WAITING, SEEDING, DONE, STOPPED }

    /** What the readiness check reports; replaced whole. */
    record Status(Phase phase, List<String> notes, List<String> problems) {
    }

    private final PluginRegistry registry;
    private final PluginOperations operations;
    private final BundleContext context;
    private final ShippedArtifacts artifacts;
    private final String selection;
    private final ExecutorService seeder;
    private final FrameworkListener startLevelListener;
    private final AtomicBoolean started = new AtomicBoolean();
    private volatile Status status = new Status(Phase.WAITING, List.of(), List.of());

    @Activate
    public ShippedPlugins(PluginsConfig config, BundleContext context, @Reference PluginRegistry registry,
            @Reference PluginOperations operations) {
        this.registry = registry;
        this.operations = operations;
        this.context = context;
        String location = context.getProperty(LOCATION_PROPERTY);
        this.artifacts = location == null || location.isBlank() ? null : new ShippedArtifacts(Path.of(location.strip()));
        this.selection = config.shippedPlugins() == null ? "all" : config.shippedPlugins().strip();
        this.seeder = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "parley-shipped-plugins");
            t.setDaemon(true);
            return t;
        });
        this.startLevelListener = event -> {
            if (event.getType() == FrameworkEvent.STARTLEVEL_CHANGED) {
                startWhenPluginsCanRun();
            }
        };
        context.addFrameworkListener(startLevelListener);
        startWhenPluginsCanRun();
    }

    @Deactivate
    void deactivate() {
        context.removeFrameworkListener(startLevelListener);
        seeder.shutdownNow();
        try {
            if (!seeder.awaitTermination(30, TimeUnit.SECONDS)) {
                LOG.warn("event=shipped_plugins_seeder_still_running");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private void startWhenPluginsCanRun() {
        if (operations.pluginLevelReached() && started.compareAndSet(false, true)) {
            try {
                seeder.execute(this::seed);
            } catch (java.util.concurrent.RejectedExecutionException stopping) {
                // deactivated meanwhile
            }
        }
    }

    @Override
    public Result execute() {
        FormattingResultLog log = new FormattingResultLog();
        Status s = status;
        switch (s.phase()) {
            case WAITING -> log.temporarilyUnavailable("waiting for the plugins' start level before seeding the shipped plugins");
            case SEEDING -> log.temporarilyUnavailable("seeding the plugins the server ships");
            default -> { }
        }
        s.notes().forEach(n -> log.info("{}", n));
        s.problems().forEach(p -> log.warn("{}", p));
        return new Result(log);
    }

    Status status() {
        return status;
    }

    void seed() {
        status = new Status(Phase.SEEDING, List.of(), List.of());
        List<String> notes = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        try {
            Phase end = seed(notes, problems);
            status = new Status(end, List.copyOf(notes), List.copyOf(problems));
        } catch (RuntimeException e) {
            LOG.error("event=shipped_plugins_failed reason=\"{}\"", e.getMessage(), e);
            problems.add("seeding failed: " + e.getMessage());
            status = new Status(Phase.STOPPED, List.copyOf(notes), List.copyOf(problems));
        }
    }

    private Phase seed(List<String> notes, List<String> problems) {
        if (artifacts == null) {
            notes.add("this runtime ships no plugins");
            return Phase.DONE;
        }
        if (selection.equalsIgnoreCase("none")) {
            notes.add("seeding is off (" + PluginsConfig.PID + " shippedPlugins=none)");
            LOG.info("event=shipped_plugins_off");
            return Phase.DONE;
        }
        List<Shipped> index;
        try {
            index = artifacts.index();
        } catch (IOException e) {
            LOG.error("event=shipped_plugins_unreadable location={} reason=\"{}\"", artifacts.location(), e.getMessage());
            problems.add("the shipped plugins' index cannot be read: " + e.getMessage());
            return Phase.STOPPED;
        }
        List<Shipped> chosen = choose(index, problems);

        // First every version into the registry; only then any install, so a conflict changes nothing.
        List<RegistryEntry> published = new ArrayList<>();
        List<String> conflicts = new ArrayList<>();
        for (Shipped s : chosen) {
            try {
                RegistryEntry entry = registry.publishShipped(artifacts.artifact(s));
                published.add(entry);
            } catch (RegistryException e) {
                if (e.reason() == RegistryException.Reason.SHIPPED_DIGEST_CONFLICT) {
                    conflicts.add(e.getMessage());
                    LOG.error("event=shipped_plugin_conflict plugin={} version={} reason=\"{}\" hint=\"publish a new "
                            + "version, or remove the stored one if it came from a development build; the plugins "
                            + "installed keep running\"", s.id(), s.version(), e.getMessage());
                } else {
                    problems.add("shipped plugin " + s.id() + " " + s.version() + " was refused by the registry: "
                            + e.getMessage());
                    LOG.error("event=shipped_plugin_refused plugin={} version={} reason={} detail=\"{}\"", s.id(),
                            s.version(), e.reason(), e.getMessage());
                }
            } catch (IOException e) {
                problems.add("shipped plugin " + s.id() + " " + s.version() + " cannot be read: " + e.getMessage());
                LOG.error("event=shipped_plugin_unreadable plugin={} version={} reason=\"{}\"", s.id(), s.version(),
                        e.getMessage());
            }
        }
        if (!conflicts.isEmpty()) {
            problems.addAll(conflicts);
            problems.add("seeding stopped: no shipped plugin was installed or upgraded");
            return Phase.STOPPED;
        }

        for (RegistryEntry entry : published) {
            try {
                ShippedSeeding.Decision decision = operations.seedShipped(entry);
                notes.add(entry.id() + " " + entry.version() + ": " + describe(decision));
                LOG.info("event=shipped_plugin plugin={} version={} decision={}", entry.id(), entry.version(), decision);
            } catch (ParleyException e) {
                problems.add(entry.id() + " " + entry.version() + ": " + e.getMessage());
                LOG.error("event=shipped_plugin_not_applied plugin={} version={} reason=\"{}\"", entry.id(),
                        entry.version(), e.getMessage());
            }
        }
        // The claimed plugins are installed by the reconciler's step, here and now, so that ready means served.
        operations.reconcileNow();
        for (RegistryEntry entry : published) {
            operations.localState(entry.id()).filter(PluginOperations.FAILED::equals).ifPresent(failed ->
                    problems.add(entry.id() + " " + entry.version() + " failed on this node; see its events"));
            operations.localState(entry.id()).filter(s -> s.equals(PluginOperations.CRASH_LOOP)
                    || s.equals(PluginOperations.QUARANTINED)).ifPresent(held -> problems.add(entry.id() + " "
                            + entry.version() + " is held on this node (" + held + "); see its state"));
        }
        LOG.info("event=shipped_plugins_seeded published={} refusedOrUnreadable={}", published.size(),
                chosen.size() - published.size());
        return Phase.DONE;
    }

    private List<Shipped> choose(List<Shipped> index, List<String> problems) {
        if (selection.isEmpty() || selection.equalsIgnoreCase("all")) {
            return index;
        }
        Set<String> wanted = Arrays.stream(selection.split(",")).map(String::strip).filter(s -> !s.isEmpty())
                .collect(Collectors.toCollection(LinkedHashSet::new));
        Set<String> known = index.stream().map(Shipped::id).collect(Collectors.toSet());
        for (String id : wanted) {
            if (!known.contains(id)) {
                problems.add("shippedPlugins names '" + id + "', which this server does not ship (it ships "
                        + index.stream().map(Shipped::id).toList() + ")");
                LOG.warn("event=shipped_plugin_unknown plugin={} shipped={}", id, known);
            }
        }
        return index.stream().filter(s -> wanted.contains(s.id())).toList();
    }

    private static String describe(ShippedSeeding.Decision decision) {
        return switch (decision) {
            case INSTALL -> "installed (first start)";
            case UPGRADE -> "upgraded to the shipped version";
            case CURRENT -> "already at the shipped version";
            case LEAVE -> "left as an admin set it";
        };
    }
}

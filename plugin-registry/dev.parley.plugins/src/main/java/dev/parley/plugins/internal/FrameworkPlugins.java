package dev.parley.plugins.internal;

import dev.parley.pluginhost.HostStatus;
import dev.parley.pluginhost.PluginHosts;
import dev.parley.registry.PluginDescriptor;
import dev.parley.sandbox.hooks.Confinement;
import java.io.ByteArrayInputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import java.util.function.Supplier;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.ServiceObjects;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.Version;
import org.osgi.framework.VersionRange;
import org.osgi.framework.startlevel.BundleStartLevel;
import org.osgi.framework.startlevel.FrameworkStartLevel;
import org.osgi.framework.wiring.BundleCapability;
import org.osgi.framework.wiring.BundleRevision;
import org.osgi.framework.wiring.BundleWiring;
import org.osgi.framework.wiring.FrameworkWiring;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The plugin bundles in this framework. A plugin version is installed under its own location, beside the version it
 * replaces, so the old one keeps serving until the new one has passed its health gate; then the old one is stopped
 * (its components finish what they started) and uninstalled, and only its own closure is refreshed.
 */
final class FrameworkPlugins {
    static final String LOCATION_PREFIX = dev.parley.api.plugin.PluginInfo.LOCATION_PREFIX;
    private static final Logger LOG = LoggerFactory.getLogger(FrameworkPlugins.class);

    /** What the health gate found: {@code needsConfiguration} lists components waiting for their configuration. */
    record Gate(List<String> needsConfiguration) {
    }

    private final BundleContext context;
    private final ServiceComponentRuntime scr;
    /** Bundles of replaced versions, still finishing their turns before they are removed: never "the" plugin. */
    private final Set<Long> retiring = java.util.concurrent.ConcurrentHashMap.newKeySet();
    private final Map<Long, Object> removals = new java.util.concurrent.ConcurrentHashMap<>();
    private final int startLevel;
    private final Duration gateTimeout;
    private final Runnable gateFailed;
    private final Confinement confinement;

    /**
     * @param gateFailed  called each time a plugin version fails its health gate
     * @param confinement the plugin sandbox (ADR 29): why it refused a bundle, for the reason a start failed
     */
    /** Runs plugins out of process (ADR 31); null while absent. */
    private final Supplier<PluginHosts> pluginHosts;

    FrameworkPlugins(BundleContext context, ServiceComponentRuntime scr, int startLevel, Duration gateTimeout,
            Runnable gateFailed, Confinement confinement, Supplier<PluginHosts> pluginHosts) {
        this.pluginHosts = pluginHosts;
        this.context = context;
        this.scr = scr;
        this.startLevel = startLevel;
        this.gateTimeout = gateTimeout;
        this.gateFailed = gateFailed;
        this.confinement = confinement;
    }

    /** The framework's start level now; plugins run only once it has reached theirs. */
    int activeStartLevel() {
        return context.getBundle(0).adapt(FrameworkStartLevel.class).getStartLevel();
    }

    int startLevel() {
        return startLevel;
    }

    static String location(String pluginId, String version) {
        return LOCATION_PREFIX + pluginId + "@" + version;
    }

    /**
     * Where to install the same version of a plugin again beside {@code current} (moved in or out of process, or to
     * other host limits): its own location, or, while {@code current} holds that one, the same with {@code #moved}
     * after it. Everything that knows a plugin by its location reads the id before the last {@code @}.
     */
    static String locationBeside(Bundle current, String pluginId, String version) {
        String plain = location(pluginId, version);
        return plain.equals(current.getLocation()) ? plain + MOVED_SUFFIX : plain;
    }

    /** What {@link #locationBeside} appends while the plugin's own location is taken. */
    static final String MOVED_SUFFIX = "#moved";

    /** Marks a replaced version: it finishes its turns and is removed, but no longer counts as installed. */
    void retiring(Bundle bundle) {
        retiring.add(bundle.getBundleId());
    }

    /** Installed plugin bundles by plugin id, retiring ones left out; if two remain, the newest version. */
    Map<String, Bundle> installed() {
        Map<String, Bundle> byId = new TreeMap<>();
        for (Bundle b : context.getBundles()) {
            String loc = b.getLocation();
            if (loc.startsWith(LOCATION_PREFIX) && b.getState() != Bundle.UNINSTALLED && !retiring.contains(b.getBundleId())) {
                String id = loc.substring(LOCATION_PREFIX.length(), loc.lastIndexOf('@'));
                byId.merge(id, b, (x, y) -> x.getVersion().compareTo(y.getVersion()) >= 0 ? x : y);
            }
        }
        return byId;
    }

    Optional<Bundle> installed(String pluginId) {
        return Optional.ofNullable(installed().get(pluginId));
    }

    /**
     * The provider plugins active on this node, by plugin id, each as {@link #pluginBundle} finds it: the bundle this
     * runtime installed, else the active bundle the distribution started. One pass over the bundles.
     */
    Map<String, Bundle> providerPlugins() {
        Map<String, Bundle> installed = installed();
        Map<String, Bundle> out = new TreeMap<>();
        for (Bundle b : context.getBundles()) {
            String header = b.getState() == Bundle.ACTIVE ? b.getHeaders("").get(dev.parley.api.plugin.PluginInfo.HEADER)
                    : null;
            if (header != null && TenantProviders.isProvider(b)) {
                String id = header.split("[;,]", 2)[0].strip();
                Bundle runtimes = installed.get(id);
                out.merge(id, runtimes != null ? runtimes : b, (first, next) -> first);
            }
        }
        return out;
    }

    /**
     * The bundle of {@code pluginId} on this node: the one this runtime installed, else an active bundle the
     * distribution started whose {@code Parley-Plugin} header names that id.
     */
    Optional<Bundle> pluginBundle(String pluginId) {
        Optional<Bundle> installed = installed(pluginId);
        if (installed.isPresent()) {
            return installed;
        }
        for (Bundle b : context.getBundles()) {
            String header = b.getState() == Bundle.ACTIVE ? b.getHeaders("").get(dev.parley.api.plugin.PluginInfo.HEADER)
                    : null;
            if (header != null && pluginId.equals(header.split("[;,]", 2)[0].strip())) {
                return Optional.of(b);
            }
        }
        return Optional.empty();
    }

    /**
     * Checks every mandatory package import against what the framework exports now, before anything is installed.
     * The framework resolver has the last word when the bundle starts; this gives the admin the reason up front.
     *
     * @return the problems, empty when every import is satisfied
     */
    List<String> unsatisfiedImports(PluginDescriptor descriptor) {
        List<String> problems = new ArrayList<>();
        for (var e : descriptor.imports().entrySet()) {
            String pkg = e.getKey();
            if (pkg.startsWith("java.")) {
                continue;
            }
            VersionRange range = e.getValue() == null || e.getValue().isBlank() ? null : new VersionRange(e.getValue());
            List<Version> offered = exportedVersions(pkg);
            boolean ok = offered.stream().anyMatch(v -> range == null || range.includes(v));
            if (!ok) {
                problems.add(offered.isEmpty()
                        ? "needs package " + pkg + (range == null ? "" : " " + range) + ", which nothing in this Parley exports"
                        : "needs package " + pkg + " " + range + ", but this Parley offers " + offered);
            }
        }
        return problems;
    }

    private List<Version> exportedVersions(String pkg) {
        List<Version> versions = new ArrayList<>();
        for (Bundle b : context.getBundles()) {
            BundleRevision revision = b.adapt(BundleRevision.class);
            if (revision == null || b.getLocation().startsWith(LOCATION_PREFIX)) {
                continue; // plugins export nothing; never wire one plugin to another
            }
            for (BundleCapability cap : revision.getDeclaredCapabilities(BundleRevision.PACKAGE_NAMESPACE)) {
                if (pkg.equals(cap.getAttributes().get(BundleRevision.PACKAGE_NAMESPACE))) {
                    Object v = cap.getAttributes().get("version");
                    versions.add(v instanceof Version ver ? ver : Version.emptyVersion);
                }
            }
        }
        // The system bundle's JDK packages (javax.*, org.w3c.*, …) come from the same capability list.
        versions.sort(Comparator.naturalOrder());
        return versions;
    }

    /**
     * Installs, starts and health-gates a plugin version beside whatever version runs now. On any failure the new
     * bundle is uninstalled again (and its closure refreshed) before the exception leaves.
     *
     * @param start false to install it disabled (stopped)
     */
    Gate installBeside(String pluginId, String version, byte[] artifact, boolean start) {
        return installBeside(location(pluginId, version), artifact, start);
    }

    /** {@link #installBeside(String, String, byte[], boolean)} at {@code location}. */
    Gate installBeside(String location, byte[] artifact, boolean start) {
        Bundle existing = context.getBundle(location);
        if (existing != null) {
            // Left from an interrupted attempt: start over from the verified bytes.
            remove(existing);
        }
        Bundle bundle;
        try {
            bundle = context.installBundle(location, new ByteArrayInputStream(artifact));
        } catch (BundleException e) {
            throw new PluginRejected("the framework refused the bundle: " + e.getMessage(), e);
        }
        try {
            bundle.adapt(BundleStartLevel.class).setStartLevel(startLevel);
            if (!start) {
                return new Gate(List.of());
            }
            try {
                bundle.start();
            } catch (BundleException e) {
                throw new PluginRejected("the bundle did not start: " + rootMessage(e) + sandboxRefusals(bundle), e);
            }
            return healthGate(bundle);
        } catch (RuntimeException e) {
            remove(bundle);
            throw e;
        }
    }

    void start(Bundle bundle) {
        try {
            bundle.start();
        } catch (BundleException e) {
            throw new PluginRejected("the bundle did not start: " + rootMessage(e) + sandboxRefusals(bundle), e);
        }
        healthGate(bundle);
    }

    /** Stops a plugin; its components finish their in-flight work in their deactivate methods. */
    void stop(Bundle bundle) {
        try {
            bundle.stop();
        } catch (BundleException e) {
            LOG.warn("event=plugin_stop_failed bundle={} reason=\"{}\"", bundle.getSymbolicName(), e.getMessage());
        }
    }

    /** Stops, uninstalls and refreshes one plugin bundle; the refresh touches only the bundle's own closure. */
    void remove(Bundle bundle) {
        try {
            removeNow(bundle);
        } finally {
            retiring.remove(bundle.getBundleId());
        }
    }

    private void removeNow(Bundle bundle) {
        // A retirement in the background and an admin step may both remove one bundle: one at a time. (Our own
        // monitor: the framework may lock on its bundle objects.)
        Object guard = removals.computeIfAbsent(bundle.getBundleId(), id -> new Object());
        try {
            synchronized (guard) {
                if (bundle.getState() == Bundle.UNINSTALLED) {
                    return;
                }
                removeInstalled(bundle);
            }
        } finally {
            removals.remove(bundle.getBundleId(), guard);
        }
    }

    private void removeInstalled(Bundle bundle) {
        stop(bundle);
        FrameworkWiring wiring = context.getBundle(0).adapt(FrameworkWiring.class);
        Collection<Bundle> closure = wiring.getDependencyClosure(List.of(bundle));
        if (closure.size() > 1) {
            // Plugins export nothing, so this means something wired to a plugin; refresh it anyway, but say so.
            LOG.warn("event=plugin_refresh_closure bundle={} closure={}", bundle.getSymbolicName(),
                    closure.stream().map(Bundle::getSymbolicName).toList());
        }
        try {
            bundle.uninstall();
        } catch (BundleException | IllegalStateException e) {
            LOG.warn("event=plugin_uninstall_failed bundle={} reason=\"{}\"", bundle.getSymbolicName(), e.getMessage());
        }
        CountDownLatch refreshed = new CountDownLatch(1);
        wiring.refreshBundles(List.of(bundle), event -> {
            if (event.getType() == FrameworkEvent.PACKAGES_REFRESHED || event.getType() == FrameworkEvent.ERROR) {
                refreshed.countDown();
            }
        });
        try {
            if (!refreshed.await(gateTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
                LOG.warn("event=plugin_refresh_slow bundle={}", bundle.getSymbolicName());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /**
     * Every component of the bundle must come up: none failed to activate, none still missing a reference when the
     * gate times out, and every service it registers can be obtained (which activates delayed components).
     * Components that wait for configuration pass, and are reported.
     */
    Gate healthGate(Bundle bundle) {
        try {
            return gate(bundle);
        } catch (PluginRejected e) {
            gateFailed.run();
            throw e;
        }
    }

    private Gate gate(Bundle bundle) {
        long deadline = System.nanoTime() + gateTimeout.toNanos();
        while (true) {
            if (bundle.getState() != Bundle.ACTIVE) {
                int active = activeStartLevel();
                throw new PluginRejected(active < startLevel
                        ? "Parley is still starting (start level " + active + " of " + startLevel + "); try again shortly"
                        : "the bundle is not active (state " + bundle.getState() + ")");
            }
            List<String> failed = new ArrayList<>();
            List<String> waiting = new ArrayList<>();
            List<String> needsConfig = new ArrayList<>();
            for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs(bundle)) {
                if (!scr.isComponentEnabled(d)) {
                    continue;
                }
                Collection<ComponentConfigurationDTO> configs = scr.getComponentConfigurationDTOs(d);
                if (configs.isEmpty() && "require".equals(d.configurationPolicy)) {
                    needsConfig.add(d.name);
                }
                for (ComponentConfigurationDTO c : configs) {
                    switch (c.state) {
                        case ComponentConfigurationDTO.FAILED_ACTIVATION ->
                                // SCR's failure is the whole stack trace: the admin gets its first line.
                                failed.add(d.name + " failed to activate: " + (c.failure == null ? "unknown"
                                        : c.failure.lines().findFirst().orElse(c.failure)));
                        case ComponentConfigurationDTO.UNSATISFIED_REFERENCE -> waiting.add(d.name + " is missing "
                                + java.util.Arrays.stream(c.unsatisfiedReferences).map(r -> r.name + " (" + r.target + ")").toList());
                        case ComponentConfigurationDTO.UNSATISFIED_CONFIGURATION -> needsConfig.add(d.name);
                        default -> { }
                    }
                }
            }
            String hostFailure = hostFailed(bundle);
            if (hostFailure != null) {
                failed.add(hostFailure); // it stays so until its host's next start
            }
            String host = hostNotReady(bundle);
            if (host != null) {
                waiting.add(host);
            }
            if (!failed.isEmpty()) {
                throw new PluginRejected(String.join("; ", failed));
            }
            if (waiting.isEmpty()) {
                String broken = activateServices(bundle);
                if (broken != null) {
                    throw new PluginRejected(broken);
                }
                return new Gate(needsConfig);
            }
            if (System.nanoTime() > deadline) {
                throw new PluginRejected("health gate timed out after " + gateTimeout.toMillis() + " ms: "
                        + String.join("; ", waiting));
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(25));
        }
    }

    /**
     * For a plugin run out of process (its stand-in, ADR 31): why it is not serving yet (its host not connected, or no
     * provider announced), or null once it is. Null for a plugin in process.
     */
    private String hostNotReady(Bundle bundle) {
        if (bundle.getHeaders("").get(PluginHosts.HEADER) == null) {
            return null;
        }
        PluginHosts hosts = pluginHosts.get();
        if (hosts == null) {
            return "no plugin host runs it (bundle dev.parley.pluginhost is not active)";
        }
        HostStatus status = hosts.host(bundle.getBundleId()).orElse(null);
        if (status == null) {
            return "its plugin host was not started";
        }
        if (!"running".equals(status.state()) || status.providers().isEmpty()) {
            return "its plugin host is " + status.state() + (status.providers().isEmpty() ? " with no provider yet" : "")
                    + (status.lastExit() == null ? "" : " (last exit: " + status.lastExit() + ")");
        }
        return null;
    }

    /**
     * For a plugin run out of process: why it did not start in its plugin host, as the host reported it (the
     * framework's error and what the sandbox refused it there, ADR 31), or null.
     */
    private String hostFailed(Bundle bundle) {
        PluginHosts hosts = bundle.getHeaders("").get(PluginHosts.HEADER) == null ? null : pluginHosts.get();
        HostStatus status = hosts == null ? null : hosts.host(bundle.getBundleId()).orElse(null);
        if (status == null || !"failed".equals(status.plugin())) {
            return null;
        }
        return "it did not start in its plugin host: " + status.pluginError()
                + (status.refusals().isEmpty() ? "" : " (sandbox: " + String.join("; ", status.refusals()) + ")");
    }

    private String activateServices(Bundle bundle) {
        ServiceReference<?>[] refs = bundle.getRegisteredServices();
        if (refs == null) {
            return null;
        }
        for (ServiceReference<?> ref : refs) {
            ServiceObjects<?> objects = context.getServiceObjects(ref);
            if (objects == null) {
                continue; // unregistered meanwhile
            }
            Object service = getQuietly(objects);
            if (service == null) {
                String name = String.valueOf(ref.getProperty("component.name"));
                return "component " + name + " failed to activate" + failureOf(bundle, name);
            }
            ungetQuietly(objects, service);
        }
        return null;
    }

    @SuppressWarnings({"rawtypes", "unchecked"})
    private static void ungetQuietly(ServiceObjects objects, Object service) {
        try {
            objects.ungetService(service);
        } catch (RuntimeException ignored) {
            // already gone
        }
    }

    private static Object getQuietly(ServiceObjects<?> objects) {
        try {
            return objects.getService();
        } catch (RuntimeException e) {
            return null;
        }
    }

    private String failureOf(Bundle bundle, String componentName) {
        for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs(bundle)) {
            if (d.name.equals(componentName)) {
                for (ComponentConfigurationDTO c : scr.getComponentConfigurationDTOs(d)) {
                    if (c.failure != null) {
                        return ": " + c.failure.lines().findFirst().orElse(c.failure);
                    }
                }
            }
        }
        return "";
    }

    /** What the plugin sandbox refused the bundle (a package it may not import, ...), as a sentence to append. */
    private String sandboxRefusals(Bundle bundle) {
        List<String> refusals = confinement.refusals(bundle);
        return refusals.isEmpty() ? "" : "; the plugin sandbox refused it: " + String.join("; ", refusals);
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        StringBuilder sb = new StringBuilder(String.valueOf(e.getMessage()));
        Set<Throwable> seen = new java.util.HashSet<>();
        while (t.getCause() != null && seen.add(t)) {
            t = t.getCause();
            sb.append(" — caused by ").append(t.getClass().getSimpleName()).append(": ").append(t.getMessage());
        }
        return sb.toString();
    }

    /** Whether a wiring exists (resolved) — used in state reports. */
    static boolean resolved(Bundle bundle) {
        return bundle.adapt(BundleWiring.class) != null;
    }
}

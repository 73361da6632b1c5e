package dev.parley.pluginhost.internal;

import dev.parley.api.plugin.PluginInfo;
import dev.parley.pluginhost.HostLimits;
import dev.parley.pluginhost.HostStatus;
import dev.parley.pluginhost.PluginHosts;
import dev.parley.pluginhost.agent.rpc.DaemonThreads;
import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleEvent;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.Deactivate;
import org.osgi.service.component.annotations.Modified;
import org.osgi.service.component.annotations.Reference;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.cm.ConfigurationEvent;
import org.osgi.service.cm.ConfigurationListener;
import org.osgi.service.metatype.annotations.Designate;
import org.osgi.util.tracker.BundleTracker;
import org.osgi.util.tracker.BundleTrackerCustomizer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs the plugins whose stand-ins are active in a plugin host each (ADR 31): an extender over the stand-in bundles
 * ({@link PluginHosts#HEADER}), which starts a supervised host when one starts and stops it when it stops.
 */
@Component(service = {PluginHosts.class, ConfigurationListener.class}, immediate = true,
        configurationPid = PluginHostConfig.PID)
@Designate(ocd = PluginHostConfig.class)
public final class PluginHostsService implements PluginHosts, ConfigurationListener {
    private static final Logger LOG = LoggerFactory.getLogger(PluginHostsService.class);

    private final BundleContext context;
    private final HostRuntime runtime;
    /** What the host's sandbox hooks protect: the server's directories and HTTP port (ADR 31). */
    private final Map<String, String> hostProperties;
    private final ScheduledExecutorService timers;
    private final ExecutorService io;
    private final Map<Long, SupervisedHost> hosts = new ConcurrentHashMap<>();
    private final BundleTracker<SupervisedHost> tracker;
    private volatile HostSettings settings;
    private final ConfigurationAdmin configAdmin;
    private final java.util.concurrent.atomic.AtomicLong cgroupNames = new java.util.concurrent.atomic.AtomicLong();

    @Activate
    public PluginHostsService(BundleContext context, PluginHostConfig config,
            @Reference ConfigurationAdmin configAdmin) throws IOException {
        this.context = context;
        this.configAdmin = configAdmin;
        this.settings = HostSettings.of(config);
        this.runtime = HostRuntime.extract(context.getBundle(), context.getDataFile("host-runtime").toPath());
        this.hostProperties = hostProperties(context);
        this.timers = Executors.newScheduledThreadPool(1, DaemonThreads.named("parley-pluginhost-timer"));
        this.io = Executors.newCachedThreadPool(DaemonThreads.named("parley-pluginhost-io"));
        int left = cgroups(settings).removeLeftovers();
        if (left > 0) {
            LOG.info("event=plugin_host_cgroups_cleaned removed={}", left);
        }
        this.tracker = new BundleTracker<>(context, Bundle.ACTIVE, new StandInTracker());
        tracker.open();
    }

    @Modified
    void modified(PluginHostConfig config) {
        settings = HostSettings.of(config);
    }

    @Deactivate
    void deactivate() {
        tracker.close();
        for (SupervisedHost h : hosts.values()) {
            h.stop();
        }
        hosts.clear();
        timers.shutdownNow();
        io.shutdownNow();
    }

    /**
     * A configuration changed in the server: each host whose plugin reads it gets it (Configuration Admin delivers
     * these events on a thread of its own, in order).
     */
    @Override
    public void configurationEvent(ConfigurationEvent event) {
        for (SupervisedHost h : hosts.values()) {
            if (h.reads(event.getPid(), event.getFactoryPid())) {
                h.configurationChanged(event.getPid());
            }
        }
    }

    @Override
    public byte[] standIn(byte[] pluginJar, HostLimits limits) {
        return StandIns.of(pluginJar, limits);
    }

    @Override
    public List<HostStatus> hosts() {
        List<HostStatus> all = new ArrayList<>();
        hosts.values().forEach(h -> all.add(h.status()));
        return all;
    }

    @Override
    public Optional<HostStatus> host(long bundleId) {
        return Optional.ofNullable(hosts.get(bundleId)).map(SupervisedHost::status);
    }

    private static HostCgroups cgroups(HostSettings s) {
        return new HostCgroups(Path.of(s.cgroupRoot()), s.cgroupParent(), Path.of("/proc/self/cgroup"), s.cgroups());
    }

    /** A new cgroup for a process of {@code pluginId}'s host: {@code <plugin>-<n>} under the parent. */
    private HostCgroups.Placement cgroup(String pluginId, HostLimits limits) {
        if (!Files.isExecutable(Path.of("/bin/sh"))) {
            return HostCgroups.Placement.none("no /bin/sh to start the host in its cgroup");
        }
        String name = pluginId.replaceAll("[^A-Za-z0-9._-]", "_") + "-" + cgroupNames.incrementAndGet();
        return cgroups(settings).create(name, limits);
    }

    private final class StandInTracker implements BundleTrackerCustomizer<SupervisedHost> {
        @Override
        public SupervisedHost addingBundle(Bundle bundle, BundleEvent event) {
            String header = bundle.getHeaders("").get(HEADER);
            URL jar = bundle.getEntry(JAR_ENTRY);
            if (header == null || jar == null) {
                return null;
            }
            String plugin = bundle.getHeaders("").get(PluginInfo.HEADER);
            String pluginId = plugin == null ? bundle.getSymbolicName() : plugin.split("[;,]", 2)[0].strip();
            try {
                Path dir = context.getDataFile("hosts/" + bundle.getBundleId()).toPath();
                Files.createDirectories(dir);
                Path pluginJar = dir.resolve("plugin.jar");
                try (InputStream in = jar.openStream()) {
                    Files.copy(in, pluginJar, StandardCopyOption.REPLACE_EXISTING);
                }
                SupervisedHost host = new SupervisedHost(bundle, pluginId, HostLimits.parse(header), dir, pluginJar,
                        runtime, hostProperties, () -> settings, timers, io, PluginHostsService.this::cgroup,
                        PluginPids.of(pluginJar), () -> configAdmin);
                hosts.put(bundle.getBundleId(), host);
                host.start();
                return host;
            } catch (IOException | RuntimeException e) {
                LOG.error("event=plugin_host_not_started plugin={} bundle={} error=\"{}\"", pluginId,
                        bundle.getBundleId(), e.toString());
                return null;
            }
        }

        @Override
        public void modifiedBundle(Bundle bundle, BundleEvent event, SupervisedHost host) {
            // nothing: a stand-in's host runs while it is active
        }

        @Override
        public void removedBundle(Bundle bundle, BundleEvent event, SupervisedHost host) {
            hosts.remove(bundle.getBundleId(), host);
            host.stop();
        }
    }

    /**
     * The framework properties the host's sandbox hooks read (ADR 30): the server's configuration and data
     * directories (absolute: the host runs elsewhere) and its HTTP port, which the plugin's classes may not reach
     * there either.
     */
    static Map<String, String> hostProperties(BundleContext context) {
        Map<String, String> out = new java.util.TreeMap<>();
        for (String key : new String[] {"parley.config.dir", "parley.data.dir"}) {
            String v = context.getProperty(key);
            if (v != null && !v.isBlank()) {
                out.put(key, Path.of(v.strip()).toAbsolutePath().normalize().toString());
            }
        }
        for (String key : new String[] {"org.osgi.service.http.port", "org.osgi.service.http.port.secure"}) {
            String v = context.getProperty(key);
            if (v != null && !v.isBlank()) {
                out.put(key, v.strip());
            }
        }
        return Map.copyOf(out);
    }
}

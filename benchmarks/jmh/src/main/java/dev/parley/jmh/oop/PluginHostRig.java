package dev.parley.jmh.oop;

import dev.parley.api.llm.ChatModelProvider;
import dev.parley.jmh.plugin.BenchPluginJar;
import dev.parley.pluginhost.HostLimits;
import dev.parley.pluginhost.HostStatus;
import dev.parley.pluginhost.PluginHosts;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;
import org.osgi.util.tracker.ServiceTracker;

/**
 * The server's side of the out-of-process tier as the server runs it, inside the benchmark's JVM: a Felix framework
 * with Declarative Services and the plugin host's server bundle ({@code dev.parley.pluginhost}, unchanged, from this
 * jar's {@code oop/}), the benchmark plugin's stand-in made by {@link PluginHosts#standIn} and installed, so that
 * {@code PluginHostsService} starts its plugin-host JVM (Felix, the sandbox hooks, SCR, the API, the agent, the
 * plugin) exactly as in production and registers the proxy ({@code RemoteChatProvider}) the benchmark calls.
 * The framework exports this class path's API, Jackson and SLF4J, so the proxy's classes are the benchmark's.
 */
public final class PluginHostRig implements AutoCloseable {
    /** SCR and what it needs: the same jars the plugin host runs, read out of the server bundle's {@code host/}. */
    private static final List<String> SCR = List.of("org.osgi.util.function.jar", "org.osgi.util.promise.jar",
            "org.osgi.service.component.jar", "org.apache.felix.scr.jar");

    private final Path dir;
    private final Framework framework;
    private final PluginHosts hosts;
    private final Bundle standIn;
    private final ChatModelProvider provider;
    private final long hostPid;

    private PluginHostRig(Path dir, Framework framework, PluginHosts hosts, Bundle standIn, ChatModelProvider provider,
            long hostPid) {
        this.dir = dir;
        this.framework = framework;
        this.hosts = hosts;
        this.standIn = standIn;
        this.provider = provider;
        this.hostPid = hostPid;
    }

    /** Starts the framework and a plugin host running the benchmark plugin; returns once its provider is served. */
    public static PluginHostRig start(String providerId, String model) throws Exception {
        Path dir = Files.createTempDirectory("parley-jmh-oop-");
        Path serverBundle = dir.resolve("dev.parley.pluginhost.jar");
        try (InputStream in = PluginHostRig.class.getResourceAsStream("/oop/dev.parley.pluginhost.jar")) {
            if (in == null) {
                throw new IllegalStateException("oop/dev.parley.pluginhost.jar is missing from the benchmark jar");
            }
            Files.copy(in, serverBundle);
        }
        Map<String, String> config = new HashMap<>();
        config.put(Constants.FRAMEWORK_STORAGE, dir.resolve("felix").toString());
        config.put(Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT);
        config.put(Constants.FRAMEWORK_SYSTEMPACKAGES_EXTRA, fromClassPath(serverBundle));
        Framework framework = ServiceLoader.load(FrameworkFactory.class).iterator().next().newFramework(config);
        framework.start();
        try {
            BundleContext context = framework.getBundleContext();
            List<Bundle> started = new ArrayList<>();
            try (JarFile jar = new JarFile(serverBundle.toFile())) {
                for (String name : SCR) {
                    try (InputStream in = jar.getInputStream(jar.getEntry("host/" + name))) {
                        started.add(context.installBundle("jmh:" + name, in));
                    }
                }
            }
            started.add(context.installBundle(serverBundle.toUri().toString()));
            for (Bundle b : started) {
                b.start();
            }
            ServiceTracker<PluginHosts, PluginHosts> tracker = new ServiceTracker<>(context, PluginHosts.class, null);
            tracker.open();
            PluginHosts hosts = tracker.waitForService(30_000);
            if (hosts == null) {
                throw new IllegalStateException("PluginHosts did not appear (or is not this class path's type): "
                        + states(context));
            }
            byte[] standInJar = hosts.standIn(BenchPluginJar.of("jmh.bench", providerId, model),
                    HostLimits.UNTRUSTED_DEFAULTS);
            Bundle standIn = context.installBundle("parley-plugin:jmh.bench@1.0.0",
                    new ByteArrayInputStream(standInJar));
            standIn.start();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            HostStatus status = null;
            ChatModelProvider provider = null;
            while (provider == null) {
                status = hosts.host(standIn.getBundleId()).orElse(null);
                if (status != null && "running".equals(status.state()) && status.providers().contains(providerId)) {
                    var refs = context.getServiceReferences(ChatModelProvider.class,
                            "(parley.provider.id=" + providerId + ")");
                    if (!refs.isEmpty()) {
                        ServiceReference<ChatModelProvider> ref = refs.iterator().next();
                        provider = context.getService(ref);
                    }
                }
                if (provider == null) {
                    if (System.nanoTime() > deadline) {
                        throw new IllegalStateException("the plugin host did not serve " + providerId + ": " + status
                                + "; its log: " + dir.resolve("felix"));
                    }
                    Thread.sleep(20); // a set-up poll, not measured
                }
            }
            System.out.println("plugin host: pid " + status.pid() + ", proxy " + provider);
            return new PluginHostRig(dir, framework, hosts, standIn, provider, status.pid());
        } catch (Exception | Error e) {
            framework.stop();
            framework.waitForStop(10_000);
            throw e;
        }
    }

    /** The proxy the stand-in registered: each call is a round trip to the plugin host. */
    public ChatModelProvider provider() {
        return provider;
    }

    /** The plugin host's process id. */
    public long hostPid() {
        return hostPid;
    }

    /** Whether the host serving now is still the one the rig started (a restart would make the figures lie). */
    public boolean sameHost() {
        return hosts.host(standIn.getBundleId()).map(HostStatus::pid).orElse(-1L) == hostPid;
    }

    /** The plugin host's CPU time so far (user + system, every thread, from {@code /proc/<pid>/stat}), in ns. */
    public long hostCpuNanos() {
        return ProcCpu.nanos(hostPid);
    }

    @Override
    public void close() throws Exception {
        try {
            framework.stop();
            framework.waitForStop(20_000);
        } finally {
            try (Stream<Path> files = Files.walk(dir)) {
                files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
    }

    /**
     * {@code org.osgi.framework.system.packages.extra}: each package the server bundle imports from outside the JDK
     * and the framework (the API, Jackson, SLF4J, its own API package), exported by the system bundle from this class
     * path at the lowest version the bundle accepts.
     */
    static String fromClassPath(Path bundle) {
        String imports;
        try (JarFile jar = new JarFile(bundle.toFile())) {
            imports = jar.getManifest().getMainAttributes().getValue(Constants.IMPORT_PACKAGE);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        List<String> exports = new ArrayList<>();
        for (String clause : clauses(imports)) {
            String pkg = clause.split(";", 2)[0].strip();
            if (pkg.startsWith("java.") || pkg.startsWith("org.osgi.")) {
                continue;
            }
            var m = java.util.regex.Pattern.compile("version=\"[\\[(]?([0-9.]+)").matcher(clause);
            exports.add(pkg + (m.find() ? ";version=" + m.group(1) : ""));
        }
        return String.join(",", exports);
    }

    /** The clauses of a manifest header: split at commas outside quotes. */
    private static List<String> clauses(String header) {
        List<String> out = new ArrayList<>();
        StringBuilder clause = new StringBuilder();
        boolean quoted = false;
        for (char c : header.toCharArray()) {
            if (c == '"') {
                quoted = !quoted;
            }
            if (c == ',' && !quoted) {
                out.add(clause.toString());
                clause.setLength(0);
            } else {
                clause.append(c);
            }
        }
        out.add(clause.toString());
        return out;
    }

    private static String states(BundleContext context) {
        StringBuilder s = new StringBuilder();
        for (Bundle b : context.getBundles()) {
            s.append(b.getSymbolicName()).append('=').append(b.getState()).append(' ');
        }
        return s.toString();
    }
}

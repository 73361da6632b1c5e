package dev.parley.sandbox.hooks.internal;

import dev.parley.sandbox.hooks.runtime.CallChecks;
import dev.parley.sandbox.hooks.runtime.CheckKind;
import dev.parley.sandbox.hooks.runtime.PluginChecks;
import dev.parley.sandbox.hooks.runtime.PluginStopped;
import java.io.File;
import java.io.IOException;
import java.lang.reflect.AccessibleObject;
import java.lang.reflect.Constructor;
import java.lang.reflect.Member;
import java.lang.reflect.Modifier;
import java.net.DatagramPacket;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.NetworkInterface;
import java.net.SocketException;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.UnknownHostException;
import java.net.http.HttpRequest;
import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.InvalidPathException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.WeakHashMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleEvent;
import org.osgi.framework.BundleReference;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceEvent;
import org.osgi.framework.ServiceListener;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.SynchronousBundleListener;

/**
 * The decisions behind the checks woven into plugin classes (ADR 30): each plugin's grants (its
 * {@code Parley-Permissions}), its token, its threads, and Parley's own ports and directories. A refusal throws
 * {@link SecurityException} naming the plugin, the rule and the target, is counted per plugin and rule, and is logged
 * (WARN) the first time for that plugin and rule; a plugin whose tier says {@code enforce=report} is let through,
 * counted and logged the same way.
 *
 * <p>When a woven plugin is stopped (quarantined, disabled, upgraded, uninstalled, or the server stops), the threads it
 * started itself are interrupted, and for {@link #STOP_WINDOW_NANOS} every plugin's loops ask {@link #loop} at each
 * turn: a thread that turns loops of a stopped plugin {@link #SPIN_TURNS} times in that window is spinning, and gets
 * {@link PluginStopped} at its next turn, whatever the tier. Library threads that linger after a stop (a timer's tick,
 * a connection pool's clean-up) turn a few times and are left alone: killing them would leave the library's static
 * state broken for the plugin's next start, which reuses its class loader.
 */
final class RuntimeEnforcement implements CallChecks, SynchronousBundleListener, ServiceListener {
    static final String ENDPOINTS = "(osgi.http.endpoint=*)";

    private final BundleContext context;
    private final PluginBundles plugins;
    private final Policy policy;
    private final SecureRandom random = new SecureRandom();
    private final Map<Long, String> tokens = new ConcurrentHashMap<>();
    private final Map<String, Bundle> byToken = new ConcurrentHashMap<>();
    private final Map<Long, PluginGrants> grants = new ConcurrentHashMap<>();
    private final Map<Long, Map<Thread, Boolean>> threads = new ConcurrentHashMap<>();
    private final Map<Long, Set<String>> logged = new ConcurrentHashMap<>();
    /** Tokens of stopped plugins → their name: their loops end at the next turn. */
    private final Map<String, String> stopped = new ConcurrentHashMap<>();
    /** How long after a plugin's stop loops are watched for spinning. */
    static final long STOP_WINDOW_NANOS = TimeUnit.SECONDS.toNanos(2);
    /** Turns of a stopped plugin's loops that make a thread a spinning one (a busy loop makes them in milliseconds). */
    static final int SPIN_TURNS = 10_000;
    /** Per thread: the stopped plugin whose loops it turns, and how often it turned them. */
    private final ThreadLocal<Turns> turns = new ThreadLocal<>();
    private volatile long stopWindowNanos = STOP_WINDOW_NANOS;
    private volatile long lastStop = System.nanoTime() - STOP_WINDOW_NANOS - 1;
    /** Ends each stop's window: the loops of running plugins stop asking. */
    private ScheduledExecutorService windows;
    private final List<Path> protectedDirs;
    private volatile Set<Integer> ownPorts = Set.of();

    RuntimeEnforcement(BundleContext context, PluginBundles plugins, Policy policy) {
        this.context = context;
        this.plugins = plugins;
        this.policy = policy;
        // The configuration and data directories hold the admin token, secrets and every bundle's files; /proc holds
        // the process's environment and memory. A plugin's own data area (under the data directory) is its own.
        this.protectedDirs = java.util.stream.Stream.of(context.getProperty("parley.config.dir"),
                context.getProperty("parley.data.dir"), "/proc")
                .filter(d -> d != null && !d.isBlank()).map(d -> real(Path.of(d))).toList();
    }

    /** The token woven into {@code bundle}'s classes: random, one per bundle, never shown. */
    String token(Bundle bundle) {
        return tokens.computeIfAbsent(bundle.getBundleId(), id -> {
            byte[] b = new byte[16];
            random.nextBytes(b);
            String t = "parley-sandbox:" + HexFormat.of().formatHex(b);
            byToken.put(t, bundle);
            return t;
        });
    }

    void start() {
        windows = Executors.newSingleThreadScheduledExecutor(r -> {
            Thread t = new Thread(r, "parley-sandbox-stop-window");
            t.setDaemon(true);
            return t;
        });
        context.addBundleListener(this);
        try {
            context.addServiceListener(this, ENDPOINTS);
        } catch (InvalidSyntaxException e) {
            throw new IllegalStateException(e);
        }
        refreshPorts();
    }

    void stop() {
        context.removeServiceListener(this);
        context.removeBundleListener(this);
        windows.shutdownNow();
        PluginChecks.stopping(false);
    }

    @Override
    public void bundleChanged(BundleEvent event) {
        if (event.getType() == BundleEvent.STOPPED) {
            stopped(event.getBundle());
        } else if (event.getType() == BundleEvent.STARTING) {
            String t = tokens.get(event.getBundle().getBundleId());
            if (t != null) {
                stopped.remove(t);
            }
        }
        long id = event.getBundle().getBundleId();
        if (event.getType() == BundleEvent.UPDATED || event.getType() == BundleEvent.UNRESOLVED) {
            grants.remove(id);
        } else if (event.getType() == BundleEvent.UNINSTALLED) {
            grants.remove(id);
            threads.remove(id);
            logged.remove(id);
            String t = tokens.remove(id);
            if (t != null) {
                byToken.remove(t);
            }
        }
        if (event.getType() == BundleEvent.UPDATED) {
            logged.remove(id);
        }
    }

    /**
     * A woven plugin stopped: the threads it started are interrupted (a thread waiting wakes, and its loops are
     * watched as every thread's are) and its loops are watched for spinning for {@link #STOP_WINDOW_NANOS}.
     */
    private void stopped(Bundle bundle) {
        String token = tokens.get(bundle.getBundleId());
        if (token == null) {
            return; // no class of it was woven
        }
        String pluginId = plugins.pluginId(bundle);
        stopped.put(token, pluginId == null ? bundle.getSymbolicName() : pluginId);
        lastStop = System.nanoTime();
        PluginChecks.stopping(true);
        ScheduledExecutorService w = windows;
        if (w != null) {
            try {
                w.schedule(this::windowEnds, stopWindowNanos, TimeUnit.NANOSECONDS);
            } catch (java.util.concurrent.RejectedExecutionException stopping) {
                // the sandbox is stopping
            }
        }
        Map<Thread, Boolean> started = threads.get(bundle.getBundleId());
        if (started != null) {
            synchronized (started) {
                for (Thread t : started.keySet()) {
                    if (t.isAlive() && t != Thread.currentThread()) {
                        t.interrupt();
                    }
                }
            }
        }
    }

    /** For tests on a loaded machine: a longer window than {@link #STOP_WINDOW_NANOS}, so turns are counted in it. */
    void stopWindow(java.time.Duration window) {
        stopWindowNanos = window.toNanos();
    }

    /** A stop's window has passed: unless another stop began one meanwhile, loops stop asking. */
    private void windowEnds() {
        if (System.nanoTime() - lastStop >= stopWindowNanos) {
            PluginChecks.stopping(false);
            if (System.nanoTime() - lastStop < stopWindowNanos) {
                PluginChecks.stopping(true); // a plugin stopped meanwhile; its own window ends later
            }
        }
    }

    @Override
    public void loop(String token) {
        // Every plugin's loops come here during a window: a running plugin's turn costs this one look-up.
        String plugin = stopped.get(token);
        if (plugin == null) {
            return;
        }
        long stop = lastStop;
        if (System.nanoTime() - stop > stopWindowNanos) {
            return;
        }
        Turns t = turns.get();
        if (t == null || !t.token.equals(token) || t.stop != stop) {
            t = new Turns(token, stop);
            turns.set(t);
        }
        if (++t.count < SPIN_TURNS) {
            return;
        }
        String message = "Parley sandbox stopped code of plugin " + plugin + " (rule stopped): the plugin was stopped "
                + "and this thread kept turning a loop in it (" + SPIN_TURNS + " turns)";
        Bundle bundle = byToken.get(token);
        if (bundle != null) {
            plugins.countCall(bundle, "stopped");
            if (logged.computeIfAbsent(bundle.getBundleId(), id -> ConcurrentHashMap.newKeySet()).add("stopped")) {
                plugins.refuse(bundle, message);
            }
        }
        Thread current = Thread.currentThread();
        if (current.getUncaughtExceptionHandler() == current.getThreadGroup()) {
            // No handler of its own: the thread's end is logged above, not printed on standard error.
            current.setUncaughtExceptionHandler(new StoppedQuietly(current.getThreadGroup()));
        }
        throw new PluginStopped(message);
    }

    /** What a thread counts while it turns a stopped plugin's loops. */
    private static final class Turns {
        final String token;
        final long stop;
        long count;

        Turns(String token, long stop) {
            this.token = token;
            this.stop = stop;
        }
    }

    /** Ends a thread that {@link PluginStopped} ended without printing it; anything else as the thread group would. */
    private record StoppedQuietly(Thread.UncaughtExceptionHandler group) implements Thread.UncaughtExceptionHandler {
        @Override
        public void uncaughtException(Thread t, Throwable e) {
            if (!(e instanceof PluginStopped)) {
                group.uncaughtException(t, e);
            }
        }
    }

    @Override
    public void serviceChanged(ServiceEvent event) {
        refreshPorts();
    }

    /** Parley's own HTTP ports: the configured one and every endpoint an HTTP runtime announces. */
    private void refreshPorts() {
        Set<Integer> ports = new HashSet<>();
        for (String p : new String[] {"org.osgi.service.http.port", "org.osgi.service.http.port.secure"}) {
            try {
                int port = Integer.parseInt(String.valueOf(context.getProperty(p)).strip());
                if (port > 0) {
                    ports.add(port);
                }
            } catch (NumberFormatException e) {
                // not set
            }
        }
        try {
            ServiceReference<?>[] refs = context.getAllServiceReferences(null, ENDPOINTS);
            for (ServiceReference<?> ref : refs == null ? new ServiceReference<?>[0] : refs) {
                Object endpoints = ref.getProperty("osgi.http.endpoint");
                Collection<?> all = endpoints instanceof String[] a ? Arrays.asList(a)
                        : endpoints instanceof Collection<?> c ? c : List.of(String.valueOf(endpoints));
                for (Object e : all) {
                    try {
                        int port = URI.create(String.valueOf(e)).getPort();
                        if (port > 0) {
                            ports.add(port);
                        }
                    } catch (IllegalArgumentException bad) {
                        // not a URL
                    }
                }
            }
        } catch (InvalidSyntaxException | IllegalStateException e) {
            // the filter is constant; a stopping bundle keeps the ports it had
        }
        ownPorts = Set.copyOf(ports);
    }

    Set<Integer> ownPorts() {
        return ownPorts;
    }

    private PluginGrants grants(Bundle bundle) {
        return grants.computeIfAbsent(bundle.getBundleId(), id -> {
            try {
                return PluginGrants.parse(bundle.getHeaders("").get(PluginGrants.HEADER));
            } catch (IllegalStateException e) {
                return PluginGrants.NONE;
            }
        });
    }

    @Override
    public void check(CheckKind kind, Object target, Object detail, String call, String token) {
        Bundle bundle = token == null ? null : byToken.get(token);
        if (bundle == null) {
            throw new SecurityException("Parley sandbox: " + call + " refused: the caller is no plugin the sandbox "
                    + "wove");
        }
        String why = refusal(bundle, kind, target, detail, call);
        if (why == null) {
            return;
        }
        PluginBundles.Kind plugin = plugins.kind(bundle);
        String pluginId = plugin.pluginId();
        boolean report = Rules.REPORT.equals(policy.rulesOf(plugin).enforce());
        String message = "Parley sandbox " + (report ? "reported" : "refused") + " plugin "
                + (pluginId == null ? bundle.getSymbolicName() : pluginId) + " (rule " + kind.rule() + "): " + why
                + " [" + call + "]";
        plugins.countCall(bundle, kind.rule());
        if (logged.computeIfAbsent(bundle.getBundleId(), id -> ConcurrentHashMap.newKeySet()).add(kind.rule())) {
            plugins.refuse(bundle, message);
        }
        if (!report) {
            throw new SecurityException(message);
        }
    }

    /** Why {@code bundle} may not make the call; null when it may. */
    private String refusal(Bundle bundle, CheckKind kind, Object target, Object detail, String call) {
        return switch (kind) {
            case EXIT -> "a plugin may not stop the server or hook its shutdown";
            case PROCESS -> "a plugin may not start or stop processes";
            case ENVIRONMENT -> "a plugin does not see the server's environment"
                    + (target == null ? "" : " (asked for " + target + ")") + "; its secrets come as configuration";
            case NETWORK -> network(bundle, target, detail);
            case REDIRECT -> "the JDK's HTTP client would follow redirects (" + target + ") to hosts no check sees; "
                    + "this plugin's client follows none and gets the 3xx answer, whose Location it may request itself";
            case FILE_READ -> file(bundle, target, false);
            case FILE_WRITE -> file(bundle, target, true);
            case FILE_OPEN -> file(bundle, target, writes(detail));
            case TEMP_FILE -> file(bundle, Path.of(System.getProperty("java.io.tmpdir")), true);
            case THREAD_START -> target instanceof Thread t ? threadStart(bundle, t) : null;
            case THREADS -> grants(bundle).threads() ? null
                    : "starting threads needs a thread permission (thread or thread;target=<most threads>)";
            case REFLECT -> reflect(bundle, target, call);
            case LOOKUP -> target instanceof Class<?> c && detail instanceof String name && checkedMember(c, name)
                    ? "a method handle to " + c.getName() + "." + name + " would bypass its check; call it directly"
                    : null;
            case PRIVATE_LOOKUP -> target instanceof Class<?> c && ownClass(bundle, c) ? null
                    : "a private lookup in " + (target instanceof Class<?> c ? c.getName() : target)
                            + ", which is not the plugin's own class";
            case METHOD_REFERENCE -> "a method reference to " + target + " would bypass its check; call it directly";
        };
    }

    // Network

    private String network(Bundle bundle, Object target, Object detail) {
        String host;
        int port;
        InetAddress address = null;
        if (target instanceof HttpRequest request) {
            return network(bundle, request.uri(), null);
        } else if (target instanceof DatagramPacket packet) {
            if (packet.getAddress() == null) {
                return null; // a connected socket's packet: the connect was checked
            }
            return network(bundle, packet.getAddress(), packet.getPort());
        } else if (target instanceof InetSocketAddress a) {
            host = a.getHostString();
            port = a.getPort();
            address = a.getAddress();
        } else if (target instanceof InetAddress a && detail instanceof Integer p) {
            String named = a.toString(); // "name/address": the name the plugin gave, without a reverse look-up
            host = named.startsWith("/") ? a.getHostAddress() : named.substring(0, named.indexOf('/'));
            port = p;
            address = a;
        } else if (target instanceof String h && detail instanceof Integer p) {
            host = h;
            port = p;
        } else if (target == null && detail instanceof Integer p) {
            host = "localhost";
            port = p;
        } else if (target instanceof URL url) {
            return url(bundle, url);
        } else if (target instanceof URI uri) {
            String scheme = String.valueOf(uri.getScheme()).toLowerCase(java.util.Locale.ROOT);
            if (uri.getHost() == null) {
                return "a URI without a host: " + uri;
            }
            host = uri.getHost();
            port = uri.getPort() > 0 ? uri.getPort() : scheme.equals("https") || scheme.equals("wss") ? 443 : 80;
        } else {
            return "a connection to " + target + ", which is not an internet address";
        }
        return hostPort(bundle, host, port, address);
    }

    private String url(Bundle bundle, URL url) {
        String protocol = url.getProtocol().toLowerCase(java.util.Locale.ROOT);
        switch (protocol) {
            case "http", "https", "ftp" -> {
                return hostPort(bundle, url.getHost(), url.getPort() > 0 ? url.getPort() : url.getDefaultPort(), null);
            }
            case "file" -> {
                try {
                    return file(bundle, Path.of(url.toURI()), false);
                } catch (URISyntaxException | IllegalArgumentException e) {
                    return file(bundle, url.getPath(), false);
                }
            }
            case "jar" -> {
                String spec = url.getPath();
                int bang = spec.indexOf("!/");
                try {
                    return url(bundle, new URL(bang < 0 ? spec : spec.substring(0, bang)));
                } catch (IOException e) {
                    return "a jar URL that names no file: " + url;
                }
            }
            case "bundle", "bundleentry", "bundleresource" -> {
                // Felix's bundle URLs: the host is <framework uuid>_<bundle id>.<revision>. Its own resources only.
                String host = url.getHost();
                String id = host.substring(host.lastIndexOf('_') + 1);
                int dot = id.indexOf('.');
                return (dot < 0 ? id : id.substring(0, dot)).equals(Long.toString(bundle.getBundleId())) ? null
                        : "another bundle's resources: " + url;
            }
            default -> {
                return "a " + protocol + " URL: " + url;
            }
        }
    }

    private String hostPort(Bundle bundle, String host, int port, InetAddress address) {
        String h = host == null || host.isEmpty() ? "localhost" : host;
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        List<PluginGrants.HostPort> declared = grants(bundle).network();
        boolean allowed = false;
        boolean exactly = false;
        for (PluginGrants.HostPort d : declared) {
            allowed |= d.matches(h, port);
            exactly |= d.exactly(h, port);
        }
        if (!allowed) {
            for (PluginGrants.HostPort d : policy.endpoints(bundle)) {
                allowed |= d.matches(h, port);
            }
        }
        if (!allowed) {
            return h + ":" + port + " is not among its declared network targets "
                    + (declared.isEmpty() ? "(it declared none)" : declared) + " nor an endpoint configured for it";
        }
        if (!exactly && ownPorts.contains(port) && local(h, address)) {
            return h + ":" + port + " is Parley's own HTTP port on this machine; only a target naming it exactly "
                    + "allows it";
        }
        return null;
    }

    /** Whether the name (resolved now, as the connection will) or the address is this machine. */
    private static boolean local(String host, InetAddress address) {
        InetAddress[] addresses;
        if (address != null) {
            addresses = new InetAddress[] {address};
        } else {
            try {
                addresses = InetAddress.getAllByName(host);
            } catch (UnknownHostException e) {
                return false; // the connection fails the same way
            }
        }
        for (InetAddress a : addresses) {
            try {
                if (a.isLoopbackAddress() || a.isAnyLocalAddress() || NetworkInterface.getByInetAddress(a) != null) {
                    return true;
                }
            } catch (SocketException e) {
                return true;
            }
        }
        return false;
    }

    // Files

    private static boolean writes(Object options) {
        if (options instanceof String mode) {
            return mode.contains("w");
        }
        Collection<?> all = options instanceof Object[] a ? Arrays.asList(a)
                : options instanceof Collection<?> c ? c : List.of();
        for (Object o : all) {
            if (o instanceof OpenOption opt && opt != StandardOpenOption.READ && opt instanceof StandardOpenOption s
                    && s != StandardOpenOption.SPARSE && s != StandardOpenOption.SYNC && s != StandardOpenOption.DSYNC) {
                return true;
            }
        }
        return false;
    }

    private String file(Bundle bundle, Object target, boolean write) {
        Path path;
        try {
            path = target instanceof Path p ? p : target instanceof File f ? f.toPath()
                    : target instanceof String s ? Path.of(s) : null;
        } catch (InvalidPathException e) {
            return "an invalid path: " + target;
        }
        if (path == null) {
            return "a file given as " + target;
        }
        if (path.getFileSystem() != FileSystems.getDefault()) {
            return null; // a zip or in-memory file system the plugin opened
        }
        Path real = real(path);
        File dataArea = bundle.getDataFile("");
        if (dataArea != null && real.startsWith(real(dataArea.toPath()))) {
            return null;
        }
        for (Path p : protectedDirs) {
            if (real.startsWith(p)) {
                return (write ? "writing " : "reading ") + real + ": the server's " + (p.startsWith("/proc") ? "process "
                        + "information" : "configuration and data") + " are never a plugin's";
            }
        }
        for (PluginGrants.FileGrant g : grants(bundle).files()) {
            Path root = Path.of(g.path());
            if (!root.isAbsolute()) {
                if (dataArea == null) {
                    continue;
                }
                root = dataArea.toPath().resolve(root);
            }
            if (real.startsWith(real(root)) && (write ? g.write() : g.read())) {
                return null;
            }
        }
        return (write ? "writing " : "reading ") + real + ": not under its data area or a declared file target"
                + (write ? " it may write" : "");
    }

    /** The path with links resolved as far as it exists, absolute and normalized. */
    static Path real(Path path) {
        Path abs = path.toAbsolutePath().normalize();
        Path existing = abs;
        while (existing != null && !Files.exists(existing)) {
            existing = existing.getParent();
        }
        if (existing == null) {
            return abs;
        }
        try {
            return existing.toRealPath().resolve(existing.relativize(abs)).normalize();
        } catch (IOException e) {
            return abs;
        }
    }

    // Threads

    private String threadStart(Bundle bundle, Thread thread) {
        PluginGrants g = grants(bundle);
        if (!g.threads()) {
            return "starting threads needs a thread permission (thread or thread;target=<most threads>)";
        }
        Map<Thread, Boolean> started = threads.computeIfAbsent(bundle.getBundleId(), id -> new WeakHashMap<>());
        synchronized (started) {
            if (g.maxThreads() > 0 && !started.containsKey(thread)) {
                long live = started.keySet().stream().filter(t -> t.getState() != Thread.State.TERMINATED).count();
                if (live >= g.maxThreads()) {
                    return "it has " + live + " live threads of its own and may start at most " + g.maxThreads();
                }
            }
            started.put(thread, Boolean.TRUE);
        }
        return null;
    }

    // Reflection

    private String reflect(Bundle bundle, Object target, String call) {
        Collection<?> members = target instanceof Object[] a ? Arrays.asList(a) : List.of(target);
        boolean access = call.endsWith("setAccessible") || call.endsWith("trySetAccessible");
        for (Object o : members) {
            if (!(o instanceof Member m)) {
                continue;
            }
            Class<?> declaring = m.getDeclaringClass();
            if (access) {
                boolean open = Modifier.isPublic(m.getModifiers()) && Modifier.isPublic(declaring.getModifiers());
                if (!open && !ownClass(bundle, declaring)) {
                    return "making " + declaring.getName() + "." + m.getName() + " accessible: it is not the plugin's "
                            + "own and not public";
                }
            } else if (checkedMember(declaring, m instanceof Constructor<?> ? "<init>" : m.getName())) {
                return "reflection on " + declaring.getName() + "." + m.getName() + " would bypass its check; call it "
                        + "directly";
            }
        }
        return null;
    }

    private static boolean checkedMember(Class<?> c, String name) {
        return CallSites.checked(c.getName().replace('.', '/'), name)
                || name.equals("start") && Thread.class.isAssignableFrom(c);
    }

    private static boolean ownClass(Bundle bundle, Class<?> c) {
        return c.getClassLoader() instanceof BundleReference r && r.getBundle() != null
                && r.getBundle().getBundleId() == bundle.getBundleId();
    }
}

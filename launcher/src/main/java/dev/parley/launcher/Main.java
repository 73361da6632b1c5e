package dev.parley.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.CountDownLatch;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.logging.LogManager;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;
import org.osgi.framework.startlevel.BundleStartLevel;
import org.osgi.framework.startlevel.FrameworkStartLevel;

/**
 * Starts Parley: an OSGi framework found through the standard {@link FrameworkFactory} service loader (not
 * bnd's exported launcher, which calls {@code Policy.setPolicy} and dies on Java 24+), with the bundles
 * packed under {@code bundles/} in this jar, or in a directory given as the first argument.
 */
public final class Main {
    /**
     * Bundles that must be active before the others: the service-loader mediator and the logging provider (Logback, whose
     * fragments carry Parley's configuration and the JSON encoder; ADR 9), and the plugin sandbox, whose framework hooks
     * must be registered before any plugin resolves or starts (ADR 29).
     */
    private static final List<String> EARLY = List.of("org.apache.aries.spifly.dynamic.bundle", "ch.qos.logback.classic",
            "ch.qos.logback.core", "slf4j.api", "jul.to.slf4j", "org.apache.felix.configadmin", "org.apache.felix.scr",
            "dev.parley.sandbox.hooks");

    /**
     * Start levels. The framework starts bundles level by level and stops them in reverse, so on shutdown the
     * web front ends stop first (letting their in-flight streams finish), then providers, then core, and the
     * store and HTTP server last.
     */
    static final int LEVEL_EARLY = 1;
    static final int LEVEL_PLATFORM = 2;
    static final int LEVEL_STORE = 3;
    static final int LEVEL_CORE = 4;
    static final int LEVEL_PLUGINS = 5;
    static final int LEVEL_WEB = 6;

    /** Framework property: where the shipped plugin jars and their index are (this jar, or a directory). */
    static final String SHIPPED_PLUGINS_PROPERTY = "parley.shipped.plugins";

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        long started = System.nanoTime();
        useCommonPoolForAsyncTasks();
        configureJavaLogging();
        Settings settings;
        try {
            settings = Settings.from(System.getenv());
        } catch (IllegalArgumentException e) {
            System.err.println("parley: " + e.getMessage());
            System.exit(2);
            return;
        }
        String distribution = args.length > 0 ? Distribution.ALL_IN_ONE : Distribution.of(selfJar());
        String refusal = Distribution.refusal(distribution, System.getenv());
        if (refusal != null) {
            System.err.println("parley: " + refusal);
            System.exit(2);
            return;
        }
        Files.createDirectories(settings.dataDir());

        FrameworkFactory factory = ServiceLoader.load(FrameworkFactory.class).findFirst()
                .orElseThrow(() -> new IllegalStateException("no OSGi framework on the class path"));
        Map<String, String> properties = new HashMap<>(settings.frameworkProperties());
        properties.put(Distribution.PROPERTY, distribution);
        if (args.length == 0) {
            // The provider plugins this jar carries under plugins/ (with their index), seeded into the registry and
            // installed at first start by dev.parley.plugins (ADR 11); never installed by the launcher itself.
            properties.put(SHIPPED_PLUGINS_PROPERTY, shippedPlugins().toString());
        }
        Framework framework = factory.newFramework(withFrameworkLog(factory, properties));
        var startLevelReached = new CountDownLatch(1);
        framework.init();

        SpiFlyScope.install(framework.getBundleContext());
        List<Bundle> installed = BundleSet.sync(framework.getBundleContext(),
                args.length > 0 ? BundleSet.fromDirectory(Path.of(args[0])) : BundleSet.fromJar(selfJar()));
        if (installed.isEmpty()) {
            System.err.println("parley: no bundles found to start");
            System.exit(2);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(framework, settings), "parley-shutdown"));
        // A stop signal marks the stop as asked for; an exit without one is judged a crash of whatever plugin was
        // starting (crash-loop protection, ADR 28).
        StopSignals.install();
        markForStart(installed);
        framework.start();
        framework.adapt(FrameworkStartLevel.class).setStartLevel(LEVEL_WEB, event -> startLevelReached.countDown());
        startLevelReached.await();
        reportFailures(installed);
        HeapTrim.afterStartSettles();

        long millis = (System.nanoTime() - started) / 1_000_000;
        // Through java.util.logging, which Logback has taken over by now: one format for every line (ADR 9).
        log().info(String.format("framework started in %d ms (%d bundles, distribution %s), http://%s:%d, data in %s",
                millis, installed.size(), distribution, settings.httpHost(), settings.httpPort(), settings.dataDir()));
        framework.waitForStop(0);
        System.exit(0);
    }

    /**
     * On a machine with two cores the common fork-join pool has parallelism 1, and CompletableFuture then runs
     * every async task on a new thread. The JDK HTTP client completes each {@code sendAsync} that way, which under
     * load meant creating a thread per upstream request. A parallelism of at least 2 keeps those tasks on the pool.
     */
    static void useCommonPoolForAsyncTasks() {
        if (System.getProperty("java.util.concurrent.ForkJoinPool.common.parallelism") == null
                && Runtime.getRuntime().availableProcessors() <= 2) {
            System.setProperty("java.util.concurrent.ForkJoinPool.common.parallelism", "2");
        }
    }

    private static java.util.logging.Logger log() {
        return java.util.logging.Logger.getLogger("dev.parley.launcher");
    }

    /**
     * Felix logs its own errors as plain lines on stdout unless it is given a logger; {@link FrameworkLog} sends them
     * where every other line goes. Felix reads the property as an object, so the string map is widened for it. Another
     * framework found through {@link FrameworkFactory} gets the properties unchanged.
     */
    @SuppressWarnings({"unchecked", "rawtypes"})
    static Map<String, String> withFrameworkLog(FrameworkFactory factory, Map<String, String> properties) {
        if (!factory.getClass().getName().startsWith("org.apache.felix.framework.")) {
            return properties;
        }
        Map<String, Object> all = new HashMap<>(properties);
        all.put("felix.log.logger", new FrameworkLog());
        return (Map) all;
    }

    /**
     * Unless the user configured java.util.logging, use Parley's defaults (single-line, quiet start-up) until Logback
     * takes java.util.logging over, early in the framework's start.
     */
    private static void configureJavaLogging() throws IOException {
        if (System.getProperty("java.util.logging.config.file") != null
                || System.getProperty("java.util.logging.config.class") != null) {
            return;
        }
        try (InputStream in = Main.class.getResourceAsStream("logging.properties")) {
            if (in != null) {
                LogManager.getLogManager().readConfiguration(in);
            }
        }
    }

    /**
     * The Jakarta REST whiteboard (osgitech): it rebuilds its Jersey application on a thread of its own at every
     * change of the services it serves, and prints to standard error what fails there. While the framework stops,
     * level by level, resources and extensions go away during those rebuilds, and a rebuild that meets a reference
     * just unregistered fails with a NullPointerException: a stack trace in the log now and then. Stopped first, the
     * whiteboard is gone before any of them goes.
     */
    static final String REST_WHITEBOARD = "org.eclipse.osgitech.rest.servlet.whiteboard";

    private static void stop(Framework framework, Settings settings) {
        try {
            stopFirst(framework.getBundleContext(), REST_WHITEBOARD);
            framework.stop();
            framework.waitForStop(settings.shutdownTimeoutSeconds() * 1000L + 5_000);
        } catch (BundleException | InterruptedException e) {
            System.err.println("parley: unclean shutdown: " + e);
        }
    }

    /**
     * Stops the bundle named {@code bsn} ahead of the framework's own stop, transiently: it stays marked to start, so
     * the next start (which keeps the framework cache) starts it again.
     */
    static void stopFirst(BundleContext context, String bsn) throws BundleException {
        for (Bundle b : context.getBundles()) {
            if (bsn.equals(b.getSymbolicName()) && b.getState() == Bundle.ACTIVE) {
                b.stop(Bundle.STOP_TRANSIENT);
            }
        }
    }

    /** Gives every bundle its start level and marks it to be started when the framework reaches that level. */
    static void markForStart(List<Bundle> bundles) throws BundleException {
        for (Bundle b : bundles) {
            if (b.getHeaders().get(Constants.FRAGMENT_HOST) != null) {
                continue;
            }
            b.adapt(BundleStartLevel.class).setStartLevel(startLevel(b.getSymbolicName()));
            b.start(Bundle.START_ACTIVATION_POLICY);
        }
    }

    static int startLevel(String bsn) {
        if (EARLY.contains(bsn)) {
            return LEVEL_EARLY;
        }
        if (bsn.startsWith("dev.parley.web.")) {
            return LEVEL_WEB;
        }
        if (bsn.startsWith("dev.parley.provider.")) {
            return LEVEL_PLUGINS;
        }
        if (bsn.equals("dev.parley.core")) {
            return LEVEL_CORE;
        }
        if (bsn.startsWith("dev.parley.")) {
            return LEVEL_STORE;
        }
        return LEVEL_PLATFORM;
    }

    /** Bundles that failed to start are reported with their cause, and the server keeps going without them. */
    private static void reportFailures(List<Bundle> bundles) {
        for (Bundle b : bundles) {
            if (b.getState() != Bundle.ACTIVE && b.getHeaders().get(Constants.FRAGMENT_HOST) == null) {
                try {
                    b.start();
                } catch (BundleException e) {
                    log().log(java.util.logging.Level.SEVERE, "bundle " + b.getSymbolicName() + " did not start", e);
                }
            }
        }
    }

    private static Path shippedPlugins() throws URISyntaxException {
        Path self = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        return Files.isDirectory(self) ? self.resolve("plugins") : self;
    }

    private static Path selfJar() throws URISyntaxException {
        Path self = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        return Files.isDirectory(self) ? self.resolve("bundles") : self;
    }
}

package dev.parley.launcher;

import java.io.IOException;
import java.io.InputStream;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.ServiceLoader;
import java.util.jar.JarFile;
import java.util.stream.Stream;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleException;
import org.osgi.framework.Constants;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;

/**
 * Starts Parley: an OSGi framework found through the standard {@link FrameworkFactory} service loader (not
 * bnd's exported launcher, which calls {@code Policy.setPolicy} and dies on Java 24+), with the bundles
 * packed under {@code bundles/} in this jar, or in a directory given as the first argument.
 */
public final class Main {
    /** Bundles that must be active before the others: the service-loader mediator and the logging provider. */
    private static final List<String> EARLY = List.of("org.apache.aries.spifly.dynamic.bundle", "slf4j.simple", "slf4j.api",
            "org.apache.felix.configadmin", "org.apache.felix.scr");

    private Main() {
    }

    public static void main(String[] args) throws Exception {
        long started = System.nanoTime();
        Settings settings;
        try {
            settings = Settings.from(System.getenv());
        } catch (IllegalArgumentException e) {
            System.err.println("parley: " + e.getMessage());
            System.exit(2);
            return;
        }
        Files.createDirectories(settings.dataDir());

        FrameworkFactory factory = ServiceLoader.load(FrameworkFactory.class).findFirst()
                .orElseThrow(() -> new IllegalStateException("no OSGi framework on the class path"));
        Framework framework = factory.newFramework(settings.frameworkProperties());
        framework.init();

        List<Bundle> installed = args.length > 0 ? installFromDirectory(framework, Path.of(args[0])) : installFromJar(framework);
        if (installed.isEmpty()) {
            System.err.println("parley: no bundles found to start");
            System.exit(2);
        }
        Runtime.getRuntime().addShutdownHook(new Thread(() -> stop(framework, settings), "parley-shutdown"));
        framework.start();
        startAll(installed);

        long millis = (System.nanoTime() - started) / 1_000_000;
        System.out.printf("parley: framework started in %d ms (%d bundles), http://%s:%d, data in %s%n", millis,
                installed.size(), settings.httpHost(), settings.httpPort(), settings.dataDir());
        framework.waitForStop(0);
        System.exit(0);
    }

    private static void stop(Framework framework, Settings settings) {
        try {
            framework.stop();
            framework.waitForStop(settings.shutdownTimeoutSeconds() * 1000L + 5_000);
        } catch (BundleException | InterruptedException e) {
            System.err.println("parley: unclean shutdown: " + e);
        }
    }

    static void startAll(List<Bundle> bundles) {
        var ordered = new ArrayList<>(bundles);
        ordered.sort(Comparator.comparingInt(Main::startRank));
        for (Bundle b : ordered) {
            if (b.getHeaders().get(Constants.FRAGMENT_HOST) != null) {
                continue;
            }
            try {
                b.start();
            } catch (BundleException e) {
                System.err.println("parley: bundle " + b.getSymbolicName() + " did not start: " + e.getMessage());
                for (Throwable c = e.getCause(); c != null; c = c.getCause()) {
                    System.err.println("  caused by: " + c);
                }
            }
        }
    }

    static int startRank(Bundle b) {
        int i = EARLY.indexOf(b.getSymbolicName());
        return i < 0 ? EARLY.size() : i;
    }

    private static List<Bundle> installFromJar(Framework framework) throws IOException, BundleException, URISyntaxException {
        Path self = Path.of(Main.class.getProtectionDomain().getCodeSource().getLocation().toURI());
        if (Files.isDirectory(self)) {
            return installFromDirectory(framework, self.resolve("bundles"));
        }
        var bundles = new ArrayList<Bundle>();
        try (var jar = new JarFile(self.toFile())) {
            var entries = jar.stream()
                    .filter(e -> e.getName().startsWith("bundles/") && e.getName().endsWith(".jar"))
                    .sorted(Comparator.comparing(java.util.zip.ZipEntry::getName)).toList();
            for (var entry : entries) {
                try (InputStream in = jar.getInputStream(entry)) {
                    bundles.add(framework.getBundleContext().installBundle("parley:" + entry.getName(), in));
                }
            }
        }
        return bundles;
    }

    private static List<Bundle> installFromDirectory(Framework framework, Path dir) throws IOException, BundleException {
        if (!Files.isDirectory(dir)) {
            return List.of();
        }
        var bundles = new ArrayList<Bundle>();
        try (Stream<Path> files = Files.list(dir)) {
            for (Path p : files.filter(f -> f.toString().endsWith(".jar")).sorted().toList()) {
                bundles.add(framework.getBundleContext().installBundle(p.toUri().toString()));
            }
        }
        return bundles;
    }
}

package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.registry.Signatures;
import dev.parley.testsupport.plugins.TestPluginJars;
import java.lang.management.ManagementFactory;
import java.lang.ref.WeakReference;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.wiring.BundleWiring;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * 100 upgrade/rollback cycles of a real plugin through the admin API: every retired version's class loader must be
 * collectable, and loaded classes, metaspace and threads must come back to a flat band. The numbers go to
 * {@code target/leak-check.txt}.
 */
class PluginLeakCheckTest {
    /**
     * Metaspace keeps growing for the first ~250 cycles even though every plugin class loader is collected (measured
     * in steps of 50 cycles: +1.3, +0.9, +0.4, +0.9, +0.4, +0.05, +0.04 MiB, then flat), which is the JVM warming up
     * (profiling data, metaspace chunk reuse), not plugins left behind; the band is measured after it.
     */
    static final int WARM_UP = 200;
    static final int CYCLES = 100;

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    @Test
    void upgradeAndRollbackHundredTimesLeavesNoClassLoaderBehind() throws Exception {
        Server server = new Server(http.getServiceReference());
        String token = Server.adminToken(context);
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        String pluginId = "example.echo.leak." + suffix;
        String publisher = "leak-" + suffix;
        String[] keys = Signatures.generateKeyPair();
        assertThat(server.admin(server.jsonPost("api/v1/admin/registry/publishers",
                "{\"id\":\"" + publisher + "\",\"publicKey\":\"" + keys[0] + "\"}"), token).status()).isIn(200, 201);
        byte[] example = Files.readAllBytes(Path.of(context.getProperty("parley.test.plugins"), "echo-provider.jar"));
        byte[] echo = TestPluginJars.withHeaders(example, Map.of("Parley-Plugin",
                pluginId + ";type=provider;name=\"Echo\";publisher=" + publisher));
        for (String version : List.of("1.0.0", "1.1.0")) {
            byte[] jar = TestPluginJars.withVersion(echo, version);
            var published = server.publish(jar, Signatures.sign(jar, keys[1]));
            assertThat(published.status()).as(published.body()).isEqualTo(201);
        }
        var installed = server.admin(server.jsonPost("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\",\"version\":\"1.0.0\"}"), token);
        assertThat(installed.status()).as(installed.body()).isEqualTo(201);

        try {
            for (int i = 0; i < WARM_UP; i++) {
                cycle(server, token, pluginId);
                chat(server);
            }
            // Load what the measurement itself uses (JMX diagnostics, Awaitility), so it is not counted as growth.
            classesByLoaderType();
            await().atMost(Duration.ofSeconds(1)).until(() -> true);
            changes(Map.of("a", 1), Map.of("a", 2));
            Snapshot before = Snapshot.take();
            Map<String, Integer> loadersBefore = classesByLoaderType();
            List<WeakReference<ClassLoader>> retired = new ArrayList<>();
            Snapshot half = null;
            for (int i = 0; i < CYCLES; i++) {
                if (i == CYCLES / 2) {
                    half = Snapshot.take();
                }
                retired.add(new WeakReference<>(classLoader(pluginId)));
                cycle(server, token, pluginId);
                if (i % 25 == 0) {
                    chat(server);
                }
            }
            // Every class loader of a version that was replaced can be collected: nothing holds on to it.
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).until(() -> {
                System.gc();
                return retired.stream().allMatch(r -> r.get() == null);
            });
            Snapshot after = Snapshot.take();
            Map<String, Integer> loadersAfter = classesByLoaderType();
            int pluginClasses = (int) Arrays.stream(context.getBundles())
                    .filter(b -> b.getLocation().startsWith("parley-plugin:" + pluginId + "@"))
                    .mapToLong(b -> b.adapt(BundleWiring.class).listResources("/", "*.class", BundleWiring.LISTRESOURCES_RECURSE).size())
                    .sum();
            String report = """
                    plugin lifecycle leak check: %d warm-up cycles, then %d upgrade+rollback cycles (%d version switches)
                    class files in one plugin version: %d
                    loaded classes: before %d, after 50 cycles %d, after %d (delta %+d); unloaded during the run: %d
                    metaspace used: before %.1f MiB, after 50 cycles %.1f MiB, after %.1f MiB (delta %+.1f MiB)
                    live threads: before %d, after %d
                    retired plugin class loaders collected: %d of %d
                    classes per class-loader type (before -> after; hidden classes in their own row): %s
                    """.formatted(WARM_UP, CYCLES, CYCLES * 2, pluginClasses, before.classes, half.classes, after.classes,
                    after.classes - before.classes, after.unloaded - before.unloaded, before.metaspaceMiB(),
                    half.metaspaceMiB(), after.metaspaceMiB(), after.metaspaceMiB() - before.metaspaceMiB(), before.threads, after.threads,
                    retired.stream().filter(r -> r.get() == null).count(), retired.size(),
                    changes(loadersBefore, loadersAfter));
            System.out.print(report);
            Path out = Path.of(context.getProperty("parley.data.dir")).getParent().resolve("leak-check.txt");
            Files.writeString(out, report);

            // Each switch retires a version whose loaded classes must go: had any stayed, the loaded count would have
            // grown by what was unloaded instead.
            long unloaded = after.unloaded - before.unloaded;
            assertThat(unloaded).isGreaterThanOrEqualTo(CYCLES * 2L);
            assertThat((long) after.classes - before.classes).isLessThan(unloaded / 4);
            // A leak of one plugin version's metadata per switch (tens of KiB) would add several MiB over 200 switches.
            assertThat(after.metaspaceMiB() - before.metaspaceMiB()).isLessThan(2.0);
            // A band, not a slope: the second 50 cycles add no more than the first.
            assertThat(after.metaspaceMiB() - half.metaspaceMiB()).isLessThanOrEqualTo(half.metaspaceMiB() - before.metaspaceMiB() + 1.0);
            assertThat(after.threads - before.threads).isLessThanOrEqualTo(2);
            // Classes defined by bundle class loaders (plugins included) do not pile up.
            assertThat(loadersAfter.getOrDefault(BUNDLE_LOADER, 0))
                    .isLessThanOrEqualTo(loadersBefore.getOrDefault(BUNDLE_LOADER, 0) + pluginClasses);
        } finally {
            server.admin(server.request("api/v1/admin/plugins/" + pluginId).DELETE(), token);
        }
    }

    static final String BUNDLE_LOADER = "org.apache.felix.framework.BundleWiringImpl$BundleClassLoader";

    /** Classes by class-loader type from the JVM's VM.classloader_stats; hidden classes under "<type> (hidden)". */
    static Map<String, Integer> classesByLoaderType() {
        String stats;
        try {
            var name = new javax.management.ObjectName("com.sun.management:type=DiagnosticCommand");
            stats = (String) ManagementFactory.getPlatformMBeanServer().invoke(name, "vmClassloaderStats",
                    new Object[] {null}, new String[] {String[].class.getName()});
        } catch (Exception e) {
            throw new IllegalStateException("VM.classloader_stats unavailable", e);
        }
        Map<String, Integer> byType = new java.util.TreeMap<>();
        String lastType = "?";
        for (String line : stats.split("\n")) {
            String[] f = line.trim().split("\\s+");
            if (f.length >= 7 && f[0].startsWith("0x")) {
                lastType = f[6];
                byType.merge(lastType, Integer.parseInt(f[3]), Integer::sum);
            } else if (f.length >= 5 && line.contains("+ hidden classes")) {
                byType.merge(lastType + " (hidden)", Integer.parseInt(f[0]), Integer::sum);
            }
        }
        return byType;
    }

    static String changes(Map<String, Integer> before, Map<String, Integer> after) {
        var keys = new java.util.TreeSet<>(before.keySet());
        keys.addAll(after.keySet());
        var out = new StringBuilder();
        for (String k : keys) {
            int b = before.getOrDefault(k, 0);
            int a = after.getOrDefault(k, 0);
            if (a != b) {
                out.append("\n  ").append(k).append(": ").append(b).append(" -> ").append(a);
            }
        }
        return out.length() == 0 ? "unchanged" : out.toString();
    }

    private void cycle(Server server, String token, String pluginId) {
        var up = server.admin(server.jsonPost("api/v1/admin/plugins/" + pluginId + "/upgrade", "{\"version\":\"1.1.0\"}"), token);
        assertThat(up.status()).as(up.body()).isEqualTo(200);
        var back = server.admin(server.request("api/v1/admin/plugins/" + pluginId + "/rollback")
                .POST(HttpRequest.BodyPublishers.noBody()), token);
        assertThat(back.status()).as(back.body()).isEqualTo(200);
        // Replaced versions are removed in the background once their turns are done.
        await().atMost(Duration.ofSeconds(30)).until(() -> Arrays.stream(context.getBundles())
                .filter(b -> b.getLocation().startsWith("parley-plugin:" + pluginId + "@")).count() == 1);
    }

    private ClassLoader classLoader(String pluginId) {
        Bundle b = Arrays.stream(context.getBundles())
                .filter(x -> x.getLocation().equals("parley-plugin:" + pluginId + "@1.0.0") && x.getState() == Bundle.ACTIVE)
                .findFirst().orElseThrow();
        return b.adapt(BundleWiring.class).getClassLoader();
    }

    private static void chat(Server server) {
        String conversation = server.post("api/v1/conversations", "{}").json().get("id").asText();
        String answer = server.post("api/v1/conversations/" + conversation + "/messages",
                "{\"content\":\"still serving\",\"model\":\"echo-1\"}").json().at("/answer/content").asText();
        assertThat(answer).isEqualTo("[echo 1.0.0] still serving");
    }


    record Snapshot(int classes, long unloaded, long metaspaceBytes, int threads) {
        static Snapshot take() {
            for (int i = 0; i < 3; i++) {
                System.gc();
            }
            var loading = ManagementFactory.getClassLoadingMXBean();
            long metaspace = ManagementFactory.getMemoryPoolMXBeans().stream()
                    .filter(p -> p.getName().equals("Metaspace")).mapToLong(p -> p.getUsage().getUsed()).sum();
            return new Snapshot(loading.getLoadedClassCount(), loading.getUnloadedClassCount(), metaspace,
                    ManagementFactory.getThreadMXBean().getThreadCount());
        }

        double metaspaceMiB() {
            return metaspaceBytes / (1024.0 * 1024.0);
        }
    }
}

package dev.parley.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.ServiceLoader;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.launch.FrameworkFactory;

class BundleSetTest {
    @TempDir
    Path dir;

    private static byte[] bundle(String bsn, String version) throws IOException {
        var manifest = new Manifest();
        Attributes a = manifest.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", bsn);
        a.putValue("Bundle-Version", version);
        var out = new ByteArrayOutputStream();
        new JarOutputStream(out, manifest).close();
        return out.toByteArray();
    }

    private static BundleSet.Entry entry(String name, byte[] jar) {
        return new BundleSet.Entry(BundleSet.location("bundles/" + name, jar.length, Arrays.hashCode(jar)),
                () -> new ByteArrayInputStream(jar));
    }

    private Framework framework() throws Exception {
        Framework fw = ServiceLoader.load(FrameworkFactory.class).findFirst().orElseThrow()
                .newFramework(Map.of("org.osgi.framework.storage", dir.resolve("cache").toString()));
        fw.init();
        return fw;
    }

    @Test
    void unchangedBundlesComeFromTheCacheAndEverythingElseIsReplaced() throws Exception {
        byte[] a = bundle("a", "1.0.0");
        byte[] b1 = bundle("b", "1.0.0");
        Framework fw = framework();
        List<Bundle> first = BundleSet.sync(fw.getBundleContext(), List.of(entry("a.jar", a), entry("b.jar", b1)));
        long aId = first.get(0).getBundleId();
        // A plugin installed at run time: the plugin reconciler installs it again after a restart.
        fw.getBundleContext().installBundle("parley-plugin:p@1.0.0", new ByteArrayInputStream(bundle("p", "1.0.0")));
        fw.stop();
        fw.waitForStop(10_000);

        fw = framework();
        byte[] b2 = bundle("b", "2.0.0");
        List<Bundle> second = BundleSet.sync(fw.getBundleContext(), List.of(entry("a.jar", a), entry("b.jar", b2)));
        assertThat(second.get(0).getBundleId()).as("unchanged: not installed again").isEqualTo(aId);
        assertThat(second.get(1).getVersion().toString()).isEqualTo("2.0.0");
        assertThat(Arrays.stream(fw.getBundleContext().getBundles()).map(Bundle::getSymbolicName))
                .containsExactlyInAnyOrder("org.apache.felix.framework", "a", "b");
        fw.stop();
        fw.waitForStop(10_000);
    }

    @Test
    void aJarsLocationNamesItsContent() throws IOException {
        Path jar = dir.resolve("x.jar");
        Files.write(jar, bundle("x", "1.0.0"));
        var one = BundleSet.fromDirectory(dir);
        Files.write(jar, bundle("x", "1.0.1"));
        Files.setLastModifiedTime(jar, java.nio.file.attribute.FileTime.fromMillis(Files.getLastModifiedTime(jar).toMillis() + 2000));
        var two = BundleSet.fromDirectory(dir);
        assertThat(one.get(0).location()).startsWith(BundleSet.LOCATION_PREFIX).isNotEqualTo(two.get(0).location());
    }
}

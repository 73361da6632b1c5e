package dev.parley.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.nio.file.Path;
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
import org.osgi.framework.startlevel.BundleStartLevel;

/** The REST whiteboard stops ahead of the framework, and only for this stop: the next start starts it again. */
class StopOrderTest {
    @TempDir
    Path dir;

    private static ByteArrayInputStream bundle(String bsn) throws IOException {
        var manifest = new Manifest();
        Attributes a = manifest.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", bsn);
        var out = new ByteArrayOutputStream();
        new JarOutputStream(out, manifest).close();
        return new ByteArrayInputStream(out.toByteArray());
    }

    private Framework framework() throws Exception {
        Framework fw = ServiceLoader.load(FrameworkFactory.class).findFirst().orElseThrow()
                .newFramework(Map.of("org.osgi.framework.storage", dir.resolve("cache").toString()));
        fw.init();
        return fw;
    }

    @Test
    void theRestWhiteboardStopsFirstAndStartsAgainAtTheNextStart() throws Exception {
        Framework fw = framework();
        Bundle whiteboard = fw.getBundleContext().installBundle("test:whiteboard", bundle(Main.REST_WHITEBOARD));
        Bundle other = fw.getBundleContext().installBundle("test:other", bundle("dev.parley.web.rest"));
        whiteboard.start();
        other.start();
        fw.start();

        Main.stopFirst(fw.getBundleContext(), Main.REST_WHITEBOARD);
        assertThat(whiteboard.getState()).isEqualTo(Bundle.RESOLVED);
        assertThat(other.getState()).isEqualTo(Bundle.ACTIVE);
        assertThat(whiteboard.adapt(BundleStartLevel.class).isPersistentlyStarted()).isTrue();
        fw.stop();
        fw.waitForStop(10_000);

        Framework again = framework();
        again.start();
        try {
            Bundle restarted = again.getBundleContext().getBundle("test:whiteboard");
            assertThat(restarted.getState()).isEqualTo(Bundle.ACTIVE);
        } finally {
            again.stop();
            again.waitForStop(10_000);
        }
    }
}

package dev.parley.sandbox.hooks.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.ByteArrayInputStream;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleEvent;
import org.osgi.framework.BundleException;
import org.osgi.framework.SynchronousBundleListener;

/** The bundle hooks and the install guard in a real framework: a plugin's context knows only its own bundle. */
class BundleHooksTest {
    @TempDir
    Path storage;
    TestFramework osgi;

    @AfterEach
    void stop() throws Exception {
        if (osgi != null) {
            osgi.close();
        }
    }

    @Test
    void aPluginListsAndGetsOnlyItsOwnBundle() throws Exception {
        osgi = new TestFramework(storage);
        Bundle core = osgi.platform("core");
        Bundle other = osgi.plugin("other");
        Bundle plugin = osgi.plugin("p");
        BundleContext ctx = plugin.getBundleContext();

        assertThat(ctx.getBundles()).containsExactly(plugin);
        assertThat(ctx.getBundle(0)).as("the system bundle").isNull();
        assertThat(ctx.getBundle(core.getBundleId())).isNull();
        assertThat(ctx.getBundle(other.getBundleId())).isNull();
        assertThat(ctx.getBundle(plugin.getBundleId())).isEqualTo(plugin);
        // The platform still sees every bundle.
        assertThat(core.getBundleContext().getBundles()).contains(osgi.framework, core, other, plugin);
    }

    @Test
    void aPluginCannotGetAnotherBundleByInstallingItsLocation() throws Exception {
        osgi = new TestFramework(storage);
        Bundle core = osgi.platform("core");
        BundleContext ctx = osgi.plugin("p").getBundleContext();

        assertThatThrownBy(() -> ctx.installBundle(core.getLocation(), new ByteArrayInputStream(new byte[0])))
                .isInstanceOfSatisfying(BundleException.class,
                        e -> assertThat(e.getType()).isEqualTo(BundleException.REJECTED_BY_HOOK));
        assertThat(core.getState()).isEqualTo(Bundle.ACTIVE);
    }

    @Test
    void aPluginsBundleListenersHearOnlyOfItsOwnBundle() throws Exception {
        osgi = new TestFramework(storage);
        Bundle plugin = osgi.plugin("p");
        List<String> heard = new CopyOnWriteArrayList<>();
        plugin.getBundleContext().addBundleListener((SynchronousBundleListener) e -> heard.add(
                e.getBundle().getSymbolicName() + " " + e.getType()));
        List<String> platformHeard = new CopyOnWriteArrayList<>();
        osgi.platform("web").getBundleContext().addBundleListener((SynchronousBundleListener) e -> platformHeard.add(
                e.getBundle().getSymbolicName() + " " + e.getType()));

        osgi.platform("core").stop();
        osgi.plugin("q");
        plugin.stop();

        assertThat(heard).containsExactly("test.plugin.p " + BundleEvent.STOPPING);
        assertThat(platformHeard).contains("core " + BundleEvent.STOPPED, "test.plugin.q " + BundleEvent.INSTALLED,
                "test.plugin.p " + BundleEvent.STOPPING);
    }

    @Test
    void aBundleAPluginInstallsIsUninstalledBeforeThePluginGetsIt() throws Exception {
        osgi = new TestFramework(storage);
        Bundle plugin = osgi.plugin("p");

        Bundle smuggled = plugin.getBundleContext().installBundle("anywhere:evil",
                new ByteArrayInputStream(TestFramework.jar("evil")));

        assertThat(smuggled.getState()).isEqualTo(Bundle.UNINSTALLED);
        assertThat(Arrays.stream(osgi.system().getBundles()).map(Bundle::getSymbolicName)).doesNotContain("evil");
        assertThat(osgi.activator.plugins().refusals(plugin)).singleElement().asString()
                .contains("may not install bundles").contains("anywhere:evil");
        // The platform installs as before.
        assertThat(osgi.platform("fine").getState()).isEqualTo(Bundle.ACTIVE);
    }

    @Test
    void aBundleAPluginInstallsUnderAPluginLocationIsUninstalledToo() throws Exception {
        osgi = new TestFramework(storage);
        Bundle plugin = osgi.plugin("p");

        Bundle forged = plugin.getBundleContext().installBundle("parley-plugin:openai@9.9.9",
                new ByteArrayInputStream(TestFramework.jar("forged", "Parley-Plugin", "openai")));

        assertThat(forged.getState()).isEqualTo(Bundle.UNINSTALLED);
    }
}

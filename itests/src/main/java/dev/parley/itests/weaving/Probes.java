package dev.parley.itests.weaving;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.sandbox.hooks.Confinement;
import java.io.ByteArrayInputStream;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Method;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;

/**
 * Probe plugins ({@link WeavingProbe}) installed directly in the framework, confined by their {@code Parley-Plugin}
 * header, as code the admission scan did not refuse would be (a trusted publisher's, whose scan only reports); and
 * the actions run in their own, woven, class.
 */
public final class Probes implements AutoCloseable {
    private final BundleContext context;
    private final Confinement confinement;
    private final String suffix;
    private final List<Bundle> installed = new ArrayList<>();

    /** @param suffix unique per test, so that plugin ids never repeat in the shared framework */
    public Probes(BundleContext context, Confinement confinement, String suffix) {
        this.context = context;
        this.confinement = confinement;
        this.suffix = suffix;
    }

    /** Installs (not starts) probe {@code name}, with {@code headers} such as {@code Parley-Permissions}. */
    public Bundle probe(String name, Map<String, String> headers) throws BundleException {
        String pluginId = "itest.weaving." + name + "." + suffix;
        // Confined by its Parley-Plugin header (ADR 29), at a location of its own: the plugin runtime's reconciler
        // uninstalls bundles at parley-plugin: locations that no desired state names.
        Bundle b = context.installBundle("itest:weaving:" + pluginId,
                new ByteArrayInputStream(WeavingPlugins.probe(pluginId, headers)));
        assertThat(confinement.confined(b)).isTrue();
        installed.add(b);
        return b;
    }

    /** Installs and starts probe {@code name} with {@code permissions} (its Parley-Permissions header, or none). */
    public Bundle started(String name, String permissions) throws BundleException {
        Bundle b = probe(name, permissions == null ? Map.of() : Map.of("Parley-Permissions", permissions));
        b.start();
        return b;
    }

    /** Runs an action in the probe's own (woven) class. */
    public static String run(Bundle probe, String action, String arg) throws Throwable {
        Class<?> woven = probe.loadClass(WeavingProbe.class.getName());
        assertThat(woven).isNotSameAs(WeavingProbe.class);
        Method run = woven.getMethod("run", String.class, String.class);
        try {
            return (String) run.invoke(null, action, arg);
        } catch (InvocationTargetException e) {
            throw e.getCause();
        }
    }

    /** {@link #run}, for callers that may throw only exceptions: anything else thrown is wrapped. */
    public static String result(Bundle probe, String action, String arg) throws Exception {
        try {
            return run(probe, action, arg);
        } catch (Exception | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    /** Asserts that the action is refused by the run-time checks with {@code rule}, naming the probe plugin. */
    public static void refused(Bundle probe, String action, String arg, String rule) {
        assertThatThrownBy(() -> run(probe, action, arg)).as(action + " " + arg)
                .isInstanceOf(SecurityException.class)
                .hasMessageContaining("(rule " + rule + ")")
                .hasMessageContaining("itest.weaving.");
    }

    /** Uninstalls every probe installed. */
    @Override
    public void close() throws BundleException {
        for (Bundle b : installed) {
            if (b.getState() != Bundle.UNINSTALLED) {
                b.uninstall();
            }
        }
        installed.clear();
    }
}

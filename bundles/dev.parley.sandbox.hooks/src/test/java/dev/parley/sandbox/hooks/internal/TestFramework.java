package dev.parley.sandbox.hooks.internal;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.apache.felix.framework.FrameworkFactory;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.ServiceFactory;
import org.osgi.framework.ServiceRegistration;
import org.osgi.framework.launch.Framework;

/**
 * A real Felix framework for one test, with the sandbox's hooks registered as the activator registers them, and
 * bundles made on the spot from a manifest alone (their bundle contexts stand in for code in them: the hooks decide by
 * the context a call comes through, not by the code that makes it).
 */
final class TestFramework implements AutoCloseable {
    final Framework framework;
    final SandboxActivator activator;
    private final List<Bundle> installed = new ArrayList<>();

    TestFramework(Path storage) throws BundleException {
        this(storage, () -> false);
    }

    /** @param scrConfigLookup stands in for "SCR's configuration tracker is asking" */
    TestFramework(Path storage, java.util.function.BooleanSupplier scrConfigLookup) throws BundleException {
        this(storage, scrConfigLookup, Map.of());
    }

    /** @param properties more framework properties (Parley's directories and port) */
    TestFramework(Path storage, java.util.function.BooleanSupplier scrConfigLookup, Map<String, String> properties)
            throws BundleException {
        activator = new SandboxActivator(scrConfigLookup);
        Map<String, String> props = new HashMap<>(properties);
        props.put("org.osgi.framework.storage", storage.toString());
        props.put("org.osgi.framework.storage.clean", "onFirstInit");
        props.put("org.osgi.framework.bsnversion", "multiple");
        framework = new FrameworkFactory().newFramework(props);
        framework.start();
        activator.start(framework.getBundleContext());
    }

    BundleContext system() {
        return framework.getBundleContext();
    }

    /** A bundle the platform ships: not a plugin. */
    Bundle platform(String bsn, String... headers) throws BundleException {
        return install("test:" + bsn, bsn, headers);
    }

    /** A plugin as the runtime installs it: {@code parley-plugin:<id>@1.0.0}. */
    Bundle plugin(String pluginId, String... headers) throws BundleException {
        return install("parley-plugin:" + pluginId + "@1.0.0", "test.plugin." + pluginId, headers);
    }

    /** Installs and starts a manifest-only bundle; {@code headers} are name, value pairs. */
    Bundle install(String location, String bsn, String... headers) throws BundleException {
        Bundle b = installOnly(location, bsn, headers);
        if (!isFragment(headers)) {
            b.start();
        }
        return b;
    }

    /** Installs a manifest-only bundle and leaves it unresolved. */
    Bundle installOnly(String location, String bsn, String... headers) throws BundleException {
        Bundle b = system().installBundle(location, new ByteArrayInputStream(jar(bsn, headers)));
        installed.add(b);
        return b;
    }

    private static boolean isFragment(String... headers) {
        for (int i = 0; i < headers.length; i += 2) {
            if (headers[i].equals("Fragment-Host")) {
                return true;
            }
        }
        return false;
    }

    static byte[] jar(String bsn, String... headers) {
        Manifest manifest = new Manifest();
        Attributes main = manifest.getMainAttributes();
        main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        main.putValue("Bundle-ManifestVersion", "2");
        main.putValue("Bundle-SymbolicName", bsn);
        main.putValue("Bundle-Version", "1.0.0");
        Map<String, String> extra = new LinkedHashMap<>();
        for (int i = 0; i < headers.length; i += 2) {
            extra.put(headers[i], headers[i + 1]);
        }
        extra.forEach(main::putValue);
        var out = new ByteArrayOutputStream();
        try (var jar = new JarOutputStream(out, manifest)) {
            jar.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    /**
     * Registers a service under {@code interfaces} from {@code bundle}. A service factory, so that the framework does
     * not ask for the interfaces' classes (the bundles have none).
     */
    static ServiceRegistration<?> register(Bundle bundle, String... interfaces) {
        ServiceFactory<Object> factory = new ServiceFactory<>() {
            @Override
            public Object getService(Bundle b, ServiceRegistration<Object> registration) {
                return new Object();
            }

            @Override
            public void ungetService(Bundle b, ServiceRegistration<Object> registration, Object service) {
            }
        };
        return bundle.getBundleContext().registerService(interfaces, factory, new Hashtable<String, Object>());
    }

    @Override
    public void close() throws Exception {
        activator.stop(system());
        framework.stop();
        framework.waitForStop(10_000);
    }
}

package dev.parley.testsupport.plugins;

import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarInputStream;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * Plugin jars for lifecycle tests, made from a real plugin jar (the example provider) or from scratch: another
 * version of the same plugin, a manifest edited to be incompatible, a component that throws on activation.
 */
public final class TestPluginJars {
    private TestPluginJars() {
    }

    /** The same plugin at another Bundle-Version: same code, so only the version tells them apart. */
    public static byte[] withVersion(byte[] jar, String version) {
        return withHeaders(jar, Map.of("Bundle-Version", version));
    }

    /** The jar with manifest headers replaced (or added); everything else byte for byte. */
    public static byte[] withHeaders(byte[] jar, Map<String, String> headers) {
        try (var in = new JarInputStream(new ByteArrayInputStream(jar))) {
            Manifest manifest = in.getManifest();
            if (manifest == null) {
                throw new IllegalArgumentException("the jar has no manifest");
            }
            Manifest changed = new Manifest(manifest);
            headers.forEach((k, v) -> changed.getMainAttributes().put(new Attributes.Name(k), v));
            var out = new ByteArrayOutputStream();
            try (var jarOut = new JarOutputStream(out, changed)) {
                for (JarEntry e = in.getNextJarEntry(); e != null; e = in.getNextJarEntry()) {
                    jarOut.putNextEntry(new JarEntry(e.getName()));
                    in.transferTo(jarOut);
                    jarOut.closeEntry();
                }
            }
            return out.toByteArray();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * A plugin with one immediate Declarative Services component whose activate method throws.
     *
     * @param pluginId the {@code Parley-Plugin} id, e.g. that of a plugin it pretends to upgrade
     */
    public static byte[] throwingOnActivate(String pluginId, String version, String publisher) {
        return withComponent(pluginId, version, publisher, "dev.parley.test.throwing", ThrowingComponent.class,
                "Throws on activation");
    }

    /**
     * A hostile plugin: one immediate component whose activate method calls {@code System.exit(1)}. Only for tests
     * that expect the sandbox to refuse it before it is installed.
     */
    public static byte[] exitingOnActivate(String pluginId, String version, String publisher) {
        return withComponent(pluginId, version, publisher, "dev.parley.test.exiting", ExitingComponent.class,
                "Exits on activation");
    }

    private static byte[] withComponent(String pluginId, String version, String publisher, String bsn,
            Class<?> component, String name) {
        return withComponent(pluginId, version, publisher, bsn, component, name, Map.of());
    }

    /**
     * A plugin with one immediate Declarative Services component of {@code component} (its class file copied in, a
     * public no-argument constructor and an {@code activate()} method), registered as a {@link Runnable}: for plugins
     * that each try one thing, such as the hostile plugins the sandbox must refuse.
     *
     * @param headers more manifest headers, e.g. {@code Parley-Permissions} or {@code Import-Package}
     */
    public static byte[] withComponent(String pluginId, String version, String publisher, String bsn,
            Class<?> component, String name, Map<String, String> headers) {
        String className = component.getName();
        String xml = """
                <?xml version="1.0" encoding="UTF-8"?>
                <scr:component xmlns:scr="http://www.osgi.org/xmlns/scr/v1.3.0" name="%s" immediate="true" activate="activate">
                  <implementation class="%s"/>
                  <service><provide interface="java.lang.Runnable"/></service>
                </scr:component>
                """.formatted(bsn + ".component", className);
        Manifest manifest = new Manifest();
        Attributes main = manifest.getMainAttributes();
        main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        main.putValue("Bundle-ManifestVersion", "2");
        main.putValue("Bundle-SymbolicName", bsn);
        main.putValue("Bundle-Version", version);
        main.putValue("Parley-Plugin", pluginId + ";type=provider;name=\"" + name + "\";publisher=" + publisher);
        main.putValue("Service-Component", "OSGI-INF/component.xml");
        main.putValue("Require-Capability", "osgi.extender;filter:=\"(&(osgi.extender=osgi.component)(version>=1.3.0)(!(version>=2.0.0)))\"");
        headers.forEach(main::putValue);
        var out = new ByteArrayOutputStream();
        try (var jar = new JarOutputStream(out, manifest)) {
            jar.putNextEntry(new JarEntry("OSGI-INF/component.xml"));
            jar.write(xml.getBytes(StandardCharsets.UTF_8));
            jar.closeEntry();
            String path = className.replace('.', '/') + ".class";
            jar.putNextEntry(new JarEntry(path));
            try (InputStream cls = component.getClassLoader().getResourceAsStream(path)) {
                if (cls == null) {
                    throw new IllegalStateException("class file not found: " + path);
                }
                cls.transferTo(jar);
            }
            jar.closeEntry();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}

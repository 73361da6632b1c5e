package dev.parley.itests.weaving;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/** Probe plugin jars around {@link WeavingProbe}: a bundle activator and whatever headers the test gives. */
public final class WeavingPlugins {
    private WeavingPlugins() {
    }

    /** @param headers e.g. {@code Parley-Permissions}, {@code Probe-At-Activate} */
    public static byte[] probe(String pluginId, Map<String, String> headers) {
        Manifest manifest = new Manifest();
        Attributes main = manifest.getMainAttributes();
        main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        main.putValue("Bundle-ManifestVersion", "2");
        main.putValue("Bundle-SymbolicName", "dev.parley.test.weaving." + pluginId.replaceAll("[^A-Za-z0-9.]", "_"));
        main.putValue("Bundle-Version", "1.0.0");
        main.putValue("Parley-Plugin", pluginId + ";type=provider;name=\"Weaving probe\"");
        main.putValue("Bundle-Activator", WeavingProbe.class.getName());
        main.putValue("Import-Package", "org.osgi.framework;version=\"[1.9,2)\"");
        headers.forEach(main::putValue);
        var out = new ByteArrayOutputStream();
        try (var jar = new JarOutputStream(out, manifest)) {
            String path = WeavingProbe.class.getName().replace('.', '/') + ".class";
            jar.putNextEntry(new JarEntry(path));
            try (InputStream cls = WeavingProbe.class.getClassLoader().getResourceAsStream(path)) {
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

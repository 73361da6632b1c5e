package dev.parley.pluginhost.internal;

import dev.parley.api.plugin.PluginInfo;
import dev.parley.pluginhost.HostLimits;
import dev.parley.pluginhost.PluginHosts;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarInputStream;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/** Builds the stand-in bundle of a plugin run out of process ({@link PluginHosts}). */
final class StandIns {
    /** Headers the stand-in takes from the plugin, so it is known as the plugin in the server's framework. */
    private static final String[] COPIED = {"Bundle-SymbolicName", "Bundle-Version", "Bundle-Name", "Bundle-Vendor",
        PluginInfo.HEADER, "Parley-Permissions"};

    private StandIns() {
    }

    static byte[] of(byte[] pluginJar, HostLimits limits) {
        Manifest plugin;
        try (var in = new JarInputStream(new ByteArrayInputStream(pluginJar))) {
            plugin = in.getManifest();
        } catch (IOException e) {
            throw new IllegalArgumentException("not a jar: " + e.getMessage(), e);
        }
        if (plugin == null || plugin.getMainAttributes().getValue("Bundle-SymbolicName") == null
                || plugin.getMainAttributes().getValue(PluginInfo.HEADER) == null) {
            throw new IllegalArgumentException("not a Parley plugin: it needs Bundle-SymbolicName and "
                    + PluginInfo.HEADER);
        }
        Manifest m = new Manifest();
        Attributes main = m.getMainAttributes();
        main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        main.putValue("Bundle-ManifestVersion", "2");
        for (String h : COPIED) {
            String v = plugin.getMainAttributes().getValue(h);
            if (v != null) {
                main.putValue(h, v);
            }
        }
        // The proxies it registers are chat and embedding providers: wire the stand-in to the API like the plugin.
        main.putValue("Import-Package", "dev.parley.api.embedding;version=\"[1.0,2)\","
                + "dev.parley.api.llm;version=\"[1.0,2)\"");
        main.putValue(PluginHosts.HEADER, limits.header());
        var out = new ByteArrayOutputStream(pluginJar.length + 1024);
        try (var jar = new JarOutputStream(out, m)) {
            jar.putNextEntry(new JarEntry(PluginHosts.JAR_ENTRY));
            jar.write(pluginJar);
            jar.closeEntry();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}

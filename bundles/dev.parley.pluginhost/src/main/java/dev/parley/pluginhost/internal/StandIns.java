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
        PluginInfo.HEADER, "Parley-Permissions", "Bundle-Localization"};
    /**
     * Entries the stand-in takes from the plugin: its Metatype and the texts it is localized with, so the plugin's
     * settings are known, validated and shown in the server (the admin's plugin settings, a tenant's provider
     * instances) as for a plugin in process; the configurations are then carried to its host (ADR 31).
     */
    private static final String[] COPIED_ENTRIES = {"OSGI-INF/metatype/", "OSGI-INF/l10n/"};
    /** The most bytes of Metatype a stand-in takes. */
    private static final int MAX_METATYPE_BYTES = 1 << 20;

    private StandIns() {
    }

    static byte[] of(byte[] pluginJar, HostLimits limits) {
        Manifest plugin;
        java.util.Map<String, byte[]> copied = new java.util.LinkedHashMap<>();
        try (var in = new JarInputStream(new ByteArrayInputStream(pluginJar))) {
            plugin = in.getManifest();
            int total = 0;
            for (JarEntry e = in.getNextJarEntry(); e != null; e = in.getNextJarEntry()) {
                String name = e.getName();
                if (e.isDirectory() || name.contains("..")
                        || java.util.Arrays.stream(COPIED_ENTRIES).noneMatch(name::startsWith)) {
                    continue;
                }
                byte[] bytes = in.readNBytes(MAX_METATYPE_BYTES - total + 1);
                total += bytes.length;
                if (total > MAX_METATYPE_BYTES) {
                    throw new IllegalArgumentException("the plugin's Metatype is larger than " + MAX_METATYPE_BYTES
                            + " bytes");
                }
                copied.put(name, bytes);
            }
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
            for (var e : copied.entrySet()) {
                jar.putNextEntry(new JarEntry(e.getKey()));
                jar.write(e.getValue());
                jar.closeEntry();
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}

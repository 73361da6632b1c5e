package dev.parley.jmh.plugin;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/**
 * A plugin jar of {@link BenchProvider} alone, made at run time from this class path: a {@code Parley-Plugin} bundle
 * whose Declarative Services component registers the provider, importing only the API (what the untrusted tier
 * admits). The out-of-process benchmark runs it, unchanged, in a plugin host.
 */
public final class BenchPluginJar {
    private BenchPluginJar() {
    }

    public static byte[] of(String pluginId, String providerId, String model) {
        String bsn = "dev.parley.jmh.plugin." + pluginId.replaceAll("[^A-Za-z0-9.]", "_");
        String className = BenchProvider.class.getName();
        String xml = """
                <?xml version="1.0" encoding="UTF-8"?>
                <scr:component xmlns:scr="http://www.osgi.org/xmlns/scr/v1.3.0" name="%s" immediate="true" activate="activate" deactivate="deactivate">
                  <implementation class="%s"/>
                  <property name="providerId" value="%s"/>
                  <property name="models" value="%s"/>
                  <property name="parley.provider.id" value="%s"/>
                  <service><provide interface="dev.parley.api.llm.ChatModelProvider"/></service>
                </scr:component>
                """.formatted(bsn + ".provider", className, providerId, model, providerId);
        Manifest manifest = new Manifest();
        Attributes main = manifest.getMainAttributes();
        main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        main.putValue("Bundle-ManifestVersion", "2");
        main.putValue("Bundle-SymbolicName", bsn);
        main.putValue("Bundle-Version", "1.0.0");
        main.putValue("Parley-Plugin", pluginId + ";type=provider;name=\"Benchmark provider\";publisher=parley-jmh");
        main.putValue("Service-Component", "OSGI-INF/component.xml");
        main.putValue("Import-Package",
                "dev.parley.api.chat;version=\"[2.0,3)\",dev.parley.api.llm;version=\"[1.4,2)\"");
        main.putValue("Require-Capability",
                "osgi.extender;filter:=\"(&(osgi.extender=osgi.component)(version>=1.3.0)(!(version>=2.0.0)))\"");
        var out = new ByteArrayOutputStream();
        try (var jar = new JarOutputStream(out, manifest)) {
            jar.putNextEntry(new JarEntry("OSGI-INF/component.xml"));
            jar.write(xml.getBytes(StandardCharsets.UTF_8));
            jar.closeEntry();
            String path = className.replace('.', '/') + ".class";
            jar.putNextEntry(new JarEntry(path));
            try (InputStream cls = BenchProvider.class.getClassLoader().getResourceAsStream(path)) {
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

package dev.parley.itests.oop;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;

/** Plugin jars around {@link HostedTestProvider}. */
public final class HostedPluginJars {
    private HostedPluginJars() {
    }

    /** @param mode {@code slow} or {@code bomb} */
    public static byte[] provider(String pluginId, String mode, String providerId, String model) {
        return jar(HostedTestProvider.class, pluginId, mode, providerId, model, "test");
    }

    /** A plugin of {@link InlineHostedProvider}, which the untrusted tier admits. */
    public static byte[] inline(String pluginId, String publisher, String providerId, String model) {
        return jar(InlineHostedProvider.class, pluginId, "inline", providerId, model, publisher);
    }

    private static byte[] jar(Class<?> provider, String pluginId, String mode, String providerId, String model,
            String publisher) {
        String bsn = "dev.parley.test.hosted." + pluginId.replaceAll("[^A-Za-z0-9.]", "_");
        String className = provider.getName();
        String xml = """
                <?xml version="1.0" encoding="UTF-8"?>
                <scr:component xmlns:scr="http://www.osgi.org/xmlns/scr/v1.3.0" name="%s" immediate="true" activate="activate" deactivate="deactivate">
                  <implementation class="%s"/>
                  <property name="providerId" value="%s"/>
                  <property name="model" value="%s"/>
                  <property name="mode" value="%s"/>
                  <property name="parley.provider.id" value="%s"/>
                  <service><provide interface="dev.parley.api.llm.ChatModelProvider"/></service>
                </scr:component>
                """.formatted(bsn + ".provider", className, providerId, model, mode, providerId);
        Manifest manifest = new Manifest();
        Attributes main = manifest.getMainAttributes();
        main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        main.putValue("Bundle-ManifestVersion", "2");
        main.putValue("Bundle-SymbolicName", bsn);
        main.putValue("Bundle-Version", "1.0.0");
        main.putValue("Parley-Plugin", pluginId + ";type=provider;name=\"Hosted test (" + mode + ")\";publisher=" + publisher);
        main.putValue("Service-Component", "OSGI-INF/component.xml");
        main.putValue("Import-Package", "dev.parley.api.chat;version=\"[2.0,3)\",dev.parley.api.error;version=\"[1.0,2)\",dev.parley.api.llm;version=\"[1.4,2)\","
                + "org.slf4j;version=\"[2.0,3)\"");
        main.putValue("Require-Capability",
                "osgi.extender;filter:=\"(&(osgi.extender=osgi.component)(version>=1.3.0)(!(version>=2.0.0)))\"");
        var out = new ByteArrayOutputStream();
        try (var jar = new JarOutputStream(out, manifest)) {
            jar.putNextEntry(new JarEntry("OSGI-INF/component.xml"));
            jar.write(xml.getBytes(StandardCharsets.UTF_8));
            jar.closeEntry();
            String path = className.replace('.', '/') + ".class";
            jar.putNextEntry(new JarEntry(path));
            try (InputStream cls = provider.getClassLoader().getResourceAsStream(path)) {
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

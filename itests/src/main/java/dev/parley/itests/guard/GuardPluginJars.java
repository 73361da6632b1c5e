package dev.parley.itests.guard;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Collectors;

/** Small provider plugin jars around {@link GuardTestProvider}, for the call-guard and quarantine tests. */
public final class GuardPluginJars {
    private GuardPluginJars() {
    }

    /**
     * @param mode       {@code ok}, {@code block-models} or {@code throw-stream}
     * @param providerId the provider's id
     * @param models     its model ids, separated by commas
     */
    public static byte[] provider(String pluginId, String version, String publisher, String mode, String providerId,
            String models) {
        return provider(GuardTestProvider.class, "dev.parley.test.guard.", pluginId, version, publisher, mode,
                providerId, models, "dev.parley.api.chat;version=\"[2.0,3)\",dev.parley.api.llm;version=\"[1.4,2)\"",
                List.of("dev.parley.api.llm.ChatModelProvider"));
    }

    /**
     * A provider plugin of another implementation class: a {@code ChatModelProvider} with the same component
     * properties and an {@code activate} and {@code deactivate} method Declarative Services can call.
     *
     * @param moreImports packages its class needs beyond {@code dev.parley.api.chat} and {@code dev.parley.api.llm},
     *                    e.g. {@code ",org.osgi.framework;version=\"[1.10,2)\""}; empty for none
     */
    public static byte[] provider(Class<?> implementation, String moreImports, String pluginId, String version,
            String publisher, String mode, String providerId, String models) {
        return provider(implementation, "dev.parley.test.guard.", pluginId, version, publisher, mode, providerId,
                models, "dev.parley.api.chat;version=\"[2.0,3)\",dev.parley.api.llm;version=\"[1.4,2)\"" + moreImports,
                List.of("dev.parley.api.llm.ChatModelProvider"));
    }

    /**
     * A plugin of one provider class (its only class) configured by the component properties {@code providerId},
     * {@code models} and {@code mode}.
     *
     * @param bsnPrefix prefix of the bundle's symbolic name, before the plugin id
     * @param imports   its {@code Import-Package}
     * @param services  the interfaces its component is registered under
     */
    public static byte[] provider(Class<?> implementation, String bsnPrefix, String pluginId, String version,
            String publisher, String mode, String providerId, String models, String imports, List<String> services) {
        String bsn = bsnPrefix + pluginId.replaceAll("[^A-Za-z0-9.]", "_");
        String className = implementation.getName();
        String xml = """
                <?xml version="1.0" encoding="UTF-8"?>
                <scr:component xmlns:scr="http://www.osgi.org/xmlns/scr/v1.3.0" name="%s" immediate="true" activate="activate" deactivate="deactivate">
                  <implementation class="%s"/>
                  <property name="providerId" value="%s"/>
                  <property name="models" value="%s"/>
                  <property name="mode" value="%s"/>
                  <property name="parley.provider.id" value="%s"/>
                  <service>%s</service>
                </scr:component>
                """.formatted(bsn + ".provider", className, providerId, models, mode, providerId,
                services.stream().map(i -> "<provide interface=\"" + i + "\"/>").collect(Collectors.joining()));
        Manifest manifest = new Manifest();
        Attributes main = manifest.getMainAttributes();
        main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        main.putValue("Bundle-ManifestVersion", "2");
        main.putValue("Bundle-SymbolicName", bsn);
        main.putValue("Bundle-Version", version);
        main.putValue("Parley-Plugin", pluginId + ";type=provider;name=\"" + implementation.getSimpleName() + " ("
                + mode + ")\";publisher=" + publisher);
        main.putValue("Service-Component", "OSGI-INF/component.xml");
        main.putValue("Import-Package", imports);
        main.putValue("Require-Capability",
                "osgi.extender;filter:=\"(&(osgi.extender=osgi.component)(version>=1.3.0)(!(version>=2.0.0)))\"");
        var out = new ByteArrayOutputStream();
        try (var jar = new JarOutputStream(out, manifest)) {
            jar.putNextEntry(new JarEntry("OSGI-INF/component.xml"));
            jar.write(xml.getBytes(StandardCharsets.UTF_8));
            jar.closeEntry();
            String path = className.replace('.', '/') + ".class";
            jar.putNextEntry(new JarEntry(path));
            try (InputStream cls = implementation.getClassLoader().getResourceAsStream(path)) {
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

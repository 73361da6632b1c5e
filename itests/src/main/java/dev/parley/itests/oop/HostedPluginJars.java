package dev.parley.itests.oop;

import dev.parley.api.embedding.EmbeddingProvider;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.itests.guard.GuardPluginJars;
import dev.parley.testsupport.plugins.TestPluginJars;
import java.util.List;
import java.util.Map;

/** Plugin jars around {@link HostedTestProvider}, {@link InlineHostedProvider} and {@link EnvHostedProvider}. */
public final class HostedPluginJars {
    private static final String IMPORTS = "dev.parley.api.chat;version=\"[2.0,3)\",dev.parley.api.embedding;"
            + "version=\"[1.0,2)\",dev.parley.api.error;"
            + "version=\"[1.0,2)\",dev.parley.api.llm;version=\"[1.4,2)\",org.slf4j;version=\"[2.0,3)\"";

    private HostedPluginJars() {
    }

    /**
     * @param mode {@code slow}, {@code bomb} or {@code exit}; the plugin declares the one thread of its timer, which
     *             the run-time checks in its host require (ADR 30)
     */
    public static byte[] provider(String pluginId, String mode, String providerId, String model) {
        return TestPluginJars.withHeaders(GuardPluginJars.provider(HostedTestProvider.class, "dev.parley.test.hosted.",
                pluginId, "1.0.0", "test", mode, providerId, model, IMPORTS,
                List.of(ChatModelProvider.class.getName())), Map.of("Parley-Permissions", "thread;target=1"));
    }

    /** A plugin of {@link InlineHostedProvider} (chat and embeddings), which the untrusted tier admits. */
    public static byte[] inline(String pluginId, String publisher, String providerId, String model) {
        return inline(pluginId, publisher, providerId, model, "");
    }

    /**
     * {@link #inline(String, String, String, String)} importing {@code moreImports} as well (e.g.
     * {@code ",org.osgi.framework;version=\"[1.10,2)\""}), which its class does not need: what its host's sandbox lets
     * it wire to decides whether it resolves.
     */
    public static byte[] inline(String pluginId, String publisher, String providerId, String model,
            String moreImports) {
        return GuardPluginJars.provider(InlineHostedProvider.class, "dev.parley.test.hosted.", pluginId, "1.0.0",
                publisher, "inline", providerId, model, IMPORTS + moreImports,
                List.of(ChatModelProvider.class.getName(), EmbeddingProvider.class.getName()));
    }

    /** A plugin of {@link EnvHostedProvider}, which only a plugin host runs (admission refuses its read). */
    public static byte[] env(String pluginId, String publisher, String providerId, String model) {
        return GuardPluginJars.provider(EnvHostedProvider.class, "dev.parley.test.hosted.", pluginId, "1.0.0",
                publisher, "env", providerId, model, IMPORTS, List.of(ChatModelProvider.class.getName()));
    }

    /**
     * A plugin of {@link ConfiguredHostedProvider} with Metatype, as an admin configures it: the component
     * {@code <bsn>.provider} (PID of the same name: {@code greeting} and the password {@code apiKey}; without a
     * configuration it runs as {@code providerId}/{@code model}), and the factory component {@code <bsn>.instance}
     * (factory PID of the same name), one provider per factory configuration, as a tenant's instances are made.
     *
     * @return the jar; its symbolic name is {@code dev.parley.test.hosted.<pluginId>}
     */
    public static byte[] configured(String pluginId, String providerId, String model) {
        return configured(pluginId, "test", providerId, model);
    }

    /** {@link #configured(String, String, String)} of {@code publisher}. */
    public static byte[] configured(String pluginId, String publisher, String providerId, String model) {
        String bsn = "dev.parley.test.hosted." + pluginId;
        String impl = ConfiguredHostedProvider.class.getName();
        String provider = """
                <?xml version="1.0" encoding="UTF-8"?>
                <scr:component xmlns:scr="http://www.osgi.org/xmlns/scr/v1.3.0" name="%1$s.provider" immediate="true" activate="activate" modified="modified" deactivate="deactivate">
                  <implementation class="%2$s"/>
                  <property name="providerId" value="%3$s"/>
                  <property name="models" value="%4$s"/>
                  <property name="parley.provider.id" value="%3$s"/>
                  <service><provide interface="dev.parley.api.llm.ChatModelProvider"/></service>
                </scr:component>
                """.formatted(bsn, impl, providerId, model);
        String instance = """
                <?xml version="1.0" encoding="UTF-8"?>
                <scr:component xmlns:scr="http://www.osgi.org/xmlns/scr/v1.3.0" name="%1$s.instance" configuration-policy="require" immediate="true" activate="activate" modified="modified" deactivate="deactivate">
                  <implementation class="%2$s"/>
                  <service><provide interface="dev.parley.api.llm.ChatModelProvider"/></service>
                </scr:component>
                """.formatted(bsn, impl);
        String metatype = """
                <?xml version="1.0" encoding="UTF-8"?>
                <metatype:MetaData xmlns:metatype="http://www.osgi.org/xmlns/metatype/v1.4.0">
                  <OCD id="%1$s.provider" name="Configured hosted test">
                    <AD id="greeting" type="String" default="hello" name="Greeting"/>
                    <AD id="apiKey" type="Password" required="false" name="API key"/>
                  </OCD>
                  <OCD id="%1$s.instance" name="Configured hosted test instance">
                    <AD id="providerId" type="String" name="Provider id"/>
                    <AD id="models" type="String" name="Model"/>
                    <AD id="greeting" type="String" default="hello" name="Greeting"/>
                    <AD id="apiKey" type="Password" required="false" name="API key"/>
                  </OCD>
                  <Designate pid="%1$s.provider"><Object ocdref="%1$s.provider"/></Designate>
                  <Designate factoryPid="%1$s.instance"><Object ocdref="%1$s.instance"/></Designate>
                </metatype:MetaData>
                """.formatted(bsn);
        return jar(Map.of("Bundle-SymbolicName", bsn, "Bundle-Version", "1.0.0",
                "Parley-Plugin", pluginId + ";type=provider;name=\"Configured hosted test\";publisher=" + publisher,
                "Service-Component", "OSGI-INF/provider.xml,OSGI-INF/instance.xml",
                "Import-Package", IMPORTS,
                "Require-Capability", "osgi.extender;filter:=\"(&(osgi.extender=osgi.component)(version>=1.3.0)"
                        + "(!(version>=2.0.0)))\""),
                Map.of("OSGI-INF/provider.xml", provider, "OSGI-INF/instance.xml", instance,
                        "OSGI-INF/metatype/metatype.xml", metatype), ConfiguredHostedProvider.class);
    }

    /** A jar of {@code headers}, text {@code entries} and the class file of {@code implementation}. */
    private static byte[] jar(Map<String, String> headers, Map<String, String> entries, Class<?> implementation) {
        java.util.jar.Manifest manifest = new java.util.jar.Manifest();
        java.util.jar.Attributes main = manifest.getMainAttributes();
        main.put(java.util.jar.Attributes.Name.MANIFEST_VERSION, "1.0");
        main.putValue("Bundle-ManifestVersion", "2");
        headers.forEach(main::putValue);
        var out = new java.io.ByteArrayOutputStream();
        try (var jar = new java.util.jar.JarOutputStream(out, manifest)) {
            for (var e : entries.entrySet()) {
                jar.putNextEntry(new java.util.jar.JarEntry(e.getKey()));
                jar.write(e.getValue().getBytes(java.nio.charset.StandardCharsets.UTF_8));
                jar.closeEntry();
            }
            String path = implementation.getName().replace('.', '/') + ".class";
            jar.putNextEntry(new java.util.jar.JarEntry(path));
            try (var cls = implementation.getClassLoader().getResourceAsStream(path)) {
                if (cls == null) {
                    throw new IllegalStateException("class file not found: " + path);
                }
                cls.transferTo(jar);
            }
            jar.closeEntry();
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return out.toByteArray();
    }
}

package dev.parley.pluginhost.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PluginPidsTest {
    @TempDir
    Path dir;

    @Test
    void theComponentsConfigurationPidsAndTheMetatypesDesignatesAreRead() throws IOException {
        Path jar = jar("OSGI-INF/a.xml,OSGI-INF/b.xml,OSGI-INF/c.xml,OSGI-INF/missing.xml", Map.of(
                "OSGI-INF/a.xml", """
                        <scr:component xmlns:scr="http://www.osgi.org/xmlns/scr/v1.3.0" name="x.a">
                          <implementation class="x.A"/></scr:component>""",
                "OSGI-INF/b.xml", """
                        <components xmlns:scr="http://www.osgi.org/xmlns/scr/v1.4.0">
                        <scr:component name="x.b" configuration-pid="x.shared $"><implementation class="x.B"/></scr:component>
                        <scr:component name="x.c" configuration-policy="ignore"><implementation class="x.C"/></scr:component>
                        </components>""",
                "OSGI-INF/c.xml", "<not xml",
                "OSGI-INF/metatype/m.xml", """
                        <metatype:MetaData xmlns:metatype="http://www.osgi.org/xmlns/metatype/v1.4.0">
                          <Designate pid="x.meta"><Object ocdref="o"/></Designate>
                          <Designate factoryPid="x.factory"><Object ocdref="o"/></Designate>
                        </metatype:MetaData>"""));

        assertThat(PluginPids.of(jar)).containsExactly("x.a", "x.b", "x.factory", "x.meta", "x.shared");
    }

    @Test
    void aWildcardInServiceComponentIsFollowed() throws IOException {
        Path jar = jar("OSGI-INF/*.xml", Map.of("OSGI-INF/one.xml", """
                <scr:component xmlns:scr="http://www.osgi.org/xmlns/scr/v1.3.0" name="w.one"/>""",
                "OSGI-INF/sub/two.xml", """
                <scr:component xmlns:scr="http://www.osgi.org/xmlns/scr/v1.3.0" name="w.two"/>"""));
        assertThat(PluginPids.of(jar)).containsExactly("w.one");
    }

    @Test
    void aDoctypeIsNotFollowed() throws IOException {
        Path secret = Files.writeString(dir.resolve("secret.txt"), "leaked");
        Path jar = jar("OSGI-INF/a.xml", Map.of("OSGI-INF/a.xml", "<!DOCTYPE c [<!ENTITY e SYSTEM \""
                + secret.toUri() + "\">]><component name=\"&e;\"/>"));
        assertThat(PluginPids.of(jar)).isEmpty();
    }

    private Path jar(String serviceComponent, Map<String, String> entries) throws IOException {
        Manifest m = new Manifest();
        m.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        m.getMainAttributes().putValue("Service-Component", serviceComponent);
        Path jar = dir.resolve("plugin.jar");
        try (OutputStream out = Files.newOutputStream(jar); var j = new JarOutputStream(out, m)) {
            for (var e : entries.entrySet()) {
                j.putNextEntry(new JarEntry(e.getKey()));
                j.write(e.getValue().getBytes(StandardCharsets.UTF_8));
                j.closeEntry();
            }
        }
        return jar;
    }
}

package dev.parley.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.entry;

import java.util.Arrays;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class PluginDescriptorsTest {

    @Test
    void readsAValidPlugin() {
        PluginDescriptor d = PluginDescriptors.read(TestJars.plugin().build());

        assertThat(d.id()).isEqualTo("example.echo");
        assertThat(d.version()).isEqualTo("1.0.0");
        assertThat(d.symbolicName()).isEqualTo("com.example.example.echo");
        assertThat(d.type()).isEqualTo("tool");
        assertThat(d.displayName()).isEqualTo("Echo, the tool");
        assertThat(d.description()).isEqualTo("Says it back; loudly");
        assertThat(d.publisher()).isEqualTo("acme");
        assertThat(d.imports()).containsExactly(entry("dev.parley.api.chat", "[1.0,2)"),
                entry("dev.parley.api.llm", "[1.0,2)"), entry("org.slf4j", "[2.0,3)"));
        assertThat(d.apiImports()).containsOnlyKeys("dev.parley.api.chat", "dev.parley.api.llm");
        assertThat(d.apiRange()).isEqualTo("[1.0.0,2.0.0)");
        assertThat(d.permissions()).containsExactly(
                new Permission("network", "api.example.com:443", ""),
                new Permission("secret", "apiKey", ""),
                new Permission("file", "cache", "read,write"),
                new Permission("network", "other.example.com:443", ""));
    }

    @Test
    void readsThreadPermissionsWithOrWithoutACount() {
        PluginDescriptor d = PluginDescriptors.read(TestJars.plugin()
                .header("Parley-Permissions", "thread, thread;target=4, secret;target=apiKey").build());

        assertThat(d.permissions()).containsExactly(new Permission("thread", "", ""),
                new Permission("thread", "4", ""), new Permission("secret", "apiKey", ""));
    }

    @Test
    void normalisesTheVersionAndDefaultsTheDisplayName() {
        PluginDescriptor d = PluginDescriptors.read(TestJars.plugin("x-1", "2.1").without("Parley-Permissions")
                .without("Import-Package").header("Parley-Plugin", "x-1;type=vector_store;publisher=acme").build());
        assertThat(d.version()).isEqualTo("2.1.0");
        assertThat(d.displayName()).isEqualTo("x-1");
        assertThat(d.description()).isEmpty();
        assertThat(d.permissions()).isEmpty();
        assertThat(d.apiImports()).isEmpty();
        assertThat(d.apiRange()).isEmpty();
        assertThat(PluginDescriptors.osgiVersion("1.2.3.beta-1")).isEqualTo("1.2.3.beta-1");
    }

    @Test
    void refusesWhatIsNotAJar() {
        assertInvalid(new byte[0], "not a jar");
        assertInvalid("hello world, not a zip".getBytes(), "not a jar: the upload is not a zip archive");
        byte[] good = TestJars.plugin().build();
        assertInvalid(Arrays.copyOf(good, good.length / 2), "not a jar");
        byte[] corrupt = good.clone();
        corrupt[corrupt.length / 2] ^= 0x55; // inside the compressed data: the entry no longer inflates or checks
        assertThatThrownBy(() -> PluginDescriptors.read(corrupt)).isInstanceOf(RegistryException.class)
                .satisfies(e -> assertThat(((RegistryException) e).reason()).isEqualTo(RegistryException.Reason.INVALID_PLUGIN));
        assertInvalid(TestJars.zipWithoutManifest(), "has no META-INF/MANIFEST.MF");
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            no manifest version     | Bundle-ManifestVersion |                                                       | Bundle-ManifestVersion must be 2
            no symbolic name        | Bundle-SymbolicName    |                                                       | no Bundle-SymbolicName
            two symbolic names      | Bundle-SymbolicName    | a,b                                                   | must name exactly one symbolic name
            no version              | Bundle-Version         |                                                       | no Bundle-Version
            bad version             | Bundle-Version         | x                                                     | Bundle-Version 'x' is not an OSGi version
            version too big         | Bundle-Version         | 99999999999.0.0                                       | is not an OSGi version
            exports                 | Export-Package         | com.example.api;version=1.0                           | plugins must not export packages: found Export-Package com.example.api;version=1.0
            fragment                | Fragment-Host          | dev.parley.core                                       | plugins must not be fragments
            no plugin header        | Parley-Plugin          |                                                       | no Parley-Plugin header
            two plugins             | Parley-Plugin          | a;type=tool;publisher=acme,b;type=tool;publisher=acme  | exactly one plugin
            bad id                  | Parley-Plugin          | Echo!;type=tool;publisher=acme                        | id 'Echo!' is not valid
            id too long             | Parley-Plugin          | a234567890a234567890a234567890a234567890a234567890a234567890a234567890a234567890a234567890a2345678901;type=tool;publisher=acme | is not valid
            no type                 | Parley-Plugin          | echo;publisher=acme                                   | has no type
            unknown type            | Parley-Plugin          | echo;type=widget;publisher=acme                       | type 'widget' is unknown; use one of provider|embedding|vector_store|tool|agent|analytics
            no publisher            | Parley-Plugin          | echo;type=tool                                        | Parley-Plugin header has no publisher
            bad publisher           | Parley-Plugin          | echo;type=tool;publisher="Acme Inc"                   | publisher 'Acme Inc' is not a valid publisher id
            unknown permission      | Parley-Permissions     | process;target=sh                                     | unknown permission kind 'process'
            permission no target    | Parley-Permissions     | network                                               | network permission has no target
            file bad action         | Parley-Permissions     | file;target=cache;actions=execute                     | unknown action 'execute'
            actions on network      | Parley-Permissions     | network;target=a:1;actions=read                       | takes no actions
            thread not a number     | Parley-Permissions     | thread;target=many                                    | is not a number of threads
            actions on thread       | Parley-Permissions     | thread;actions=read                                   | thread permission takes no actions
            bad import range        | Import-Package         | dev.parley.api.chat;version="[1.0,two)"               | not an OSGi version range
            """)
    void refusesBadManifestsWithAReason(String name, String header, String value, String message) {
        byte[] jar = TestJars.plugin().header(header, value).build();
        assertInvalid(jar, message);
    }

    private static void assertInvalid(byte[] jar, String message) {
        assertThatThrownBy(() -> PluginDescriptors.read(jar))
                .isInstanceOfSatisfying(RegistryException.class,
                        e -> assertThat(e.reason()).isEqualTo(RegistryException.Reason.INVALID_PLUGIN))
                .hasMessageContaining(message);
    }
}

package dev.parley.plugincli;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.registry.Signatures;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code parley-plugin index}: the shipped plugins' index, generated from the jars themselves. */
class IndexCommandTest {
    @TempDir
    Path dir;

    @Test
    void indexesEveryJarWithIdVersionAndDigest() throws Exception {
        Path ollama = PluginJars.write(dir, "ollama", "0.1.0.SNAPSHOT", "ollama;type=provider;publisher=parley");
        Path gemini = PluginJars.write(dir, "gemini", "1.2.0", "gemini;type=provider;publisher=parley");

        Cli cli = Cli.run("index", dir.toString());

        assertThat(cli.exit()).as(cli.err()).isZero();
        JsonNode plugins = new ObjectMapper().readTree(dir.resolve("index.json").toFile()).get("plugins");
        assertThat(plugins).hasSize(2);
        JsonNode first = plugins.get(0);
        assertThat(first.get("id").asText()).isEqualTo("gemini");
        assertThat(first.get("version").asText()).isEqualTo("1.2.0");
        assertThat(first.get("sha256").asText()).isEqualTo(Signatures.sha256Hex(Files.readAllBytes(gemini)));
        assertThat(first.get("size").asLong()).isEqualTo(Files.size(gemini));
        assertThat(first.get("file").asText()).isEqualTo(gemini.getFileName().toString());
        assertThat(first.get("publisher").asText()).isEqualTo("parley");
        assertThat(plugins.get(1).get("id").asText()).isEqualTo("ollama");
        assertThat(plugins.get(1).get("sha256").asText()).isEqualTo(Signatures.sha256Hex(Files.readAllBytes(ollama)));
    }

    @Test
    void refusesAFolderWithoutPluginsOrWithAJarThatIsNotOne(@TempDir Path empty) throws Exception {
        Cli none = Cli.run("index", empty.toString());
        assertThat(none.exit()).isEqualTo(ParleyPlugin.FAILED);
        assertThat(none.err()).contains("no plugin jars in");

        PluginJars.write(dir, "plain", "1.0.0", null);
        Cli notAPlugin = Cli.run("index", dir.toString());
        assertThat(notAPlugin.exit()).isEqualTo(ParleyPlugin.FAILED);
        assertThat(notAPlugin.err()).contains("Parley-Plugin");
        assertThat(dir.resolve("index.json")).doesNotExist();
    }
}

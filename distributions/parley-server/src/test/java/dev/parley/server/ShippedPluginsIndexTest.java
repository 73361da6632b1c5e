package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * The server ships every provider plugin of the repository's plugins/ folder, and the generated index describes the
 * jars it carries (ADR 11): a plugin module added without being shipped, or an index that does not match, fails here.
 */
class ShippedPluginsIndexTest {
    private static final Pattern PLUGIN_ID = Pattern.compile("(?m)^Parley-Plugin:\\s*([a-z0-9][a-z0-9._-]*)");

    @Test
    void everyPluginModuleIsShippedAndIndexed() throws IOException {
        Path shipped = Path.of("target/classes/plugins");
        JsonNode index = new ObjectMapper().readTree(shipped.resolve("index.json").toFile()).get("plugins");

        var indexed = new TreeSet<String>();
        for (JsonNode p : index) {
            indexed.add(p.get("id").asText());
            Path jar = shipped.resolve(p.get("file").asText());
            assertThat(jar).exists();
            assertThat(Files.size(jar)).isEqualTo(p.get("size").asLong());
            assertThat(p.get("publisher").asText()).isEqualTo("parley");
        }
        assertThat(indexed).containsExactlyElementsOf(moduleIds());
        assertThat(indexed).hasSize(7);
    }

    private static TreeSet<String> moduleIds() throws IOException {
        Path plugins = Path.of(System.getProperty("parley.plugins.dir", "../../plugins"));
        List<Path> modules = new ArrayList<>();
        try (Stream<Path> dirs = Files.list(plugins)) {
            dirs.filter(d -> Files.isRegularFile(d.resolve("pom.xml"))).forEach(modules::add);
        }
        var ids = new TreeSet<String>();
        for (Path m : modules) {
            Matcher id = PLUGIN_ID.matcher(Files.readString(m.resolve("bnd.bnd")));
            assertThat(id.find()).as(m + " names its plugin id in bnd.bnd").isTrue();
            ids.add(id.group(1));
        }
        return ids;
    }
}

package dev.parley.config.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class NodeIdentityTest {
    private final ConfigurationSources sources = new ConfigurationSources();

    @Test
    void generatesAnIdOnceAndKeepsItInTheFile(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("data").resolve(NodeIdentity.FILE_NAME);

        String first = NodeIdentity.resolve(null, file);
        String again = NodeIdentity.resolve("  ", file);

        assertThat(first).matches("[A-Za-z0-9.-]+-[0-9a-f]{8}").hasSizeLessThanOrEqualTo(NodeIdentity.MAX_LENGTH)
                .isEqualTo(again);
        assertThat(Files.readString(file).strip()).isEqualTo(first);
        assertThat(NodeIdentity.resolve(null, dir.resolve("other"))).isNotEqualTo(first);
    }

    @Test
    void aConfiguredIdWinsAndWritesNoFile(@TempDir Path dir) {
        Path file = dir.resolve(NodeIdentity.FILE_NAME);

        assertThat(NodeIdentity.resolve(" node-7 ", file)).isEqualTo("node-7");
        assertThat(file).doesNotExist();
    }

    @Test
    void anExistingFileIsUsedAsWritten(@TempDir Path dir) throws Exception {
        Path file = dir.resolve(NodeIdentity.FILE_NAME);
        Files.writeString(file, "eu-west-1a\n");

        assertThat(NodeIdentity.resolve(null, file)).isEqualTo("eu-west-1a");
    }

    @Test
    void handsTheGeneratedIdToThePluginRuntimeAndTheStore(@TempDir Path dir) throws Exception {
        var configurations = sources.compute(dir.resolve("config"), Map.of("PARLEY_DB_URL", "jdbc:postgresql://db/p"))
                .configurations();
        Path file = dir.resolve(NodeIdentity.FILE_NAME);

        String id = NodeIdentity.handOver(configurations, file);

        assertThat(id).isEqualTo(Files.readString(file).strip());
        assertThat(configurations.get(ConfigurationSources.PLUGINS_PID)).containsExactly(Map.entry("nodeId", id));
        // The store keeps its own settings and gets the same id.
        assertThat(configurations.get(ConfigurationSources.STORE_PID)).containsEntry("nodeId", id)
                .containsEntry("url", "jdbc:postgresql://db/p");
        // The next start of the process is the same node.
        var next = sources.compute(dir.resolve("config"), Map.of()).configurations();
        assertThat(NodeIdentity.handOver(next, file)).isEqualTo(id);
    }

    @Test
    void handsParleyNodeIdToEveryPid(@TempDir Path dir) {
        var configurations = sources.compute(dir, Map.of("PARLEY_NODE_ID", " node-b ")).configurations();
        Path file = dir.resolve(NodeIdentity.FILE_NAME);

        assertThat(NodeIdentity.handOver(configurations, file)).isEqualTo("node-b");

        assertThat(NodeIdentity.PIDS).containsExactly(ConfigurationSources.PLUGINS_PID, ConfigurationSources.STORE_PID);
        assertThat(NodeIdentity.PIDS).allSatisfy(pid -> assertThat(configurations.get(pid)).containsEntry("nodeId", "node-b"));
        assertThat(file).doesNotExist();
    }

    @Test
    void oneIdForTheProcessEvenWhenFilesSetTwo(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("nodes.json"), """
                {"dev.parley.store.jdbc": {"nodeId": "from-store"}, "dev.parley.plugins": {"nodeId": "from-plugins"}}
                """);
        var configurations = sources.compute(dir, Map.of()).configurations();

        assertThat(NodeIdentity.handOver(configurations, dir.resolve(NodeIdentity.FILE_NAME))).isEqualTo("from-plugins");
        assertThat(configurations.get(ConfigurationSources.STORE_PID)).containsEntry("nodeId", "from-plugins");

        Files.writeString(dir.resolve("nodes.json"), """
                {"dev.parley.store.jdbc": {"nodeId": "from-store"}}
                """);
        var storeOnly = sources.compute(dir, Map.of()).configurations();
        assertThat(NodeIdentity.handOver(storeOnly, dir.resolve(NodeIdentity.FILE_NAME))).isEqualTo("from-store");
        assertThat(storeOnly.get(ConfigurationSources.PLUGINS_PID)).containsEntry("nodeId", "from-store");
    }

    @Test
    void anUnusableConfiguredIdIsIgnoredForTheKeptOne(@TempDir Path dir) throws Exception {
        Path file = dir.resolve(NodeIdentity.FILE_NAME);
        Files.writeString(file, "kept-node\n");

        for (String bad : new String[] {"n".repeat(NodeIdentity.MAX_LENGTH + 1), "two words", "tab\there", "new\nline"}) {
            var configurations = sources.compute(dir.resolve("config"), Map.of("PARLEY_NODE_ID", bad)).configurations();

            assertThat(NodeIdentity.handOver(configurations, file)).as(bad).isEqualTo("kept-node");
            assertThat(configurations.get(ConfigurationSources.STORE_PID)).containsEntry("nodeId", "kept-node");
        }
        var longest = sources.compute(dir.resolve("config"),
                Map.of("PARLEY_NODE_ID", "n".repeat(NodeIdentity.MAX_LENGTH))).configurations();
        assertThat(NodeIdentity.handOver(longest, file)).hasSize(NodeIdentity.MAX_LENGTH);
    }
}

package dev.parley.config.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** PARLEY_SHIPPED_PLUGINS: which of the plugins the server ships are seeded at start (ADR 11). */
class ShippedPluginsSourcesTest {
    private final ConfigurationSources sources = new ConfigurationSources();

    @Test
    void theSelectionGoesToThePluginRuntime(@TempDir Path dir) {
        assertThat(sources.compute(dir, Map.of("PARLEY_SHIPPED_PLUGINS", "none")).configurations()
                .get("dev.parley.plugins")).containsEntry("shippedPlugins", "none");
        assertThat(sources.compute(dir, Map.of("PARLEY_SHIPPED_PLUGINS", "ollama,anthropic")).configurations()
                .get("dev.parley.plugins")).containsEntry("shippedPlugins", "ollama,anthropic");
    }

    @Test
    void unsetLeavesTheDefault(@TempDir Path dir) {
        var plugins = sources.compute(dir, Map.of()).configurations().get("dev.parley.plugins");
        assertThat(plugins == null ? Map.of() : plugins).doesNotContainKey("shippedPlugins");
    }
}

package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.store.ConversationStore;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * The configuration bundle computes the node id once and hands it to the plugin runtime and the store, so per-node
 * plugin status and crash recovery of streaming answers speak of the same node.
 */
class NodeIdentityTest {
    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ConfigurationAdmin configAdmin;

    @InjectService(timeout = 20_000)
    ServiceAware<ConversationStore> store;

    @Test
    void pluginRuntimeAndStoreRunAsTheNodeKeptInTheDataDirectory() throws Exception {
        String kept = Files.readString(Path.of(context.getProperty("parley.data.dir"), "node-id")).strip();

        assertThat(kept).isNotBlank();
        assertThat(configAdmin.getConfiguration("dev.parley.plugins", "?").getProperties().get("nodeId")).isEqualTo(kept);
        assertThat(configAdmin.getConfiguration("dev.parley.store.jdbc", "?").getProperties().get("nodeId"))
                .isEqualTo(kept);
        // The components run with it: DS publishes their configuration as service properties.
        assertThat(store.getServiceReference().getProperty("nodeId")).isEqualTo(kept);
        ServiceReference<?>[] plugins = context.getAllServiceReferences("dev.parley.plugins.internal.PluginOperations",
                null);
        assertThat(plugins).singleElement().satisfies(ref -> assertThat(ref.getProperty("nodeId")).isEqualTo(kept));
    }
}

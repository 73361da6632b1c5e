package dev.parley.store.jdbc.internal;

import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.io.TempDir;

/** The contract on the embedded default: no configuration at all, a file database under the data directory. */
class H2ConversationStoreTest extends ConversationStoreContract {
    @TempDir
    Path dataDir;

    @Override
    protected Map<String, Object> storeConfig() {
        return Map.of();
    }

    @Override
    protected String dataDir() {
        return dataDir.toString();
    }
}

package dev.parley.registry.s3.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import dev.parley.db.internal.PooledDatabase;
import dev.parley.registry.RegistryException;
import dev.parley.registry.RegistryException.Reason;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The metadata's tables come from this bundle's own migrations, recorded under its name. */
class RegistryMetadataSchemaTest {
    private final PooledDatabase database = new PooledDatabase(
            "jdbc:h2:mem:" + UUID.randomUUID() + ";DB_CLOSE_DELAY=-1", "", "", 2, 5000);

    @AfterEach
    void closeDatabase() {
        database.close();
    }

    @Test
    void everyFileTheBundleCarriesIsAppliedOnceUnderItsName() throws Exception {
        Path dir = Path.of(getClass().getClassLoader().getResource(RegistryMetadata.MIGRATIONS).toURI());
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(RegistryMetadata.MIGRATION_FILES).containsExactlyInAnyOrderElementsOf(
                    files.map(f -> f.getFileName().toString()).toList());
        }

        new RegistryMetadata(database);
        var metadata = new RegistryMetadata(database); // a second start applies nothing

        List<String> history = database.inTransaction("read the history", c -> {
            var rows = new ArrayList<String>();
            try (Statement st = c.createStatement(); ResultSet rs = st.executeQuery(
                    "SELECT module, version, description FROM parley_schema_history ORDER BY version")) {
                while (rs.next()) {
                    rows.add(rs.getString(1) + " V" + rs.getInt(2) + " " + rs.getString(3));
                }
            }
            return rows;
        });
        assertThat(history).containsExactly("dev.parley.registry.s3 V4 plugin_registry",
                "dev.parley.registry.s3 V8 registry_origin", "dev.parley.registry.s3 V10 registry_api_range",
                "dev.parley.registry.s3 V11 registry_plugin_owners");
        assertThat(metadata.entries()).isEmpty();
    }

    @Test
    void aDatabaseThatCannotBeMigratedIsAStorageError() {
        database.close();

        var e = catchThrowableOfType(RegistryException.class, () -> new RegistryMetadata(database));

        assertThat(e.reason()).isEqualTo(Reason.STORAGE);
        assertThat(e).hasMessageContaining("Plugin registry database");
    }
}

package dev.parley.store.jdbc.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class MigratorTest {
    @Test
    void everyMigrationFileInTheBundleIsListedInOrder() throws IOException, URISyntaxException {
        Path dir = Path.of(getClass().getClassLoader().getResource(Migrator.LOCATION).toURI());
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(Migrator.BUNDLED).containsExactlyInAnyOrderElementsOf(
                    files.map(p -> p.getFileName().toString()).toList());
        }
        assertThat(Migrator.load(getClass().getClassLoader(), Migrator.BUNDLED)).extracting(Migrator.Migration::version)
                .isSorted().doesNotHaveDuplicates();
    }

    @Test
    void splitsScriptsIntoStatementsWithoutComments() {
        var migration = new Migrator.Migration(1, "x", """
                -- a comment; with a semicolon
                CREATE TABLE a (id INT);

                CREATE INDEX a_idx
                    ON a (id);
                INSERT INTO a VALUES (1)""", "c");

        assertThat(migration.statements()).containsExactly("CREATE TABLE a (id INT)",
                "CREATE INDEX a_idx\n    ON a (id)", "INSERT INTO a VALUES (1)");
    }

    @Test
    void checksumsIgnoreLineEndingsButNotContent() {
        var loaded = Migrator.load(getClass().getClassLoader(), List.of("V1__conversations.sql"));

        assertThat(loaded).singleElement().satisfies(m -> {
            assertThat(m.description()).isEqualTo("conversations");
            assertThat(m.checksum()).hasSize(64).matches("[0-9a-f]+");
            assertThat(m.script()).doesNotContain("\r");
        });
    }

    @Test
    void rejectsBadFileNamesAndMissingFiles() {
        var loader = getClass().getClassLoader();

        assertThatThrownBy(() -> Migrator.load(loader, List.of("conversations.sql")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Migrator.load(loader, List.of("V9__missing.sql")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("V9__missing.sql");
        assertThatThrownBy(() -> Migrator.load(loader, List.of("V2__messages.sql", "V1__conversations.sql")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("increase");
    }
}

package dev.parley.db.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.List;
import org.junit.jupiter.api.Test;

class MigratorTest {
    private static final String ALPHA = "db/migration/test.alpha/";

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
        var loaded = Migrator.load(getClass().getClassLoader(), ALPHA, List.of("V1__alpha_items.sql"));

        assertThat(loaded).singleElement().satisfies(m -> {
            assertThat(m.version()).isEqualTo(1);
            assertThat(m.description()).isEqualTo("alpha_items");
            assertThat(m.checksum()).hasSize(64).matches("[0-9a-f]+");
            assertThat(m.script()).doesNotContain("\r");
        });
        var crlf = new FileLoader(ALPHA + "V1__alpha_items.sql",
                loaded.get(0).script().replace("\n", "\r\n"));
        var changed = new FileLoader(ALPHA + "V1__alpha_items.sql", loaded.get(0).script() + "\n-- changed\n");
        assertThat(Migrator.load(crlf, ALPHA, List.of("V1__alpha_items.sql")).get(0).checksum())
                .isEqualTo(loaded.get(0).checksum());
        assertThat(Migrator.load(changed, ALPHA, List.of("V1__alpha_items.sql")).get(0).checksum())
                .isNotEqualTo(loaded.get(0).checksum());
    }

    @Test
    void theLocationMayOmitItsTrailingSlash() {
        assertThat(Migrator.load(getClass().getClassLoader(), "db/migration/test.alpha",
                List.of("V1__alpha_items.sql", "V2__alpha_note.sql"))).extracting(Migrator.Migration::version)
                .containsExactly(1, 2);
    }

    @Test
    void rejectsBadFileNamesMissingFilesAndVersionsThatDoNotIncrease() {
        var loader = getClass().getClassLoader();

        assertThatThrownBy(() -> Migrator.load(loader, ALPHA, List.of("alpha_items.sql")))
                .isInstanceOf(IllegalArgumentException.class);
        assertThatThrownBy(() -> Migrator.load(loader, ALPHA, List.of("V9__missing.sql")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("V9__missing.sql");
        assertThatThrownBy(() -> Migrator.load(loader, ALPHA, List.of("V2__alpha_note.sql", "V1__alpha_items.sql")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("increase");
        assertThatThrownBy(() -> Migrator.load(loader, ALPHA, List.of("V1__alpha_items.sql", "V1__alpha_items.sql")))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("increase");
    }

    @Test
    void everyVersionTheOneStoreMigratorAppliedHasAnOwner() {
        assertThat(Migrator.LEGACY_MODULES).containsOnlyKeys(1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11);
        assertThat(Migrator.LEGACY_MODULES.entrySet()).filteredOn(e -> e.getValue().equals(Migrator.STORE))
                .extracting(java.util.Map.Entry::getKey).containsExactlyInAnyOrder(1, 2, 5, 6, 7, 11);
        assertThat(Migrator.LEGACY_MODULES.entrySet()).filteredOn(e -> e.getValue().equals(Migrator.PLUGINS))
                .extracting(java.util.Map.Entry::getKey).containsExactlyInAnyOrder(3, 9);
        assertThat(Migrator.LEGACY_MODULES.entrySet()).filteredOn(e -> e.getValue().equals(Migrator.REGISTRY_S3))
                .extracting(java.util.Map.Entry::getKey).containsExactlyInAnyOrder(4, 8, 10);
    }
}

package dev.parley.store.jdbc.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

class StoreSchemaTest {
    @Test
    void everyMigrationFileOfTheBundleIsListedInOrder() throws IOException, URISyntaxException {
        Path dir = Path.of(getClass().getClassLoader().getResource(StoreSchema.LOCATION).toURI());
        try (Stream<Path> files = Files.list(dir)) {
            assertThat(StoreSchema.FILES).containsExactlyInAnyOrderElementsOf(
                    files.map(p -> p.getFileName().toString()).toList());
        }
        assertThat(StoreSchema.FILES).extracting(f -> Integer.parseInt(f.substring(1, f.indexOf("__"))))
                .isSorted().doesNotHaveDuplicates();
        assertThat(StoreSchema.MODULE).isEqualTo("dev.parley.store.jdbc");
    }
}

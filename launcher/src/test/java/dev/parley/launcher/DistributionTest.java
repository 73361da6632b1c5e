package dev.parley.launcher;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DistributionTest {
    @Test
    void theJarsManifestNamesTheDistributionAndNoneIsAllInOne(@TempDir Path dir) throws Exception {
        assertThat(Distribution.of(jar(dir.resolve("gateway.jar"), "Gateway"))).isEqualTo("gateway");
        assertThat(Distribution.of(jar(dir.resolve("plain.jar"), null))).isEqualTo("all-in-one");
        assertThat(Distribution.of(dir)).isEqualTo("all-in-one");
    }

    @Test
    void aPartOfAClusterNeedsItsPostgreSqlAndAnUnknownNameIsRefused() {
        assertThat(Distribution.refusal("all-in-one", Map.of())).isNull();
        assertThat(Distribution.refusal("gateway", Map.of())).contains("PARLEY_DB_URL").contains("all-in-one");
        assertThat(Distribution.refusal("worker", Map.of("PARLEY_DB_URL", "jdbc:h2:./data/parley")))
                .contains("needs its shared PostgreSQL");
        assertThat(Distribution.refusal("worker", Map.of("PARLEY_DB_URL", "jdbc:postgresql://db:5432/parley")))
                .isNull();
        assertThat(Distribution.refusal("edge", Map.of())).contains("unknown distribution 'edge'");
    }

    private static Path jar(Path path, String distribution) throws Exception {
        Manifest manifest = new Manifest();
        manifest.getMainAttributes().put(Attributes.Name.MANIFEST_VERSION, "1.0");
        if (distribution != null) {
            manifest.getMainAttributes().putValue(Distribution.ATTRIBUTE, distribution);
        }
        try (OutputStream out = Files.newOutputStream(path); var jar = new JarOutputStream(out, manifest)) {
            jar.flush();
        }
        return path;
    }
}

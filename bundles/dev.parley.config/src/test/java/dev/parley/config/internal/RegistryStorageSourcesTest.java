package dev.parley.config.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The environment variables that switch the plugin registry to PostgreSQL + S3 storage. */
class RegistryStorageSourcesTest {
    private final ConfigurationSources sources = new ConfigurationSources();

    @Test
    void s3StorageFromTheEnvironment(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of("PARLEY_REGISTRY_STORAGE", "s3",
                "PARLEY_REGISTRY_S3_ENDPOINT", "http://127.0.0.1:9000", "PARLEY_REGISTRY_S3_REGION", "eu-central-1",
                "PARLEY_REGISTRY_S3_BUCKET", "plugins", "PARLEY_REGISTRY_S3_ACCESS_KEY", "minio",
                "PARLEY_REGISTRY_S3_SECRET_KEY", "minio-secret"));

        assertThat(result.configurations().get("dev.parley.registry")).containsEntry("storage", "s3")
                .containsEntry("storage.target", "(parley.registry.storage=s3)");
        assertThat(result.configurations().get("dev.parley.registry.s3"))
                .containsEntry("endpoint", "http://127.0.0.1:9000").containsEntry("region", "eu-central-1")
                .containsEntry("bucket", "plugins").containsEntry("accessKey", "minio")
                // dotted: DS never publishes it as a service property
                .containsEntry(".secretKey", "minio-secret").doesNotContainKey("secretKey");
    }

    @Test
    void s3SettingsAloneDoNotStartTheS3Storage(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of("PARLEY_REGISTRY_S3_ENDPOINT", "http://127.0.0.1:9000",
                "PARLEY_REGISTRY_S3_BUCKET", "plugins"));

        assertThat(result.configurations()).doesNotContainKeys("dev.parley.registry.s3", "dev.parley.registry");
        assertThat(sources.compute(dir, Map.of("PARLEY_REGISTRY_STORAGE", "local",
                "PARLEY_REGISTRY_S3_BUCKET", "plugins")).configurations())
                .doesNotContainKey("dev.parley.registry.s3").containsKey("dev.parley.registry");
    }

    @Test
    void choosingS3WithoutItsSettingsStillConfiguresItSoItCanSayWhatIsMissing(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of("PARLEY_REGISTRY_STORAGE", " s3 "));

        assertThat(result.configurations().get("dev.parley.registry")).containsEntry("storage", "s3");
        assertThat(result.configurations()).containsKey("dev.parley.registry.s3");
        assertThat(result.configurations().get("dev.parley.registry.s3")).isEmpty();
    }

    @Test
    void filesCanChooseS3AndTheEnvironmentOverridesThem(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("registry.json"), """
                {"dev.parley.registry": {"storage": "s3"},
                 "dev.parley.registry.s3": {"endpoint": "http://s3.internal:9000", "bucket": "a", "prefix": "p/"}}
                """);

        var result = sources.compute(dir, Map.of("PARLEY_REGISTRY_S3_BUCKET", "b"));

        assertThat(result.configurations().get("dev.parley.registry.s3"))
                .containsEntry("endpoint", "http://s3.internal:9000").containsEntry("bucket", "b")
                .containsEntry("prefix", "p/");
        assertThat(sources.compute(dir, Map.of("PARLEY_REGISTRY_STORAGE", "local")).configurations())
                .doesNotContainKey("dev.parley.registry.s3");
    }

    @Test
    void anExplicitStorageFilterIsKeptAndOddKindsGetNone(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("registry.json"), """
                {"dev.parley.registry": {"storage": "s3", "storage.target": "(&(parley.registry.storage=s3)(region=eu))"}}
                """);
        assertThat(sources.compute(dir, Map.of()).configurations().get("dev.parley.registry"))
                .containsEntry("storage.target", "(&(parley.registry.storage=s3)(region=eu))");

        assertThat(sources.compute(null, Map.of("PARLEY_REGISTRY_STORAGE", "s3)(x=y")).configurations()
                .get("dev.parley.registry")).doesNotContainKey("storage.target");
    }
}

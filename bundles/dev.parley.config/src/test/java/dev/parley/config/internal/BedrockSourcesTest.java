package dev.parley.config.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.service.cm.ConfigurationAdmin;

/** The PARLEY_BEDROCK_* variables configure one named factory instance of the Bedrock provider. */
class BedrockSourcesTest {
    private final ConfigurationSources sources = new ConfigurationSources();

    @Test
    void theEnvironmentConfiguresTheDefaultInstanceWithItsSecretsUnderDottedKeys(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of("PARLEY_BEDROCK_REGION", "eu-central-1",
                "PARLEY_BEDROCK_ACCESS_KEY_ID", "AKIDX", "PARLEY_BEDROCK_SECRET_ACCESS_KEY", "s3cr3t",
                "PARLEY_BEDROCK_SESSION_TOKEN", "tok", "PARLEY_BEDROCK_MODELS", "amazon.nova-lite-v1:0, m2",
                "PARLEY_BEDROCK_EMBEDDING_MODELS", "amazon.titan-embed-text-v2:0",
                "PARLEY_BEDROCK_ENDPOINT", "http://127.0.0.1:9999"));
        var bedrock = result.configurations().get("dev.parley.provider.bedrock~default");
        assertThat(bedrock).containsEntry("region", "eu-central-1").containsEntry(".accessKeyId", "AKIDX")
                .containsEntry(".secretAccessKey", "s3cr3t").containsEntry(".sessionToken", "tok")
                .containsEntry("endpoint", "http://127.0.0.1:9999")
                .doesNotContainKeys("accessKeyId", "secretAccessKey", "sessionToken");
        assertThat((String[]) bedrock.get("models")).containsExactly("amazon.nova-lite-v1:0", "m2");
        assertThat((String[]) bedrock.get("embeddingModels")).containsExactly("amazon.titan-embed-text-v2:0");
        assertThat(ConfigurationSources.factoryInstance("dev.parley.provider.bedrock~default"))
                .containsExactly("dev.parley.provider.bedrock", "default");
    }

    @Test
    void credentialsWithoutARegionOrEndpointStartNoInstance(@TempDir Path dir) {
        var result = sources.compute(dir, Map.of("PARLEY_BEDROCK_ACCESS_KEY_ID", "AKIDX",
                "PARLEY_BEDROCK_SECRET_ACCESS_KEY", "s3cr3t"));
        assertThat(result.configurations()).doesNotContainKey("dev.parley.provider.bedrock~default");
    }

    @Test
    void aFileConfiguresFurtherNamedInstances(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("bedrock.json"), """
                {"dev.parley.provider.bedrock~eu": {"id": "bedrock-eu", "region": "eu-west-1"}}
                """);
        var result = sources.compute(dir, Map.of());
        assertThat(result.configurations().get("dev.parley.provider.bedrock~eu"))
                .containsEntry("id", "bedrock-eu").containsEntry("region", "eu-west-1");
    }

}

package dev.parley.image;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The image's configuration as a container runtime reads it: the config blob of the manifest, and skopeo's view. */
class ImageConfigTest {
    private final Image image = Image.built();
    private final JsonNode config = image.config().path("config");

    static Map<String, String> env(JsonNode config) {
        Map<String, String> env = new HashMap<>();
        config.path("Env").forEach(e -> {
            String s = e.asText();
            env.put(s.substring(0, s.indexOf('=')), s.substring(s.indexOf('=') + 1));
        });
        return env;
    }

    static List<String> strings(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    @Test
    void runsAsANumericUserThatIsNotRoot() {
        String user = config.path("User").asText();
        assertThat(user).matches("[0-9]+:[0-9]+");
        assertThat(Integer.parseInt(user.substring(0, user.indexOf(':')))).isNotZero();
        assertThat(Integer.parseInt(user.substring(user.indexOf(':') + 1))).isNotZero();
    }

    @Test
    void javaIsTheEntrypointInExecFormAndStopsOnSigterm() {
        assertThat(strings(config.path("Entrypoint"))).containsExactly("/opt/java/bin/java", "-jar", "/opt/parley/parley.jar");
        assertThat(strings(config.path("Cmd"))).isEmpty();
        assertThat(config.path("StopSignal").asText()).isEqualTo("SIGTERM");
    }

    @Test
    void exposesThePortTheServerListensOnAndDeclaresTheVolumes() {
        assertThat(config.path("ExposedPorts").has(env(config).get("PARLEY_HTTP_PORT") + "/tcp")).isTrue();
        assertThat(config.path("Volumes").has(env(config).get("PARLEY_DATA_DIR"))).isTrue();
        assertThat(config.path("Volumes").has("/tmp")).isTrue();
        assertThat(config.path("WorkingDir").asText()).isEqualTo(env(config).get("PARLEY_DATA_DIR"));
    }

    @Test
    void healthCheckAsksReadiness() {
        JsonNode hc = config.path("Healthcheck");
        assertThat(String.join(" ", strings(hc.path("Test")))).startsWith("CMD /bin/busybox").contains("/health/ready");
        assertThat(hc.path("Interval").asLong()).isPositive();
        assertThat(hc.path("Timeout").asLong()).isPositive().isLessThan(hc.path("Interval").asLong());
        assertThat(hc.path("StartPeriod").asLong()).isPositive();
        assertThat(hc.path("Retries").asInt()).isPositive();
    }

    @Test
    void environmentPointsTheServerAtTheVolumeWithContainerFlags() {
        Map<String, String> env = env(config);
        assertThat(env).containsEntry("PARLEY_DATA_DIR", "/var/lib/parley")
                .containsEntry("PARLEY_CONFIG_DIR", "/etc/parley")
                .containsEntry("PARLEY_HTTP_HOST", "0.0.0.0")
                .containsEntry("JAVA_HOME", "/opt/java")
                .containsKey("PARLEY_SHUTDOWN_TIMEOUT_SECONDS");
        assertThat(env.get("JDK_JAVA_OPTIONS")).contains("-XX:+UseZGC", "-XX:MaxRAMPercentage=",
                "-XX:+ExitOnOutOfMemoryError");
    }

    @Test
    void labelsCarryTheBuildsVersionRevisionSourceAndTime() throws Exception {
        Map<String, String> args = image.buildArgs();
        JsonNode labels = config.path("Labels");
        assertThat(labels.path("org.opencontainers.image.version").asText()).isEqualTo(args.get("VERSION")).isNotBlank();
        assertThat(labels.path("org.opencontainers.image.revision").asText()).isEqualTo(args.get("REVISION"))
                .matches("[0-9a-f]{40}");
        assertThat(labels.path("org.opencontainers.image.source").asText()).isEqualTo(args.get("SOURCE"));
        assertThat(labels.path("dev.parley.distribution").asText()).isEqualTo(image.distribution);
        String created = labels.path("org.opencontainers.image.created").asText();
        assertThat(created).isEqualTo(args.get("CREATED"));
        // The image's own creation time is the same instant (SOURCE_DATE_EPOCH), not the time of the build.
        assertThat(Instant.parse(image.config().path("created").asText())).isEqualTo(Instant.parse(created));
        String revision = Image.run(List.of("git", "-C", image.repo.toString(), "rev-parse", "HEAD")).ok().output().trim();
        assertThat(labels.path("org.opencontainers.image.revision").asText()).isEqualTo(revision);
    }

    @Test
    void skopeoReadsTheSameDigestAndConfiguration() throws Exception {
        String dir = "dir:" + image.out.resolve("image");
        JsonNode inspect = Image.JSON.readTree(Image.run(List.of("skopeo", "inspect", dir)).ok().output());
        assertThat(inspect.path("Digest").asText()).isEqualTo(image.digest());
        assertThat(inspect.path("Labels").path("org.opencontainers.image.revision").asText())
                .isEqualTo(config.path("Labels").path("org.opencontainers.image.revision").asText());
        JsonNode raw = Image.JSON.readTree(Image.run(List.of("skopeo", "inspect", "--config", "--raw", dir)).ok().output());
        assertThat(raw.path("config").path("User").asText()).isEqualTo(config.path("User").asText());
        // The config blob's digest is the image id the builder reported.
        assertThat(image.manifest().path("config").path("digest").asText()).isEqualTo(image.imageId());
    }
}

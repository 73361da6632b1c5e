package dev.parley.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** docker/build-image.sh refuses bad input with a message that says what to do, before it builds anything. */
class BuildScriptTest {
    private static final Path REPO = Path.of(System.getProperty("parley.repo.dir", "../..")).toAbsolutePath().normalize();

    private static Image.Result script(Map<String, String> env, String... args) throws Exception {
        List<String> command = new java.util.ArrayList<>(List.of("docker/build-image.sh"));
        command.addAll(List.of(args));
        return Image.run(REPO, env, 60, command);
    }

    @Test
    void anUnknownDistributionIsNamed() throws Exception {
        Image.Result r = script(Map.of(), "--distribution", "edge");
        assertThat(r.exit()).isNotZero();
        assertThat(r.output()).contains("unknown distribution 'edge' (known: all-in-one, gateway, worker)");
    }

    @Test
    void aDistributionWhoseJarIsNotBuiltSaysHowToBuildIt(@org.junit.jupiter.api.io.TempDir Path checkout)
            throws Exception {
        // The script from a checkout where nothing is built yet (the script works from the folder above its own).
        java.nio.file.Files.createDirectories(checkout.resolve("docker"));
        java.nio.file.Files.copy(REPO.resolve("docker/build-image.sh"), checkout.resolve("docker/build-image.sh"),
                java.nio.file.StandardCopyOption.COPY_ATTRIBUTES);
        Image.Result r = Image.run(checkout, Map.of(), 60, List.of("docker/build-image.sh", "--distribution", "gateway"));
        assertThat(r.exit()).isNotZero();
        assertThat(r.output()).contains("distributions/parley-gateway/target/parley-gateway.jar is missing",
                "mvn -B -q -pl distributions/parley-gateway -am package -DskipTests");
    }

    @Test
    void aRuntimeThatIsNotJava25IsRefused() throws Exception {
        Path jdk21 = java.nio.file.Files.createTempDirectory("jdk21");
        java.nio.file.Files.writeString(jdk21.resolve("release"), "JAVA_VERSION=\"21.0.5\"\n");
        Image.Result r = script(Map.of("PARLEY_IMAGE_JDK", jdk21.toString()), "--rootfs-only");
        assertThat(r.exit()).isNotZero();
        assertThat(r.output()).contains("is not a JDK 25 (its release file says '21')");
    }

    @Test
    void aBadSourceDateAndAnUnknownOptionAreRefused() throws Exception {
        assertThat(script(Map.of("SOURCE_DATE_EPOCH", "yesterday"), "--rootfs-only").output())
                .contains("SOURCE_DATE_EPOCH must be seconds since 1970, not 'yesterday'");
        Image.Result r = script(Map.of(), "--fast");
        assertThat(r.exit()).isNotZero();
        assertThat(r.output()).contains("unknown argument '--fast'", "usage: docker/build-image.sh");
    }
}

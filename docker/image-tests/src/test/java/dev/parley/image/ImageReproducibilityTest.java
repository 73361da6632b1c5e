package dev.parley.image;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * Same inputs, same image: docker/build-image.sh run again (another output folder, a new apt state and buildah
 * store) gives the digest of the image under test, byte for byte; another SOURCE_DATE_EPOCH gives another one.
 */
class ImageReproducibilityTest {
    private final Image image = Image.built();

    private Image build(String folder, Map<String, String> extraEnv) throws Exception {
        Path out = image.repo.resolve("target/image-reproducibility").resolve(folder);
        Map<String, String> env = new HashMap<>(extraEnv);
        env.put("PARLEY_IMAGE_OUT", out.toString());
        String created = image.buildArgs().get("CREATED");
        env.putIfAbsent("SOURCE_DATE_EPOCH", Long.toString(java.time.Instant.parse(created).getEpochSecond()));
        Image.run(image.repo, env, 900, List.of("docker/build-image.sh", "--distribution", image.distribution)).ok();
        return Image.at(image.repo, image.distribution, out);
    }

    private static String sha256(Path file) throws Exception {
        MessageDigest md = MessageDigest.getInstance("SHA-256");
        try (var in = Files.newInputStream(file)) {
            byte[] buf = new byte[1 << 16];
            for (int n; (n = in.read(buf)) > 0; ) {
                md.update(buf, 0, n);
            }
        }
        return HexFormat.of().formatHex(md.digest());
    }

    @Test
    void aSecondBuildGivesTheSameDigest() throws Exception {
        Image again = build("again", Map.of());
        assertThat(sha256(again.out.resolve("context/rootfs.tar"))).isEqualTo(sha256(image.out.resolve("context/rootfs.tar")));
        assertThat(again.imageId()).isEqualTo(image.imageId());
        assertThat(again.digest()).isEqualTo(image.digest()).startsWith("sha256:");
        assertThat(sha256(again.layer())).isEqualTo(sha256(image.layer()));
        System.out.printf("built twice: manifest %s, config %s%n", again.digest(), again.imageId());
    }

    @Test
    void anotherSourceDateGivesAnotherDigest() throws Exception {
        long epoch = java.time.Instant.parse(image.buildArgs().get("CREATED")).getEpochSecond();
        Image later = build("later", Map.of("SOURCE_DATE_EPOCH", Long.toString(epoch + 86_400)));
        assertThat(later.digest()).isNotEqualTo(image.digest());
        assertThat(later.imageId()).isNotEqualTo(image.imageId());
        assertThat(later.config().path("created").asText()).isNotEqualTo(image.config().path("created").asText());
    }
}

package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.secrets.SecretSealer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import org.junit.jupiter.api.Test;
import org.osgi.framework.BundleContext;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * The secrets bundle in the runtime as shipped: with no master key configured it seals under a key it generated
 * owner-only into the data directory, and the key id it names is the one in that file.
 */
class SecretSealerTest {
    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<SecretSealer> sealer;

    @Test
    void sealsWithTheKeyGeneratedIntoTheDataDirectory() throws Exception {
        SecretSealer s = sealer.getService();
        String sealed = s.seal("sk-itest-value", "itest:.apiKey");
        assertThat(s.open(sealed, "itest:.apiKey")).isEqualTo("sk-itest-value");

        Path keyFile = Path.of(context.getProperty("parley.data.dir"), "master-key");
        assertThat(Files.getPosixFilePermissions(keyFile))
                .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
        assertThat(Files.readAllLines(keyFile)).filteredOn(l -> !l.startsWith("#"))
                .singleElement().satisfies(line -> assertThat(line).startsWith(s.currentKeyId() + ":"));
        assertThat(sealed).startsWith("parley-sealed:v1:" + s.currentKeyId() + ":");
    }
}

package dev.parley.plugincli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.file.FileSystems;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class KeysAndSignaturesTest {

    @TempDir
    Path dir;

    @Test
    void keygenWritesAPrivateKeyOnlyItsOwnerCanReadAndAPublicKey() throws Exception {
        Cli r = Cli.run("keygen", "--publisher", "acme", "--out", dir.resolve("keys").toString());

        assertThat(r.exit()).as(r.err()).isZero();
        Path key = dir.resolve("keys/acme.key");
        Path pub = dir.resolve("keys/acme.pub");
        assertThat(Files.readString(key).trim()).isNotEmpty().isBase64();
        assertThat(Files.readString(pub).trim()).isNotEmpty().isBase64();
        assertThat(r.out()).contains("/api/v1/admin/registry/publishers").contains(Files.readString(pub).trim());
        assumeTrue(FileSystems.getDefault().supportedFileAttributeViews().contains("posix"));
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(key))).isEqualTo("rw-------");
    }

    @Test
    void keygenNeverOverwritesAKey() throws Exception {
        assertThat(Cli.run("keygen", "--publisher", "acme", "--out", dir.toString()).exit()).isZero();
        String before = Files.readString(dir.resolve("acme.key"));

        Cli again = Cli.run("keygen", "--publisher", "acme", "--out", dir.toString());

        assertThat(again.exit()).isEqualTo(1);
        assertThat(again.err()).contains("will not overwrite").contains("acme.key");
        assertThat(Files.readString(dir.resolve("acme.key"))).isEqualTo(before);
    }

    @Test
    void keygenRefusesAPublisherIdTheRegistryWouldNotAccept() {
        Cli r = Cli.run("keygen", "--publisher", "Not Valid!", "--out", dir.toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("publisher id 'Not Valid!' is not valid");
        assertThat(dir).isEmptyDirectory();
    }

    @Test
    void aSignedJarVerifiesWithTheMatchingPublicKeyOnly() throws Exception {
        Cli.run("keygen", "--publisher", "acme", "--out", dir.toString());
        Cli.run("keygen", "--publisher", "other", "--out", dir.toString());
        Path jar = PluginJars.plugin(dir, "hello", "1.0.0");

        Cli signed = Cli.run("sign", jar.toString(), "--key", dir.resolve("acme.key").toString());
        assertThat(signed.exit()).as(signed.err()).isZero();
        Path sig = dir.resolve("hello-1.0.0.jar.sig");
        assertThat(Files.readString(sig).trim()).isBase64();

        Cli good = Cli.run("verify", jar.toString(), "--sig", sig.toString(), "--pub", dir.resolve("acme.pub").toString());
        assertThat(good.exit()).as(good.err()).isZero();
        assertThat(good.out()).contains("verified");

        Cli wrongKey = Cli.run("verify", jar.toString(), "--sig", sig.toString(), "--pub", dir.resolve("other.pub").toString());
        assertThat(wrongKey.exit()).isEqualTo(1);
        assertThat(wrongKey.err()).contains("NOT verified");
    }

    @Test
    void aChangedJarNoLongerVerifies() throws Exception {
        Cli.run("keygen", "--publisher", "acme", "--out", dir.toString());
        Path jar = PluginJars.plugin(dir, "hello", "1.0.0");
        Cli.run("sign", jar.toString(), "--key", dir.resolve("acme.key").toString());

        byte[] bytes = Files.readAllBytes(jar);
        bytes[bytes.length / 2] ^= 1;
        Files.write(jar, bytes);

        Cli r = Cli.run("verify", jar.toString(), "--sig", jar + ".sig", "--pub", dir.resolve("acme.pub").toString());
        assertThat(r.exit()).isEqualTo(1);
        assertThat(r.err()).contains("NOT verified");
    }

    @Test
    void malformedKeysAndSignaturesAreNamedNotStackTraced() throws Exception {
        Path jar = PluginJars.plugin(dir, "hello", "1.0.0");
        Path garbage = Files.writeString(dir.resolve("garbage.key"), "not a key\n");
        Files.writeString(dir.resolve("bad.sig"), "%%%\n");
        Cli.run("keygen", "--publisher", "acme", "--out", dir.toString());

        Cli sign = Cli.run("sign", jar.toString(), "--key", garbage.toString());
        assertThat(sign.exit()).isEqualTo(1);
        assertThat(sign.err()).startsWith("error: ").doesNotContain("Exception");
        assertThat(dir.resolve("hello-1.0.0.jar.sig")).doesNotExist();

        Cli verify = Cli.run("verify", jar.toString(), "--sig", dir.resolve("bad.sig").toString(),
                "--pub", dir.resolve("acme.pub").toString());
        assertThat(verify.exit()).isEqualTo(1);
        assertThat(verify.err()).contains("not base64");

        Cli missing = Cli.run("sign", dir.resolve("nope.jar").toString(), "--key", garbage.toString());
        assertThat(missing.exit()).isEqualTo(1);
        assertThat(missing.err()).contains("plugin jar not found");
    }

    @Test
    void missingRequiredOptionsAreAUsageError() {
        Cli r = Cli.run("sign", "x.jar");
        assertThat(r.exit()).isEqualTo(2);
        assertThat(r.err()).contains("--key");
    }
}

package dev.parley.registry;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Test;

import dev.parley.registry.RegistryException.Reason;

class SignaturesTest {
    private final String[] keys = Signatures.generateKeyPair();
    private final byte[] data = "plugin bytes".getBytes(StandardCharsets.UTF_8);

    @Test
    void signsAndVerifies() {
        byte[] signature = Signatures.sign(data, keys[1]);
        assertThat(signature).hasSize(64);
        assertThat(Signatures.verify(data, signature, keys[0])).isTrue();
    }

    @Test
    void wrongKeyOrTamperedBytesDoNotVerify() {
        byte[] signature = Signatures.sign(data, keys[1]);
        String otherPublic = Signatures.generateKeyPair()[0];
        assertThat(Signatures.verify(data, signature, otherPublic)).isFalse();

        byte[] tampered = data.clone();
        tampered[0] ^= 1;
        assertThat(Signatures.verify(tampered, signature, keys[0])).isFalse();

        byte[] badSignature = signature.clone();
        badSignature[10] ^= 1;
        assertThat(Signatures.verify(data, badSignature, keys[0])).isFalse();
    }

    @Test
    void malformedKeysAndSignaturesAreBadSignatures() {
        byte[] signature = Signatures.sign(data, keys[1]);
        assertBad(() -> Signatures.verify(data, signature, "not base64 !!"), "not valid base64");
        assertBad(() -> Signatures.verify(data, signature, Base64.getEncoder().encodeToString(new byte[44])),
                "not a base64 X.509");
        // a private key where a public one belongs
        assertBad(() -> Signatures.verify(data, signature, keys[1]), "not a base64 X.509");
        assertBad(() -> Signatures.verify(data, new byte[10], keys[0]), "expected 64 bytes, got 10");
        assertBad(() -> Signatures.sign(data, keys[0]), "not a base64 PKCS#8");
        assertBad(() -> Signatures.checkPublicKey(""), "missing");
        assertThatCode(() -> Signatures.checkPublicKey(keys[0])).doesNotThrowAnyException();
    }

    @Test
    void sha256IsLowerCaseHex() {
        assertThat(Signatures.sha256Hex("abc".getBytes(StandardCharsets.UTF_8)))
                .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    @Test
    void verifiesAnArtifactAgainstItsEntry() {
        byte[] signature = Signatures.sign(data, keys[1]);
        RegistryEntry entry = entry(Signatures.sha256Hex(data), Base64.getEncoder().encodeToString(signature));
        Publisher acme = new Publisher("acme", keys[0], Instant.now());

        assertThatCode(() -> Signatures.verifyArtifact(data, entry, acme)).doesNotThrowAnyException();

        byte[] tampered = data.clone();
        tampered[0] ^= 1;
        assertThatThrownBy(() -> Signatures.verifyArtifact(tampered, entry, acme))
                .isInstanceOfSatisfying(RegistryException.class, e -> assertThat(e.reason()).isEqualTo(Reason.DIGEST_MISMATCH));
        assertThatThrownBy(() -> Signatures.verifyArtifact(data, entry, null))
                .isInstanceOfSatisfying(RegistryException.class, e -> assertThat(e.reason()).isEqualTo(Reason.UNKNOWN_PUBLISHER));
        assertThatThrownBy(() -> Signatures.verifyArtifact(data, entry, new Publisher("bob", keys[0], Instant.now())))
                .isInstanceOfSatisfying(RegistryException.class, e -> assertThat(e.reason()).isEqualTo(Reason.UNKNOWN_PUBLISHER));
        Publisher impostor = new Publisher("acme", Signatures.generateKeyPair()[0], Instant.now());
        assertThatThrownBy(() -> Signatures.verifyArtifact(data, entry, impostor))
                .isInstanceOfSatisfying(RegistryException.class, e -> assertThat(e.reason()).isEqualTo(Reason.BAD_SIGNATURE))
                .hasMessageContaining("does not verify with the key of publisher 'acme'");
    }

    private static RegistryEntry entry(String sha256, String signature) {
        return new RegistryEntry("example.echo", "1.0.0", "com.example.echo", "tool", "Echo", "", "acme", "stable",
                false, null, Map.of(), "", List.of(), sha256, 12, signature, Instant.now());
    }

    private static void assertBad(org.assertj.core.api.ThrowableAssert.ThrowingCallable call, String message) {
        assertThatThrownBy(call).isInstanceOfSatisfying(RegistryException.class,
                e -> assertThat(e.reason()).isEqualTo(Reason.BAD_SIGNATURE)).hasMessageContaining(message);
    }
}

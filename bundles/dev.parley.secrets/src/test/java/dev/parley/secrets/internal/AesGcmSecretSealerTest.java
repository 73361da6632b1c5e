package dev.parley.secrets.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.lang.annotation.Annotation;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class AesGcmSecretSealerTest {
    private static final String PURPOSE = "plugin:openai:.apiKey";
    private static final String PLAIN = "sk-PLAINTEXT-42";

    @TempDir
    Path dataDir;

    @Test
    void aSealedSecretOpensForItsPurposeAndLooksDifferentEveryTime() {
        var sealer = new AesGcmSecretSealer(MasterKeys.from(config(key("k1"), "", new String[0]), dataDir));
        String secret = "sk-live-ÄÖÜ-1234567890";
        Set<String> seen = new HashSet<>();
        for (int i = 0; i < 50; i++) {
            String sealed = sealer.seal(secret, PURPOSE);
            assertThat(sealed).startsWith("parley-sealed:v1:k1:").doesNotContain(secret).matches("[\\x20-\\x7e]+");
            assertThat(sealer.isSealed(sealed)).isTrue();
            assertThat(sealer.open(sealed, PURPOSE)).isEqualTo(secret);
            seen.add(sealed);
        }
        assertThat(seen).hasSize(50);
        assertThat(sealer.isSealed(secret)).isFalse();
        assertThat(sealer.seal("", PURPOSE)).satisfies(s -> assertThat(sealer.open(s, PURPOSE)).isEmpty());
    }

    @Test
    void aValueSealedForOnePurposeDoesNotOpenForAnother() {
        var sealer = new AesGcmSecretSealer(MasterKeys.from(config(key("k1"), "", new String[0]), dataDir));
        String sealed = sealer.seal(PLAIN, PURPOSE);
        assertRefused(() -> sealer.open(sealed, "plugin:anthropic:.apiKey"), "does not open");
    }

    @Test
    void aTamperedValueDoesNotOpen() {
        var sealer = new AesGcmSecretSealer(MasterKeys.from(config(key("k1"), "", new String[0]), dataDir));
        String sealed = sealer.seal(PLAIN, PURPOSE);
        String body = sealed.substring(sealed.lastIndexOf(':') + 1);
        byte[] bytes = Base64.getUrlDecoder().decode(body);
        for (int i = 0; i < bytes.length; i++) {
            byte[] changed = bytes.clone();
            changed[i] ^= 1;
            String tampered = sealed.substring(0, sealed.lastIndexOf(':') + 1)
                    + Base64.getUrlEncoder().withoutPadding().encodeToString(changed);
            assertRefused(() -> sealer.open(tampered, PURPOSE), "does not open");
        }
        assertRefused(() -> sealer.open(sealed.substring(0, sealed.length() - 4), PURPOSE), "");
        assertRefused(() -> sealer.open("parley-sealed:v1:k1:@@@", PURPOSE), "not a sealed value");
        assertRefused(() -> sealer.open("parley-sealed:v1:k1:AAAA", PURPOSE), "not a sealed value");
        assertRefused(() -> sealer.open("plain", PURPOSE), "not a sealed value");
        assertRefused(() -> sealer.open("parley-sealed:v1:", PURPOSE), "not a sealed value");
    }

    @Test
    void rotationOldKeysOpenWhatTheySealedAndNewValuesUseTheCurrentKey() {
        String oldKey = key("old");
        var before = new AesGcmSecretSealer(MasterKeys.from(config(oldKey, "", new String[0]), dataDir));
        String sealedBefore = before.seal(PLAIN, PURPOSE);

        String newKey = key("new");
        var after = new AesGcmSecretSealer(MasterKeys.from(config(newKey, "", new String[] {oldKey}), dataDir));
        assertThat(after.currentKeyId()).isEqualTo("new");
        assertThat(after.needsReseal(sealedBefore)).isTrue();
        assertThat(after.open(sealedBefore, PURPOSE)).isEqualTo(PLAIN);
        String resealed = after.seal(after.open(sealedBefore, PURPOSE), PURPOSE);
        assertThat(after.needsReseal(resealed)).isFalse();
        assertThat(resealed).startsWith("parley-sealed:v1:new:");

        var withoutOld = new AesGcmSecretSealer(MasterKeys.from(config(newKey, "", new String[0]), dataDir));
        assertRefused(() -> withoutOld.open(sealedBefore, PURPOSE), "master key old");
        assertThat(withoutOld.open(resealed, PURPOSE)).isEqualTo(PLAIN);
    }

    @Test
    void changingTheKeyIdInAValueMakesItFailToOpen() {
        String k1 = key("k1");
        String k2 = "k2:" + k1.substring(3); // the same key material under another id
        var sealer = new AesGcmSecretSealer(MasterKeys.from(config(k1, "", new String[] {k2}), dataDir));
        String sealed = sealer.seal(PLAIN, PURPOSE);
        assertRefused(() -> sealer.open(sealed.replace(":k1:", ":k2:"), PURPOSE), "does not open");
    }

    @Test
    void withNothingConfiguredAKeyFileIsCreatedOwnerOnlyAndReusedAtTheNextStart() throws Exception {
        var first = new AesGcmSecretSealer(MasterKeys.from(config("", "", new String[0]), dataDir));
        Path file = dataDir.resolve(MasterKeys.DEFAULT_FILE_NAME);
        assertThat(file).exists();
        assertThat(Files.getPosixFilePermissions(file))
                .containsExactlyInAnyOrder(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE);
        String sealed = first.seal(PLAIN, PURPOSE);

        var second = new AesGcmSecretSealer(MasterKeys.from(config("", "", new String[0]), dataDir));
        assertThat(second.currentKeyId()).isEqualTo(first.currentKeyId()).matches("k[0-9a-f]{8}");
        assertThat(second.open(sealed, PURPOSE)).isEqualTo(PLAIN);
    }

    @Test
    void aKeyFileListsTheCurrentKeyFirstAndPreviousOnesAfter() throws Exception {
        String oldKey = key("old");
        var sealedWithOld = new AesGcmSecretSealer(MasterKeys.from(config(oldKey, "", new String[0]), dataDir))
                .seal(PLAIN, PURPOSE);
        Path file = dataDir.resolve("keys");
        Files.writeString(file, "# keys\n\n" + key("new") + "\n" + oldKey + "\n", StandardCharsets.UTF_8);
        var sealer = new AesGcmSecretSealer(MasterKeys.from(config("", file.toString(), new String[0]), dataDir));
        assertThat(sealer.currentKeyId()).isEqualTo("new");
        assertThat(sealer.open(sealedWithOld, PURPOSE)).isEqualTo(PLAIN);
        assertThat(dataDir.resolve(MasterKeys.DEFAULT_FILE_NAME)).doesNotExist();
    }

    @Test
    void badKeysAreRefusedWithAMessageThatNamesTheSettingButNotTheKey() {
        String shortKey = Base64.getEncoder().encodeToString(new byte[16]);
        assertThatThrownBy(() -> MasterKeys.from(config("k1:" + shortKey, "", new String[0]), dataDir))
                .hasMessageContaining("setting .masterKey").hasMessageContaining("32 bytes")
                .hasMessageNotContaining(shortKey);
        assertThatThrownBy(() -> MasterKeys.from(config("k1:not base64!", "", new String[0]), dataDir))
                .hasMessageContaining("not base64").hasMessageNotContaining("not base64!");
        assertThatThrownBy(() -> MasterKeys.from(config("bad id:" + key("x").substring(2), "", new String[0]), dataDir))
                .hasMessageContaining("id");
        assertThatThrownBy(() -> MasterKeys.from(config(key("k1"), "", new String[] {"k1:" + key("z").substring(2)}),
                dataDir)).hasMessageContaining("Two different master keys have the id k1");
        assertThatThrownBy(() -> MasterKeys.from(config("", dataDir.resolve("missing").toString(), new String[0]),
                dataDir)).hasMessageContaining("Cannot read the master key file");
    }

    @Test
    void aBareKeyGetsAnIdDerivedFromIt() {
        String bare = key("x").substring(2);
        var a = MasterKeys.from(config(bare, "", new String[0]), dataDir);
        var b = MasterKeys.from(config(bare, "", new String[0]), dataDir);
        assertThat(a.currentId()).isEqualTo(b.currentId()).matches("k[0-9a-f]{8}");
    }

    private static void assertRefused(Runnable call, String message) {
        assertThatThrownBy(call::run).isInstanceOfSatisfying(ParleyException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.STORE_FAILURE);
            assertThat(e.getMessage()).contains(message).doesNotContain(PLAIN);
        });
    }

    /** A new random key written {@code id:base64}. */
    private static String key(String id) {
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        return id + ":" + Base64.getEncoder().encodeToString(k);
    }

    private static SecretsConfig config(String masterKey, String file, String[] previous) {
        return new SecretsConfig() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return SecretsConfig.class;
            }

            @Override
            public String _masterKey() {
                return masterKey;
            }

            @Override
            public String[] _previousKeys() {
                return previous;
            }

            @Override
            public String masterKeyFile() {
                return file;
            }
        };
    }
}

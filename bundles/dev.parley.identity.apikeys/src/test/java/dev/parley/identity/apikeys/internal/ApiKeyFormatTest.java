package dev.parley.identity.apikeys.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.security.SecureRandom;
import java.util.HashSet;
import java.util.Set;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

class ApiKeyFormatTest {
    /** The expression the README gives to secret scanners. */
    static final Pattern SCANNER = Pattern.compile("pk-parley-[0-9A-Za-z]{12}_[0-9A-Za-z]{49}");
    private static final String BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    private final SecureRandom random = new SecureRandom();

    @Test
    void aKeyIsPrefixIdSecretAndChecksumMatchingTheScannersExpression() {
        ApiKeyFormat.Issued issued = ApiKeyFormat.issue(random);

        assertThat(issued.key()).hasSize(72).startsWith("pk-parley-" + issued.id() + "_");
        assertThat(SCANNER.matcher(issued.key()).matches()).isTrue();
        assertThat(issued.id()).hasSize(12);
        ApiKeyFormat.Parsed parsed = ApiKeyFormat.parse(issued.key());
        assertThat(parsed.id()).isEqualTo(issued.id());
        assertThat(parsed.secret()).hasSize(43);
        assertThat(issued.key()).isEqualTo("pk-parley-" + parsed.id() + "_" + parsed.secret()
                + ApiKeyFormat.checksum("pk-parley-" + parsed.id() + "_" + parsed.secret()));
        assertThat(ApiKeyFormat.sha256(parsed.secret())).isEqualTo(issued.secretSha256()).hasSize(64);
    }

    @Test
    void theSecretHoldsAtLeast256BitsDrawnFromAllOf62Characters() {
        // 43 characters of 62 are log2(62) * 43 = 256.03 bits.
        assertThat(ApiKeyFormat.SECRET_LENGTH * Math.log(62) / Math.log(2)).isGreaterThanOrEqualTo(256.0);
        Set<Character> seen = new HashSet<>();
        Set<String> secrets = new HashSet<>();
        for (int i = 0; i < 200; i++) {
            String secret = ApiKeyFormat.parse(ApiKeyFormat.issue(random).key()).secret();
            secrets.add(secret);
            for (char c : secret.toCharArray()) {
                seen.add(c);
            }
        }
        assertThat(secrets).hasSize(200);
        assertThat(seen).hasSize(62); // 8,600 draws leave no character of the 62 out by chance
    }

    @Test
    void theChecksumCatchesEverySingleCharacterChange() {
        String key = ApiKeyFormat.issue(random).key();
        int start = ApiKeyFormat.PREFIX.length();
        for (int i = start; i < key.length(); i++) {
            if (key.charAt(i) == '_') {
                continue;
            }
            for (char c : BASE62.toCharArray()) {
                if (c == key.charAt(i)) {
                    continue;
                }
                String changed = key.substring(0, i) + c + key.substring(i + 1);
                assertThatThrownBy(() -> ApiKeyFormat.parse(changed)).as("change at %d", i)
                        .isInstanceOfSatisfying(ParleyException.class,
                                e -> assertThat(e.code()).isEqualTo(ErrorCode.UNAUTHORIZED));
            }
        }
    }

    @Test
    void everySwapOfTwoNeighbouringCharactersIsCaught() {
        // A CRC32 catches every error burst of up to 32 bits; swapping two neighbouring bytes is one of 16.
        String key = ApiKeyFormat.issue(random).key();
        int swaps = 0;
        for (int i = ApiKeyFormat.PREFIX.length(); i < key.length() - 1; i++) {
            if (key.charAt(i) == key.charAt(i + 1) || key.charAt(i) == '_' || key.charAt(i + 1) == '_') {
                continue;
            }
            String swapped = key.substring(0, i) + key.charAt(i + 1) + key.charAt(i) + key.substring(i + 2);
            assertThatThrownBy(() -> ApiKeyFormat.parse(swapped)).as("swap at %d", i)
                    .hasMessage("the API key's checksum does not match: it was mistyped or cut");
            swaps++;
        }
        assertThat(swaps).isGreaterThan(40);
    }

    @Test
    void malformedKeysAreRefusedAsSuch() {
        String key = ApiKeyFormat.issue(random).key();
        for (String bad : new String[] { null, "", "pk-parley-", key.substring(0, 71), key + "A",
                key.replace('_', 'A'), "sk-parley-" + key.substring(10), key.substring(0, 30) + "-" + key.substring(31),
                key.substring(0, 30) + "é" + key.substring(31), " " + key.substring(1) }) {
            assertThatThrownBy(() -> ApiKeyFormat.parse(bad)).isInstanceOfSatisfying(ParleyException.class, e -> {
                assertThat(e.code()).isEqualTo(ErrorCode.UNAUTHORIZED);
                assertThat(e.getMessage()).isEqualTo("the API key is malformed");
            });
        }
    }

    @Test
    void aLookAlikeWithTheRightShapeFailsTheChecksum() {
        String lookAlike = "pk-parley-AAAAAAAAAAAA_" + "B".repeat(43) + "CCCCCC";
        assertThat(SCANNER.matcher(lookAlike).matches()).isTrue();
        assertThatThrownBy(() -> ApiKeyFormat.parse(lookAlike))
                .hasMessage("the API key's checksum does not match: it was mistyped or cut");
    }

    @Test
    void theChecksumIsSixBase62DigitsOfCrc32() {
        // CRC32("123456789") = 0xCBF43926, the standard check value; its base62 digits computed here apart.
        long crc = 0xCBF43926L;
        StringBuilder expected = new StringBuilder();
        for (int i = 0; i < 6; i++) {
            expected.insert(0, BASE62.charAt((int) (crc % 62)));
            crc /= 62;
        }
        assertThat(ApiKeyFormat.checksum("123456789")).isEqualTo(expected.toString()).hasSize(6);
        assertThat(ApiKeyFormat.checksum("")).isEqualTo("000000");
    }

    @Test
    void secretsAreComparedByTheirHash() {
        String secret = ApiKeyFormat.parse(ApiKeyFormat.issue(random).key()).secret();
        String hash = ApiKeyFormat.sha256(secret);
        assertThat(ApiKeyFormat.matches(secret, hash)).isTrue();
        assertThat(ApiKeyFormat.matches(secret.substring(1) + "x", hash)).isFalse();
        // SHA-256("abc"), FIPS 180-2 test vector
        assertThat(ApiKeyFormat.sha256("abc"))
                .isEqualTo("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }

    @Test
    void recognitionIsByPrefixOnly() {
        assertThat(ApiKeyFormat.hasPrefix("pk-parley-whatever")).isTrue();
        assertThat(ApiKeyFormat.hasPrefix("eyJhbGciOiJSUzI1NiJ9.e30.c2ln")).isFalse();
        assertThat(ApiKeyFormat.hasPrefix(null)).isFalse();
    }

    @Test
    void keyIdsInUrlsAreCheckedForShape() {
        assertThat(ApiKeyFormat.isKeyId(ApiKeyFormat.issue(random).id())).isTrue();
        assertThat(ApiKeyFormat.isKeyId("short")).isFalse();
        assertThat(ApiKeyFormat.isKeyId("AAAAAAAAAAA'")).isFalse();
        assertThat(ApiKeyFormat.isKeyId(null)).isFalse();
    }

    @Test
    void nothingPrintsTheSecret() {
        ApiKeyFormat.Issued issued = ApiKeyFormat.issue(random);
        ApiKeyFormat.Parsed parsed = ApiKeyFormat.parse(issued.key());
        assertThat(issued.toString()).doesNotContain(parsed.secret()).doesNotContain(issued.secretSha256());
        assertThat(parsed.toString()).doesNotContain(parsed.secret());
    }
}

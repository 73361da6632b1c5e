package dev.parley.identity.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import org.junit.jupiter.api.Test;

class PasswordHasherTest {
    private final PasswordHasher fast = new PasswordHasher(new PasswordHasher.Params(256, 1, 1), 12, 2);

    @Test
    void owaspParametersMakeAPhcStringThatVerifiesTheRightPasswordOnly() {
        PasswordHasher owasp = new PasswordHasher(PasswordHasher.Params.OWASP, 12, 2);
        String phc = owasp.hash("correct horse battery staple");
        assertThat(phc).matches("\\$argon2id\\$v=19\\$m=19456,t=2,p=1\\$[A-Za-z0-9+/]{22}\\$[A-Za-z0-9+/]{43}");
        assertThat(owasp.verify(phc, "correct horse battery staple")).isTrue();
        assertThat(owasp.verify(phc, "correct horse battery stapler")).isFalse();
        assertThat(owasp.verify(phc, "")).isFalse();
        assertThat(owasp.needsRehash(phc)).isFalse();
    }

    @Test
    void theReferenceImplementationsArgon2idVectorVerifies() {
        // From the Argon2 reference implementation's tests (phc-winner-argon2, test.c, Argon2id v19):
        // password "password", salt "somesalt", t=2, m=2^16 KiB, p=1.
        String reference = "$argon2id$v=19$m=65536,t=2,p=1$c29tZXNhbHQ$CTFhFdXPJO1aFaMaO6Mm5c8y7cJHAph8ArZWb2GRPPc";
        assertThat(fast.verify(reference, "password")).isTrue();
        assertThat(fast.verify(reference, "Password")).isFalse();
        assertThat(fast.needsRehash(reference)).isFalse();
    }

    @Test
    void saltsDifferSoEqualPasswordsHashDifferently() {
        assertThat(fast.hash("same password!!")).isNotEqualTo(fast.hash("same password!!"));
    }

    @Test
    void aHashUnderWeakerParametersNeedsARehashAndStillVerifies() {
        String old = fast.hash("correct horse battery staple");
        PasswordHasher stronger = new PasswordHasher(new PasswordHasher.Params(512, 2, 1), 12, 2);
        assertThat(stronger.needsRehash(old)).isTrue();
        assertThat(stronger.verify(old, "correct horse battery staple")).isTrue();
        String fresh = stronger.hash("correct horse battery staple");
        assertThat(fresh).contains("m=512,t=2,p=1");
        assertThat(stronger.needsRehash(fresh)).isFalse();
        assertThat(fast.needsRehash(fresh)).isFalse();
    }

    @Test
    void storedHashesThatAreMalformedOrAskForTooMuchNeverVerify() {
        String good = fast.hash("correct horse battery staple");
        String salt = good.split("\\$")[4];
        String hash = good.split("\\$")[5];
        for (String bad : new String[] { null, "", "plain text", good.replace("argon2id", "argon2i"),
                good.replace("v=19", "v=16"), "$argon2id$v=19$m=99999999,t=1,p=1$" + salt + "$" + hash,
                "$argon2id$v=19$m=256,t=999,p=1$" + salt + "$" + hash, "$argon2id$v=19$m=256,t=1,p=1$$" + hash,
                "$argon2id$v=19$m=4,t=1,p=1$" + salt + "$" + hash, good + "$extra", good.substring(0, 40) }) {
            assertThat(fast.verify(bad, "correct horse battery staple")).as(String.valueOf(bad)).isFalse();
            assertThat(fast.needsRehash(bad)).isTrue();
        }
    }

    @Test
    void newPasswordsNeedTheMinimumAndAreCappedInBytes() {
        fast.checkNewPassword("twelve chars", "new");
        assertInvalid(() -> fast.checkNewPassword("eleven char", "new"), "at least 12 characters");
        assertInvalid(() -> fast.checkNewPassword(null, "new"), "'new' is required");
        assertInvalid(() -> fast.checkNewPassword("            ", "new"), "only spaces");
        // 12 characters of 4 bytes each count as 12 characters.
        fast.checkNewPassword("😀".repeat(12), "new");
        fast.checkNewPassword("a".repeat(PasswordHasher.MAX_PASSWORD_BYTES), "new");
        assertInvalid(() -> fast.checkNewPassword("a".repeat(PasswordHasher.MAX_PASSWORD_BYTES + 1), "new"),
                "at most 1024 bytes");
        assertInvalid(() -> fast.checkNewPassword("é".repeat(513), "new"), "at most 1024 bytes");
    }

    private static void assertInvalid(Runnable r, String message) {
        assertThatThrownBy(r::run).isInstanceOfSatisfying(ParleyException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
            assertThat(e.getMessage()).contains(message);
        });
    }
}

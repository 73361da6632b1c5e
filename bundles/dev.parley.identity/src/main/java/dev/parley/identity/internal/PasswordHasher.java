package dev.parley.identity.internal;

import dev.parley.api.error.ParleyException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Arrays;
import java.util.Base64;
import java.util.concurrent.Semaphore;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.bouncycastle.crypto.generators.Argon2BytesGenerator;
import org.bouncycastle.crypto.params.Argon2Parameters;

/**
 * Argon2id password hashes (Bouncy Castle) in the PHC string format, {@code $argon2id$v=19$m=<KiB>,t=<iterations>,
 * p=<lanes>$<salt>$<hash>} (standard base64 without padding), so each stored hash carries the parameters it was made
 * with: they can be raised later, and a hash made with weaker ones is {@linkplain #needsRehash re-hashed} at the next
 * sign-in. At most {@code maxConcurrent} hashes are computed at once, so a burst of sign-ins cannot take more than
 * that many times the configured memory.
 */
final class PasswordHasher {
    /** The longest password accepted, in UTF-8 bytes: hashing is linear in it, and nobody types more. */
    static final int MAX_PASSWORD_BYTES = 1024;
    private static final int SALT_BYTES = 16;
    private static final int HASH_BYTES = 32;
    /** Limits on what a stored hash may ask for, so a damaged row cannot make a sign-in take minutes or gigabytes. */
    private static final int MAX_MEMORY_KIB = 1 << 20;
    private static final int MAX_ITERATIONS = 64;
    private static final int MAX_PARALLELISM = 16;
    private static final Pattern PHC = Pattern.compile(
            "\\$argon2id\\$v=19\\$m=(\\d{1,8}),t=(\\d{1,3}),p=(\\d{1,2})\\$([A-Za-z0-9+/]{11,88})\\$([A-Za-z0-9+/]{22,88})");
    private static final Base64.Encoder B64 = Base64.getEncoder().withoutPadding();
    private static final Base64.Decoder B64_DECODER = Base64.getDecoder();

    /** Argon2id cost parameters. */
    record Params(int memoryKiB, int iterations, int parallelism) {
        /** OWASP's password storage cheat sheet: 19 MiB, 2 iterations, 1 lane. */
        static final Params OWASP = new Params(19456, 2, 1);
    }

    private final Params params;
    private final int minLength;
    private final Semaphore permits;
    private final java.util.concurrent.atomic.AtomicLong derivations = new java.util.concurrent.atomic.AtomicLong();
    private final SecureRandom random = new SecureRandom();
    /**
     * A hash of a random password, checked for unknown users so that their answer takes as long as a real one. Made
     * at the first use, not at start-up (a hash costs tens of milliseconds).
     */
    private volatile String dummy;

    PasswordHasher(Params params, int minLength, int maxConcurrent) {
        this.params = params;
        this.minLength = minLength;
        this.permits = new Semaphore(maxConcurrent, true);
    }

    Params params() {
        return params;
    }

    /** How many Argon2 derivations this hasher has run (the dummy's own included). */
    long derivations() {
        return derivations.get();
    }

    /** The PHC string of {@code password} under the current parameters and a new salt. */
    String hash(String password) {
        byte[] salt = new byte[SALT_BYTES];
        random.nextBytes(salt);
        byte[] out = derive(params, salt, bytes(password), HASH_BYTES);
        return "$argon2id$v=19$m=" + params.memoryKiB() + ",t=" + params.iterations() + ",p=" + params.parallelism()
                + "$" + B64.encodeToString(salt) + "$" + B64.encodeToString(out);
    }

    /** Whether {@code password} matches {@code phc}; false for anything that is not a hash this class accepts. */
    boolean verify(String phc, String password) {
        Parsed p = parse(phc);
        if (p == null || password == null) {
            return false;
        }
        byte[] actual = derive(p.params(), p.salt(), bytes(password), p.hash().length);
        return MessageDigest.isEqual(actual, p.hash());
    }

    /** Spends the time of one verification without a user, so that an unknown name answers as slowly as a known one. */
    void verifyDummy(String password) {
        String d = dummy;
        if (d == null) {
            byte[] throwaway = new byte[24];
            random.nextBytes(throwaway);
            d = hash(B64.encodeToString(throwaway));
            dummy = d;
        }
        verify(d, password == null ? "" : password);
    }

    /** Whether {@code phc} was made with parameters weaker than the current ones (or cannot be read). */
    boolean needsRehash(String phc) {
        Parsed p = parse(phc);
        return p == null || p.params().memoryKiB() < params.memoryKiB()
                || p.params().iterations() < params.iterations()
                || p.params().parallelism() < params.parallelism();
    }

    /** Refuses, as INVALID_REQUEST with a reason, a password too short or too long to be set. */
    void checkNewPassword(String password, String field) {
        if (password == null || password.isEmpty()) {
            throw ParleyException.invalid(field, "'" + field + "' is required");
        }
        checkLength(password, field);
        if (password.codePointCount(0, password.length()) < minLength) {
            throw ParleyException.invalid(field, "a password needs at least " + minLength
                    + " characters");
        }
        if (password.isBlank()) {
            throw ParleyException.invalid(field, "a password cannot be only spaces");
        }
    }

    /** Refuses a password over {@link #MAX_PASSWORD_BYTES} before it is hashed. */
    static void checkLength(String password, String field) {
        // Cheap bound first: no string of more chars than the limit has fewer UTF-8 bytes.
        if (password.length() > MAX_PASSWORD_BYTES
                || password.getBytes(StandardCharsets.UTF_8).length > MAX_PASSWORD_BYTES) {
            throw ParleyException.invalid(field, "a password is at most " + MAX_PASSWORD_BYTES
                    + " bytes");
        }
    }

    private byte[] derive(Params p, byte[] salt, byte[] password, int length) {
        Argon2Parameters parameters = new Argon2Parameters.Builder(Argon2Parameters.ARGON2_id)
                .withVersion(Argon2Parameters.ARGON2_VERSION_13).withMemoryAsKB(p.memoryKiB())
                .withIterations(p.iterations()).withParallelism(p.parallelism()).withSalt(salt).build();
        Argon2BytesGenerator generator = new Argon2BytesGenerator();
        generator.init(parameters);
        byte[] out = new byte[length];
        permits.acquireUninterruptibly();
        try {
            derivations.incrementAndGet();
            generator.generateBytes(password, out);
        } finally {
            permits.release();
            Arrays.fill(password, (byte) 0);
        }
        return out;
    }

    private static byte[] bytes(String password) {
        return password.getBytes(StandardCharsets.UTF_8);
    }

    private record Parsed(Params params, byte[] salt, byte[] hash) {
    }

    private static Parsed parse(String phc) {
        if (phc == null) {
            return null;
        }
        Matcher m = PHC.matcher(phc);
        if (!m.matches()) {
            return null;
        }
        int memory = Integer.parseInt(m.group(1));
        int iterations = Integer.parseInt(m.group(2));
        int parallelism = Integer.parseInt(m.group(3));
        if (memory < 8 * parallelism || memory > MAX_MEMORY_KIB || iterations < 1 || iterations > MAX_ITERATIONS
                || parallelism < 1 || parallelism > MAX_PARALLELISM) {
            return null;
        }
        try {
            byte[] salt = B64_DECODER.decode(m.group(4));
            byte[] hash = B64_DECODER.decode(m.group(5));
            if (salt.length < 8 || hash.length < 16) {
                return null;
            }
            return new Parsed(new Params(memory, iterations, parallelism), salt, hash);
        } catch (IllegalArgumentException e) {
            return null;
        }
    }
}

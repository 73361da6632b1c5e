package dev.parley.identity.apikeys.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.zip.CRC32;

/**
 * The shape of a Parley API key, recognisable in leaks like GitHub's and Stripe's tokens:
 *
 * <pre>
 * pk-parley-&lt;key id: 12 base62&gt;_&lt;secret: 43 base62&gt;&lt;checksum: 6 base62&gt;
 * </pre>
 *
 * 72 characters of {@code [0-9A-Za-z]} after the prefix, one {@code _} between id and secret. The key id is public
 * (listed, used in URLs, safe to log); the secret is 43 characters drawn uniformly from the 62 by
 * {@link SecureRandom}, 256.03 bits; the checksum is the CRC32 of everything before it (prefix, id, {@code _},
 * secret) as 6 base62 digits, so a scanner can tell a real key from a look-alike without asking the server, and a
 * mistyped key is refused without a database query. Regular expression for scanners:
 * {@code pk-parley-[0-9A-Za-z]{12}_[0-9A-Za-z]{49}}.
 */
final class ApiKeyFormat {
    static final String PREFIX = "pk-parley-";
    static final int ID_LENGTH = 12;
    static final int SECRET_LENGTH = 43;
    static final int CHECKSUM_LENGTH = 6;
    static final char SEPARATOR = '_';
    static final int LENGTH = PREFIX.length() + ID_LENGTH + 1 + SECRET_LENGTH + CHECKSUM_LENGTH;

    private static final String BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

    /** A key just made: {@link #key} is shown once to its creator; only {@link #id} and the secret's hash are kept. */
    record Issued(String id, String key, String secretSha256) {
        @Override
        public String toString() {
            return "Issued[id=" + id + "]"; // never the key
        }
    }

    /** The parts of a well-formed key whose checksum matched. */
    record Parsed(String id, String secret) {
        @Override
        public String toString() {
            return "Parsed[id=" + id + "]"; // never the secret
        }
    }

    private ApiKeyFormat() {
    }

    /** Whether {@code credential} has the prefix of a Parley API key (cheap; nothing is verified). */
    static boolean hasPrefix(String credential) {
        return credential != null && credential.startsWith(PREFIX);
    }

    static Issued issue(SecureRandom random) {
        String id = randomBase62(random, ID_LENGTH);
        String secret = randomBase62(random, SECRET_LENGTH);
        String body = PREFIX + id + SEPARATOR + secret;
        return new Issued(id, body + checksum(body), sha256(secret));
    }

    /**
     * The parts of {@code credential}, checked for shape and checksum only.
     *
     * @throws ParleyException UNAUTHORIZED with a reason safe to show (never the key)
     */
    static Parsed parse(String credential) {
        if (credential == null || credential.length() != LENGTH || !credential.startsWith(PREFIX)
                || credential.charAt(PREFIX.length() + ID_LENGTH) != SEPARATOR) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED, "the API key is malformed");
        }
        int idStart = PREFIX.length();
        int secretStart = idStart + ID_LENGTH + 1;
        int checksumStart = secretStart + SECRET_LENGTH;
        for (int i = idStart; i < LENGTH; i++) {
            if (i != secretStart - 1 && !isBase62(credential.charAt(i))) {
                throw new ParleyException(ErrorCode.UNAUTHORIZED, "the API key is malformed");
            }
        }
        String body = credential.substring(0, checksumStart);
        if (!checksum(body).equals(credential.substring(checksumStart))) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED,
                    "the API key's checksum does not match: it was mistyped or cut");
        }
        return new Parsed(credential.substring(idStart, idStart + ID_LENGTH),
                credential.substring(secretStart, checksumStart));
    }

    /** Whether {@code id} looks like a key id (for ids in URLs: anything else cannot exist). */
    static boolean isKeyId(String id) {
        if (id == null || id.length() != ID_LENGTH) {
            return false;
        }
        for (int i = 0; i < id.length(); i++) {
            if (!isBase62(id.charAt(i))) {
                return false;
            }
        }
        return true;
    }

    /** What listings show of a key: its prefix and id, enough to recognise it, nothing of the secret. */
    static String displayPrefix(String id) {
        return PREFIX + id + SEPARATOR;
    }

    /** The CRC32 of {@code body}'s ASCII bytes as exactly 6 base62 digits (62^6 &gt; 2^32). */
    static String checksum(String body) {
        CRC32 crc = new CRC32();
        crc.update(body.getBytes(StandardCharsets.US_ASCII));
        long value = crc.getValue();
        char[] out = new char[CHECKSUM_LENGTH];
        for (int i = CHECKSUM_LENGTH - 1; i >= 0; i--) {
            out[i] = BASE62.charAt((int) (value % 62));
            value /= 62;
        }
        return new String(out);
    }

    /**
     * The SHA-256 of the secret, hex. A fast hash is right here: the secret is 256 random bits, so there is nothing
     * to guess; a slow password hash would only cost CPU on every request.
     */
    static String sha256(String secret) {
        try {
            MessageDigest digest = MessageDigest.getInstance("SHA-256");
            return HexFormat.of().formatHex(digest.digest(secret.getBytes(StandardCharsets.US_ASCII)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is part of every Java platform", e);
        }
    }

    /** Whether {@code secret} hashes to {@code expectedSha256}, in time independent of where they differ. */
    static boolean matches(String secret, String expectedSha256) {
        return MessageDigest.isEqual(sha256(secret).getBytes(StandardCharsets.US_ASCII),
                expectedSha256.getBytes(StandardCharsets.US_ASCII));
    }

    private static String randomBase62(SecureRandom random, int length) {
        char[] out = new char[length];
        for (int i = 0; i < length; i++) {
            out[i] = BASE62.charAt(random.nextInt(62)); // nextInt(bound) is uniform (rejection sampling)
        }
        return new String(out);
    }

    private static boolean isBase62(char c) {
        return (c >= '0' && c <= '9') || (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
    }
}

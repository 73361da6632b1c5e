package dev.parley.registry;

/**
 * Ed25519 publisher signatures (JDK {@code java.security}, no third-party crypto) and SHA-256 digests.
 * Keys travel as base64: public keys X.509 SubjectPublicKeyInfo, private keys PKCS#8.
 */
public final class Signatures {
    private Signatures() {
    }

    /** @return {publicKeyBase64, privateKeyBase64} */
    public static String[] generateKeyPair() {
        throw new UnsupportedOperationException("TODO");
    }

    public static byte[] sign(byte[] data, String privateKeyBase64) {
        throw new UnsupportedOperationException("TODO");
    }

    /** False for a wrong signature; RegistryException(BAD_SIGNATURE) for a malformed key or signature. */
    public static boolean verify(byte[] data, byte[] signature, String publicKeyBase64) {
        throw new UnsupportedOperationException("TODO");
    }

    public static String sha256Hex(byte[] data) {
        throw new UnsupportedOperationException("TODO");
    }

    /**
     * Checks downloaded bytes against a registry entry before they are installed.
     *
     * @throws RegistryException DIGEST_MISMATCH, UNKNOWN_PUBLISHER (publisher null), BAD_SIGNATURE
     */
    public static void verifyArtifact(byte[] artifact, RegistryEntry entry, Publisher publisher) {
        throw new UnsupportedOperationException("TODO");
    }
}

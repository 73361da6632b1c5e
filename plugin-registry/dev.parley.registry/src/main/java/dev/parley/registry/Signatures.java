package dev.parley.registry;

import java.security.GeneralSecurityException;
import java.security.KeyFactory;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.security.SignatureException;
import java.security.spec.InvalidKeySpecException;
import java.security.spec.PKCS8EncodedKeySpec;
import java.security.spec.X509EncodedKeySpec;
import java.util.Base64;
import java.util.HexFormat;

import dev.parley.registry.RegistryException.Reason;

/**
 * Ed25519 publisher signatures (JDK {@code java.security}, no third-party crypto) and SHA-256 digests.
 * Keys travel as base64: public keys X.509 SubjectPublicKeyInfo, private keys PKCS#8.
 */
public final class Signatures {
    private static final String ALGORITHM = "Ed25519";
    private static final int SIGNATURE_BYTES = 64;

    private Signatures() {
    }

    /** @return {publicKeyBase64, privateKeyBase64} */
    public static String[] generateKeyPair() {
        try {
            KeyPair pair = KeyPairGenerator.getInstance(ALGORITHM).generateKeyPair();
            Base64.Encoder b64 = Base64.getEncoder();
            return new String[] {b64.encodeToString(pair.getPublic().getEncoded()),
                    b64.encodeToString(pair.getPrivate().getEncoded())};
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no Ed25519", e);
        }
    }

    public static byte[] sign(byte[] data, String privateKeyBase64) {
        PrivateKey key;
        try {
            key = KeyFactory.getInstance(ALGORITHM).generatePrivate(new PKCS8EncodedKeySpec(decode(privateKeyBase64, "private key")));
        } catch (InvalidKeySpecException e) {
            throw new RegistryException(Reason.BAD_SIGNATURE, "the private key is not a base64 PKCS#8 Ed25519 key", e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no Ed25519", e);
        }
        try {
            Signature signer = Signature.getInstance(ALGORITHM);
            signer.initSign(key);
            signer.update(data);
            return signer.sign();
        } catch (GeneralSecurityException e) {
            throw new RegistryException(Reason.BAD_SIGNATURE, "signing failed: " + e.getMessage(), e);
        }
    }

    /** False for a wrong signature; RegistryException(BAD_SIGNATURE) for a malformed key or signature. */
    public static boolean verify(byte[] data, byte[] signature, String publicKeyBase64) {
        PublicKey key = publicKey(publicKeyBase64);
        if (signature == null || signature.length != SIGNATURE_BYTES) {
            throw new RegistryException(Reason.BAD_SIGNATURE, "the signature is not an Ed25519 signature: expected "
                    + SIGNATURE_BYTES + " bytes, got " + (signature == null ? 0 : signature.length));
        }
        try {
            Signature verifier = Signature.getInstance(ALGORITHM);
            verifier.initVerify(key);
            verifier.update(data);
            return verifier.verify(signature);
        } catch (SignatureException e) {
            // The JDK throws for some malformed signatures (e.g. a non-canonical point) instead of answering false.
            return false;
        } catch (GeneralSecurityException e) {
            throw new RegistryException(Reason.BAD_SIGNATURE, "the signature could not be checked: " + e.getMessage(), e);
        }
    }

    /**
     * Checks that {@code publicKeyBase64} is a usable publisher key.
     *
     * @throws RegistryException BAD_SIGNATURE naming what is wrong with it
     */
    public static void checkPublicKey(String publicKeyBase64) {
        publicKey(publicKeyBase64);
    }

    public static String sha256Hex(byte[] data) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no SHA-256", e);
        }
    }

    /**
     * Checks downloaded bytes against a registry entry before they are installed.
     *
     * @throws RegistryException DIGEST_MISMATCH, UNKNOWN_PUBLISHER (publisher null), BAD_SIGNATURE
     */
    public static void verifyArtifact(byte[] artifact, RegistryEntry entry, Publisher publisher) {
        String what = entry.id() + " " + entry.version();
        String digest = sha256Hex(artifact);
        if (!digest.equalsIgnoreCase(entry.sha256())) {
            throw new RegistryException(Reason.DIGEST_MISMATCH, "the artifact of " + what + " has SHA-256 " + digest
                    + " but the registry recorded " + entry.sha256() + "; the bytes were changed or corrupted");
        }
        if (publisher == null) {
            throw new RegistryException(Reason.UNKNOWN_PUBLISHER, what + " is published by '" + entry.publisher()
                    + "', whose key is not known here");
        }
        if (!publisher.id().equals(entry.publisher())) {
            throw new RegistryException(Reason.UNKNOWN_PUBLISHER, what + " is published by '" + entry.publisher()
                    + "', not by '" + publisher.id() + "'");
        }
        byte[] signature = decode(entry.signature(), "signature");
        if (!verify(artifact, signature, publisher.publicKey())) {
            throw new RegistryException(Reason.BAD_SIGNATURE, "the signature of " + what
                    + " does not verify with the key of publisher '" + publisher.id() + "'");
        }
    }

    private static PublicKey publicKey(String publicKeyBase64) {
        try {
            return KeyFactory.getInstance(ALGORITHM).generatePublic(new X509EncodedKeySpec(decode(publicKeyBase64, "public key")));
        } catch (InvalidKeySpecException | ClassCastException e) {
            throw new RegistryException(Reason.BAD_SIGNATURE,
                    "the public key is not a base64 X.509 (SubjectPublicKeyInfo) Ed25519 key", e);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("this JDK has no Ed25519", e);
        }
    }

    private static byte[] decode(String base64, String what) {
        if (base64 == null || base64.isBlank()) {
            throw new RegistryException(Reason.BAD_SIGNATURE, "the " + what + " is missing");
        }
        try {
            // Whitespace (line breaks in a .sig file) is allowed; any other stray character is an error.
            return Base64.getDecoder().decode(base64.replaceAll("\\s+", ""));
        } catch (IllegalArgumentException e) {
            throw new RegistryException(Reason.BAD_SIGNATURE, "the " + what + " is not valid base64", e);
        }
    }
}

package dev.parley.secrets.internal;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.secrets.SecretSealer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Objects;
import javax.crypto.Cipher;
import javax.crypto.SecretKey;
import javax.crypto.spec.GCMParameterSpec;
import org.osgi.framework.BundleContext;
import org.osgi.service.component.annotations.Activate;
import org.osgi.service.component.annotations.Component;
import org.osgi.service.component.annotations.ConfigurationPolicy;
import org.osgi.service.metatype.annotations.Designate;

/**
 * AES-256-GCM with a random 96-bit nonce per value (the JDK's provider). A sealed value is
 * {@code parley-sealed:v1:<key id>:<base64url(nonce ‖ ciphertext ‖ tag)>}; the prefix, the key id and the purpose
 * are the associated data, so none of them can be changed without the value failing to open. Random nonces are safe
 * for far more values than a deployment stores under one key (NIST SP 800-38D: 2^32 per key).
 */
@Component(service = SecretSealer.class, configurationPid = SecretsConfig.PID,
        configurationPolicy = ConfigurationPolicy.OPTIONAL)
@Designate(ocd = SecretsConfig.class)
public final class AesGcmSecretSealer implements SecretSealer {
    static final String PREFIX = "parley-sealed:v1:";
    private static final String TRANSFORMATION = "AES/GCM/NoPadding";
    private static final int NONCE_BYTES = 12;
    private static final int TAG_BITS = 128;
    /** The framework property naming Parley's data directory. */
    static final String DATA_DIR_PROPERTY = "parley.data.dir";

    private final MasterKeys keys;
    private final SecureRandom random = new SecureRandom();

    @Activate
    public AesGcmSecretSealer(SecretsConfig config, BundleContext context) {
        this(config, dataDir(context.getProperty(DATA_DIR_PROPERTY)));
    }

    /** Outside a framework (other bundles' tests use the real sealer this way). */
    public AesGcmSecretSealer(SecretsConfig config, Path dataDir) {
        this(MasterKeys.from(config, dataDir));
    }

    AesGcmSecretSealer(MasterKeys keys) {
        this.keys = keys;
    }

    static Path dataDir(String configured) {
        return Path.of(configured == null || configured.isBlank() ? "./data" : configured);
    }

    @Override
    public String seal(String plaintext, String purpose) {
        Objects.requireNonNull(plaintext, "plaintext");
        requirePurpose(purpose);
        String keyId = keys.currentId();
        byte[] nonce = new byte[NONCE_BYTES];
        random.nextBytes(nonce);
        try {
            Cipher cipher = Cipher.getInstance(TRANSFORMATION);
            cipher.init(Cipher.ENCRYPT_MODE, keys.current(), new GCMParameterSpec(TAG_BITS, nonce));
            cipher.updateAAD(associatedData(keyId, purpose));
            byte[] sealed = cipher.doFinal(plaintext.getBytes(StandardCharsets.UTF_8));
            byte[] out = ByteBuffer.allocate(nonce.length + sealed.length).put(nonce).put(sealed).array();
            return PREFIX + keyId + ":" + Base64.getUrlEncoder().withoutPadding().encodeToString(out);
        } catch (GeneralSecurityException e) {
            throw new ParleyException(ErrorCode.STORE_FAILURE, "Could not seal a secret", e);
        }
    }

    @Override
    public String open(String sealed, String purpose) {
        requirePurpose(purpose);
        String keyId = keyId(sealed);
        SecretKey key = keys.get(keyId);
        if (key == null) {
            throw new ParleyException(ErrorCode.STORE_FAILURE, "A stored secret was sealed with master key " + keyId
                    + ", which this node does not have; add it to the previous master keys");
        }
        byte[] bytes;
        try {
            bytes = Base64.getUrlDecoder().decode(sealed.substring(PREFIX.length() + keyId.length() + 1));
        } catch (IllegalArgumentException e) {
            throw malformed();
        }
        if (bytes.length < NONCE_BYTES + TAG_BITS / 8) {
            throw malformed();
        }
        try {
            Cipher cipher = Cipher.getInstance(TRANSFORMATION);
            cipher.init(Cipher.DECRYPT_MODE, key, new GCMParameterSpec(TAG_BITS, bytes, 0, NONCE_BYTES));
            cipher.updateAAD(associatedData(keyId, purpose));
            return new String(cipher.doFinal(bytes, NONCE_BYTES, bytes.length - NONCE_BYTES), StandardCharsets.UTF_8);
        } catch (javax.crypto.AEADBadTagException e) {
            throw new ParleyException(ErrorCode.STORE_FAILURE, "A stored secret (master key " + keyId
                    + ") does not open: it was changed, or sealed for another setting");
        } catch (GeneralSecurityException e) {
            throw new ParleyException(ErrorCode.STORE_FAILURE, "Could not open a stored secret", e);
        }
    }

    @Override
    public boolean isSealed(String stored) {
        return stored != null && stored.startsWith(PREFIX);
    }

    @Override
    public boolean needsReseal(String sealed) {
        return !keys.currentId().equals(keyId(sealed));
    }

    @Override
    public String currentKeyId() {
        return keys.currentId();
    }

    private String keyId(String sealed) {
        if (!isSealed(sealed)) {
            throw malformed();
        }
        int end = sealed.indexOf(':', PREFIX.length());
        if (end <= PREFIX.length()) {
            throw malformed();
        }
        return sealed.substring(PREFIX.length(), end);
    }

    private static byte[] associatedData(String keyId, String purpose) {
        return (PREFIX + keyId + ":" + purpose).getBytes(StandardCharsets.UTF_8);
    }

    private static void requirePurpose(String purpose) {
        if (purpose == null || purpose.isEmpty()) {
            throw new IllegalArgumentException("purpose must not be empty");
        }
    }

    private static ParleyException malformed() {
        return new ParleyException(ErrorCode.STORE_FAILURE, "A stored secret is not a sealed value");
    }
}

package dev.parley.plugins.internal;

import dev.parley.api.secrets.SecretSealer;
import dev.parley.secrets.internal.AesGcmSecretSealer;
import dev.parley.secrets.internal.SecretsConfig;
import java.lang.annotation.Annotation;
import java.nio.file.Path;
import java.security.SecureRandom;
import java.util.Base64;

/** The real sealer of dev.parley.secrets under keys made for a test. */
final class TestSealers {
    private TestSealers() {
    }

    /** A new random key written {@code id:base64}. */
    static String newKey(String id) {
        byte[] k = new byte[32];
        new SecureRandom().nextBytes(k);
        return id + ":" + Base64.getEncoder().encodeToString(k);
    }

    static SecretSealer sealer(String currentKey, String... previousKeys) {
        return new AesGcmSecretSealer(new SecretsConfig() {
            @Override
            public Class<? extends Annotation> annotationType() {
                return SecretsConfig.class;
            }

            @Override
            public String _masterKey() {
                return currentKey;
            }

            @Override
            public String[] _previousKeys() {
                return previousKeys;
            }

            @Override
            public String masterKeyFile() {
                return "";
            }
        }, Path.of("target/no-key-file-needed"));
    }
}

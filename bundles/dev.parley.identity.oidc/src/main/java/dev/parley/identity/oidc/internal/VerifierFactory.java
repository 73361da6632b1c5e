package dev.parley.identity.oidc.internal;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSVerifier;
import com.nimbusds.jose.crypto.factories.DefaultJWSVerifierFactory;
import com.nimbusds.jose.jca.JCAContext;
import com.nimbusds.jose.proc.JWSVerifierFactory;
import com.nimbusds.jose.util.Base64URL;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.PublicKey;
import java.security.Signature;
import java.util.HashSet;
import java.util.Set;

/** Nimbus' verifiers, with Ed25519 done by the JDK (see {@link IssuerKeySelector}). */
final class VerifierFactory implements JWSVerifierFactory {
    private final DefaultJWSVerifierFactory delegate = new DefaultJWSVerifierFactory();

    @Override
    public JWSVerifier createJWSVerifier(JWSHeader header, Key key) throws JOSEException {
        if (IssuerKeySelector.isEdDsa(header.getAlgorithm())) {
            if (key instanceof PublicKey publicKey && isEd25519(publicKey)) {
                return new JdkEd25519Verifier(publicKey);
            }
            throw new JOSEException("not an Ed25519 key");
        }
        return delegate.createJWSVerifier(header, key);
    }

    private static boolean isEd25519(PublicKey key) {
        return "Ed25519".equals(key.getAlgorithm()) || "EdDSA".equals(key.getAlgorithm());
    }

    @Override
    public Set<JWSAlgorithm> supportedJWSAlgorithms() {
        Set<JWSAlgorithm> all = new HashSet<>(delegate.supportedJWSAlgorithms());
        all.add(JWSAlgorithm.EdDSA);
        all.add(JWSAlgorithm.Ed25519);
        return all;
    }

    @Override
    public JCAContext getJCAContext() {
        return delegate.getJCAContext();
    }

    private static final class JdkEd25519Verifier implements JWSVerifier {
        private final PublicKey key;
        private final JCAContext jca = new JCAContext();

        JdkEd25519Verifier(PublicKey key) {
            this.key = key;
        }

        @Override
        public boolean verify(JWSHeader header, byte[] signingInput, Base64URL signature) {
            if (header.getCriticalParams() != null && !header.getCriticalParams().isEmpty()) {
                return false;
            }
            try {
                Signature s = Signature.getInstance("Ed25519");
                s.initVerify(key);
                s.update(signingInput);
                return s.verify(signature.decode());
            } catch (GeneralSecurityException | RuntimeException e) {
                return false;
            }
        }

        @Override
        public Set<JWSAlgorithm> supportedJWSAlgorithms() {
            return Set.of(JWSAlgorithm.EdDSA, JWSAlgorithm.Ed25519);
        }

        @Override
        public JCAContext getJCAContext() {
            return jca;
        }
    }
}

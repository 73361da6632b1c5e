package dev.parley.identity.oidc.internal;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.KeySourceException;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.JWKSelector;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.source.JWKSource;
import com.nimbusds.jose.proc.JWSVerificationKeySelector;
import com.nimbusds.jose.proc.SecurityContext;
import java.security.GeneralSecurityException;
import java.security.Key;
import java.security.KeyFactory;
import java.security.PublicKey;
import java.security.spec.X509EncodedKeySpec;
import java.util.ArrayList;
import java.util.HexFormat;
import java.util.List;
import java.util.Set;

/**
 * Nimbus' selector over the issuer's keys, plus Ed25519 keys as JDK public keys: Nimbus turns an OKP JWK into a
 * {@link PublicKey} only through Tink, which this runtime does not carry; the JDK (15+) verifies Ed25519 itself.
 */
final class IssuerKeySelector extends JWSVerificationKeySelector<SecurityContext> {
    /** The DER prefix of an X.509 SubjectPublicKeyInfo for Ed25519 (OID 1.3.101.112), before the 32 key bytes. */
    private static final byte[] ED25519_SPKI_PREFIX = HexFormat.of().parseHex("302a300506032b6570032100");

    IssuerKeySelector(Set<JWSAlgorithm> algorithms, JWKSource<SecurityContext> source) {
        super(algorithms, source);
    }

    static boolean isEdDsa(JWSAlgorithm alg) {
        return JWSAlgorithm.EdDSA.equals(alg) || JWSAlgorithm.Ed25519.equals(alg);
    }

    @Override
    public List<Key> selectJWSKeys(JWSHeader header, SecurityContext context) throws KeySourceException {
        if (!isAllowed(header.getAlgorithm())) {
            return List.of();
        }
        if (!isEdDsa(header.getAlgorithm())) {
            return super.selectJWSKeys(header, context);
        }
        List<JWK> jwks = getJWKSource().get(new JWKSelector(createJWKMatcher(header)), context);
        List<Key> out = new ArrayList<>();
        for (JWK jwk : jwks) {
            if (jwk instanceof OctetKeyPair okp && Curve.Ed25519.equals(okp.getCurve())) {
                PublicKey key = ed25519(okp.getX().decode());
                if (key != null) {
                    out.add(key);
                }
            }
        }
        return out;
    }

    static PublicKey ed25519(byte[] raw) {
        if (raw.length != 32) {
            return null;
        }
        byte[] spki = new byte[ED25519_SPKI_PREFIX.length + raw.length];
        System.arraycopy(ED25519_SPKI_PREFIX, 0, spki, 0, ED25519_SPKI_PREFIX.length);
        System.arraycopy(raw, 0, spki, ED25519_SPKI_PREFIX.length, raw.length);
        try {
            return KeyFactory.getInstance("Ed25519").generatePublic(new X509EncodedKeySpec(spki));
        } catch (GeneralSecurityException e) {
            return null;
        }
    }
}

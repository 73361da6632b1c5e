package dev.parley.identity.oidc.internal;

import static dev.parley.identity.oidc.internal.OidcVerifierTest.assertRefused;
import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.OctetKeyPair;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.PrivateKey;
import java.security.PublicKey;
import java.security.Signature;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Date;
import java.util.Map;
import org.apache.felix.hc.api.Result;
import org.junit.jupiter.api.Test;

/** The issuer down at start, coming up later; algorithms other than RS256 end to end. */
class OidcIssuerLifecycleTest {
    private final TestConfig.MovableClock clock = new TestConfig.MovableClock();

    private OidcBearerAuthenticator authenticator(String issuer, Map<String, Object> extra) {
        var values = new java.util.HashMap<String, Object>(Map.of("issuer", issuer, "audiences",
                new String[] { "parley" }));
        values.putAll(extra);
        return new OidcBearerAuthenticator(OidcSettings.from(TestConfig.config(values)), clock);
    }

    @Test
    void anUnreachableIssuerActivatesRefusesClearlyWarnsAndRecoversWithoutRestart() throws Exception {
        int port = freePort();
        String issuerUrl;
        // The issuer's URL as the server will write it (its host name for the loopback address, its port).
        try (MockIssuer probe = new MockIssuer()) {
            issuerUrl = probe.issuer().replace(":" + probe.port() + "/", ":" + port + "/");
        }
        OidcBearerAuthenticator auth = authenticator(issuerUrl, Map.of());
        assertThat(auth.execute().getStatus()).isEqualTo(Result.Status.OK); // not contacted yet

        RSAKey someKey = new RSAKeyGenerator(2048).keyID("k").generate();
        String token = sign(JWSAlgorithm.RS256, "k", new RSASSASigner(someKey), issuerUrl);
        assertThat(auth.recognizes(token)).isTrue();
        assertRefused(auth, token, TokenVerifier.UNREACHABLE);
        Result health = auth.execute();
        assertThat(health.getStatus()).isEqualTo(Result.Status.WARN);
        assertThat(health.toString()).contains("cannot be reached");
        // Within the back-off the issuer is not asked again, and the answer stays the same.
        assertRefused(auth, token, TokenVerifier.UNREACHABLE);

        try (MockIssuer issuer = new MockIssuer(port)) {
            assertThat(issuer.issuer()).isEqualTo(issuerUrl);
            String good = issuer.token("alice", "parley", MockIssuer.standardClaims());
            // Still within the back-off of the last failed attempt: no request to the issuer yet.
            assertRefused(auth, good, TokenVerifier.UNREACHABLE);
            assertThat(issuer.jwksRequests()).isZero();

            clock.advance(IssuerKeys.MAX_BACKOFF);
            assertThat(auth.authenticate(good).subject()).isEqualTo("alice");
            assertThat(auth.execute().getStatus()).isEqualTo(Result.Status.OK);
        }
    }

    @Test
    void aDiscoveryDocumentNamingAnotherIssuerIsNotTrusted() throws Exception {
        try (MockIssuer issuer = new MockIssuer()) {
            // Configured with a trailing slash: the document's "issuer" differs, so its keys are never used.
            OidcBearerAuthenticator auth = authenticator(issuer.issuer() + "/", Map.of());
            String token = sign(JWSAlgorithm.RS256, issuer.keys.current().getKeyID(),
                    new RSASSASigner(issuer.keys.current()), issuer.issuer() + "/");
            assertRefused(auth, token, TokenVerifier.UNREACHABLE);
            assertThat(auth.execute().getStatus()).isEqualTo(Result.Status.WARN);
            assertThat(auth.execute().toString()).contains("another issuer");
            assertThat(issuer.jwksRequests()).isZero();
        }
    }

    @Test
    void es256AndEdDsaKeysOfTheIssuerVerify() throws Exception {
        try (MockIssuer issuer = new MockIssuer()) {
            OidcBearerAuthenticator auth = authenticator(issuer.issuer(), Map.of());
            ECKey ec = new ECKeyGenerator(Curve.P_256).keyID("ec-1").generate();
            issuer.keys.use(ec);
            assertThat(auth.authenticate(sign(JWSAlgorithm.ES256, "ec-1", new ECDSASigner(ec), issuer.issuer()))
                    .subject()).isEqualTo("alice");

            // Nimbus' own Ed25519 signer needs Tink: the test signs with the JDK, as the verifier verifies.
            KeyPair ed = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            issuer.keys.use(new OctetKeyPair.Builder(Curve.Ed25519, Base64URL.encode(raw(ed.getPublic())))
                    .keyID("ed-1").d(Base64URL.encode(new byte[32])).build());
            clock.advance(Duration.ofSeconds(31));
            assertThat(auth.authenticate(signEd25519(ed.getPrivate(), "ed-1", issuer.issuer())).subject())
                    .isEqualTo("alice");
            // An Ed25519 signature by another key under the issuer's kid does not verify.
            KeyPair other = KeyPairGenerator.getInstance("Ed25519").generateKeyPair();
            assertRefused(auth, signEd25519(other.getPrivate(), "ed-1", issuer.issuer()), TokenVerifier.SIGNATURE);
        }
    }

    @Test
    void algorithmsOutsideTheConfiguredListAreRefused() throws Exception {
        try (MockIssuer issuer = new MockIssuer()) {
            OidcBearerAuthenticator auth = authenticator(issuer.issuer(), Map.of("algorithms",
                    new String[] { "ES256" }));
            String rs = issuer.token("alice", "parley", MockIssuer.standardClaims());
            assertRefused(auth, rs, TokenVerifier.ALGORITHM);
        }
    }

    private String sign(JWSAlgorithm alg, String kid, JWSSigner signer, String iss) throws Exception {
        Instant now = clock.instant();
        JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer(iss).audience("parley").subject("alice")
                .claim("tenant", "acme").expirationTime(Date.from(now.plusSeconds(600))).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(alg).type(JOSEObjectType.JWT).keyID(kid).build(), claims);
        jwt.sign(signer);
        return jwt.serialize();
    }

    private String signEd25519(PrivateKey key, String kid, String iss) throws Exception {
        Instant now = clock.instant();
        JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer(iss).audience("parley").subject("alice")
                .claim("tenant", "acme").expirationTime(Date.from(now.plusSeconds(600))).build();
        JWSHeader header = new JWSHeader.Builder(JWSAlgorithm.EdDSA).type(JOSEObjectType.JWT).keyID(kid).build();
        String input = header.toBase64URL() + "." + Base64URL.encode(claims.toString());
        Signature signature = Signature.getInstance("Ed25519");
        signature.initSign(key);
        signature.update(input.getBytes(StandardCharsets.US_ASCII));
        return input + "." + Base64URL.encode(signature.sign());
    }

    /** The 32 raw bytes of an Ed25519 public key (the end of its X.509 encoding). */
    private static byte[] raw(PublicKey key) {
        byte[] spki = key.getEncoded();
        return Arrays.copyOfRange(spki, spki.length - 32, spki.length);
    }

    private static int freePort() throws IOException {
        try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return s.getLocalPort();
        }
    }
}

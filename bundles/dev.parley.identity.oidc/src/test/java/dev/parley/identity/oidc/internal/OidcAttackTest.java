package dev.parley.identity.oidc.internal;

import static dev.parley.identity.oidc.internal.OidcVerifierTest.assertRefused;
import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JWSSigner;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.MACSigner;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.Curve;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The JWT attack suite: every forged, altered or malformed token is refused with its reason, and none is accepted.
 * Attacker tokens are built with Nimbus; the issuer is a real OIDC server.
 */
class OidcAttackTest {
    private final TestConfig.MovableClock clock = new TestConfig.MovableClock();
    private MockIssuer issuer;
    private OidcBearerAuthenticator auth;
    private RSAKey attacker;
    private HttpServer attackerServer;
    private final AtomicInteger attackerRequests = new AtomicInteger();

    @BeforeEach
    void start() throws Exception {
        issuer = new MockIssuer();
        auth = new OidcBearerAuthenticator(OidcSettings.from(TestConfig.config(Map.of("issuer", issuer.issuer(),
                "audiences", new String[] { "parley" }, "roleMapping", new String[] { "parley-admins=admin" }))),
                clock);
        attacker = new RSAKeyGenerator(2048).keyID("attacker").generate();
        attackerServer = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        byte[] jwks = new JWKSet(attacker.toPublicJWK()).toString().getBytes(StandardCharsets.UTF_8);
        attackerServer.createContext("/", exchange -> {
            attackerRequests.incrementAndGet();
            exchange.sendResponseHeaders(200, jwks.length);
            exchange.getResponseBody().write(jwks);
            exchange.close();
        });
        attackerServer.start();
        // The genuine path works, and the issuer's keys are cached before the attacks.
        assertThat(auth.authenticate(signed(header(JWSAlgorithm.RS256).keyID(kid()), claims().build(),
                realSigner())).subject()).isEqualTo("alice");
    }

    @AfterEach
    void stop() {
        attackerServer.stop(0);
        issuer.close();
        // Nothing any attack carried was ever fetched.
        assertThat(attackerRequests).hasValue(0);
    }

    // --- alg: none and friends ---------------------------------------------------------------------------------

    @Test
    void algNoneInEveryCaseIsRefusedWithAndWithoutASignature() {
        String realSignature = valid().split("\\.")[2];
        for (String alg : List.of("none", "None", "NONE", "nOnE")) {
            String unsigned = b64("{\"alg\":\"" + alg + "\",\"typ\":\"JWT\"}") + "." + b64(claims().build()
                    .toString()) + ".";
            assertRefused(auth, unsigned, TokenVerifier.ALGORITHM);
            assertRefused(auth, unsigned + realSignature, TokenVerifier.ALGORITHM);
        }
    }

    @Test
    void hs256SignedWithTheIssuersPublicKeyIsRefused() throws Exception {
        byte[] publicKeyBytes = issuer.keys.current().toRSAPublicKey().getEncoded();
        String token = signed(header(JWSAlgorithm.HS256).keyID(kid()), claims().build(),
                new MACSigner(publicKeyBytes));
        assertRefused(auth, token, TokenVerifier.ALGORITHM);
        // The JWK's own JSON as the HMAC secret, another common variant of the confusion.
        String token2 = signed(header(JWSAlgorithm.HS256).keyID(kid()), claims().build(),
                new MACSigner(issuer.keys.current().toPublicJWK().toJSONString().getBytes(StandardCharsets.UTF_8)));
        assertRefused(auth, token2, TokenVerifier.ALGORITHM);
    }

    // --- keys named by the token ---------------------------------------------------------------------------------

    @Test
    void anEmbeddedJwkIsNotTrusted() throws Exception {
        assertRefused(auth, signed(header(JWSAlgorithm.RS256).keyID("attacker").jwk(attacker.toPublicJWK()),
                claims().build(), new RSASSASigner(attacker)), TokenVerifier.SIGNATURE);
        // Even under the real key's id.
        assertRefused(auth, signed(header(JWSAlgorithm.RS256).keyID(kid()).jwk(attacker.toPublicJWK()),
                claims().build(), new RSASSASigner(attacker)), TokenVerifier.SIGNATURE);
    }

    @Test
    void jkuAndX5uPointingElsewhereAreNeverFetched() throws Exception {
        URI evil = URI.create("http://127.0.0.1:" + attackerServer.getAddress().getPort() + "/jwks");
        assertRefused(auth, signed(header(JWSAlgorithm.RS256).keyID("attacker").jwkURL(evil), claims().build(),
                new RSASSASigner(attacker)), TokenVerifier.SIGNATURE);
        assertRefused(auth, signed(header(JWSAlgorithm.RS256).keyID("attacker").x509CertURL(evil),
                claims().build(), new RSASSASigner(attacker)), TokenVerifier.SIGNATURE);
        assertThat(attackerRequests).hasValue(0);
    }

    @Test
    void anAttackerX5cChainIsNotTrusted() throws Exception {
        var now = Instant.now();
        var cert = new JcaX509CertificateConverter().getCertificate(new JcaX509v3CertificateBuilder(
                new X500Name("CN=" + issuer.issuer().replace(':', '_')), BigInteger.ONE, Date.from(now),
                Date.from(now.plusSeconds(3600)), new X500Name("CN=attacker"), attacker.toRSAPublicKey())
                .build(new JcaContentSignerBuilder("SHA256withRSA").build(attacker.toPrivateKey())));
        assertRefused(auth, signed(header(JWSAlgorithm.RS256).keyID(kid())
                .x509CertChain(List.of(Base64.encode(cert.getEncoded()))), claims().build(),
                new RSASSASigner(attacker)), TokenVerifier.SIGNATURE);
    }

    @Test
    void kidInjectionAndTraversalFindNoKeyEvenWhenSignedWithTheRealKey() throws Exception {
        for (String kid : List.of("../../etc/passwd", "' OR 1=1 --", "x".repeat(10 * 1024), "", "%00")) {
            assertRefused(auth, signed(header(JWSAlgorithm.RS256).keyID(kid), claims().build(), realSigner()),
                    TokenVerifier.SIGNATURE);
        }
    }

    @Test
    void theRealKidWithAnotherAlgorithmIsRefused() throws Exception {
        ECKey ec = new ECKeyGenerator(Curve.P_256).generate();
        assertRefused(auth, signed(header(JWSAlgorithm.ES256).keyID(kid()), claims().build(), new ECDSASigner(ec)),
                TokenVerifier.SIGNATURE);
        // An asymmetric algorithm outside the allow-list, signed with the real RSA key.
        assertRefused(auth, signed(header(JWSAlgorithm.PS256).keyID(kid()), claims().build(), realSigner()),
                TokenVerifier.ALGORITHM);
        assertRefused(auth, signed(header(JWSAlgorithm.RS512).keyID(kid()), claims().build(), realSigner()),
                TokenVerifier.ALGORITHM);
    }

    // --- time ---------------------------------------------------------------------------------------------------

    @Test
    void expiryAndNotBeforeHoldBeyondTheSkewAndAreForgivenWithinIt() throws Exception {
        Instant now = clock.instant();
        assertRefused(auth, real(claims().expirationTime(Date.from(now.minusSeconds(62))).build()),
                TokenVerifier.EXPIRED);
        assertRefused(auth, real(claims().notBeforeTime(Date.from(now.plusSeconds(62))).build()),
                TokenVerifier.NOT_YET_VALID);
        assertRefused(auth, real(claims().issueTime(Date.from(now.plusSeconds(62))).build()),
                TokenVerifier.NOT_YET_VALID);
        assertThat(auth.authenticate(real(claims().expirationTime(Date.from(now.minusSeconds(58))).build()))
                .subject()).isEqualTo("alice");
        assertThat(auth.authenticate(real(claims().notBeforeTime(Date.from(now.plusSeconds(58))).build()))
                .subject()).isEqualTo("alice");
    }

    // --- claims ---------------------------------------------------------------------------------------------------

    @Test
    void wrongAudienceAndIssuerAreRefused() throws Exception {
        assertRefused(auth, real(claims().audience("someone-else").build()), TokenVerifier.AUDIENCE);
        assertRefused(auth, real(claims().audience(List.of()).build()), TokenVerifier.AUDIENCE);
        try (MockIssuer other = new MockIssuer()) {
            assertRefused(auth, other.token("alice", "parley", MockIssuer.standardClaims()), TokenVerifier.ISSUER);
        }
        assertRefused(auth, real(claims().issuer(issuer.issuer() + "/").build()), TokenVerifier.ISSUER);
    }

    @Test
    void missingSubjectExpiryOrTenantIsRefused() throws Exception {
        assertRefused(auth, real(claims().subject(null).build()), TokenVerifier.NO_SUBJECT);
        assertRefused(auth, real(claims().expirationTime(null).build()), TokenVerifier.NO_EXPIRY);
        assertRefused(auth, real(claims().claim("tenant", null).build()), TokenVerifier.NO_TENANT);
        assertRefused(auth, real(claims().claim("tenant", 42).build()), TokenVerifier.NO_TENANT);
    }

    // --- integrity ------------------------------------------------------------------------------------------------

    @Test
    void aPayloadTamperedAfterSigningIsRefused() {
        String[] parts = valid().split("\\.");
        String tampered = parts[0] + "." + b64(claims().claim("tenant", "victim").claim("roles",
                List.of("parley-admins")).build().toString()) + "." + parts[2];
        assertRefused(auth, tampered, TokenVerifier.SIGNATURE);
    }

    @Test
    void aTruncatedOrRemovedSignatureIsRefused() {
        String token = valid();
        assertRefused(auth, token.substring(0, token.length() - 10), TokenVerifier.SIGNATURE);
        assertRefused(auth, token.substring(0, token.lastIndexOf('.') + 1), TokenVerifier.SIGNATURE);
        assertRefused(auth, token.substring(0, token.lastIndexOf('.') + 2), TokenVerifier.SIGNATURE);
    }

    // --- header ---------------------------------------------------------------------------------------------------

    @Test
    void aCritHeaderIsRefused() throws Exception {
        assertRefused(auth, signed(header(JWSAlgorithm.RS256).keyID(kid()).criticalParams(Set.of("exp"))
                .customParam("exp", 1), claims().build(), realSigner()), TokenVerifier.CRITICAL);
    }

    @Test
    void onlyJwtAndAccessTokenTypesAreAccepted() throws Exception {
        for (String typ : List.of("JOSE", "JOSE+JSON", "id_token+jwt", "secevent+jwt", "")) {
            assertRefused(auth, signed(new JWSHeader.Builder(JWSAlgorithm.RS256).type(new JOSEObjectType(typ))
                    .keyID(kid()), claims().build(), realSigner()), TokenVerifier.TYPE);
        }
        for (String typ : List.of("JWT", "at+jwt", "application/at+jwt")) {
            assertThat(auth.authenticate(signed(new JWSHeader.Builder(JWSAlgorithm.RS256)
                    .type(new JOSEObjectType(typ)).keyID(kid()), claims().build(), realSigner())).subject())
                    .isEqualTo("alice");
        }
        assertThat(auth.authenticate(signed(new JWSHeader.Builder(JWSAlgorithm.RS256).keyID(kid()),
                claims().build(), realSigner())).subject()).isEqualTo("alice");
    }

    // --- bad input ------------------------------------------------------------------------------------------------

    @Test
    void hugeTokensAreRefusedBeforeParsing() {
        String huge = b64("{\"alg\":\"RS256\"}") + "." + "A".repeat(1024 * 1024) + ".sig";
        assertRefused(auth, huge, TokenVerifier.TOO_LARGE);
        String justOver = valid() + "A".repeat(16385 - valid().length());
        assertThat(justOver).hasSize(16385);
        assertRefused(auth, justOver, TokenVerifier.TOO_LARGE);
        assertThat(auth.recognizes(huge)).isFalse();
    }

    @Test
    void malformedTokensAreRefused() {
        String[] parts = valid().split("\\.");
        for (String bad : List.of("", "abc", "a.b", parts[0] + "." + parts[1], valid() + ".x", "..",
                "." + parts[1] + "." + parts[2], parts[0] + ".." + parts[2], "!!!." + parts[1] + "." + parts[2],
                parts[0] + "." + parts[1] + "=." + parts[2], "Bearer " + valid(), valid() + " ",
                b64("not json") + "." + parts[1] + "." + parts[2],
                b64("[1,2]") + "." + parts[1] + "." + parts[2],
                parts[0] + "." + b64("\"a string\"") + "." + parts[2],
                parts[0] + "." + b64("[\"sub\"]") + "." + parts[2],
                "é" + valid())) {
            assertRefused(auth, bad, TokenVerifier.MALFORMED);
        }
        assertRefused(auth, null, TokenVerifier.MALFORMED);
    }

    @Test
    void reasonsNeverEchoTheTokenOrItsClaims() {
        String token = real(claims().claim("tenant", "secret-tenant-value").audience("secret-aud").build());
        try {
            auth.authenticate(token);
            throw new AssertionError("accepted");
        } catch (dev.parley.api.error.ParleyException e) {
            assertThat(e.getMessage()).isEqualTo(TokenVerifier.AUDIENCE).doesNotContain("secret");
        }
    }

    // --- helpers --------------------------------------------------------------------------------------------------

    private String kid() {
        return issuer.keys.current().getKeyID();
    }

    private JWSSigner realSigner() {
        try {
            return new RSASSASigner(issuer.keys.current());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static JWSHeader.Builder header(JWSAlgorithm alg) {
        return new JWSHeader.Builder(alg).type(JOSEObjectType.JWT);
    }

    private JWTClaimsSet.Builder claims() {
        Instant now = clock.instant();
        return new JWTClaimsSet.Builder().issuer(issuer.issuer()).audience("parley").subject("alice")
                .claim("tenant", "acme").issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(600)));
    }

    private String valid() {
        return real(claims().build());
    }

    private String real(JWTClaimsSet claims) {
        return signed(header(JWSAlgorithm.RS256).keyID(kid()), claims, realSigner());
    }

    private static String signed(JWSHeader.Builder header, JWTClaimsSet claims, JWSSigner signer) {
        try {
            SignedJWT jwt = new SignedJWT(header.build(), claims);
            jwt.sign(signer);
            return jwt.serialize();
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static String b64(String json) {
        return Base64URL.encode(json.getBytes(StandardCharsets.UTF_8)).toString();
    }
}

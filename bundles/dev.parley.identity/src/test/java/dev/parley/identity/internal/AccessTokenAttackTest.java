package dev.parley.identity.internal;

import static dev.parley.identity.internal.SignInTest.assertUnauthorized;
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
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.ECKeyGenerator;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpServer;
import dev.parley.db.internal.PooledDatabase;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The JWT attack suite of the OIDC bundle, against Parley's own tokens: every forged, altered or malformed token is
 * refused with its reason and none is accepted. The genuine key is the node's own current signing key.
 */
class AccessTokenAttackTest {
    @TempDir
    Path dataDir;

    private final TestIdentity.MovableClock clock = new TestIdentity.MovableClock();
    private PooledDatabase db;
    private BuiltInIdentity node;
    private ECKey real;
    private String sid;
    private HttpServer attackerServer;
    private final AtomicInteger attackerRequests = new AtomicInteger();

    @BeforeEach
    void start() throws Exception {
        db = TestIdentity.h2();
        node = TestIdentity.node(TestIdentity.settings(5), db, TestIdentity.sealer(), clock, dataDir,
                new TestIdentity.Recorder());
        real = node.signingKeys().current();
        SignIn.Tokens t = node.signIn().login(null, "admin", TestIdentity.ADMIN_PASSWORD, "");
        sid = node.authenticate(t.accessToken()).credentialId();
        attackerServer = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        attackerServer.createContext("/", exchange -> {
            attackerRequests.incrementAndGet();
            exchange.sendResponseHeaders(404, -1);
            exchange.close();
        });
        attackerServer.start();
        // The genuine path works with a token made here, so the refusals below are about the attack only.
        assertThat(node.authenticate(valid()).subject()).isEqualTo("user-1");
    }

    @AfterEach
    void stop() {
        attackerServer.stop(0);
        db.close();
        assertThat(attackerRequests).hasValue(0);
    }

    @Test
    void algNoneInEveryCaseIsRefusedWithAndWithoutASignature() {
        String realSignature = valid().split("\\.")[2];
        for (String alg : List.of("none", "None", "NONE", "nOnE")) {
            String unsigned = b64("{\"alg\":\"" + alg + "\",\"typ\":\"JWT\",\"kid\":\"" + real.getKeyID() + "\"}")
                    + "." + b64(claims().build().toString()) + ".";
            assertUnauthorized(() -> node.authenticate(unsigned), AccessTokens.ALGORITHM);
            assertUnauthorized(() -> node.authenticate(unsigned + realSignature), AccessTokens.ALGORITHM);
        }
        assertUnauthorized(() -> node.authenticate(b64("{\"alg\":\"es256\"}") + "." + b64("{}") + ".x"),
                AccessTokens.ALGORITHM);
    }

    @Test
    void hmacKeyedWithThePublicKeyIsRefused() throws Exception {
        byte[] publicKey = real.toECPublicKey().getEncoded();
        assertUnauthorized(() -> node.authenticate(signed(header(JWSAlgorithm.HS256), claims().build(),
                mac(publicKey))), AccessTokens.ALGORITHM);
        byte[] jwkJson = real.toPublicJWK().toJSONString().getBytes(StandardCharsets.UTF_8);
        assertUnauthorized(() -> node.authenticate(signed(header(JWSAlgorithm.HS256), claims().build(),
                mac(jwkJson))), AccessTokens.ALGORITHM);
    }

    @Test
    void otherAlgorithmsAndCurvesAreRefused() throws Exception {
        RSAKey rsa = new RSAKeyGenerator(2048).generate();
        assertUnauthorized(() -> node.authenticate(signed(header(JWSAlgorithm.RS256), claims().build(),
                rsaSigner(rsa))), AccessTokens.ALGORITHM);
        ECKey p384 = new ECKeyGenerator(Curve.P_384).generate();
        assertUnauthorized(() -> node.authenticate(signed(header(JWSAlgorithm.ES384), claims().build(),
                ecSigner(p384))), AccessTokens.ALGORITHM);
    }

    @Test
    void anAttackersKeyUnderOurKidDoesNotVerify() throws Exception {
        ECKey attacker = new ECKeyGenerator(Curve.P_256).keyID(real.getKeyID()).generate();
        assertUnauthorized(() -> node.authenticate(signed(header(JWSAlgorithm.ES256), claims().build(),
                ecSigner(attacker))), AccessTokens.SIGNATURE);
    }

    @Test
    void keysNamedByTheTokenAreRefusedUnread() throws Exception {
        ECKey attacker = new ECKeyGenerator(Curve.P_256).keyID("attacker").generate();
        URI evil = URI.create("http://127.0.0.1:" + attackerServer.getAddress().getPort() + "/jwks");
        for (JWSHeader.Builder h : List.of(header(JWSAlgorithm.ES256).jwk(attacker.toPublicJWK()),
                header(JWSAlgorithm.ES256).keyID("attacker").jwk(attacker.toPublicJWK()),
                header(JWSAlgorithm.ES256).jwkURL(evil), header(JWSAlgorithm.ES256).x509CertURL(evil))) {
            assertUnauthorized(() -> node.authenticate(signed(h, claims().build(), ecSigner(attacker))),
                    AccessTokens.HEADER);
        }
        // Even signed with the real key, a token that names keys is not ours.
        assertUnauthorized(() -> node.authenticate(signed(header(JWSAlgorithm.ES256).jwkURL(evil),
                claims().build(), ecSigner(real))), AccessTokens.HEADER);
        assertUnauthorized(() -> node.authenticate(signed(header(JWSAlgorithm.ES256)
                .criticalParams(Set.of("exp")).customParam("exp", 1), claims().build(), ecSigner(real))),
                AccessTokens.HEADER);
    }

    @Test
    void kidInjectionAndTraversalFindNoKeyEvenWhenSignedWithTheRealKey() {
        for (String kid : List.of("../../etc/passwd", "' OR 1=1 --", "x".repeat(10 * 1024), "%00",
                real.getKeyID() + " ")) {
            assertUnauthorized(() -> node.authenticate(signed(new JWSHeader.Builder(JWSAlgorithm.ES256)
                    .type(JOSEObjectType.JWT).keyID(kid), claims().build(), ecSigner(real))),
                    kid.length() > 1000 ? AccessTokens.TOO_LARGE : AccessTokens.SIGNATURE);
        }
        assertUnauthorized(() -> node.authenticate(signed(new JWSHeader.Builder(JWSAlgorithm.ES256)
                .type(JOSEObjectType.JWT), claims().build(), ecSigner(real))), AccessTokens.SIGNATURE);
    }

    @Test
    void expiryAndNotBeforeHoldBeyondTheSkewAndAreForgivenWithinIt() {
        Instant now = clock.instant();
        assertUnauthorized(() -> node.authenticate(real(claims().expirationTime(Date.from(now.minusSeconds(61)))
                .build())), AccessTokens.EXPIRED);
        assertUnauthorized(() -> node.authenticate(real(claims().notBeforeTime(Date.from(now.plusSeconds(62)))
                .build())), AccessTokens.NOT_YET_VALID);
        assertUnauthorized(() -> node.authenticate(real(claims().issueTime(Date.from(now.plusSeconds(62)))
                .build())), AccessTokens.NOT_YET_VALID);
        assertThat(node.authenticate(real(claims().expirationTime(Date.from(now.minusSeconds(58))).build())))
                .isNotNull();
        assertThat(node.authenticate(real(claims().notBeforeTime(Date.from(now.plusSeconds(58))).build())))
                .isNotNull();
        // A token of ours ages out like any other.
        String t = valid();
        clock.advance(Duration.ofMinutes(16).plusSeconds(1));
        assertUnauthorized(() -> node.authenticate(t), AccessTokens.EXPIRED);
    }

    @Test
    void wrongAudienceIssuerOrMissingClaimsAreRefused() {
        assertUnauthorized(() -> node.authenticate(real(claims().audience("someone-else").build())),
                AccessTokens.AUDIENCE);
        assertUnauthorized(() -> node.authenticate(real(claims().audience(List.of()).build())),
                AccessTokens.AUDIENCE);
        assertUnauthorized(() -> node.authenticate(real(claims().issuer("parley-test/").build())),
                AccessTokens.ISSUER);
        assertThat(node.recognizes(real(claims().issuer("https://idp.example").build()))).isFalse();
        assertUnauthorized(() -> node.authenticate(real(claims().expirationTime(null).build())),
                AccessTokens.CLAIMS);
        assertUnauthorized(() -> node.authenticate(real(claims().subject(null).build())), AccessTokens.CLAIMS);
        assertUnauthorized(() -> node.authenticate(real(claims().claim("tenant", null).build())),
                AccessTokens.CLAIMS);
        assertUnauthorized(() -> node.authenticate(real(claims().claim("tenant", 42).build())),
                AccessTokens.CLAIMS);
        assertUnauthorized(() -> node.authenticate(real(claims().claim("sid", null).build())),
                AccessTokens.CLAIMS);
    }

    @Test
    void aPayloadTamperedAfterSigningIsRefused() {
        String[] parts = valid().split("\\.");
        String tampered = parts[0] + "." + b64(claims().claim("tenant", "victim").claim("roles",
                List.of("owner")).build().toString()) + "." + parts[2];
        assertUnauthorized(() -> node.authenticate(tampered), AccessTokens.SIGNATURE);
    }

    @Test
    void aTruncatedOrRemovedSignatureIsRefused() {
        String token = valid();
        assertUnauthorized(() -> node.authenticate(token.substring(0, token.length() - 10)),
                AccessTokens.SIGNATURE);
        assertUnauthorized(() -> node.authenticate(token.substring(0, token.lastIndexOf('.') + 1)),
                AccessTokens.SIGNATURE);
        assertUnauthorized(() -> node.authenticate(token.substring(0, token.lastIndexOf('.') + 2)),
                AccessTokens.SIGNATURE);
        // The all-zero ECDSA signature (CVE-2022-21449) of the right length.
        String zero = token.substring(0, token.lastIndexOf('.') + 1) + Base64URL.encode(new byte[64]);
        assertUnauthorized(() -> node.authenticate(zero), AccessTokens.SIGNATURE);
    }

    @Test
    void hugeAndMalformedTokensAreRefusedBeforeParsing() {
        String huge = b64("{\"alg\":\"ES256\"}") + "." + "A".repeat(1024 * 1024) + ".sig";
        assertUnauthorized(() -> node.authenticate(huge), AccessTokens.TOO_LARGE);
        assertThat(node.recognizes(huge)).isFalse();
        String[] parts = valid().split("\\.");
        for (String bad : List.of("", "abc", "a.b", parts[0] + "." + parts[1], valid() + ".x", "..",
                "!!!." + parts[1] + "." + parts[2], "Bearer " + valid(), valid() + " ",
                b64("not json") + "." + parts[1] + "." + parts[2], "é" + valid(),
                parts[0] + "." + b64("[\"sub\"]") + "." + parts[2])) {
            assertUnauthorized(() -> node.authenticate(bad), AccessTokens.MALFORMED);
        }
        for (String notAJwt : List.of("", "abc", "a.b", "Bearer " + valid(), valid() + " ", "é" + valid())) {
            assertThat(node.recognizes(notAJwt)).isFalse();
        }
        assertThat(node.recognizes(null)).isFalse();
        assertUnauthorized(() -> node.authenticate(null), AccessTokens.MALFORMED);
    }

    @Test
    void aVerifiedTokenIsRememberedAndStillCheckedForItsTimeOnEveryUse() {
        AccessTokens tokens = node.accessTokens();
        String token = valid();
        long before = tokens.signatureChecks();
        assertThat(node.authenticate(token).subject()).isEqualTo("user-1");
        assertThat(node.authenticate(token).subject()).isEqualTo("user-1");
        assertThat(node.authenticate(token).tenantId()).isEqualTo("default");
        assertThat(tokens.signatureChecks() - before).isEqualTo(1);
        // Remembered, yet expired all the same.
        clock.advance(Duration.ofSeconds(900 + 61));
        assertUnauthorized(() -> node.authenticate(token), AccessTokens.EXPIRED);
        assertThat(tokens.signatureChecks() - before).isEqualTo(1);
    }

    @Test
    void aRememberedTokenIsNoShortcutForAnAlteredOne() {
        String token = valid();
        assertThat(node.authenticate(token)).isNotNull();
        String[] parts = token.split("\\.");
        String tampered = parts[0] + "." + b64(claims().claim("tenant", "victim").claim("roles",
                List.of("owner")).build().toString()) + "." + parts[2];
        assertUnauthorized(() -> node.authenticate(tampered), AccessTokens.SIGNATURE);
        assertUnauthorized(() -> node.authenticate(token + "A"), AccessTokens.SIGNATURE);
        // A token not valid yet when first seen is not remembered as valid: it is refused until its time comes.
        String early = real(claims().notBeforeTime(Date.from(clock.instant().plusSeconds(120))).build());
        assertUnauthorized(() -> node.authenticate(early), AccessTokens.NOT_YET_VALID);
        clock.advance(Duration.ofSeconds(121));
        assertThat(node.authenticate(early)).isNotNull();
    }

    @Test
    void theRememberedTokensAreBoundedExpiredOnesGoingFirst() {
        AccessTokens tokens = new AccessTokens(TestIdentity.settings(5), node.signingKeys(), clock, 4);
        String shortLived = real(claims().expirationTime(Date.from(clock.instant().plusSeconds(30))).build());
        tokens.verify(shortLived);
        for (int i = 0; i < 2; i++) {
            tokens.verify(valid());
        }
        assertThat(tokens.remembered()).isEqualTo(3);
        clock.advance(Duration.ofSeconds(30 + 61));
        tokens.verify(valid());
        tokens.verify(valid()); // full: the expired one is dropped, the others stay
        assertThat(tokens.remembered()).isEqualTo(4);
        tokens.verify(valid()); // full of valid ones: all are dropped
        assertThat(tokens.remembered()).isEqualTo(1);
        for (int i = 0; i < 10; i++) {
            tokens.verify(valid());
            assertThat(tokens.remembered()).isLessThanOrEqualTo(4);
        }
    }

    @Test
    void reasonsNeverEchoTheTokenOrItsClaims() {
        String token = real(claims().claim("tenant", "secret-tenant-value").audience("secret-aud").build());
        try {
            node.authenticate(token);
            throw new AssertionError("accepted");
        } catch (dev.parley.api.error.ParleyException e) {
            assertThat(e.getMessage()).isEqualTo(AccessTokens.AUDIENCE).doesNotContain("secret");
        }
    }

    // --- helpers --------------------------------------------------------------------------------------------------

    private JWSHeader.Builder header(JWSAlgorithm alg) {
        return new JWSHeader.Builder(alg).type(JOSEObjectType.JWT).keyID(real.getKeyID());
    }

    private JWTClaimsSet.Builder claims() {
        Instant now = clock.instant();
        return new JWTClaimsSet.Builder().issuer("parley-test").audience("parley").subject("user-1")
                .claim("tenant", "default").claim("roles", List.of("member")).claim("sid", sid)
                .issueTime(Date.from(now)).expirationTime(Date.from(now.plusSeconds(900)));
    }

    private String valid() {
        return real(claims().build());
    }

    private String real(JWTClaimsSet claims) {
        return signed(header(JWSAlgorithm.ES256), claims, ecSigner(real));
    }

    private static JWSSigner ecSigner(ECKey key) {
        try {
            return new ECDSASigner(key);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static JWSSigner rsaSigner(RSAKey key) {
        try {
            return new RSASSASigner(key);
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    private static JWSSigner mac(byte[] secret) {
        try {
            return new MACSigner(secret.length >= 32 ? secret : java.util.Arrays.copyOf(secret, 32));
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
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

package dev.parley.identity.oidc.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import org.apache.felix.hc.api.Result;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Verification against a real OIDC server: claims mapping, key rotation and the JWKS refetch limit. */
class OidcVerifierTest {
    private MockIssuer issuer;
    private final TestConfig.MovableClock clock = new TestConfig.MovableClock();

    @BeforeEach
    void start() {
        issuer = new MockIssuer();
    }

    @AfterEach
    void stop() {
        issuer.close();
    }

    private OidcBearerAuthenticator authenticator(Map<String, Object> extra) {
        Map<String, Object> values = new HashMap<>(Map.of("issuer", issuer.issuer(),
                "audiences", new String[] { "parley" },
                "roleMapping", new String[] { "parley-admins=admin", "devs=developer" }));
        values.putAll(extra);
        return new OidcBearerAuthenticator(OidcSettings.from(TestConfig.config(values)), clock);
    }

    @Test
    void aValidTokenGivesThePrincipalWithMappedRolesTenantAndScopes() {
        var auth = authenticator(Map.of());
        String token = issuer.token("alice-id", "parley", MockIssuer.standardClaims());

        assertThat(auth.recognizes(token)).isTrue();
        Principal p = auth.authenticate(token);

        assertThat(p.subject()).isEqualTo("alice-id");
        assertThat(p.tenantId()).isEqualTo("acme");
        assertThat(p.roles()).containsExactly(Role.ADMIN); // "unmapped-role" dropped
        assertThat(p.scopes()).containsExactlyInAnyOrder("chat", "read");
        assertThat(p.method()).isEqualTo(AuthMethod.OIDC);
        assertThat(p.issuer()).isEqualTo(issuer.issuer());
        assertThat(p.expiresAt()).isAfter(Instant.now());
        assertThat(auth.execute().getStatus()).isEqualTo(Result.Status.OK);
    }

    @Test
    void keycloakRolesByPathAndAFixedTenant() {
        var auth = authenticator(Map.of("rolesClaim", "realm_access.roles", "tenantId", "single",
                "scopesClaim", "scp"));
        String token = issuer.token("bob", "parley", Map.of("tenant", "ignored",
                "realm_access", Map.of("roles", List.of("devs", "offline_access")), "scp", List.of("a", "b")));

        Principal p = auth.authenticate(token);

        assertThat(p.tenantId()).isEqualTo("single");
        assertThat(p.roles()).containsExactly(Role.DEVELOPER);
        assertThat(p.scopes()).containsExactlyInAnyOrder("a", "b");
    }

    @Test
    void aTokenOfAnotherIssuerIsNotRecognizedAndIsRefused() {
        var auth = authenticator(Map.of());
        try (MockIssuer other = new MockIssuer()) {
            String foreign = other.token("mallory", "parley", MockIssuer.standardClaims());
            assertThat(auth.recognizes(foreign)).isFalse();
            assertRefused(auth, foreign, TokenVerifier.ISSUER);
        }
        assertThat(auth.recognizes("not a token")).isFalse();
        assertThat(auth.recognizes(null)).isFalse();
    }

    @Test
    void aRotatedKeyIsFetchedOnceAndAccepted() {
        var auth = authenticator(Map.of());
        assertThat(auth.authenticate(issuer.token("alice", "parley", MockIssuer.standardClaims())).subject())
                .isEqualTo("alice");
        assertThat(issuer.jwksRequests()).isEqualTo(1);
        String oldKid = issuer.keys.current().getKeyID();

        issuer.keys.rotate();
        clock.advance(Duration.ofSeconds(31)); // past jwksMinRefreshSeconds (30) since the first fetch
        String rotated = issuer.token("alice", "parley", MockIssuer.standardClaims());
        assertThat(SignedJWTs.kid(rotated)).isNotEqualTo(oldKid);

        assertThat(auth.authenticate(rotated).subject()).isEqualTo("alice");
        assertThat(auth.authenticate(rotated).subject()).isEqualTo("alice");
        assertThat(issuer.jwksRequests()).isEqualTo(1);
    }

    @Test
    void aRotationWithinTheRefetchIntervalIsRefusedUntilItEnds() {
        var auth = authenticator(Map.of());
        auth.authenticate(issuer.token("alice", "parley", MockIssuer.standardClaims()));
        issuer.keys.rotate();
        String rotated = issuer.token("alice", "parley", MockIssuer.standardClaims());

        assertRefused(auth, rotated, TokenVerifier.SIGNATURE);
        clock.advance(Duration.ofSeconds(30));
        assertThat(auth.authenticate(rotated).subject()).isEqualTo("alice");
        assertThat(issuer.jwksRequests()).isEqualTo(2);
    }

    @Test
    void aFloodOfUnknownKidsFetchesTheKeysAtMostOncePerInterval() throws Exception {
        var auth = authenticator(Map.of());
        auth.authenticate(issuer.token("alice", "parley", MockIssuer.standardClaims()));
        assertThat(issuer.jwksRequests()).isEqualTo(1);
        RSAKey attacker = new RSAKeyGenerator(2048).generate();

        for (int round = 0; round < 3; round++) {
            clock.advance(Duration.ofSeconds(31));
            for (int i = 0; i < 40; i++) {
                JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer(issuer.issuer()).audience("parley")
                        .subject("mallory").claim("tenant", "acme")
                        .expirationTime(Date.from(Instant.now().plusSeconds(600))).build();
                SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).type(JOSEObjectType.JWT)
                        .keyID(UUID.randomUUID().toString()).build(), claims);
                jwt.sign(new RSASSASigner(attacker));
                assertRefused(auth, jwt.serialize(), TokenVerifier.SIGNATURE);
            }
        }
        // 120 unknown kids over three intervals: one fetch per interval.
        assertThat(issuer.jwksRequests()).isEqualTo(3);
        assertThat(auth.keys().keyFetches()).isEqualTo(4);
    }

    @Test
    void keysAreFetchedAgainAfterTheCacheTime() {
        var auth = authenticator(Map.of("jwksCacheSeconds", 120));
        String token = issuer.token("alice", "parley", MockIssuer.standardClaims());
        auth.authenticate(token);
        clock.advance(Duration.ofSeconds(60));
        auth.authenticate(token);
        assertThat(issuer.jwksRequests()).isEqualTo(1);
        clock.advance(Duration.ofSeconds(61));
        auth.authenticate(token);
        assertThat(issuer.jwksRequests()).isEqualTo(1);
    }

    static void assertRefused(OidcBearerAuthenticator auth, String token, String reason) {
        assertThatThrownBy(() -> auth.authenticate(token))
                .isInstanceOfSatisfying(ParleyException.class, e -> {
                    // The issuer being away is not the token's fault: 503 with a retry hint, not 401.
                    assertThat(e.code()).isEqualTo(TokenVerifier.UNREACHABLE.equals(reason) ? ErrorCode.UNAVAILABLE
                            : ErrorCode.UNAUTHORIZED);
                    assertThat(e.getMessage()).isEqualTo(reason);
                    if (TokenVerifier.UNREACHABLE.equals(reason)) {
                        assertThat(e.retryAfter()).hasValue(TokenVerifier.UNREACHABLE_RETRY);
                    }
                });
    }
}

package dev.parley.identity.oidc.internal;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.jwk.JWK;
import com.nimbusds.jose.jwk.KeyUse;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import java.net.InetAddress;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import no.nav.security.mock.oauth2.MockOAuth2Server;
import no.nav.security.mock.oauth2.OAuth2Config;
import no.nav.security.mock.oauth2.token.KeyProvider;
import no.nav.security.mock.oauth2.token.OAuth2TokenProvider;
import okhttp3.mockwebserver.RecordedRequest;

/**
 * A real OIDC issuer (mock-oauth2-server: discovery, JWKS, RS256 tokens with a kid) on a random loopback port, whose
 * signing key the test can rotate: its JWKS then publishes only the new key.
 */
final class MockIssuer implements AutoCloseable {
    static final String ID = "org";

    /** The server's key source: one current RSA key, replaced by {@link #rotate()}. */
    static final class RotatingKeys extends KeyProvider {
        private volatile JWK current = generate();

        @Override
        public JWK signingKey(String issuerId) {
            return current;
        }

        /** The current key, an RSA key unless {@link #use} set another. */
        RSAKey current() {
            return (RSAKey) current;
        }

        /** Publishes {@code key} (with its private part: the server publishes only the public one). */
        void use(JWK key) {
            current = key;
        }

        void rotate() {
            current = generate();
        }

        private static RSAKey generate() {
            try {
                return new RSAKeyGenerator(2048).keyID(UUID.randomUUID().toString()).keyUse(KeyUse.SIGNATURE)
                        .algorithm(JWSAlgorithm.RS256).generate();
            } catch (JOSEException e) {
                throw new IllegalStateException(e);
            }
        }
    }

    final RotatingKeys keys = new RotatingKeys();
    final MockOAuth2Server server;

    MockIssuer() {
        this(0);
    }

    MockIssuer(int port) {
        server = new MockOAuth2Server(new OAuth2Config(false, null, null, false, new OAuth2TokenProvider(keys)));
        server.start(InetAddress.getLoopbackAddress(), port);
    }

    String issuer() {
        return server.issuerUrl(ID).toString();
    }

    int port() {
        return server.baseUrl().port();
    }

    String token(String subject, String audience, Map<String, Object> claims) {
        return server.issueToken(ID, subject, audience, claims).serialize();
    }

    /** How many requests reached the JWKS endpoint since the last call (drains the server's request log). */
    int jwksRequests() {
        int n = 0;
        while (true) {
            RecordedRequest r;
            try {
                // Every request has been recorded by the time its answer was read; the timeout only ends the drain.
                r = server.takeRequest(100, java.util.concurrent.TimeUnit.MILLISECONDS);
            } catch (RuntimeException empty) {
                return n;
            }
            if (r == null) {
                return n;
            }
            if (r.getRequestUrl() != null && r.getRequestUrl().encodedPath().endsWith("/jwks")) {
                n++;
            }
        }
    }

    static Map<String, Object> standardClaims() {
        return Map.of("tenant", "acme", "roles", List.of("parley-admins", "unmapped-role"), "scope", "chat read");
    }

    @Override
    public void close() {
        server.shutdown();
    }
}

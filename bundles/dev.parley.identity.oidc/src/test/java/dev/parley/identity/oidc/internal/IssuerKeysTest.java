package dev.parley.identity.oidc.internal;

import static dev.parley.identity.oidc.internal.OidcVerifierTest.assertRefused;
import static org.assertj.core.api.Assertions.assertThat;

import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.RSASSASigner;
import com.nimbusds.jose.jwk.JWKSet;
import com.nimbusds.jose.jwk.RSAKey;
import com.nimbusds.jose.jwk.gen.RSAKeyGenerator;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Date;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The key fetcher's own limits, which a well-behaved issuer never exercises: redirects to another host, oversized
 * answers. The "issuer" is a tiny HTTP server in the test, serving exactly the answer under test.
 */
class IssuerKeysTest {
    private final TestConfig.MovableClock clock = new TestConfig.MovableClock();
    private HttpServer server;
    private HttpServer elsewhere;
    private final AtomicInteger elsewhereRequests = new AtomicInteger();
    private RSAKey key;
    private String issuer;

    @BeforeEach
    void start() throws Exception {
        key = new RSAKeyGenerator(2048).keyID("k1").generate();
        server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        elsewhere = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        elsewhere.createContext("/", exchange -> {
            elsewhereRequests.incrementAndGet();
            send(exchange, 200, new JWKSet(key.toPublicJWK()).toString());
        });
        server.start();
        elsewhere.start();
        issuer = "http://127.0.0.1:" + server.getAddress().getPort() + "/realm";
        server.createContext("/realm/.well-known/openid-configuration", exchange -> send(exchange, 200,
                "{\"issuer\":\"" + issuer + "\",\"jwks_uri\":\"" + issuer + "/jwks\"}"));
    }

    @AfterEach
    void stop() {
        server.stop(0);
        elsewhere.stop(0);
    }

    @Test
    void aRedirectOnTheSameHostIsFollowed() throws Exception {
        server.createContext("/realm/jwks", exchange -> {
            exchange.getResponseHeaders().add("Location", "/realm/keys");
            send(exchange, 302, "");
        });
        server.createContext("/realm/keys", exchange -> send(exchange, 200,
                new JWKSet(key.toPublicJWK()).toString()));
        assertThat(authenticator().authenticate(token()).subject()).isEqualTo("alice");
    }

    @Test
    void aRedirectToAnotherHostIsNotFollowed() throws Exception {
        server.createContext("/realm/jwks", exchange -> {
            exchange.getResponseHeaders().add("Location",
                    "http://localhost:" + elsewhere.getAddress().getPort() + "/jwks");
            send(exchange, 302, "");
        });
        OidcBearerAuthenticator auth = authenticator();
        assertRefused(auth, token(), TokenVerifier.UNREACHABLE);
        assertThat(auth.execute().toString()).contains("redirected to another host");
        assertThat(elsewhereRequests).hasValue(0);
    }

    @Test
    void anOversizedKeySetIsRefused() throws Exception {
        String padding = " ".repeat(IssuerKeys.MAX_RESPONSE_BYTES);
        server.createContext("/realm/jwks", exchange -> send(exchange, 200,
                new JWKSet(key.toPublicJWK()).toString() + padding));
        OidcBearerAuthenticator auth = authenticator();
        assertRefused(auth, token(), TokenVerifier.UNREACHABLE);
        assertThat(auth.execute().toString()).contains("larger than");
    }

    @Test
    void symmetricKeysInTheKeySetAreNeverUsed() throws Exception {
        // An issuer publishing an "oct" key by mistake: it is dropped when the keys are read, so it can never
        // become a verification key whatever a later allow-list says.
        server.createContext("/realm/jwks", exchange -> send(exchange, 200, "{\"keys\":[" + key.toPublicJWK()
                + ",{\"kty\":\"oct\",\"kid\":\"k1\",\"k\":\"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LXNlY3JldA\"}]}"));
        OidcBearerAuthenticator auth = authenticator();
        assertThat(auth.authenticate(token()).subject()).isEqualTo("alice");
        assertThat(auth.keys().status().keyCount()).isEqualTo(1);
    }

    private OidcBearerAuthenticator authenticator() {
        return new OidcBearerAuthenticator(OidcSettings.from(TestConfig.config(Map.of("issuer", issuer,
                "audiences", new String[] { "parley" }))), clock);
    }

    private String token() throws Exception {
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.RS256).type(JOSEObjectType.JWT)
                .keyID("k1").build(), new JWTClaimsSet.Builder().issuer(issuer).audience("parley").subject("alice")
                .claim("tenant", "acme").expirationTime(Date.from(Instant.now().plusSeconds(600))).build());
        jwt.sign(new RSASSASigner(key));
        return jwt.serialize();
    }

    private static void send(HttpExchange exchange, int status, String body) throws IOException {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().add("Content-Type", "application/json");
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            exchange.getResponseBody().write(bytes);
        }
        exchange.close();
    }
}

package dev.parley.identity.oidc.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.nimbusds.jwt.SignedJWT;
import dev.parley.api.audit.AuditEvent;
import dev.parley.api.audit.AuditOutcome;
import java.net.URI;
import java.net.URLDecoder;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Duration;
import java.util.Base64;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import no.nav.security.mock.oauth2.token.DefaultOAuth2TokenCallback;
import okhttp3.mockwebserver.RecordedRequest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The browser sign-in against a real OIDC server (mock-oauth2-server), driven by a plain HTTP client that follows
 * the redirects by hand as a browser would (login → the issuer's authorize → Parley's callback → the console), and
 * the credential it hands the console accepted on a protected route through the real edge; then every refusal.
 */
class BrowserSignInTest {
    static final String CONSOLE = "http://localhost:3000/signed-in";
    static final String CLIENT_ID = "parley-console";
    static final String SECRET = "s3cret-of-the-client";

    private final TestConfig.MovableClock clock = new TestConfig.MovableClock();
    private final HttpClient http = HttpClient.newBuilder().followRedirects(HttpClient.Redirect.NEVER)
            .connectTimeout(Duration.ofSeconds(5)).build();
    private final ObjectMapper json = new ObjectMapper();
    private MockIssuer issuer;
    private SignInServer parley;
    private OidcBearerAuthenticator org;

    @BeforeEach
    void start() {
        issuer = new MockIssuer();
        parley = new SignInServer(clock);
        org = configure("org", Map.of(), SECRET);
    }

    @AfterEach
    void stop() {
        parley.close();
        issuer.close();
    }

    private OidcBearerAuthenticator configure(String name, Map<String, Object> extra, String secret) {
        Map<String, Object> values = new HashMap<>(Map.of("issuer", issuer.issuer(),
                "audiences", new String[] { "parley" },
                "roleMapping", new String[] { "parley-admins=admin" },
                "clientId", CLIENT_ID,
                "allowedRedirectUris", new String[] { CONSOLE, "http://localhost:3000/other" }));
        values.putAll(extra);
        OidcBearerAuthenticator auth = new OidcBearerAuthenticator(
                OidcSettings.from(TestConfig.config(values), name), clock, secret);
        parley.add(auth);
        return auth;
    }

    /** The next token request at the issuer signs alice in, with a tenant and a role Parley maps. */
    private void aliceSignsIn(List<String> accessTokenAudience) {
        issuer.server.enqueueCallback(new DefaultOAuth2TokenCallback(MockIssuer.ID, "alice", "JWT",
                accessTokenAudience, Map.of("tenant", "acme", "roles", List.of("parley-admins")), 3600));
    }

    // ---- the browser ----

    /** A browser half-way: sent to the issuer, with the binding cookie Parley set. */
    record Started(URI authorize, String cookie, Map<String, String> query) {
    }

    private Started login(String name, String consoleState) throws Exception {
        HttpResponse<String> r = get(parley.base + "/api/v1/auth/oidc/" + name + "/login?redirect_uri="
                + enc(CONSOLE) + (consoleState == null ? "" : "&state=" + enc(consoleState)), null);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(302);
        assertThat(r.headers().firstValue("Cache-Control")).hasValue("no-store");
        URI authorize = URI.create(r.headers().firstValue("Location").orElseThrow());
        String setCookie = r.headers().firstValue("Set-Cookie").orElseThrow();
        return new Started(authorize, setCookie.substring(0, setCookie.indexOf(';')), query(authorize.getRawQuery()));
    }

    /** The issuer's answer: the callback URL it sends the browser to. */
    private URI authorizeAt(URI authorize) throws Exception {
        HttpResponse<String> r = get(authorize.toString(), null);
        assertThat(r.statusCode()).as(r.body()).isEqualTo(302);
        return URI.create(r.headers().firstValue("Location").orElseThrow());
    }

    private HttpResponse<String> get(String url, String cookie) throws Exception {
        HttpRequest.Builder b = HttpRequest.newBuilder(URI.create(url)).timeout(Duration.ofSeconds(20)).GET();
        if (cookie != null) {
            b.header("Cookie", cookie);
        }
        return http.send(b.build(), HttpResponse.BodyHandlers.ofString());
    }

    private HttpResponse<String> callback(URI callback, String cookie) throws Exception {
        return get(callback.toString(), cookie);
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static Map<String, String> query(String raw) {
        Map<String, String> out = new LinkedHashMap<>();
        if (raw == null) {
            return out;
        }
        for (String pair : raw.split("&")) {
            int eq = pair.indexOf('=');
            out.put(URLDecoder.decode(pair.substring(0, eq), StandardCharsets.UTF_8),
                    URLDecoder.decode(pair.substring(eq + 1), StandardCharsets.UTF_8));
        }
        return out;
    }

    /** The authorize URL with one parameter changed, as a tampering browser would send it. */
    private static URI with(URI authorize, String name, String value) {
        Map<String, String> q = query(authorize.getRawQuery());
        q.put(name, value);
        StringBuilder s = new StringBuilder();
        q.forEach((k, v) -> s.append(s.length() == 0 ? "" : "&").append(enc(k)).append('=').append(enc(v)));
        return URI.create(authorize.getScheme() + "://" + authorize.getRawAuthority() + authorize.getRawPath() + "?"
                + s);
    }

    private JsonNode problem(HttpResponse<String> r, int status) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(
                t -> assertThat(t).startsWith("application/problem+json"));
        assertThat(r.body()).doesNotContain("Exception").doesNotContain("\tat ").doesNotContain(SECRET);
        return json.readTree(r.body());
    }

    private List<RecordedRequest> tokenRequests() {
        List<RecordedRequest> out = new java.util.ArrayList<>();
        while (true) {
            RecordedRequest r;
            try {
                // Every request was recorded before its answer was read; the timeout only ends the drain.
                r = issuer.server.takeRequest(100, TimeUnit.MILLISECONDS);
            } catch (RuntimeException empty) {
                return out;
            }
            if (r == null) {
                return out;
            }
            if (r.getRequestUrl() != null && r.getRequestUrl().encodedPath().endsWith("/token")) {
                out.add(r);
            }
        }
    }

    // ---- the whole flow ----

    @Test
    void theWholeFlowSignsInAndTheCredentialIsAcceptedOnAProtectedRouteThroughTheEdge() throws Exception {
        aliceSignsIn(List.of("parley"));
        Started started = login("org", "console-state-42");

        // To the issuer's authorization endpoint, with PKCE (S256), state, nonce, and Parley's own callback.
        assertThat(started.authorize().toString()).startsWith(issuer.issuer() + "/authorize?");
        Map<String, String> q = started.query();
        assertThat(q).containsEntry("response_type", "code").containsEntry("client_id", CLIENT_ID)
                .containsEntry("scope", "openid profile email").containsEntry("code_challenge_method", "S256")
                .containsEntry("redirect_uri", parley.base + "/api/v1/auth/oidc/org/callback");
        assertThat(q.get("state")).hasSizeGreaterThanOrEqualTo(43).isNotEqualTo("console-state-42");
        assertThat(q.get("nonce")).hasSizeGreaterThanOrEqualTo(43).isNotEqualTo(q.get("state"));
        assertThat(q.get("code_challenge")).hasSize(43);
        assertThat(started.cookie()).startsWith(BrowserSignIn.COOKIE_PREFIX);
        assertThat(parley.pending.count("org")).isEqualTo(1);

        URI back = authorizeAt(started.authorize());
        assertThat(back.toString()).startsWith(parley.base + "/api/v1/auth/oidc/org/callback?");
        HttpResponse<String> done = callback(back, started.cookie());

        assertThat(done.statusCode()).as(done.body()).isEqualTo(302);
        URI console = URI.create(done.headers().firstValue("Location").orElseThrow());
        // Tokens only in the fragment: the console's server never sees them, nor do logs of its requests.
        assertThat(console.getScheme() + "://" + console.getRawAuthority() + console.getRawPath()).isEqualTo(CONSOLE);
        assertThat(console.getRawQuery()).isNull();
        Map<String, String> fragment = query(console.getRawFragment());
        assertThat(fragment).containsEntry("token_type", "Bearer").containsEntry("state", "console-state-42")
                .containsKeys("access_token", "id_token", "expires_in");
        assertThat(Long.parseLong(fragment.get("expires_in"))).isBetween(3000L, 3600L);
        SignedJWT access = SignedJWT.parse(fragment.get("access_token"));
        assertThat(access.getJWTClaimsSet().getAudience()).containsExactly("parley");
        SignedJWT id = SignedJWT.parse(fragment.get("id_token"));
        assertThat(id.getJWTClaimsSet().getAudience()).containsExactly(CLIENT_ID);
        assertThat(id.getJWTClaimsSet().getStringClaim("nonce")).isEqualTo(q.get("nonce"));
        // The binding cookie is cleared, the started sign-in is gone, and no referrer leaks the code.
        assertThat(done.headers().firstValue("Set-Cookie")).hasValueSatisfying(c -> assertThat(c).contains("Max-Age=0"));
        assertThat(done.headers().firstValue("Referrer-Policy")).hasValue("no-referrer");
        assertThat(parley.pending.count("org")).isZero();

        // The code was exchanged with client_secret_basic and a verifier that matches the challenge.
        List<RecordedRequest> tokens = tokenRequests();
        assertThat(tokens).hasSize(1);
        Map<String, String> form = query(tokens.get(0).getBody().readUtf8());
        assertThat(form).containsEntry("grant_type", "authorization_code")
                .containsEntry("redirect_uri", parley.base + "/api/v1/auth/oidc/org/callback")
                .doesNotContainKey("client_secret");
        String verifier = form.get("code_verifier");
        assertThat(verifier.length()).isBetween(43, 128);
        assertThat(Base64.getUrlEncoder().withoutPadding().encodeToString(MessageDigest.getInstance("SHA-256")
                .digest(verifier.getBytes(StandardCharsets.US_ASCII)))).isEqualTo(q.get("code_challenge"));
        assertThat(new String(Base64.getDecoder().decode(tokens.get(0).getHeader("Authorization").substring(6)),
                StandardCharsets.UTF_8)).isEqualTo(CLIENT_ID + ":" + SECRET);

        // The console sends the access token: the edge verifies it with the same issuer's authenticator.
        HttpResponse<String> me = http.send(HttpRequest.newBuilder(URI.create(parley.base + "/api/v1/models"))
                .header("Authorization", "Bearer " + fragment.get("access_token")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(me.statusCode()).as(me.body()).isEqualTo(200);
        JsonNode who = json.readTree(me.body());
        assertThat(who.get("subject").asText()).isEqualTo("alice");
        assertThat(who.get("tenant").asText()).isEqualTo("acme");
        assertThat(who.get("roles").toString()).isEqualTo("[\"admin\"]");
        assertThat(who.get("method").asText()).isEqualTo("OIDC");
        HttpResponse<String> anonymous = get(parley.base + "/api/v1/models", null);
        assertThat(anonymous.statusCode()).isEqualTo(401);

        List<AuditEvent> audits = parley.audits.events;
        assertThat(audits).singleElement().satisfies(e -> {
            assertThat(e.action()).isEqualTo("auth.oidc.sign-in");
            assertThat(e.outcome()).isEqualTo(AuditOutcome.SUCCESS);
            assertThat(e.actor()).isEqualTo("alice");
            assertThat(e.tenantId()).isEqualTo("acme");
            assertThat(e.target()).isEqualTo("oidc:org");
            assertThat(e.detail()).containsEntry("credential", "access_token");
            assertThat(e.detail().toString()).doesNotContain(fragment.get("access_token"));
        });
    }

    @Test
    void anAccessTokenParleyDoesNotAcceptMakesTheIdTokenTheCredentialWhenTheClientIsAnAudience() throws Exception {
        parley.remove(org);
        org = configure("org", Map.of("audiences", new String[] { "parley", CLIENT_ID }), SECRET);
        aliceSignsIn(List.of("https://graph.example.com")); // an access token for another API, as Entra gives

        Started started = login("org", null);
        HttpResponse<String> done = callback(authorizeAt(started.authorize()), started.cookie());

        assertThat(done.statusCode()).as(done.body()).isEqualTo(302);
        Map<String, String> fragment = query(URI.create(done.headers().firstValue("Location").orElseThrow())
                .getRawFragment());
        assertThat(fragment.get("access_token")).isEqualTo(fragment.get("id_token"));
        assertThat(fragment).doesNotContainKey("state");
        HttpResponse<String> me = http.send(HttpRequest.newBuilder(URI.create(parley.base + "/api/v1/models"))
                .header("Authorization", "Bearer " + fragment.get("access_token")).GET().build(),
                HttpResponse.BodyHandlers.ofString());
        assertThat(me.statusCode()).as(me.body()).isEqualTo(200);
        assertThat(parley.audits.events).singleElement()
                .satisfies(e -> assertThat(e.detail()).containsEntry("credential", "id_token"));
    }

    @Test
    void tokensParleyWouldRefuseEndTheSignInWithA403() throws Exception {
        // An access token for another audience, and an ID token without a tenant: the console could call nothing.
        parley.remove(org);
        org = configure("org", Map.of("audiences", new String[] { "parley", CLIENT_ID }), SECRET);
        issuer.server.enqueueCallback(new DefaultOAuth2TokenCallback(MockIssuer.ID, "bob", "JWT", List.of("other"),
                Map.of(), 3600));
        Started started = login("org", null);

        JsonNode p = problem(callback(authorizeAt(started.authorize()), started.cookie()), 403);
        assertThat(p.get("detail").asText()).contains("accepts neither its access token")
                .contains(TokenVerifier.AUDIENCE).contains(TokenVerifier.NO_TENANT);
        assertThat(parley.audits.events).singleElement()
                .satisfies(e -> assertThat(e.outcome()).isEqualTo(AuditOutcome.DENIED));
    }

    @Test
    void aPublicClientSendsItsIdAndNoSecret() throws Exception {
        parley.remove(org);
        org = configure("org", Map.of(), "");
        aliceSignsIn(List.of("parley"));
        Started started = login("org", null);

        assertThat(callback(authorizeAt(started.authorize()), started.cookie()).statusCode()).isEqualTo(302);

        RecordedRequest token = tokenRequests().get(0);
        assertThat(token.getHeader("Authorization")).isNull();
        assertThat(query(token.getBody().readUtf8())).containsEntry("client_id", CLIENT_ID)
                .doesNotContainKey("client_secret");
    }

    @Test
    void aSealedClientSecretIsOpenedBeforeItIsSent() throws Exception {
        parley.remove(org);
        String sealed = parley.sealer.seal(SECRET, BrowserSignIn.secretPurpose("org"));
        org = configure("org", Map.of(), sealed);
        aliceSignsIn(List.of("parley"));
        Started started = login("org", null);

        assertThat(callback(authorizeAt(started.authorize()), started.cookie()).statusCode()).isEqualTo(302);

        String basic = tokenRequests().get(0).getHeader("Authorization");
        assertThat(new String(Base64.getDecoder().decode(basic.substring(6)), StandardCharsets.UTF_8))
                .isEqualTo(CLIENT_ID + ":" + SECRET);
    }

    // ---- refusals at the start ----

    @Test
    void aRedirectUriNotOnTheAllowListIsRefused() throws Exception {
        for (String uri : List.of("https://evil.example.com/", CONSOLE + ".evil.example.com", CONSOLE + "/",
                CONSOLE + "?x=1", "HTTP://localhost:3000/signed-in")) {
            JsonNode p = problem(get(parley.base + "/api/v1/auth/oidc/org/login?redirect_uri=" + enc(uri), null),
                    400);
            assertThat(p.get("detail").asText()).contains("not one of the addresses allowed");
        }
        assertThat(problem(get(parley.base + "/api/v1/auth/oidc/org/login", null), 400).get("detail").asText())
                .contains("'redirect_uri' is required");
        assertThat(problem(get(parley.base + "/api/v1/auth/oidc/org/login?redirect_uri=" + enc(CONSOLE)
                + "&redirect_uri=" + enc("https://evil.example.com/"), null), 400).get("detail").asText())
                .contains("more than once");
        assertThat(parley.pending.count("org")).isZero();
    }

    @Test
    void anUnknownIssuerOrOneWithoutAClientIdHasNoSignIn() throws Exception {
        problem(get(parley.base + "/api/v1/auth/oidc/nobody/login?redirect_uri=" + enc(CONSOLE), null), 404);
        Map<String, Object> bearerOnly = new HashMap<>(Map.of("issuer", issuer.issuer(),
                "audiences", new String[] { "parley" }));
        parley.add(new OidcBearerAuthenticator(OidcSettings.from(TestConfig.config(bearerOnly), "bearer-only"),
                clock, ""));
        problem(get(parley.base + "/api/v1/auth/oidc/bearer-only/login?redirect_uri=" + enc(CONSOLE), null), 404);
    }

    @Test
    void startedSignInsAreBoundedPerIssuer() throws Exception {
        parley.remove(org);
        org = configure("org", Map.of("maxPendingLogins", 2), SECRET);
        login("org", null);
        login("org", null);

        HttpResponse<String> third = get(parley.base + "/api/v1/auth/oidc/org/login?redirect_uri=" + enc(CONSOLE),
                null);
        assertThat(problem(third, 503).get("detail").asText()).contains("too many sign-ins");
        assertThat(third.headers().firstValue("Retry-After")).isPresent();

        // Expired ones make room again.
        clock.advance(Duration.ofMinutes(11));
        login("org", null);
        assertThat(parley.pending.count("org")).isEqualTo(1);
    }

    @Test
    void anIssuerThatCannotBeReachedAnswers503() throws Exception {
        issuer.close();
        HttpResponse<String> r = get(parley.base + "/api/v1/auth/oidc/org/login?redirect_uri=" + enc(CONSOLE), null);
        assertThat(problem(r, 503).get("detail").asText()).isEqualTo(TokenVerifier.UNREACHABLE);
        issuer = new MockIssuer(); // for stop()
    }

    // ---- refusals at the callback ----

    @Test
    void aMissingOrUnknownStateIsRefused() throws Exception {
        Started started = login("org", null);
        URI back = authorizeAt(started.authorize());
        String code = query(back.getRawQuery()).get("code");
        String callback = parley.base + "/api/v1/auth/oidc/org/callback";

        assertThat(problem(get(callback + "?code=" + enc(code), started.cookie()), 400).get("detail").asText())
                .contains("state is missing");
        assertThat(problem(get(callback + "?code=" + enc(code) + "&state=made-up", started.cookie()), 400)
                .get("detail").asText()).contains("unknown or was used already");
        // The real state still works after those.
        aliceSignsIn(List.of("parley"));
        assertThat(callback(back, started.cookie()).statusCode()).isEqualTo(302);
    }

    @Test
    void aStateIsUsedOnce() throws Exception {
        aliceSignsIn(List.of("parley"));
        Started started = login("org", null);
        URI back = authorizeAt(started.authorize());
        assertThat(callback(back, started.cookie()).statusCode()).isEqualTo(302);

        assertThat(problem(callback(back, started.cookie()), 400).get("detail").asText())
                .contains("unknown or was used already");
        assertThat(tokenRequests()).hasSize(1); // the replay never reached the issuer
        assertThat(parley.audits.events).extracting(AuditEvent::outcome)
                .containsExactly(AuditOutcome.SUCCESS, AuditOutcome.DENIED);
    }

    @Test
    void anExpiredStateIsRefused() throws Exception {
        Started started = login("org", null);
        URI back = authorizeAt(started.authorize());
        clock.advance(Duration.ofSeconds(601));

        assertThat(problem(callback(back, started.cookie()), 400).get("detail").asText()).contains("expired");
        assertThat(tokenRequests()).isEmpty();
    }

    @Test
    void aStateFromAnotherSignInOrAnotherBrowserIsRefused() throws Exception {
        Started mine = login("org", null);
        Started theirs = login("org", null);
        URI theirCallback = authorizeAt(theirs.authorize());

        // Their callback link in my browser (my cookie, their state): not finished here, and spent.
        assertThat(problem(callback(theirCallback, mine.cookie()), 400).get("detail").asText())
                .contains("not started in this browser");
        assertThat(problem(callback(theirCallback, theirs.cookie()), 400).get("detail").asText())
                .contains("unknown or was used already");
        // Without any cookie.
        URI myCallback = authorizeAt(mine.authorize());
        assertThat(problem(callback(myCallback, null), 400).get("detail").asText())
                .contains("not started in this browser");

        // A state started through one issuer, brought back through another.
        configure("other", Map.of(), SECRET);
        Started elsewhere = login("org", null);
        URI back = authorizeAt(elsewhere.authorize());
        URI wrongIssuer = URI.create(back.toString().replace("/oidc/org/callback", "/oidc/other/callback"));
        assertThat(problem(callback(wrongIssuer, elsewhere.cookie()), 400).get("detail").asText())
                .contains("another identity provider");
        assertThat(tokenRequests()).isEmpty();
    }

    @Test
    void anIdTokenWithAnotherNonceIsRefused() throws Exception {
        aliceSignsIn(List.of("parley"));
        Started started = login("org", null);
        // The issuer signs whatever nonce reaches it: one that is not this sign-in's.
        URI back = authorizeAt(with(started.authorize(), "nonce", "a-nonce-from-somewhere-else-0123456789abcdefgh"));

        JsonNode p = problem(callback(back, started.cookie()), 401);
        assertThat(p.get("detail").asText()).isEqualTo("the identity provider's ID token was refused: "
                + TokenVerifier.NONCE);
        assertThat(parley.audits.events).singleElement().satisfies(e -> {
            assertThat(e.outcome()).isEqualTo(AuditOutcome.DENIED);
            assertThat(e.actor()).isEqualTo("anonymous");
        });
    }

    @Test
    void aCodeChallengeThatIsNotThisSignInsMakesTheIssuerRefuseTheVerifier() throws Exception {
        Started started = login("org", null);
        String otherChallenge = Base64.getUrlEncoder().withoutPadding().encodeToString(
                MessageDigest.getInstance("SHA-256").digest("another verifier of 43 characters or more..."
                        .getBytes(StandardCharsets.US_ASCII)));
        URI back = authorizeAt(with(started.authorize(), "code_challenge", otherChallenge));

        JsonNode p = problem(callback(back, started.cookie()), 400);
        assertThat(p.get("detail").asText()).contains("invalid_grant");
        assertThat(tokenRequests()).hasSize(1);
    }

    @Test
    void theIssuerDecliningTheSignInIsA403() throws Exception {
        Started started = login("org", null);
        String state = started.query().get("state");
        String callback = parley.base + "/api/v1/auth/oidc/org/callback?error=access_denied&state=" + enc(state);

        JsonNode p = problem(get(callback, started.cookie()), 403);
        assertThat(p.get("detail").asText()).isEqualTo("the identity provider did not sign you in (access_denied)");
        assertThat(tokenRequests()).isEmpty();
        // The state is spent.
        problem(get(callback, started.cookie()), 400);

        Started again = login("org", null);
        JsonNode broken = problem(get(parley.base + "/api/v1/auth/oidc/org/callback?error=server_error&state="
                + enc(again.query().get("state")), again.cookie()), 502);
        assertThat(broken.get("detail").asText()).contains("'server_error'");
    }

    @Test
    void aTokenEndpointThatIsDownIsA502() throws Exception {
        Started started = login("org", null);
        URI back = authorizeAt(started.authorize());
        issuer.close();

        JsonNode p = problem(callback(back, started.cookie()), 502);
        assertThat(p.get("detail").asText()).contains("token endpoint cannot be reached");
        assertThat(parley.audits.events).singleElement()
                .satisfies(e -> assertThat(e.outcome()).isEqualTo(AuditOutcome.FAILURE));
        issuer = new MockIssuer(); // for stop()
    }
}

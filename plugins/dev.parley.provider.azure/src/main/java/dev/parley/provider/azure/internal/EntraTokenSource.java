package dev.parley.provider.azure.internal;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.function.Supplier;

/**
 * Microsoft Entra ID access tokens by the OAuth 2.0 client-credentials grant: one documented POST to
 * {@code {authorityHost}/{tenant}/oauth2/v2.0/token} with {@code grant_type=client_credentials}, {@code client_id},
 * {@code client_secret} and {@code scope} (Microsoft identity platform, "OAuth 2.0 client credentials flow", "First
 * case: Access token request with a shared secret"). The answer's {@code access_token} is cached until
 * {@link #REFRESH_BEFORE} before its {@code expires_in} runs out; concurrent callers share one refresh.
 *
 * <p>It is a {@link Supplier} so the SDK's {@code BearerTokenCredential} asks it for the token of every request.
 */
final class EntraTokenSource implements Supplier<String> {

    static final Duration REFRESH_BEFORE = Duration.ofMinutes(5);
    private static final ObjectMapper JSON = new ObjectMapper();

    private final URI tokenUri;
    private final String form;
    private final HttpClient http;
    private final Duration timeout;
    private final Clock clock;
    private final Object lock = new Object();
    private volatile Token current;

    private record Token(String value, Instant refreshAt) {
    }

    EntraTokenSource(String authorityHost, String tenantId, String clientId, String clientSecret, String scope,
            HttpClient http, Duration timeout, Clock clock) {
        if (isBlank(tenantId) || isBlank(clientId) || isBlank(clientSecret)) {
            throw new IllegalArgumentException("Entra ID client credentials need tenantId, clientId and .clientSecret");
        }
        String host = authorityHost.endsWith("/") ? authorityHost.substring(0, authorityHost.length() - 1) : authorityHost;
        this.tokenUri = URI.create(host + "/" + enc(tenantId.trim()) + "/oauth2/v2.0/token");
        this.form = "grant_type=client_credentials&client_id=" + enc(clientId.trim()) + "&client_secret="
                + enc(clientSecret) + "&scope=" + enc(scope);
        this.http = http;
        this.timeout = timeout;
        this.clock = clock;
    }

    @Override
    public String get() {
        Token t = current;
        if (t != null && clock.instant().isBefore(t.refreshAt())) {
            return t.value();
        }
        synchronized (lock) {
            t = current;
            if (t != null && clock.instant().isBefore(t.refreshAt())) {
                return t.value();
            }
            current = t = fetch();
            return t.value();
        }
    }

    private Token fetch() {
        HttpRequest request = HttpRequest.newBuilder(tokenUri).timeout(timeout)
                .header("Content-Type", "application/x-www-form-urlencoded")
                .header("Accept", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(form)).build();
        HttpResponse<String> response;
        try {
            response = http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (HttpTimeoutException e) {
            throw new ParleyException(ErrorCode.UPSTREAM_TIMEOUT, "Entra ID did not issue a token in time", e);
        } catch (IOException e) {
            throw new ParleyException(ErrorCode.UPSTREAM_FAILURE, "cannot reach Entra ID for a token", e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ParleyException(ErrorCode.CANCELLED, "interrupted while waiting for an Entra ID token", e);
        }
        JsonNode body;
        try {
            body = JSON.readTree(response.body());
        } catch (IOException e) {
            body = JSON.createObjectNode();
        }
        int status = response.statusCode();
        if (status != 200) {
            // error / error_codes are documented and carry no secret; error_description may quote the client id only.
            String error = body.path("error").asText("HTTP " + status);
            ErrorCode code = status >= 500 ? ErrorCode.UPSTREAM_FAILURE
                    : status == 429 ? ErrorCode.RATE_LIMITED : ErrorCode.PROVIDER_AUTH;
            throw new ParleyException(code, "Entra ID refused a token for Azure OpenAI (" + error
                    + ") — check tenantId, clientId and .clientSecret", null, null);
        }
        String token = body.path("access_token").asText("");
        if (token.isEmpty()) {
            throw new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "Entra ID answered without an access_token");
        }
        long expiresIn = body.path("expires_in").asLong(3600);
        Instant refreshAt = clock.instant().plusSeconds(expiresIn).minus(REFRESH_BEFORE);
        return new Token(token, refreshAt);
    }

    private static String enc(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }

    private static boolean isBlank(String s) {
        return s == null || s.isBlank();
    }
}

package dev.parley.identity.oidc.internal;

import com.nimbusds.jose.util.JSONObjectUtils;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import java.io.IOException;
import java.io.InputStream;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.net.http.HttpTimeoutException;
import java.nio.charset.StandardCharsets;
import java.text.ParseException;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

/**
 * The authorization code exchange at the issuer's token endpoint (RFC 6749 4.1.3 with the PKCE verifier, RFC 7636):
 * the client authenticates with {@code client_secret_basic} or {@code client_secret_post}, whichever the discovery
 * document offers (basic when it does not say), or not at all as a public client. Redirects are not followed; the
 * answer is read up to {@link IssuerKeys#MAX_RESPONSE_BYTES}. Failures become problems that say whose fault it is,
 * with the issuer's OAuth error code but never its free text, a token or the secret.
 */
final class TokenEndpoint {
    static final String BASIC = "client_secret_basic";
    static final String POST = "client_secret_post";
    /** An OAuth error code as RFC 6749 allows it, short; anything else is reported as "unknown". */
    private static final Pattern ERROR_CODE = Pattern.compile("[\\x20-\\x21\\x23-\\x5B\\x5D-\\x7E]{1,64}");

    /** What the token endpoint answered; {@code accessToken} may be null (then the ID token is the credential). */
    record Tokens(String accessToken, String idToken) {
        @Override
        public String toString() {
            return "Tokens[…]";
        }
    }

    private TokenEndpoint() {
    }

    static Tokens exchange(HttpClient http, IssuerKeys.Endpoints endpoints, String clientId, String clientSecret,
            String code, URI callback, String verifier, Duration timeout) {
        Map<String, String> form = new LinkedHashMap<>();
        form.put("grant_type", "authorization_code");
        form.put("code", code);
        form.put("redirect_uri", callback.toString());
        form.put("code_verifier", verifier);
        HttpRequest.Builder request = HttpRequest.newBuilder(endpoints.token()).timeout(timeout)
                .header("Accept", "application/json")
                .header("Content-Type", "application/x-www-form-urlencoded");
        if (clientSecret.isEmpty()) {
            form.put("client_id", clientId);
        } else {
            String method = method(endpoints.tokenAuthMethods());
            if (BASIC.equals(method)) {
                // RFC 6749 2.3.1: both form-encoded before they are joined.
                String pair = encode(clientId) + ":" + encode(clientSecret);
                request.header("Authorization", "Basic "
                        + Base64.getEncoder().encodeToString(pair.getBytes(StandardCharsets.UTF_8)));
            } else {
                form.put("client_id", clientId);
                form.put("client_secret", clientSecret);
            }
        }
        String body = form.entrySet().stream().map(e -> encode(e.getKey()) + "=" + encode(e.getValue()))
                .collect(Collectors.joining("&"));
        HttpResponse<InputStream> response;
        try {
            response = http.send(request.POST(HttpRequest.BodyPublishers.ofString(body)).build(),
                    HttpResponse.BodyHandlers.ofInputStream());
        } catch (HttpTimeoutException e) {
            throw new ParleyException(ErrorCode.UPSTREAM_TIMEOUT,
                    "the identity provider's token endpoint did not answer in time; start the sign-in again");
        } catch (IOException e) {
            throw new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                    "the identity provider's token endpoint cannot be reached; start the sign-in again later");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new ParleyException(ErrorCode.UNAVAILABLE, "the sign-in was interrupted");
        }
        int status = response.statusCode();
        Map<String, Object> json = read(response);
        if (status == 200) {
            String idToken = string(json, "id_token");
            String accessToken = string(json, "access_token");
            if (json == null || (idToken == null && accessToken == null)) {
                throw new ParleyException(ErrorCode.UPSTREAM_PROTOCOL,
                        "the identity provider's token endpoint answered without tokens");
            }
            return new Tokens(accessToken, idToken);
        }
        String error = errorCode(json);
        if (status == 400 && "invalid_grant".equals(error)) {
            // A code used twice, expired, or a PKCE verifier that does not match: the browser's sign-in is spent.
            throw ParleyException.invalid(null, "the identity provider refused the authorization code "
                    + "(invalid_grant): start the sign-in again");
        }
        if ((status == 400 || status == 401) && ("invalid_client".equals(error)
                || "unauthorized_client".equals(error))) {
            throw new ParleyException(ErrorCode.UPSTREAM_FAILURE, "the identity provider refused Parley's client ("
                    + error + "): check the issuer's clientId and .clientSecret");
        }
        throw new ParleyException(ErrorCode.UPSTREAM_FAILURE, "the identity provider's token endpoint answered HTTP "
                + status + (error == null ? "" : " (" + error + ")"));
    }

    /** Basic unless the issuer offers only post; refused when it offers neither for a confidential client. */
    static String method(List<String> supported) {
        if (supported.isEmpty() || supported.contains(BASIC)) {
            return BASIC;
        }
        if (supported.contains(POST)) {
            return POST;
        }
        throw new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "the identity provider accepts neither "
                + BASIC + " nor " + POST + " at its token endpoint; configure a public client (no .clientSecret)");
    }

    /** The issuer's OAuth error code if it is a safe one, "unknown" when there is an unsafe one, null without. */
    static String errorCode(Map<String, Object> json) {
        Object error = json == null ? null : json.get("error");
        if (error == null) {
            return null;
        }
        return error instanceof String s && ERROR_CODE.matcher(s).matches() ? s : "unknown";
    }

    private static Map<String, Object> read(HttpResponse<InputStream> response) {
        try (InputStream in = response.body()) {
            byte[] bytes = in.readNBytes(IssuerKeys.MAX_RESPONSE_BYTES + 1);
            if (bytes.length > IssuerKeys.MAX_RESPONSE_BYTES) {
                throw new ParleyException(ErrorCode.UPSTREAM_PROTOCOL,
                        "the identity provider's token answer is too large");
            }
            return JSONObjectUtils.parse(new String(bytes, StandardCharsets.UTF_8));
        } catch (IOException e) {
            throw new ParleyException(ErrorCode.UPSTREAM_FAILURE,
                    "the identity provider's token answer was cut off; start the sign-in again");
        } catch (ParseException e) {
            return null;
        }
    }

    private static String string(Map<String, Object> json, String field) {
        Object v = json == null ? null : json.get(field);
        return v instanceof String s && !s.isEmpty() ? s : null;
    }

    static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}

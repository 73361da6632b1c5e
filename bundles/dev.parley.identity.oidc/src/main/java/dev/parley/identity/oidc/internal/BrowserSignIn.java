package dev.parley.identity.oidc.internal;

import com.nimbusds.jose.util.JSONObjectUtils;
import dev.parley.api.audit.AuditEvent;
import dev.parley.api.audit.AuditLog;
import dev.parley.api.audit.AuditOutcome;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Principal;
import dev.parley.api.secrets.SecretSealer;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.text.ParseException;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Pattern;
import java.util.stream.Collectors;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The browser sign-in through an OIDC issuer: authorization code with PKCE (RFC 7636, S256), {@code state} and
 * {@code nonce} (ADR 18).
 *
 * <p>{@link #login} checks the console's {@code redirect_uri} against the issuer's allow-list, stores the started
 * sign-in (its state's hash, its PKCE verifier and nonce sealed) in the database, sets a cookie that binds it to the
 * browser, and sends the browser to the issuer. {@link #callback} takes the stored sign-in (once), checks issuer,
 * expiry and the browser's cookie, exchanges the code with the verifier, verifies the ID token (signature, issuer,
 * audience = client id, times, nonce) and sends the browser back to the console with the credential in the URL
 * fragment, which browsers never send to a server. The credential is the issuer's access token when Parley accepts
 * it as a bearer token, else the ID token when Parley accepts that; a sign-in whose tokens Parley would refuse ends
 * here with a 403 rather than with a console that cannot call anything.
 */
final class BrowserSignIn {
    static final String COOKIE_PREFIX = "parley_oidc_";
    static final String PATH_PREFIX = "/api/v1/auth/oidc/";
    static final String AUDIT_ACTION = "auth.oidc.sign-in";
    static final int MAX_CLIENT_STATE = 512;
    static final Duration ISSUER_RETRY = Duration.ofSeconds(5);
    static final Duration BUSY_RETRY = Duration.ofSeconds(60);
    /** Issuer errors that mean "this person was not signed in" rather than "something is broken". */
    private static final Set<String> DECLINED = Set.of("access_denied", "login_required", "consent_required",
            "interaction_required", "account_selection_required");
    private static final Pattern CLIENT_STATE = Pattern.compile("[\\x21-\\x7E]{1," + MAX_CLIENT_STATE + "}");
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();
    private static final Logger LOG = LoggerFactory.getLogger(BrowserSignIn.class);

    /** Where the browser goes next, and the cookie to set (or clear) on the way. */
    record Redirect(URI location, String setCookie) {
        @Override
        public String toString() {
            return "Redirect[…]"; // the location may carry tokens
        }
    }

    private final PendingLogins pending;
    private final SecretSealer sealer;
    private final Clock clock;
    private final Supplier<AuditLog> audit;
    private final SecureRandom random = new SecureRandom();

    BrowserSignIn(PendingLogins pending, SecretSealer sealer, Clock clock, Supplier<AuditLog> audit) {
        this.pending = pending;
        this.sealer = sealer;
        this.clock = clock;
        this.audit = audit;
    }

    /**
     * Starts a sign-in.
     *
     * @param requestBase the scheme and authority the request came to, for the callback address when
     *                    {@code callbackBaseUrl} is not configured
     */
    Redirect login(OidcBearerAuthenticator issuer, String redirectUri, String clientState, URI requestBase) {
        OidcSettings.LoginSettings login = loginSettings(issuer);
        if (redirectUri == null || redirectUri.isEmpty()) {
            throw ParleyException.invalid("redirect_uri", "'redirect_uri' is required: the console address to come "
                    + "back to, one of the issuer's allowedRedirectUris");
        }
        if (!login.allowedRedirectUris().contains(redirectUri)) {
            throw ParleyException.invalid("redirect_uri", "'redirect_uri' is not one of the addresses allowed for "
                    + "this issuer (allowedRedirectUris, compared exactly)");
        }
        if (clientState != null && !CLIENT_STATE.matcher(clientState).matches()) {
            throw ParleyException.invalid("state", "'state' must be 1 to " + MAX_CLIENT_STATE
                    + " visible ASCII characters");
        }
        IssuerKeys.Endpoints endpoints = endpoints(issuer);

        String state = randomToken();
        String nonce = randomToken();
        String verifier = randomToken(); // 43 characters of base64url, as RFC 7636 4.1 asks at least
        String binding = randomToken();
        String stateHash = sha256Hex(state);
        Instant now = clock.instant();
        String sealed = sealer.seal(JSONObjectUtils.toJSONString(Map.of("v", verifier, "n", nonce)),
                purpose(stateHash));
        var row = new PendingLogins.Pending(login.name(), sha256Hex(binding), sealed, redirectUri, clientState, now,
                now.plus(login.timeout()));
        if (!pending.add(stateHash, row, login.maxPending(), now)) {
            throw new ParleyException(ErrorCode.UNAVAILABLE, "too many sign-ins through this identity provider are "
                    + "in progress; try again in a minute", BUSY_RETRY, null);
        }

        Map<String, String> query = new LinkedHashMap<>();
        query.put("response_type", "code");
        query.put("client_id", login.clientId());
        query.put("redirect_uri", callback(login, requestBase).toString());
        query.put("scope", String.join(" ", login.scopes()));
        query.put("state", state);
        query.put("nonce", nonce);
        query.put("code_challenge", B64.encodeToString(sha256(verifier.getBytes(StandardCharsets.US_ASCII))));
        query.put("code_challenge_method", "S256");
        String authorize = endpoints.authorization().toString();
        URI location = URI.create(authorize + (endpoints.authorization().getRawQuery() == null ? "?" : "&")
                + form(query));
        String cookie = cookieName(stateHash) + "=" + binding + "; Path=" + callbackPath(login.name())
                + "; Max-Age=" + login.timeout().toSeconds() + "; HttpOnly; Secure; SameSite=Lax";
        LOG.debug("oidc.sign-in.started issuer={}", login.name());
        return new Redirect(location, cookie);
    }

    /**
     * Finishes a sign-in: the issuer's answer ({@code code} or {@code error}) with the {@code state} Parley sent.
     *
     * @param cookies the request's cookies by name
     */
    Redirect callback(OidcBearerAuthenticator issuer, String code, String state, String error,
            Map<String, String> cookies, URI requestBase, String address) {
        OidcSettings.LoginSettings login = loginSettings(issuer);
        try {
            return finish(issuer, login, code, state, error, cookies, requestBase, address);
        } catch (ParleyException e) {
            AuditOutcome outcome = switch (e.code()) {
                case INVALID_REQUEST, UNAUTHORIZED, FORBIDDEN -> AuditOutcome.DENIED;
                default -> AuditOutcome.FAILURE;
            };
            record(Principal.OPERATOR_TENANT, "anonymous", login.name(), outcome, address,
                    Map.of("issuer", issuer.settings().issuer(), "reason", e.getMessage()));
            LOG.debug("oidc.sign-in.refused issuer={} reason=\"{}\"", login.name(), e.getMessage());
            throw e;
        }
    }

    private Redirect finish(OidcBearerAuthenticator issuer, OidcSettings.LoginSettings login, String code,
            String state, String error, Map<String, String> cookies, URI requestBase, String address) {
        if (state == null || state.isEmpty()) {
            throw ParleyException.invalid("state", "the sign-in's state is missing; start the sign-in again");
        }
        if (state.length() > 512) {
            throw ParleyException.invalid("state", "the sign-in's state is unknown or was used already; start the "
                    + "sign-in again");
        }
        String stateHash = sha256Hex(state);
        PendingLogins.Pending started = pending.take(stateHash);
        if (started == null) {
            throw ParleyException.invalid("state", "the sign-in's state is unknown or was used already; start the "
                    + "sign-in again");
        }
        if (!started.issuerName().equals(login.name())) {
            throw ParleyException.invalid("state", "the sign-in's state belongs to a sign-in through another "
                    + "identity provider; start the sign-in again");
        }
        if (clock.instant().isAfter(started.expiresAt())) {
            throw ParleyException.invalid("state", "the sign-in took too long and its state has expired; start the "
                    + "sign-in again");
        }
        String binding = cookies.get(cookieName(stateHash));
        if (binding == null || !MessageDigest.isEqual(sha256Hex(binding).getBytes(StandardCharsets.US_ASCII),
                started.browserHash().getBytes(StandardCharsets.US_ASCII))) {
            // Someone else's sign-in (say a callback link handed to this browser): never finish it here.
            throw ParleyException.invalid("state", "this sign-in was not started in this browser; start the sign-in "
                    + "again");
        }
        if (error != null) {
            String safe = TokenEndpoint.errorCode(Map.of("error", error));
            if (DECLINED.contains(safe)) {
                throw new ParleyException(ErrorCode.FORBIDDEN, "the identity provider did not sign you in ("
                        + safe + ")");
            }
            throw new ParleyException(ErrorCode.UPSTREAM_FAILURE, "the identity provider answered the sign-in with "
                    + "the error '" + safe + "'");
        }
        if (code == null || code.isEmpty()) {
            throw ParleyException.invalid("code", "the identity provider sent no authorization code");
        }
        String verifier;
        String nonce;
        try {
            Map<String, Object> secrets = JSONObjectUtils.parse(sealer.open(started.sealed(), purpose(stateHash)));
            verifier = (String) secrets.get("v");
            nonce = (String) secrets.get("n");
        } catch (ParseException | ClassCastException e) {
            throw new ParleyException(ErrorCode.INTERNAL, "the started sign-in could not be read");
        }

        IssuerKeys.Endpoints endpoints = endpoints(issuer);
        TokenEndpoint.Tokens tokens = TokenEndpoint.exchange(issuer.http(), endpoints, login.clientId(),
                clientSecret(issuer, login), code, callback(login, requestBase), verifier,
                OidcBearerAuthenticator.REQUEST_TIMEOUT);
        if (tokens.idToken() == null) {
            throw new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "the identity provider answered without an ID "
                    + "token (is 'openid' allowed for this client?)");
        }
        TokenVerifier verifier2 = issuer.verifier();
        try {
            verifier2.verifyIdToken(tokens.idToken(), login.clientId(), nonce);
        } catch (TokenVerifier.Refused e) {
            throw refused(e, "the identity provider's ID token was refused: ");
        }

        // The credential the console will send: what Parley accepts as a bearer token of this issuer.
        Principal principal;
        String credential;
        String source;
        String accessRefusal = "there is none";
        try {
            if (tokens.accessToken() == null) {
                throw new TokenVerifier.Refused(accessRefusal);
            }
            principal = verifier2.principal(tokens.accessToken());
            credential = tokens.accessToken();
            source = "access_token";
        } catch (TokenVerifier.Refused accessRefused) {
            if (TokenVerifier.UNREACHABLE.equals(accessRefused.getMessage())) {
                throw refused(accessRefused, "");
            }
            accessRefusal = accessRefused.getMessage();
            try {
                principal = verifier2.principal(tokens.idToken());
                credential = tokens.idToken();
                source = "id_token";
            } catch (TokenVerifier.Refused idRefused) {
                throw new ParleyException(ErrorCode.FORBIDDEN, "the identity provider signed you in, but Parley "
                        + "accepts neither its access token (" + accessRefusal + ") nor its ID token ("
                        + idRefused.getMessage() + ") as a credential: check the issuer's audiences and tenant claim");
            }
        }

        Map<String, String> fragment = new LinkedHashMap<>();
        fragment.put("access_token", credential);
        fragment.put("token_type", "Bearer");
        long expiresIn = principal.expiresAt() == null ? 0
                : Math.max(0, Duration.between(clock.instant(), principal.expiresAt()).toSeconds());
        fragment.put("expires_in", Long.toString(expiresIn));
        fragment.put("id_token", tokens.idToken());
        if (started.clientState() != null) {
            fragment.put("state", started.clientState());
        }
        record(principal.tenantId(), principal.subject(), login.name(), AuditOutcome.SUCCESS, address,
                Map.of("issuer", issuer.settings().issuer(), "credential", source));
        LOG.debug("oidc.sign-in.finished issuer={} credential={}", login.name(), source);
        String clear = cookieName(stateHash) + "=; Path=" + callbackPath(login.name())
                + "; Max-Age=0; HttpOnly; Secure; SameSite=Lax";
        return new Redirect(URI.create(started.redirectUri() + "#" + form(fragment)), clear);
    }

    private static ParleyException refused(TokenVerifier.Refused e, String prefix) {
        if (TokenVerifier.UNREACHABLE.equals(e.getMessage())) {
            return new ParleyException(ErrorCode.UNAVAILABLE, TokenVerifier.UNREACHABLE, ISSUER_RETRY, null);
        }
        return new ParleyException(ErrorCode.UNAUTHORIZED, prefix + e.getMessage());
    }

    private static OidcSettings.LoginSettings loginSettings(OidcBearerAuthenticator issuer) {
        OidcSettings.LoginSettings login = issuer.settings().login();
        if (login == null) {
            throw new ParleyException(ErrorCode.NOT_FOUND, "this identity provider has no browser sign-in "
                    + "(no clientId configured)");
        }
        return login;
    }

    private static IssuerKeys.Endpoints endpoints(OidcBearerAuthenticator issuer) {
        IssuerKeys.Endpoints endpoints;
        try {
            endpoints = issuer.keys().endpoints();
        } catch (IssuerUnreachableException e) {
            throw new ParleyException(ErrorCode.UNAVAILABLE, TokenVerifier.UNREACHABLE, ISSUER_RETRY, null);
        }
        if (endpoints == null) {
            throw new ParleyException(ErrorCode.UPSTREAM_PROTOCOL, "the identity provider's discovery document "
                    + "names no authorization_endpoint or token_endpoint");
        }
        return endpoints;
    }

    private String clientSecret(OidcBearerAuthenticator issuer, OidcSettings.LoginSettings login) {
        String secret = issuer.clientSecret();
        if (!secret.isEmpty() && sealer.isSealed(secret)) {
            return sealer.open(secret, secretPurpose(login.name()));
        }
        return secret;
    }

    /** The purpose a sealed {@code .clientSecret} is bound to. */
    static String secretPurpose(String name) {
        return "oidc:" + name + ":.clientSecret";
    }

    static URI callback(OidcSettings.LoginSettings login, URI requestBase) {
        String base = login.callbackBaseUrl().isEmpty()
                ? requestBase.getScheme() + "://" + requestBase.getRawAuthority()
                : login.callbackBaseUrl();
        return URI.create(base + callbackPath(login.name()));
    }

    static String callbackPath(String name) {
        return PATH_PREFIX + name + "/callback";
    }

    /** One cookie per started sign-in, so that sign-ins in two tabs of one browser do not overwrite each other. */
    static String cookieName(String stateHash) {
        return COOKIE_PREFIX + stateHash.substring(0, 16);
    }

    private static String purpose(String stateHash) {
        return "oidc-login:" + stateHash;
    }

    private void record(String tenant, String actor, String name, AuditOutcome outcome, String address,
            Map<String, String> detail) {
        AuditLog log = audit.get();
        if (log != null) {
            log.record(new AuditEvent(clock.instant(), actor, tenant, AUDIT_ACTION, "oidc:" + name, outcome, address,
                    detail));
        }
    }

    private String randomToken() {
        byte[] bytes = new byte[32];
        random.nextBytes(bytes);
        return B64.encodeToString(bytes);
    }

    private static String form(Map<String, String> values) {
        return values.entrySet().stream()
                .map(e -> TokenEndpoint.encode(e.getKey()) + "=" + TokenEndpoint.encode(e.getValue()))
                .collect(Collectors.joining("&"));
    }

    static String sha256Hex(String s) {
        return HexFormat.of().formatHex(sha256(s.getBytes(StandardCharsets.UTF_8)));
    }

    private static byte[] sha256(byte[] bytes) {
        try {
            return MessageDigest.getInstance("SHA-256").digest(bytes);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }
}

package dev.parley.identity.oidc.internal;

import com.nimbusds.jose.proc.BadJOSEException;
import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.proc.SecurityContext;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import com.nimbusds.jwt.proc.BadJWTException;
import com.nimbusds.jwt.proc.DefaultJWTProcessor;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import java.text.ParseException;
import java.time.Clock;
import java.time.Instant;
import java.util.Collection;
import java.util.Date;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Verifies one issuer's JWTs and maps their claims to a {@link Principal}. Everything cheap is refused before the
 * signature is checked (size, shape, algorithm, {@code typ}, {@code crit}, unverified {@code iss}); the signature is
 * checked by Nimbus' {@link DefaultJWTProcessor} against the issuer's own keys ({@link IssuerKeys}); the claims are
 * checked after it. Reasons are safe to return to the caller: they never hold the token, a claim's value or a key.
 */
final class TokenVerifier {
    static final String TOO_LARGE = "the token is too large";
    static final String MALFORMED = "the token is malformed";
    static final String ALGORITHM = "the token uses an algorithm that is not allowed";
    static final String TYPE = "the token's type is not accepted";
    static final String CRITICAL = "the token names critical header parameters that are not supported";
    static final String SIGNATURE = "the token's signature does not verify";
    static final String ISSUER = "the token was issued by another issuer";
    static final String AUDIENCE = "the token was issued for another audience";
    static final String EXPIRED = "the token has expired";
    static final String NOT_YET_VALID = "the token is not yet valid";
    static final String NO_EXPIRY = "the token has no expiry time";
    static final String NO_SUBJECT = "the token names no subject";
    static final String NO_TENANT = "the token names no tenant";
    static final String UNREACHABLE = "the identity provider cannot be reached";
    static final String NONCE = "the ID token's nonce does not belong to this sign-in";
    static final String AUTHORIZED_PARTY = "the ID token was issued to another client (azp)";
    /** The retry hint of an UNAVAILABLE answer while the issuer cannot be reached. */
    static final java.time.Duration UNREACHABLE_RETRY = java.time.Duration.ofSeconds(5);

    /** {@code typ} values accepted (RFC 7519 JWT, RFC 9068 access tokens), compared ignoring case. */
    private static final Set<String> TYPES = Set.of("jwt", "at+jwt", "application/jwt", "application/at+jwt");

    private static final Logger LOG = LoggerFactory.getLogger(TokenVerifier.class);

    private final OidcSettings settings;
    private final Clock clock;
    private final DefaultJWTProcessor<SecurityContext> processor = new DefaultJWTProcessor<>();

    TokenVerifier(OidcSettings settings, IssuerKeys keys, Clock clock) {
        this.settings = settings;
        this.clock = clock;
        processor.setJWSTypeVerifier((type, context) -> {
            if (!acceptedType(type)) {
                throw new Refused(TYPE);
            }
        });
        processor.setJWSKeySelector(new IssuerKeySelector(settings.algorithms(), keys));
        processor.setJWSVerifierFactory(new VerifierFactory());
        processor.setJWTClaimsSetVerifier(this::verifyClaims);
    }

    /** Whether this looks like a JWT of this issuer, judged by its unverified payload. */
    boolean recognizes(String token) {
        if (token == null || token.length() > settings.maxTokenBytes()) {
            return false;
        }
        String[] parts = split(token);
        if (parts == null) {
            return false;
        }
        try {
            Map<String, Object> payload = JSONObjectUtils.parse(new Base64URL(parts[1]).decodeToString());
            return settings.issuer().equals(payload.get("iss"));
        } catch (ParseException | RuntimeException e) {
            return false;
        }
    }

    Principal authenticate(String token) {
        try {
            return verify(token);
        } catch (Refused e) {
            LOG.debug("oidc.token.refused issuer={} reason=\"{}\"", settings.issuer(), e.getMessage());
            if (UNREACHABLE.equals(e.getMessage())) {
                // Not the token's fault: a 401 would make clients throw away a good token. Try again shortly.
                throw new ParleyException(ErrorCode.UNAVAILABLE, UNREACHABLE, UNREACHABLE_RETRY, null);
            }
            throw new ParleyException(ErrorCode.UNAUTHORIZED, e.getMessage());
        }
    }

    /** What an ID token must match besides the issuer's rules (OIDC Core 3.1.3.7): our client id and nonce. */
    record IdTokenContext(String clientId, String nonce) implements SecurityContext {
    }

    /**
     * Verifies an ID token of the browser sign-in with the rules bearer tokens follow (size, shape, algorithm,
     * signature with the issuer's keys, {@code iss}, {@code exp}/{@code nbf}/{@code iat} with the skew, {@code sub}),
     * except that its audience must be {@code clientId} and its {@code nonce} the one this sign-in sent.
     *
     * @throws Refused with a reason safe to show
     */
    JWTClaimsSet verifyIdToken(String token, String clientId, String nonce) throws Refused {
        return process(parse(token), new IdTokenContext(clientId, nonce));
    }

    /** The principal for a bearer token, or the reason it is refused (safe to show). */
    Principal principal(String token) throws Refused {
        return verify(token);
    }

    private Principal verify(String token) throws Refused {
        return principal(process(parse(token), null));
    }

    /** The cheap checks, before any key is looked at. */
    private SignedJWT parse(String token) throws Refused {
        if (token == null || token.isEmpty()) {
            throw new Refused(MALFORMED);
        }
        // Characters are never fewer than UTF-8 bytes, and a well-formed token is ASCII (checked in split).
        if (token.length() > settings.maxTokenBytes()) {
            throw new Refused(TOO_LARGE);
        }
        String[] parts = split(token);
        if (parts == null) {
            throw new Refused(MALFORMED);
        }
        Map<String, Object> rawHeader = jsonObject(parts[0]);
        Object alg = rawHeader.get("alg");
        // Exact names from the allow-list only: "none" and its case variants, HMAC and unknown names stop here.
        if (!(alg instanceof String name) || settings.algorithms().stream().noneMatch(a -> a.getName().equals(name))) {
            throw new Refused(ALGORITHM);
        }
        if (rawHeader.containsKey("crit")) {
            throw new Refused(CRITICAL);
        }
        if (parts[2].isEmpty()) {
            throw new Refused(SIGNATURE);
        }
        SignedJWT jwt;
        JWTClaimsSet unverified;
        try {
            jwt = SignedJWT.parse(token);
            unverified = jwt.getJWTClaimsSet();
        } catch (ParseException | RuntimeException e) {
            throw new Refused(MALFORMED);
        }
        JWSHeader header = jwt.getHeader();
        if (!acceptedType(header.getType())) {
            throw new Refused(TYPE);
        }
        // Unverified, so it can only refuse: a token of another issuer never makes us fetch keys.
        if (!settings.issuer().equals(unverified.getIssuer())) {
            throw new Refused(ISSUER);
        }
        return jwt;
    }

    private JWTClaimsSet process(SignedJWT jwt, SecurityContext context) throws Refused {
        try {
            return processor.process(jwt, context);
        } catch (Refused e) {
            throw e;
        } catch (IssuerUnreachableException e) {
            throw new Refused(UNREACHABLE);
        } catch (BadJOSEException | JOSEException | RuntimeException e) {
            throw new Refused(SIGNATURE);
        }
    }

    private static boolean acceptedType(JOSEObjectType type) {
        return type == null || TYPES.contains(type.getType().toLowerCase(Locale.ROOT));
    }

    private void verifyClaims(JWTClaimsSet claims, SecurityContext context) throws BadJWTException {
        if (!settings.issuer().equals(claims.getIssuer())) {
            throw new Refused(ISSUER);
        }
        List<String> audience = claims.getAudience();
        if (context instanceof IdTokenContext id) {
            if (audience == null || !audience.contains(id.clientId())) {
                throw new Refused(AUDIENCE);
            }
            Object azp = claims.getClaim("azp");
            if (azp != null && !id.clientId().equals(azp)) {
                throw new Refused(AUTHORIZED_PARTY);
            }
            Object nonce = claims.getClaim("nonce");
            if (!(nonce instanceof String n) || !java.security.MessageDigest.isEqual(
                    n.getBytes(java.nio.charset.StandardCharsets.UTF_8),
                    id.nonce().getBytes(java.nio.charset.StandardCharsets.UTF_8))) {
                throw new Refused(NONCE);
            }
        } else if (audience == null || audience.stream().noneMatch(settings.audiences()::contains)) {
            throw new Refused(AUDIENCE);
        }
        Instant now = clock.instant();
        Date exp = claims.getExpirationTime();
        if (exp == null) {
            throw new Refused(NO_EXPIRY);
        }
        if (now.isAfter(exp.toInstant().plus(settings.clockSkew()))) {
            throw new Refused(EXPIRED);
        }
        Date nbf = claims.getNotBeforeTime();
        if (nbf != null && now.plus(settings.clockSkew()).isBefore(nbf.toInstant())) {
            throw new Refused(NOT_YET_VALID);
        }
        Date iat = claims.getIssueTime();
        if (iat != null && now.plus(settings.clockSkew()).isBefore(iat.toInstant())) {
            throw new Refused(NOT_YET_VALID);
        }
        if (claims.getSubject() == null || claims.getSubject().isBlank()) {
            throw new Refused(NO_SUBJECT);
        }
    }

    private Principal principal(JWTClaimsSet claims) throws Refused {
        String tenant = settings.tenantId();
        if (tenant.isEmpty()) {
            Object value = claim(claims, settings.tenantClaim());
            tenant = value instanceof String s ? s.trim() : "";
            if (tenant.isEmpty()) {
                throw new Refused(NO_TENANT);
            }
        }
        Set<Role> roles = new LinkedHashSet<>();
        for (String issuerRole : strings(claim(claims, settings.rolesClaim()))) {
            Role role = settings.roleMapping().get(issuerRole);
            if (role != null) {
                roles.add(role);
            }
        }
        Set<String> scopes = strings(claim(claims, settings.scopesClaim()));
        return new Principal(claims.getSubject(), tenant, roles, AuthMethod.OIDC, settings.issuer(), scopes,
                claims.getExpirationTime().toInstant(), claims.getJWTID());
    }

    /** A claim by name, or by a dotted path into nested objects (e.g. Keycloak's {@code realm_access.roles}). */
    static Object claim(JWTClaimsSet claims, String path) {
        Map<String, Object> all = claims.getClaims();
        if (all.containsKey(path)) {
            return all.get(path);
        }
        Object current = all;
        for (String step : path.split("\\.")) {
            if (!(current instanceof Map<?, ?> map)) {
                return null;
            }
            current = map.get(step);
        }
        return current;
    }

    /** An array of strings, or one space-separated string. */
    static Set<String> strings(Object value) {
        Set<String> out = new LinkedHashSet<>();
        if (value instanceof String s) {
            for (String part : s.trim().split("\\s+")) {
                if (!part.isEmpty()) {
                    out.add(part);
                }
            }
        } else if (value instanceof Collection<?> c) {
            for (Object o : c) {
                if (o instanceof String s && !s.isBlank()) {
                    out.add(s);
                }
            }
        }
        return out;
    }

    /** Three base64url parts (the last may be empty) of ASCII, or null. */
    private static String[] split(String token) {
        int first = token.indexOf('.');
        int second = first < 0 ? -1 : token.indexOf('.', first + 1);
        if (first <= 0 || second < 0 || second == first + 1 || token.indexOf('.', second + 1) >= 0) {
            return null;
        }
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            boolean ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'
                    || c == '_' || c == '.';
            if (!ok) {
                return null;
            }
        }
        return new String[] { token.substring(0, first), token.substring(first + 1, second),
                token.substring(second + 1) };
    }

    private static Map<String, Object> jsonObject(String part) throws Refused {
        try {
            return JSONObjectUtils.parse(new Base64URL(part).decodeToString());
        } catch (ParseException | RuntimeException e) {
            throw new Refused(MALFORMED);
        }
    }

    /** A refusal with its reason for the caller; a {@link BadJWTException} so Nimbus passes it through. */
    static final class Refused extends BadJWTException {
        private static final long serialVersionUID = 1L;

        Refused(String reason) {
            super(reason);
        }
    }
}

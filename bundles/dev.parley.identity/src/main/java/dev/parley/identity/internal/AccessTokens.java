package dev.parley.identity.internal;

import com.nimbusds.jose.JOSEException;
import com.nimbusds.jose.JOSEObjectType;
import com.nimbusds.jose.JWSAlgorithm;
import com.nimbusds.jose.JWSHeader;
import com.nimbusds.jose.crypto.ECDSASigner;
import com.nimbusds.jose.crypto.ECDSAVerifier;
import com.nimbusds.jose.jwk.ECKey;
import com.nimbusds.jose.util.Base64URL;
import com.nimbusds.jose.util.JSONObjectUtils;
import com.nimbusds.jwt.JWTClaimsSet;
import com.nimbusds.jwt.SignedJWT;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Role;
import java.security.interfaces.ECPublicKey;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.text.ParseException;
import java.time.Clock;
import java.time.Instant;
import java.util.Date;
import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Parley's access tokens: JWTs signed ES256 with the current {@link SigningKeys} key, naming it in {@code kid}.
 * Claims: {@code iss} (configured), {@code aud} "parley", {@code sub} the user id, {@code tenant}, {@code roles},
 * {@code sid} the sign-in session (family of refresh tokens), {@code iat}, {@code nbf}, {@code exp}, {@code jti}.
 *
 * <p>Verification refuses everything cheap first (size, shape, header), accepts exactly {@code ES256} (never
 * {@code none}, never HMAC, never another curve), takes the key only from Parley's own keys by {@code kid} (a
 * token's {@code jwk}, {@code jku}, {@code x5u}, {@code x5c} are refused, never read), then checks the signature with
 * Nimbus and the claims with a bounded clock skew. Reasons are safe to show: never a token, claim value or key.
 *
 * <p>An ES256 signature check costs about a millisecond of CPU, more than the rest of a request: a token that verified
 * is remembered (by the SHA-256 of its text, never the text) with what it said, so that the same token sent again costs
 * a hash and a map look-up. What can change after the first check is checked on every use all the same: the time
 * ({@code exp}, {@code nbf}), that its signing key is still one of Parley's, and the issuer setting. Revocation is the
 * caller's per-use check ({@link SignIn#authenticate}). At most {@link #MAX_REMEMBERED} tokens are remembered; when
 * full, expired ones are dropped, then all.
 */
final class AccessTokens {
    static final int MAX_TOKEN_CHARS = 8 * 1024;
    static final String TOO_LARGE = "the token is too large";
    static final String MALFORMED = "the token is malformed";
    static final String ALGORITHM = "the token uses an algorithm that is not allowed";
    static final String HEADER = "the token's header carries parameters that are not accepted";
    static final String TYPE = "the token's type is not accepted";
    static final String SIGNATURE = "the token's signature does not verify";
    static final String ISSUER = "the token was issued by another issuer";
    static final String AUDIENCE = "the token was issued for another audience";
    static final String EXPIRED = "the token has expired";
    static final String NOT_YET_VALID = "the token is not yet valid";
    static final String CLAIMS = "the token lacks a required claim";

    private static final Set<String> REFUSED_HEADERS = Set.of("crit", "jwk", "jku", "x5u", "x5c", "x5t", "x5t#S256",
            "b64", "zip");
    private static final Set<String> TYPES = Set.of("JWT", "at+jwt");

    /** What a verified token says. */
    record Claims(String subject, String tenant, Set<Role> roles, String sessionId, Instant expiresAt) {
    }

    static final int MAX_REMEMBERED = 10_000;

    /** A token that verified: what it said, when it starts to be valid, its key and the issuer it was checked for. */
    private record Verified(Claims claims, Instant notBefore, String kid, String issuer) {
    }

    private final Map<String, Verified> verified = new ConcurrentHashMap<>();
    private final AtomicLong signatureChecks = new AtomicLong();

    private final IdentitySettings settings;
    private final SigningKeys keys;
    private final Clock clock;

    private final int maxRemembered;

    AccessTokens(IdentitySettings settings, SigningKeys keys, Clock clock) {
        this(settings, keys, clock, MAX_REMEMBERED);
    }

    AccessTokens(IdentitySettings settings, SigningKeys keys, Clock clock, int maxRemembered) {
        this.settings = settings;
        this.keys = keys;
        this.clock = clock;
        this.maxRemembered = maxRemembered;
    }

    /** A signed token for the user, valid for the access token lifetime from now. */
    String issue(String userId, String tenant, Set<Role> roles, String sessionId, String tokenId) {
        ECKey key = keys.current();
        Instant now = clock.instant();
        JWTClaimsSet claims = new JWTClaimsSet.Builder().issuer(settings.issuer())
                .audience(IdentitySettings.AUDIENCE).subject(userId).claim("tenant", tenant)
                .claim("roles", roles.stream().sorted().map(Role::slug).toList()).claim("sid", sessionId)
                .issueTime(Date.from(now)).notBeforeTime(Date.from(now))
                .expirationTime(Date.from(now.plus(settings.accessTokenLifetime()))).jwtID(tokenId).build();
        SignedJWT jwt = new SignedJWT(new JWSHeader.Builder(JWSAlgorithm.ES256).type(JOSEObjectType.JWT)
                .keyID(key.getKeyID()).build(), claims);
        try {
            jwt.sign(new ECDSASigner(key));
        } catch (JOSEException e) {
            throw new ParleyException(ErrorCode.INTERNAL, "Could not sign an access token", e);
        }
        return jwt.serialize();
    }

    /** Whether this looks like one of ours, by its unverified {@code iss} (cheap; verifies nothing). */
    boolean looksLikeOurs(String token) {
        if (token == null || token.length() > MAX_TOKEN_CHARS) {
            return false;
        }
        String[] parts = split(token);
        if (parts == null) {
            return false;
        }
        try {
            return settings.issuer().equals(JSONObjectUtils.parse(new Base64URL(parts[1]).decodeToString()).get("iss"));
        } catch (ParseException | RuntimeException e) {
            return false;
        }
    }

    /** The verified claims; UNAUTHORIZED with a reason safe to show otherwise. */
    Claims verify(String token) {
        if (token == null || token.isEmpty()) {
            throw refused(MALFORMED);
        }
        if (token.length() > MAX_TOKEN_CHARS) {
            throw refused(TOO_LARGE);
        }
        String digest = digest(token);
        Verified known = verified.get(digest);
        if (known != null) {
            return stillValid(known);
        }
        String[] parts = split(token);
        if (parts == null) {
            throw refused(MALFORMED);
        }
        Map<String, Object> header;
        try {
            header = JSONObjectUtils.parse(new Base64URL(parts[0]).decodeToString());
        } catch (ParseException | RuntimeException e) {
            throw refused(MALFORMED);
        }
        // Exactly "ES256": none and its case variants, HMAC, RSA and other curves stop here.
        if (!JWSAlgorithm.ES256.getName().equals(header.get("alg"))) {
            throw refused(ALGORITHM);
        }
        for (String name : header.keySet()) {
            if (REFUSED_HEADERS.contains(name)) {
                throw refused(HEADER);
            }
        }
        Object typ = header.get("typ");
        if (typ != null && !(typ instanceof String t && TYPES.contains(t))) {
            throw refused(TYPE);
        }
        if (parts[2].isEmpty() || !(header.get("kid") instanceof String kid) || kid.isEmpty() || kid.length() > 64) {
            throw refused(SIGNATURE);
        }
        SignedJWT jwt;
        JWTClaimsSet claims;
        try {
            jwt = SignedJWT.parse(token);
            claims = jwt.getJWTClaimsSet();
        } catch (ParseException | RuntimeException e) {
            throw refused(MALFORMED);
        }
        // Unverified, so it can only refuse: a token of another issuer never costs a key look-up.
        if (!settings.issuer().equals(claims.getIssuer())) {
            throw refused(ISSUER);
        }
        ECPublicKey key = keys.verificationKey(kid);
        if (key == null) {
            throw refused(SIGNATURE);
        }
        try {
            signatureChecks.incrementAndGet();
            if (!jwt.verify(new ECDSAVerifier(key))) {
                throw refused(SIGNATURE);
            }
        } catch (JOSEException | RuntimeException e) {
            if (e instanceof ParleyException p) {
                throw p;
            }
            throw refused(SIGNATURE);
        }
        Claims checked = claims(claims);
        Date nbf = claims.getNotBeforeTime();
        Date iat = claims.getIssueTime();
        Instant notBefore = nbf != null ? nbf.toInstant() : iat != null ? iat.toInstant() : Instant.MIN;
        if (nbf != null && iat != null && iat.toInstant().isAfter(notBefore)) {
            notBefore = iat.toInstant();
        }
        remember(digest, new Verified(checked, notBefore, kid, settings.issuer()));
        return checked;
    }

    /** A remembered token, checked again for what may have changed since it verified. */
    private Claims stillValid(Verified v) {
        if (!v.issuer().equals(settings.issuer())) {
            throw refused(ISSUER);
        }
        if (keys.verificationKey(v.kid()) == null) {
            throw refused(SIGNATURE);
        }
        Instant now = clock.instant();
        if (!now.isBefore(v.claims().expiresAt().plus(settings.clockSkew()))) {
            throw refused(EXPIRED);
        }
        if (now.plus(settings.clockSkew()).isBefore(v.notBefore())) {
            throw refused(NOT_YET_VALID);
        }
        return v.claims();
    }

    private void remember(String digest, Verified v) {
        if (verified.size() >= maxRemembered) {
            Instant now = clock.instant();
            verified.values().removeIf(x -> !now.isBefore(x.claims().expiresAt().plus(settings.clockSkew())));
            if (verified.size() >= maxRemembered) {
                verified.clear();
            }
        }
        verified.put(digest, v);
    }

    /** For tests: how many signatures were checked. */
    long signatureChecks() {
        return signatureChecks.get();
    }

    /** For tests: how many verified tokens are remembered. */
    int remembered() {
        return verified.size();
    }

    private static String digest(String token) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256").digest(token.getBytes(StandardCharsets.US_ASCII));
            return java.util.HexFormat.of().formatHex(d);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from the JDK", e);
        }
    }

    private Claims claims(JWTClaimsSet claims) {
        List<String> audience = claims.getAudience();
        if (audience == null || !audience.contains(IdentitySettings.AUDIENCE)) {
            throw refused(AUDIENCE);
        }
        Instant now = clock.instant();
        Date exp = claims.getExpirationTime();
        if (exp == null) {
            throw refused(CLAIMS);
        }
        if (!now.isBefore(exp.toInstant().plus(settings.clockSkew()))) {
            throw refused(EXPIRED);
        }
        Date nbf = claims.getNotBeforeTime();
        if (nbf != null && now.plus(settings.clockSkew()).isBefore(nbf.toInstant())) {
            throw refused(NOT_YET_VALID);
        }
        Date iat = claims.getIssueTime();
        if (iat != null && now.plus(settings.clockSkew()).isBefore(iat.toInstant())) {
            throw refused(NOT_YET_VALID);
        }
        String subject = claims.getSubject();
        Object tenant = claims.getClaim("tenant");
        Object sid = claims.getClaim("sid");
        if (subject == null || subject.isBlank() || !(tenant instanceof String t) || t.isBlank()
                || !(sid instanceof String s) || s.isBlank()) {
            throw refused(CLAIMS);
        }
        Set<Role> roles = EnumSet.noneOf(Role.class);
        if (claims.getClaim("roles") instanceof List<?> list) {
            for (Object o : list) {
                Role r = o instanceof String slug ? Role.fromSlug(slug) : null;
                if (r != null) {
                    roles.add(r);
                }
            }
        }
        return new Claims(subject, t, roles, s, exp.toInstant());
    }

    /** Three base64url parts of ASCII (the last may be empty), or null. */
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

    static ParleyException refused(String reason) {
        return new ParleyException(ErrorCode.UNAUTHORIZED, reason);
    }
}

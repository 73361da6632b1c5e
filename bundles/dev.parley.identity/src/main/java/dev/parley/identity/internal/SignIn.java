package dev.parley.identity.internal;

import dev.parley.api.audit.AuditEvent;
import dev.parley.api.audit.AuditOutcome;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import dev.parley.db.Database;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.time.Clock;
import java.time.Instant;
import java.util.Base64;
import java.util.HexFormat;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Password sign-in, refresh-token rotation with reuse detection, sign-out and password change, and the check of
 * Parley's own access tokens. Password hashing never runs inside a database transaction.
 */
final class SignIn {
    static final String WRONG_CREDENTIALS = "the tenant, username or password is wrong";
    static final String BAD_REFRESH = "the refresh token is not valid";
    static final String SESSION_REVOKED = "the session has been revoked";
    static final String ACCOUNT_BLOCKED = "the account is disabled or locked";
    static final String REFRESH_PREFIX = "prt_";
    private static final int MAX_REFRESH_TOKEN_CHARS = 100;
    private static final Logger LOG = LoggerFactory.getLogger(SignIn.class);

    /** What a sign-in or refresh hands out. */
    record Tokens(String accessToken, long expiresIn, String refreshToken, long refreshExpiresIn) {
    }

    private final Database database;
    private final IdentitySettings settings;
    private final PasswordHasher hasher;
    private final AccessTokens tokens;
    private final Revocations revocations;
    private final Clock clock;
    private final Notices notices;
    private final SecureRandom random = new SecureRandom();

    SignIn(Database database, IdentitySettings settings, PasswordHasher hasher, AccessTokens tokens,
            Revocations revocations, Clock clock, Notices notices) {
        this.database = database;
        this.settings = settings;
        this.hasher = hasher;
        this.tokens = tokens;
        this.revocations = revocations;
        this.clock = clock;
        this.notices = notices;
    }

    // --- sign-in ----------------------------------------------------------------------------------------------------

    Tokens login(String tenantField, String usernameField, String password, String address) {
        String tenant = tenantField == null ? Principal.OPERATOR_TENANT : Names.tenant(tenantField, "tenant");
        if (usernameField == null || usernameField.length() > 256) {
            throw ParleyException.invalid("username", "'username' is required (at most 128 characters)");
        }
        String username = Names.username(usernameField, "username");
        if (password == null) {
            throw ParleyException.invalid("password", "'password' is required");
        }
        PasswordHasher.checkLength(password, "password");

        IdentityStore.User user = database.inTransaction("read the user",
                c -> IdentityStore.userByName(c, tenant, username));
        Instant now = clock.instant();
        if (user == null || user.disabled() || user.lockedAt(now)) {
            // The same work and the same answer as a wrong password: nothing tells which of these it was.
            hasher.verifyDummy(password);
            String reason = user == null ? "unknown user" : user.disabled() ? "disabled" : "locked";
            audit(user == null ? "anonymous" : user.id(), tenant, "auth.sign-in", username, AuditOutcome.DENIED,
                    address, Map.of("reason", reason));
            throw new ParleyException(ErrorCode.UNAUTHORIZED, WRONG_CREDENTIALS);
        }
        if (!hasher.verify(user.passwordHash(), password)) {
            Instant lockUntil = now.plus(settings.lockoutDuration());
            boolean locked = database.inTransaction("count a failed sign-in", c -> IdentityStore.recordFailure(c,
                    user.id(), settings.lockoutThreshold(), lockUntil));
            audit(user.id(), tenant, "auth.sign-in", username, AuditOutcome.DENIED, address,
                    Map.of("reason", "wrong password"));
            if (locked) {
                revocations.blocked(user.id(), lockUntil);
                LOG.warn("account locked tenant={} user={} until={}", tenant, user.id(), lockUntil);
                audit("system", tenant, "user.lock", user.id(), AuditOutcome.SUCCESS, address,
                        Map.of("until", lockUntil.toString(), "failedAttempts",
                                String.valueOf(settings.lockoutThreshold())));
            }
            throw new ParleyException(ErrorCode.UNAUTHORIZED, WRONG_CREDENTIALS);
        }
        String rehash = hasher.needsRehash(user.passwordHash()) ? hasher.hash(password) : null;
        String family = UUID.randomUUID().toString();
        String refresh = newRefreshToken();
        Instant issued = clock.instant();
        database.inTransaction("start a session", c -> {
            IdentityStore.clearFailures(c, user.id());
            if (rehash != null) {
                IdentityStore.rehash(c, user.id(), user.passwordHash(), rehash);
            }
            IdentityStore.insertSession(c, new IdentityStore.Session(hash(refresh), family, user.id(), tenant,
                    issued, issued.plus(settings.refreshTokenLifetime()), null, null));
            return null;
        });
        audit(user.id(), tenant, "auth.sign-in", username, AuditOutcome.SUCCESS, address,
                rehash == null ? Map.of() : Map.of("rehashed", "true"));
        return tokens(user.id(), tenant, user.roles(), family, refresh);
    }

    // --- refresh ----------------------------------------------------------------------------------------------------

    private enum RefreshOutcome { ROTATED, UNKNOWN, EXPIRED, REVOKED, REUSED, USER_GONE }

    private record Refreshed(RefreshOutcome outcome, IdentityStore.Session session, IdentityStore.User user) {
    }

    Tokens refresh(String refreshToken, String address) {
        if (refreshToken == null || refreshToken.isEmpty()) {
            throw ParleyException.invalid("refresh_token", "'refresh_token' is required");
        }
        if (refreshToken.length() > MAX_REFRESH_TOKEN_CHARS || !refreshToken.startsWith(REFRESH_PREFIX)) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED, BAD_REFRESH);
        }
        String presented = hash(refreshToken);
        String next = newRefreshToken();
        String nextHash = hash(next);
        Instant now = clock.instant();
        // One transaction, and no exception inside it for the outcomes that change rows: a reuse must commit the
        // family's revocation even though the caller gets a 401.
        Refreshed r = database.inTransaction("refresh the session", c -> {
            if (IdentityStore.useSession(c, presented, nextHash, now)) {
                IdentityStore.Session s = IdentityStore.session(c, presented);
                IdentityStore.User u = IdentityStore.user(c, s.tenantId(), s.userId());
                if (u == null || u.disabled() || u.lockedAt(now)) {
                    IdentityStore.revokeFamily(c, s.familyId(), now);
                    return new Refreshed(RefreshOutcome.USER_GONE, s, u);
                }
                IdentityStore.insertSession(c, new IdentityStore.Session(nextHash, s.familyId(), s.userId(),
                        s.tenantId(), now, now.plus(settings.refreshTokenLifetime()), null, null));
                return new Refreshed(RefreshOutcome.ROTATED, s, u);
            }
            IdentityStore.Session s = IdentityStore.session(c, presented);
            if (s == null) {
                return new Refreshed(RefreshOutcome.UNKNOWN, null, null);
            }
            if (s.revokedAt() != null) {
                return new Refreshed(RefreshOutcome.REVOKED, s, null);
            }
            if (s.usedAt() != null) {
                IdentityStore.revokeFamily(c, s.familyId(), now);
                return new Refreshed(RefreshOutcome.REUSED, s, null);
            }
            return new Refreshed(RefreshOutcome.EXPIRED, s, null);
        });
        IdentityStore.Session s = r.session();
        switch (r.outcome()) {
            case ROTATED -> {
                return tokens(r.user().id(), r.user().tenantId(), r.user().roles(), s.familyId(), next);
            }
            case REUSED -> {
                revocations.revoked(s.familyId());
                notices.revoked(s.userId(), s.tenantId(), s.familyId());
                LOG.warn("refresh token reused: session revoked tenant={} user={} session={}", s.tenantId(),
                        s.userId(), s.familyId());
                audit(s.userId(), s.tenantId(), "auth.refresh", s.userId(), AuditOutcome.DENIED, address,
                        Map.of("reason", "refresh token reused; session revoked", "session", s.familyId()));
            }
            case USER_GONE -> {
                revocations.revoked(s.familyId());
                notices.revoked(s.userId(), s.tenantId(), s.familyId());
            }
            case UNKNOWN, EXPIRED, REVOKED -> {
                // Nothing changed: a token that is old, made up or of a session already ended.
            }
        }
        throw new ParleyException(ErrorCode.UNAUTHORIZED, BAD_REFRESH);
    }

    // --- sign-out and password --------------------------------------------------------------------------------------

    void logout(Principal principal, String address) {
        String family = ownSession(principal);
        Instant now = clock.instant();
        database.inTransaction("end the session", c -> IdentityStore.revokeFamily(c, family, now));
        revocations.revoked(family);
        notices.revoked(principal.subject(), principal.tenantId(), family);
        audit(principal.subject(), principal.tenantId(), "auth.sign-out", principal.subject(), AuditOutcome.SUCCESS,
                address, Map.of("session", family));
    }

    /** Changes the caller's password and ends every session of theirs; returns a new session's tokens. */
    Tokens changePassword(Principal principal, String current, String replacement, String address) {
        ownSession(principal);
        if (current == null) {
            throw ParleyException.invalid("current", "'current' is required");
        }
        PasswordHasher.checkLength(current, "current");
        hasher.checkNewPassword(replacement, "new");
        IdentityStore.User user = database.inTransaction("read the user",
                c -> IdentityStore.user(c, principal.tenantId(), principal.subject()));
        if (user == null) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED, ACCOUNT_BLOCKED);
        }
        Instant now = clock.instant();
        if (!hasher.verify(user.passwordHash(), current)) {
            Instant lockUntil = now.plus(settings.lockoutDuration());
            boolean locked = database.inTransaction("count a failed sign-in", c -> IdentityStore.recordFailure(c,
                    user.id(), settings.lockoutThreshold(), lockUntil));
            if (locked) {
                revocations.blocked(user.id(), lockUntil);
            }
            audit(user.id(), user.tenantId(), "auth.password-change", user.id(), AuditOutcome.DENIED, address,
                    Map.of("reason", "wrong current password"));
            throw new ParleyException(ErrorCode.FORBIDDEN, "the current password is wrong");
        }
        String newHash = hasher.hash(replacement);
        String family = UUID.randomUUID().toString();
        String refresh = newRefreshToken();
        Instant changed = clock.instant();
        List<String> ended = database.inTransaction("change the password", c -> {
            IdentityStore.setPassword(c, user.id(), newHash, changed);
            IdentityStore.clearFailures(c, user.id());
            List<String> families = IdentityStore.revokeUserSessions(c, user.id(), changed);
            IdentityStore.insertSession(c, new IdentityStore.Session(hash(refresh), family, user.id(),
                    user.tenantId(), changed, changed.plus(settings.refreshTokenLifetime()), null, null));
            return families;
        });
        ended.forEach(revocations::revoked);
        revocations.revoked(principal.credentialId());
        notices.revoked(user.id(), user.tenantId(), "");
        audit(user.id(), user.tenantId(), "auth.password-change", user.id(), AuditOutcome.SUCCESS, address,
                Map.of("sessionsEnded", String.valueOf(ended.size())));
        return tokens(user.id(), user.tenantId(), user.roles(), family, refresh);
    }

    // --- access tokens ----------------------------------------------------------------------------------------------

    /** The principal of one of Parley's access tokens, or UNAUTHORIZED with the reason. */
    Principal authenticate(String token) {
        AccessTokens.Claims claims = tokens.verify(token);
        if (revocations.isRevoked(claims.sessionId())) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED, SESSION_REVOKED);
        }
        if (revocations.isBlocked(claims.subject())) {
            throw new ParleyException(ErrorCode.UNAUTHORIZED, ACCOUNT_BLOCKED);
        }
        return new Principal(claims.subject(), claims.tenant(), claims.roles(), AuthMethod.PASSWORD,
                settings.issuer(), Set.of(), claims.expiresAt(), claims.sessionId());
    }

    // --- helpers ----------------------------------------------------------------------------------------------------

    private String ownSession(Principal principal) {
        if (principal.method() != AuthMethod.PASSWORD || !settings.issuer().equals(principal.issuer())
                || principal.credentialId().isEmpty()) {
            throw new ParleyException(ErrorCode.INVALID_REQUEST,
                    "only a session of Parley's own sign-in can do this (sign in with a password)");
        }
        return principal.credentialId();
    }

    private Tokens tokens(String userId, String tenant, Set<Role> roles, String family, String refresh) {
        String access = tokens.issue(userId, tenant, roles, family, UUID.randomUUID().toString());
        return new Tokens(access, settings.accessTokenLifetime().toSeconds(), refresh,
                settings.refreshTokenLifetime().toSeconds());
    }

    private String newRefreshToken() {
        byte[] b = new byte[32];
        random.nextBytes(b);
        return REFRESH_PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /** What is stored of a refresh token: its SHA-256 (it is random, so no salt or slow hash is needed). */
    static String hash(String refreshToken) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256")
                    .digest(refreshToken.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is required of every JVM", e);
        }
    }

    private void audit(String actor, String tenant, String action, String target, AuditOutcome outcome,
            String address, Map<String, String> detail) {
        notices.audit(new AuditEvent(clock.instant(), actor, tenant, action, target, outcome, address, detail));
    }
}

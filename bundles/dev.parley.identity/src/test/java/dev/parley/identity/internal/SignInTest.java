package dev.parley.identity.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.audit.AuditOutcome;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.IdentityEvents;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import dev.parley.api.secrets.SecretSealer;
import dev.parley.db.internal.PooledDatabase;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Set;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Sign-in, refresh rotation and reuse, sign-out, password change and lock-out, on the real database and sealer. */
class SignInTest {
    @TempDir
    Path dataDir;

    private final TestIdentity.MovableClock clock = new TestIdentity.MovableClock();
    private final TestIdentity.Recorder recorder = new TestIdentity.Recorder();
    private final SecretSealer sealer = TestIdentity.sealer();
    private PooledDatabase db;
    private BuiltInIdentity node;
    private SignIn signIn;

    @BeforeEach
    void start() {
        db = TestIdentity.h2();
        node = TestIdentity.node(TestIdentity.settings(5), db, sealer, clock, dataDir, recorder);
        signIn = node.signIn();
    }

    @AfterEach
    void stop() {
        db.close();
    }

    private SignIn.Tokens admin() {
        return signIn.login(null, "admin", TestIdentity.ADMIN_PASSWORD, "10.0.0.1");
    }

    @Test
    void theBootstrapAdminSignsInAndItsTokenNamesUserTenantRolesAndSession() {
        SignIn.Tokens t = admin();
        assertThat(t.expiresIn()).isEqualTo(900);
        assertThat(t.refreshExpiresIn()).isEqualTo(Duration.ofDays(14).toSeconds());
        assertThat(t.refreshToken()).startsWith("prt_");
        assertThat(node.recognizes(t.accessToken())).isTrue();
        Principal p = node.authenticate(t.accessToken());
        assertThat(p.tenantId()).isEqualTo(Principal.OPERATOR_TENANT);
        assertThat(p.roles()).containsExactly(Role.OWNER);
        assertThat(p.method()).isEqualTo(AuthMethod.PASSWORD);
        assertThat(p.issuer()).isEqualTo("parley-test");
        assertThat(p.credentialId()).isNotEmpty();
        assertThat(p.expiresAt()).isEqualTo(clock.instant().plus(Duration.ofMinutes(15)).truncatedTo(
                java.time.temporal.ChronoUnit.SECONDS));
        assertThat(recorder.audits("auth.sign-in", AuditOutcome.SUCCESS)).singleElement()
                .satisfies(a -> {
                    assertThat(a.actor()).isEqualTo(p.subject());
                    assertThat(a.sourceAddress()).isEqualTo("10.0.0.1");
                });
        // Usernames are not case-sensitive.
        assertThat(node.authenticate(signIn.login("default", " Admin ", TestIdentity.ADMIN_PASSWORD, "")
                .accessToken()).subject()).isEqualTo(p.subject());
    }

    @Test
    void wrongPasswordUnknownUserUnknownTenantAndDisabledAllGetTheSameAnswer() {
        assertUnauthorized(() -> signIn.login(null, "admin", "wrong password!", ""), SignIn.WRONG_CREDENTIALS);
        assertUnauthorized(() -> signIn.login(null, "nobody", TestIdentity.ADMIN_PASSWORD, ""),
                SignIn.WRONG_CREDENTIALS);
        assertUnauthorized(() -> signIn.login("no-such-tenant", "admin", TestIdentity.ADMIN_PASSWORD, ""),
                SignIn.WRONG_CREDENTIALS);
        assertThat(recorder.audits("auth.sign-in", AuditOutcome.DENIED)).hasSize(3)
                .extracting(a -> a.detail().get("reason"))
                .containsExactly("wrong password", "unknown user", "unknown user");
        assertThat(recorder.audits.stream().map(Object::toString)).noneMatch(s -> s.contains("wrong password!"));
    }

    @Test
    void anUnknownUserCostsOneArgon2HashLikeAWrongPassword() {
        PasswordHasher hasher = node.passwords();
        // The first unknown name also makes the dummy hash (once per node).
        assertUnauthorized(() -> signIn.login(null, "nobody", "some password", ""), SignIn.WRONG_CREDENTIALS);
        long before = hasher.derivations();
        assertUnauthorized(() -> signIn.login(null, "admin", "wrong password!", ""), SignIn.WRONG_CREDENTIALS);
        long wrongPassword = hasher.derivations() - before;
        before = hasher.derivations();
        assertUnauthorized(() -> signIn.login(null, "nobody", "some password", ""), SignIn.WRONG_CREDENTIALS);
        long unknownUser = hasher.derivations() - before;
        before = hasher.derivations();
        assertUnauthorized(() -> signIn.login("ghost-tenant", "admin", "some password", ""),
                SignIn.WRONG_CREDENTIALS);
        long unknownTenant = hasher.derivations() - before;
        assertThat(wrongPassword).isEqualTo(1);
        assertThat(unknownUser).isEqualTo(1);
        assertThat(unknownTenant).isEqualTo(1);
    }

    @Test
    void malformedSignInsAreBadRequests() {
        assertInvalid(() -> signIn.login(null, null, "x", ""), "username");
        assertInvalid(() -> signIn.login(null, "admin", null, ""), "password");
        assertInvalid(() -> signIn.login(null, "ad min", "x", ""), "username");
        assertInvalid(() -> signIn.login(null, "x".repeat(10_000), "x", ""), "username");
        assertInvalid(() -> signIn.login("Bad Tenant!", "admin", "x", ""), "tenant");
        assertInvalid(() -> signIn.login(null, "admin", "p".repeat(1025), ""), "password");
        assertInvalid(() -> signIn.refresh(null, ""), "refresh_token");
        // A refresh token of the wrong shape is simply not valid.
        assertUnauthorized(() -> signIn.refresh("not-a-token", ""), SignIn.BAD_REFRESH);
        assertUnauthorized(() -> signIn.refresh("prt_" + "A".repeat(500), ""), SignIn.BAD_REFRESH);
    }

    @Test
    void lockOutAfterTheThresholdAnswersLikeAWrongPasswordAndEndsWithItsDuration() {
        SignIn.Tokens before = admin();
        SignIn.Tokens untouched = admin();
        for (int i = 0; i < 4; i++) {
            assertUnauthorized(() -> signIn.login(null, "admin", "wrong password!", ""), SignIn.WRONG_CREDENTIALS);
        }
        // Four failures: not locked yet; a success resets the count.
        admin();
        for (int i = 0; i < 5; i++) {
            assertUnauthorized(() -> signIn.login(null, "admin", "wrong password!", ""), SignIn.WRONG_CREDENTIALS);
        }
        assertThat(recorder.audits("user.lock", AuditOutcome.SUCCESS)).hasSize(1);
        // Locked: the right password gets the same answer, and the account's tokens are refused.
        assertUnauthorized(this::admin, SignIn.WRONG_CREDENTIALS);
        assertUnauthorized(() -> node.authenticate(before.accessToken()), SignIn.ACCOUNT_BLOCKED);
        assertUnauthorized(() -> signIn.refresh(before.refreshToken(), ""), SignIn.BAD_REFRESH);

        clock.advance(Duration.ofMinutes(15).plusSeconds(1));
        SignIn.Tokens after = admin();
        String subject = node.authenticate(after.accessToken()).subject();
        // The lock has passed for a session that was left alone; the one refreshed during the lock was ended.
        assertThat(node.authenticate(untouched.accessToken()).subject()).isEqualTo(subject);
        assertUnauthorized(() -> node.authenticate(before.accessToken()), SignIn.SESSION_REVOKED);
    }

    @Test
    void refreshRotatesAndAReusedTokenRevokesItsWholeFamily() {
        SignIn.Tokens first = admin();
        SignIn.Tokens second = signIn.refresh(first.refreshToken(), "");
        assertThat(second.refreshToken()).isNotEqualTo(first.refreshToken());
        String session = node.authenticate(first.accessToken()).credentialId();
        assertThat(node.authenticate(second.accessToken()).credentialId()).isEqualTo(session);
        SignIn.Tokens third = signIn.refresh(second.refreshToken(), "");

        // The first token again: a thief or a replay. The family ends, whoever holds its newest tokens.
        assertUnauthorized(() -> signIn.refresh(first.refreshToken(), "10.9.9.9"), SignIn.BAD_REFRESH);
        assertUnauthorized(() -> signIn.refresh(third.refreshToken(), ""), SignIn.BAD_REFRESH);
        assertUnauthorized(() -> node.authenticate(third.accessToken()), SignIn.SESSION_REVOKED);
        assertUnauthorized(() -> node.authenticate(first.accessToken()), SignIn.SESSION_REVOKED);
        assertThat(recorder.audits("auth.refresh", AuditOutcome.DENIED)).singleElement()
                .satisfies(a -> assertThat(a.sourceAddress()).isEqualTo("10.9.9.9"));
        assertThat(recorder.events).singleElement().satisfies(e -> {
            assertThat(e.getTopic()).isEqualTo(IdentityEvents.REVOKED);
            assertThat(e.getProperty(IdentityEvents.CREDENTIAL_ID)).isEqualTo(session);
            assertThat(e.getProperty(IdentityEvents.TENANT)).isEqualTo("default");
        });
        // Another session of the same user is untouched.
        SignIn.Tokens other = admin();
        assertThat(signIn.refresh(other.refreshToken(), "").accessToken()).isNotBlank();
    }

    @Test
    void anExpiredRefreshTokenIsRefusedAndChangesNothing() {
        SignIn.Tokens t = admin();
        clock.advance(Duration.ofDays(14).plusSeconds(1));
        assertUnauthorized(() -> signIn.refresh(t.refreshToken(), ""), SignIn.BAD_REFRESH);
        assertThat(recorder.events).isEmpty();
    }

    @Test
    void logoutEndsTheCallersSessionOnly() {
        SignIn.Tokens a = admin();
        SignIn.Tokens b = admin();
        signIn.logout(node.authenticate(a.accessToken()), "");
        assertUnauthorized(() -> node.authenticate(a.accessToken()), SignIn.SESSION_REVOKED);
        assertUnauthorized(() -> signIn.refresh(a.refreshToken(), ""), SignIn.BAD_REFRESH);
        assertThat(node.authenticate(b.accessToken())).isNotNull();
        assertThat(recorder.audits("auth.sign-out", AuditOutcome.SUCCESS)).hasSize(1);
        // A principal of another kind has no session here to end.
        Principal oidc = new Principal("x", "default", Set.of(Role.OWNER), AuthMethod.OIDC, "https://idp", Set.of(),
                null, "jti");
        assertInvalid(() -> signIn.logout(oidc, ""), null);
    }

    @Test
    void aPasswordChangeEndsEverySessionAndTheOldPasswordStopsWorking() {
        SignIn.Tokens a = admin();
        SignIn.Tokens b = admin();
        Principal caller = node.authenticate(a.accessToken());
        assertThatThrownBy(() -> signIn.changePassword(caller, "not the password", "a brand new password", ""))
                .isInstanceOfSatisfying(ParleyException.class,
                        e -> assertThat(e.code()).isEqualTo(ErrorCode.FORBIDDEN));
        assertInvalid(() -> signIn.changePassword(caller, TestIdentity.ADMIN_PASSWORD, "too short", ""), "new");

        SignIn.Tokens fresh = signIn.changePassword(caller, TestIdentity.ADMIN_PASSWORD, "a brand new password", "");
        assertUnauthorized(() -> node.authenticate(a.accessToken()), SignIn.SESSION_REVOKED);
        assertUnauthorized(() -> node.authenticate(b.accessToken()), SignIn.SESSION_REVOKED);
        assertUnauthorized(() -> signIn.refresh(b.refreshToken(), ""), SignIn.BAD_REFRESH);
        assertThat(node.authenticate(fresh.accessToken()).subject()).isEqualTo(caller.subject());
        assertUnauthorized(this::admin, SignIn.WRONG_CREDENTIALS);
        assertThat(signIn.login(null, "admin", "a brand new password", "").accessToken()).isNotBlank();
        assertThat(recorder.events).anySatisfy(e -> assertThat(e.getProperty(IdentityEvents.CREDENTIAL_ID))
                .isEqualTo(""));
    }

    @Test
    void aHashUnderWeakerParametersIsReplacedAtSignIn() {
        String weak = storedHash();
        assertThat(weak).contains("m=256,t=1,p=1");
        var stronger = new IdentitySettings("parley-test", Duration.ofMinutes(15), Duration.ofDays(14), 5,
                Duration.ofMinutes(15), 12, new PasswordHasher.Params(512, 2, 1), 4, Duration.ofSeconds(60),
                Duration.ofSeconds(5), Duration.ofDays(30), TestIdentity.ADMIN_PASSWORD);
        BuiltInIdentity upgraded = TestIdentity.node(stronger, db, sealer, clock, dataDir, recorder);
        upgraded.signIn().login(null, "admin", TestIdentity.ADMIN_PASSWORD, "");
        assertThat(storedHash()).contains("m=512,t=2,p=1");
        assertThat(recorder.audits("auth.sign-in", AuditOutcome.SUCCESS)).last()
                .satisfies(a -> assertThat(a.detail()).containsEntry("rehashed", "true"));
        // The next sign-in finds nothing to do, and the old node reads the stronger hash.
        upgraded.signIn().login(null, "admin", TestIdentity.ADMIN_PASSWORD, "");
        assertThat(recorder.audits("auth.sign-in", AuditOutcome.SUCCESS)).last()
                .satisfies(a -> assertThat(a.detail()).doesNotContainKey("rehashed"));
        assertThat(admin().accessToken()).isNotBlank();
    }

    @Test
    void aRevocationOnOneNodeIsHonouredOnAnotherAfterItsRefresh() {
        BuiltInIdentity other = TestIdentity.node(TestIdentity.settings(5), db, sealer, clock, dataDir,
                new TestIdentity.Recorder());
        SignIn.Tokens t = admin();
        // Keys are shared: the other node verifies this node's token.
        String session = other.authenticate(t.accessToken()).credentialId();
        signIn.logout(node.authenticate(t.accessToken()), "");
        // Until its next refresh the other node has not heard (the documented bound).
        assertThat(other.authenticate(t.accessToken()).credentialId()).isEqualTo(session);
        other.refresh();
        assertUnauthorized(() -> other.authenticate(t.accessToken()), SignIn.SESSION_REVOKED);
    }

    private String storedHash() {
        return db.inTransaction("read", c -> {
            try (var st = c.createStatement(); var rs = st.executeQuery(
                    "SELECT password_hash FROM identity_users WHERE username = 'admin'")) {
                return rs.next() ? rs.getString(1) : null;
            }
        });
    }

    static void assertUnauthorized(Runnable r, String reason) {
        assertThatThrownBy(r::run).isInstanceOfSatisfying(ParleyException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.UNAUTHORIZED);
            assertThat(e.getMessage()).isEqualTo(reason);
        });
    }

    static void assertInvalid(Runnable r, String param) {
        assertThatThrownBy(r::run).isInstanceOfSatisfying(ParleyException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
            if (param != null) {
                assertThat(e.param()).contains(param);
            }
        });
    }
}

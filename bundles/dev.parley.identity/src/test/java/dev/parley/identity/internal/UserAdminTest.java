package dev.parley.identity.internal;

import static dev.parley.identity.internal.SignInTest.assertInvalid;
import static dev.parley.identity.internal.SignInTest.assertUnauthorized;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.audit.AuditOutcome;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.Permission;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import dev.parley.db.internal.PooledDatabase;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Users and tenants for admins: who may do what, the last owner, and what a change does to sessions. */
class UserAdminTest {
    private static final String PASSWORD = "a good long password";

    @TempDir
    Path dataDir;

    private final TestIdentity.MovableClock clock = new TestIdentity.MovableClock();
    private final TestIdentity.Recorder recorder = new TestIdentity.Recorder();
    private PooledDatabase db;
    private BuiltInIdentity node;
    private UserAdmin users;
    private Principal operator;

    @BeforeEach
    void start() {
        db = TestIdentity.h2();
        node = TestIdentity.node(TestIdentity.settings(5), db, TestIdentity.sealer(), clock, dataDir, recorder);
        users = node.users();
        operator = node.authenticate(node.signIn().login(null, "admin", TestIdentity.ADMIN_PASSWORD, "")
                .accessToken());
    }

    @AfterEach
    void stop() {
        db.close();
    }

    private Principal signIn(String tenant, String username, String password) {
        return node.authenticate(node.signIn().login(tenant, username, password, "").accessToken());
    }

    @Test
    void anOperatorCreatesATenantAndItsOwnerWhoManagesOnlyItsOwnTenant() {
        var acme = users.createTenant(operator, "acme", "Acme Inc.", "10.1.1.1");
        assertThat(acme.name()).isEqualTo("Acme Inc.");
        assertThat(users.tenant(operator, "acme").id()).isEqualTo("acme");
        assertThat(users.tenants(operator, null, 10)).extracting(IdentityStore.Tenant::id)
                .containsExactly("acme", "default");
        expect(ErrorCode.CONFLICT, () -> users.createTenant(operator, "acme", null, ""));
        expect(ErrorCode.NOT_FOUND, () -> users.tenant(operator, "nope"));
        assertInvalid(() -> users.createTenant(operator, "Not A Slug", null, ""), "id");

        var owner = users.createUser(operator, "acme", "Olga", PASSWORD, List.of("owner"), "10.1.1.1");
        assertThat(owner.username()).isEqualTo("olga");
        Principal olga = signIn("acme", "olga", PASSWORD);
        assertThat(olga.tenantId()).isEqualTo("acme");
        assertThat(olga.can(Permission.USERS_ADMIN)).isTrue();
        assertThat(olga.can(Permission.TENANTS_ADMIN)).isFalse();

        // Olga manages acme's users, and only acme's.
        var member = users.createUser(olga, null, "mia", PASSWORD, List.of("member"), "");
        assertThat(member.tenantId()).isEqualTo("acme");
        expect(ErrorCode.FORBIDDEN, () -> users.users(olga, "default", null, 10));
        expect(ErrorCode.FORBIDDEN, () -> users.createTenant(olga, "evil", null, ""));
        expect(ErrorCode.NOT_FOUND, () -> users.user(olga, null, operator.subject()));
        // A member manages nobody.
        Principal mia = signIn("acme", "mia", PASSWORD);
        expect(ErrorCode.FORBIDDEN, () -> users.users(mia, null, null, 10));
        assertThat(recorder.audits("user.create", AuditOutcome.SUCCESS)).extracting(a -> a.tenantId())
                .containsExactly("acme", "acme");
        assertThat(recorder.audits("tenant.create", AuditOutcome.SUCCESS)).singleElement()
                .satisfies(a -> assertThat(a.sourceAddress()).isEqualTo("10.1.1.1"));
    }

    @Test
    void usersAreListedInPagesByUsername() {
        for (String name : List.of("dora", "bob", "eve", "carl")) {
            users.createUser(operator, null, name, PASSWORD, List.of("viewer"), "");
        }
        List<String> seen = new ArrayList<>();
        String after = null;
        do {
            var page = users.users(operator, null, after, 2);
            page.forEach(u -> seen.add(u.username()));
            after = page.size() == 2 ? page.get(1).username() : null;
        } while (after != null);
        assertThat(seen).containsExactly("admin", "bob", "carl", "dora", "eve");
        assertInvalid(() -> users.users(operator, null, null, 0), "limit");
        assertInvalid(() -> users.users(operator, null, null, 201), "limit");
    }

    @Test
    void creatingUsersChecksNamesPasswordsRolesAndDuplicates() {
        assertInvalid(() -> users.createUser(operator, null, "bad name", PASSWORD, List.of(), ""), "username");
        assertInvalid(() -> users.createUser(operator, null, "ok", "short", List.of(), ""), "password");
        assertInvalid(() -> users.createUser(operator, null, "ok", PASSWORD, List.of("emperor"), ""), "roles");
        assertInvalid(() -> users.createUser(operator, null, "ok", PASSWORD, null, ""), "roles");
        users.createUser(operator, null, "ok", PASSWORD, List.of(), "");
        expect(ErrorCode.CONFLICT, () -> users.createUser(operator, null, "OK", PASSWORD, List.of(), ""));
        expect(ErrorCode.NOT_FOUND, () -> users.createUser(operator, "ghost-tenant", "x", PASSWORD, List.of(), ""));
    }

    @Test
    void nobodyGrantsOrTakesARoleWithPermissionsTheyDoNotHold() {
        users.createUser(operator, null, "ada", PASSWORD, List.of("admin"), "");
        Principal ada = signIn(null, "ada", PASSWORD);
        // An admin lacks tenants:admin, which owner carries in the operator tenant.
        expect(ErrorCode.FORBIDDEN, () -> users.createUser(ada, null, "x", PASSWORD, List.of("owner"), ""));
        var dev = users.createUser(ada, null, "dev", PASSWORD, List.of("developer"), "");
        expect(ErrorCode.FORBIDDEN, () -> users.setRoles(ada, null, dev.id(), List.of("owner"), ""));
        expect(ErrorCode.FORBIDDEN, () -> users.setRoles(ada, null, operator.subject(), List.of("admin"), ""));
        expect(ErrorCode.FORBIDDEN, () -> users.setDisabled(ada, null, operator.subject(), true, ""));
        expect(ErrorCode.FORBIDDEN, () -> users.delete(ada, null, operator.subject(), ""));
        assertThat(users.setRoles(ada, null, dev.id(), List.of("member", "viewer"), "").roles())
                .containsExactlyInAnyOrder(Role.MEMBER, Role.VIEWER);
        // In another tenant, an owner's platform permissions are void, so an acme owner may make acme owners.
        users.createTenant(operator, "acme", null, "");
        users.createUser(operator, "acme", "olga", PASSWORD, List.of("owner"), "");
        Principal olga = signIn("acme", "olga", PASSWORD);
        assertThat(users.createUser(olga, null, "otto", PASSWORD, List.of("owner"), "").roles())
                .containsExactly(Role.OWNER);
    }

    @Test
    void aTenantAlwaysKeepsAnEnabledOwner() {
        String admin = operator.subject();
        expect(ErrorCode.CONFLICT, () -> users.setRoles(operator, null, admin, List.of("admin"), ""));
        expect(ErrorCode.CONFLICT, () -> users.setDisabled(operator, null, admin, true, ""));
        expect(ErrorCode.CONFLICT, () -> users.delete(operator, null, admin, ""));
        var second = users.createUser(operator, null, "second", PASSWORD, List.of("owner"), "");
        // A disabled owner does not count.
        users.setDisabled(operator, null, second.id(), true, "");
        expect(ErrorCode.CONFLICT, () -> users.setRoles(operator, null, admin, List.of("admin"), ""));
        users.setDisabled(operator, null, second.id(), false, "");
        assertThat(users.setRoles(operator, null, admin, List.of("admin"), "").roles()).containsExactly(Role.ADMIN);
        assertThat(recorder.audits("user.roles", AuditOutcome.SUCCESS)).singleElement()
                .satisfies(a -> assertThat(a.detail()).containsEntry("from", "owner").containsEntry("to", "admin"));
    }

    @Test
    void disablingEndsSessionsAndSignInUntilEnabledAgain() {
        var bob = users.createUser(operator, null, "bob", PASSWORD, List.of("member"), "");
        SignIn.Tokens t = node.signIn().login(null, "bob", PASSWORD, "");
        users.setDisabled(operator, null, bob.id(), true, "");
        assertUnauthorized(() -> node.authenticate(t.accessToken()), SignIn.SESSION_REVOKED);
        assertUnauthorized(() -> node.signIn().refresh(t.refreshToken(), ""), SignIn.BAD_REFRESH);
        assertUnauthorized(() -> node.signIn().login(null, "bob", PASSWORD, ""), SignIn.WRONG_CREDENTIALS);
        assertThat(users.user(operator, null, bob.id()).disabled()).isTrue();
        users.setDisabled(operator, null, bob.id(), false, "");
        assertThat(node.authenticate(node.signIn().login(null, "bob", PASSWORD, "").accessToken()).subject())
                .isEqualTo(bob.id());
        assertThat(recorder.events).anySatisfy(e -> assertThat(e.getProperty("subject")).isEqualTo(bob.id()));
    }

    @Test
    void anAdminUnlocksALockedAccount() {
        var bob = users.createUser(operator, null, "bob", PASSWORD, List.of("member"), "");
        for (int i = 0; i < 5; i++) {
            assertUnauthorized(() -> node.signIn().login(null, "bob", "not his password", ""),
                    SignIn.WRONG_CREDENTIALS);
        }
        assertThat(users.user(operator, null, bob.id()).lockedAt(clock.instant())).isTrue();
        assertUnauthorized(() -> node.signIn().login(null, "bob", PASSWORD, ""), SignIn.WRONG_CREDENTIALS);
        users.unlock(operator, null, bob.id(), "");
        assertThat(node.signIn().login(null, "bob", PASSWORD, "").accessToken()).isNotBlank();
    }

    @Test
    void roleRemovalEndsSessionsButAGrantDoesNot() {
        var bob = users.createUser(operator, null, "bob", PASSWORD, List.of("member"), "");
        SignIn.Tokens t = node.signIn().login(null, "bob", PASSWORD, "");
        users.setRoles(operator, null, bob.id(), List.of("member", "developer"), "");
        assertThat(node.authenticate(t.accessToken())).isNotNull();
        // The next refresh carries the current roles.
        SignIn.Tokens refreshed = node.signIn().refresh(t.refreshToken(), "");
        assertThat(node.authenticate(refreshed.accessToken()).roles()).containsExactlyInAnyOrder(Role.MEMBER,
                Role.DEVELOPER);
        users.setRoles(operator, null, bob.id(), List.of("viewer"), "");
        assertUnauthorized(() -> node.authenticate(refreshed.accessToken()), SignIn.SESSION_REVOKED);
    }

    @Test
    void aDeletedUsersTokensAndNameAreGone() {
        var bob = users.createUser(operator, null, "bob", PASSWORD, List.of("member"), "");
        SignIn.Tokens t = node.signIn().login(null, "bob", PASSWORD, "");
        users.delete(operator, null, bob.id(), "");
        assertUnauthorized(() -> node.authenticate(t.accessToken()), SignIn.SESSION_REVOKED);
        assertUnauthorized(() -> node.signIn().login(null, "bob", PASSWORD, ""), SignIn.WRONG_CREDENTIALS);
        expect(ErrorCode.NOT_FOUND, () -> users.user(operator, null, bob.id()));
        // The name can be taken again, by a new user with a new id.
        assertThat(users.createUser(operator, null, "bob", PASSWORD, List.of(), "").id()).isNotEqualTo(bob.id());
    }

    private static void expect(ErrorCode code, Runnable r) {
        assertThatThrownBy(r::run).isInstanceOfSatisfying(ParleyException.class,
                e -> assertThat(e.code()).isEqualTo(code));
    }
}

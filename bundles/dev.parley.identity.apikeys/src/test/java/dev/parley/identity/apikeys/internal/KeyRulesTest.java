package dev.parley.identity.apikeys.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Set;
import org.junit.jupiter.api.Test;

class KeyRulesTest {
    private static final Instant NOW = Instant.parse("2026-12-05T10:00:00Z");

    static Principal user(String tenant, Set<Role> roles, String... scopes) {
        return new Principal("alice", tenant, roles, AuthMethod.PASSWORD, "https://parley.local", Set.of(scopes),
                NOW.plusSeconds(900), "session-1");
    }

    private final Principal developer = user("acme", Set.of(Role.DEVELOPER));

    private static KeyRules.Request request(List<String> scopes, List<String> roles, Integer days) {
        return new KeyRules.Request("ci", scopes, roles, days);
    }

    private static void assertInvalid(Runnable r, String param, String message) {
        assertThatThrownBy(r::run).isInstanceOfSatisfying(ParleyException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.INVALID_REQUEST);
            assertThat(e.param()).hasValue(param);
            assertThat(e.getMessage()).contains(message);
        });
    }

    @Test
    void withoutRolesOrScopesAKeyActsWithItsCreatorsRolesAndLimits() {
        KeyRules.Spec spec = KeyRules.check(developer, request(null, null, 30), 365, NOW);
        assertThat(spec.name()).isEqualTo("ci");
        assertThat(spec.roles()).containsExactly(Role.DEVELOPER);
        assertThat(spec.scopes()).isEmpty();
        assertThat(spec.expiresAt()).isEqualTo(NOW.plus(Duration.ofDays(30)));

        Principal limited = user("acme", Set.of(Role.DEVELOPER), "chat", "model:gpt-4o", "openid", "profile");
        assertThat(KeyRules.check(limited, request(null, null, 1), 365, NOW).scopes())
                .containsExactlyInAnyOrder("chat", "model:gpt-4o");
    }

    @Test
    void theNameIsRequiredShortAndPrintable() {
        assertInvalid(() -> KeyRules.name(null), "name", "Field 'name' is required");
        assertInvalid(() -> KeyRules.name("  "), "name", "Field 'name' is required");
        assertInvalid(() -> KeyRules.name("x".repeat(101)), "name", "at most 100 characters");
        assertInvalid(() -> KeyRules.name("a\nb"), "name", "control characters");
        assertThat(KeyRules.name("  deploy bot  ")).isEqualTo("deploy bot");
        assertThat(KeyRules.name("x".repeat(100))).hasSize(100);
    }

    @Test
    void rolesAreAtMostTheCreators() {
        Principal admin = user("acme", Set.of(Role.ADMIN));
        assertThat(KeyRules.roles(admin, List.of("developer", "member"))).containsExactlyInAnyOrder(Role.DEVELOPER,
                Role.MEMBER);
        assertThat(KeyRules.roles(developer, List.of("MEMBER"))).containsExactly(Role.MEMBER);

        assertInvalid(() -> KeyRules.roles(developer, List.of("member", "admin")), "roles[1]",
                "role 'admin' allows more than your roles do");
        // plugin-admin holds permissions a developer does not, though it is "below" it in the list
        assertInvalid(() -> KeyRules.roles(developer, List.of("plugin-admin")), "roles[0]", "allows more");
        assertInvalid(() -> KeyRules.roles(admin, List.of("owner")), "roles[0]", "allows more");
        assertInvalid(() -> KeyRules.roles(developer, List.of("root")), "roles[0]", "unknown role 'root'");
        assertInvalid(() -> KeyRules.roles(developer, Arrays.asList((String) null)), "roles[0]", "unknown role");
        assertInvalid(() -> KeyRules.roles(developer, List.of()), "roles", "at least one role");
    }

    @Test
    void scopesArePermissionsTheKeysRolesGrantOrModels() {
        List<String> scopes = KeyRules.scopes(developer, Set.of(Role.DEVELOPER),
                List.of("Chat", "models:read", "model:gpt-4o", "model:meta-llama/Llama-3-8B", "chat"));
        assertThat(scopes).containsExactly("chat", "models:read", "model:gpt-4o", "model:meta-llama/Llama-3-8B");

        assertInvalid(() -> KeyRules.scopes(developer, Set.of(Role.DEVELOPER), List.of("chat", "admin:all")),
                "scopes[1]", "unknown scope 'admin:all'");
        assertInvalid(() -> KeyRules.scopes(developer, Set.of(Role.MEMBER), List.of("keys:own")), "scopes[0]",
                "the key's roles do not grant 'keys:own'");
        assertInvalid(() -> KeyRules.scopes(developer, Set.of(Role.DEVELOPER), List.of("model:")), "scopes[0]",
                "a model scope is model:<model id>");
        assertInvalid(() -> KeyRules.scopes(developer, Set.of(Role.DEVELOPER), List.of("model:gpt 4o")), "scopes[0]",
                "without spaces");
        assertInvalid(() -> KeyRules.scopes(developer, Set.of(Role.DEVELOPER), List.of(" ")), "scopes[0]", "empty");
        assertInvalid(() -> KeyRules.scopes(developer, Set.of(Role.DEVELOPER),
                java.util.Collections.nCopies(65, "chat")), "scopes", "at most 64");
    }

    @Test
    void platformPermissionsAreNotGrantedOutsideTheOperatorTenant() {
        Principal tenantAdmin = user("acme", Set.of(Role.ADMIN));
        assertInvalid(() -> KeyRules.scopes(tenantAdmin, Set.of(Role.ADMIN), List.of("plugins:admin")), "scopes[0]",
                "do not grant 'plugins:admin'");
        Principal operatorAdmin = user(Principal.OPERATOR_TENANT, Set.of(Role.ADMIN));
        assertThat(KeyRules.scopes(operatorAdmin, Set.of(Role.ADMIN), List.of("plugins:admin")))
                .containsExactly("plugins:admin");
    }

    @Test
    void aKeyCannotDoMoreThanItsCreatorsCredentialAllows() {
        // The creator signed in with a token limited to chat and key management.
        Principal limited = user("acme", Set.of(Role.DEVELOPER), "chat", "keys:own");
        assertInvalid(() -> KeyRules.scopes(limited, Set.of(Role.DEVELOPER), List.of()), "scopes",
                "the key would allow 'models:read', which your credential does not");
        assertThat(KeyRules.scopes(limited, Set.of(Role.DEVELOPER), List.of("chat"))).containsExactly("chat");

        Principal modelLimited = user("acme", Set.of(Role.DEVELOPER), "model:gpt-4o", "model:gpt-4o-mini");
        assertInvalid(() -> KeyRules.scopes(modelLimited, Set.of(Role.DEVELOPER), List.of("chat")), "scopes",
                "limited to the models gpt-4o, gpt-4o-mini");
        assertInvalid(() -> KeyRules.scopes(modelLimited, Set.of(Role.DEVELOPER), List.of("model:o3")), "scopes",
                "limited to the models");
        assertThat(KeyRules.scopes(modelLimited, Set.of(Role.DEVELOPER), List.of("model:gpt-4o-mini")))
                .containsExactly("model:gpt-4o-mini");
    }

    @Test
    void expiryIsCappedByConfiguration() {
        assertThat(KeyRules.expiry(null, 90, NOW)).isEqualTo(NOW.plus(Duration.ofDays(90)));
        assertThat(KeyRules.expiry(90, 90, NOW)).isEqualTo(NOW.plus(Duration.ofDays(90)));
        assertInvalid(() -> KeyRules.expiry(91, 90, NOW), "expires_in_days", "at most 90 on this server");
        assertInvalid(() -> KeyRules.expiry(0, 90, NOW), "expires_in_days", "at least 1");
        assertInvalid(() -> KeyRules.expiry(-5, 90, NOW), "expires_in_days", "at least 1");
        // No cap configured: keys may live forever, but a day count stays a sane date.
        assertThat(KeyRules.expiry(null, 0, NOW)).isNull();
        assertThat(KeyRules.expiry(3650, 0, NOW)).isEqualTo(NOW.plus(Duration.ofDays(3650)));
        assertInvalid(() -> KeyRules.expiry(Integer.MAX_VALUE, 0, NOW), "expires_in_days", "at most 36500");
    }

    @Test
    void aMissingBodyIsAClearRefusal() {
        assertThatThrownBy(() -> KeyRules.check(developer, null, 365, NOW)).isInstanceOfSatisfying(
                ParleyException.class, e -> assertThat(e.getMessage()).startsWith("The body must be a JSON object"));
    }
}

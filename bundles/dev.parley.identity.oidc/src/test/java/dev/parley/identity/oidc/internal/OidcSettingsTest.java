package dev.parley.identity.oidc.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.nimbusds.jose.JWSAlgorithm;
import dev.parley.api.identity.Role;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Configurations that would weaken verification are refused at activation, with a message an admin can act on. */
class OidcSettingsTest {
    private static OidcSettings settings(Map<String, Object> extra) {
        Map<String, Object> values = new HashMap<>(Map.of("issuer", "https://id.example.com/realms/acme",
                "audiences", new String[] { "parley" }));
        values.putAll(extra);
        return OidcSettings.from(TestConfig.config(values));
    }

    @Test
    void defaults() {
        OidcSettings s = settings(Map.of());
        assertThat(s.algorithms()).containsExactly(JWSAlgorithm.RS256, JWSAlgorithm.ES256, JWSAlgorithm.EdDSA);
        assertThat(s.clockSkew()).isEqualTo(Duration.ofSeconds(60));
        assertThat(s.tenantClaim()).isEqualTo("tenant");
        assertThat(s.rolesClaim()).isEqualTo("roles");
        assertThat(s.scopesClaim()).isEqualTo("scope");
        assertThat(s.maxTokenBytes()).isEqualTo(16384);
        assertThat(s.jwksCache()).isEqualTo(Duration.ofSeconds(300));
        assertThat(s.jwksMinRefresh()).isEqualTo(Duration.ofSeconds(30));
        assertThat(s.loopbackIssuer()).isFalse();
    }

    @Test
    void symmetricOrNoAlgorithmIsRefused() {
        for (String alg : new String[] { "HS256", "HS512", "none", "NONE", "rs256", "RSA-OAEP" }) {
            assertThatThrownBy(() -> settings(Map.of("algorithms", new String[] { "RS256", alg })))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("algorithm '" + alg + "' is not accepted")
                    .hasMessageContaining("never HMAC (HS*) or none");
        }
    }

    @Test
    void atLeastOneAudienceIsRequired() {
        assertThatThrownBy(() -> settings(Map.of("audiences", new String[0])))
                .hasMessageContaining("'audiences' needs at least one value");
        assertThatThrownBy(() -> settings(Map.of("audiences", new String[] { " " })))
                .hasMessageContaining("'audiences' needs at least one value");
    }

    @Test
    void roleMappingNamesParleyRolesOnly() {
        assertThat(settings(Map.of("roleMapping", new String[] { "parley-admins=admin", "x=plugin-admin" }))
                .roleMapping()).containsEntry("parley-admins", Role.ADMIN).containsEntry("x", Role.PLUGIN_ADMIN);
        assertThatThrownBy(() -> settings(Map.of("roleMapping", new String[] { "parley-admins=superuser" })))
                .hasMessageContaining("names no Parley role").hasMessageContaining("plugin-admin");
        assertThatThrownBy(() -> settings(Map.of("roleMapping", new String[] { "no-equals" })))
                .hasMessageContaining("is not issuerRole=parley-role");
    }

    @Test
    void skewIsBounded() {
        assertThat(settings(Map.of("clockSkewSeconds", 300)).clockSkew()).isEqualTo(Duration.ofSeconds(300));
        assertThatThrownBy(() -> settings(Map.of("clockSkewSeconds", 301)))
                .hasMessageContaining("'clockSkewSeconds' must be between 0 and 300, not 301");
        assertThatThrownBy(() -> settings(Map.of("clockSkewSeconds", -1))).hasMessageContaining("clockSkewSeconds");
    }

    @Test
    void theIssuerMustBeHttpsExceptOnThisMachine() {
        assertThatThrownBy(() -> settings(Map.of("issuer", "http://id.example.com"))).hasMessageContaining("https");
        assertThatThrownBy(() -> settings(Map.of("issuer", ""))).hasMessageContaining("'issuer' is required");
        assertThatThrownBy(() -> settings(Map.of("issuer", "https://id.example.com/?x=1")))
                .hasMessageContaining("without query");
        assertThat(settings(Map.of("issuer", "http://localhost:8080/realms/x")).loopbackIssuer()).isTrue();
        assertThat(settings(Map.of("issuer", "http://127.0.0.1:8080")).loopbackIssuer()).isTrue();
    }

    @Test
    void sizesAndIntervalsMustBePositive() {
        assertThatThrownBy(() -> settings(Map.of("maxTokenBytes", 0))).hasMessageContaining("'maxTokenBytes'");
        assertThatThrownBy(() -> settings(Map.of("jwksMinRefreshSeconds", 0)))
                .hasMessageContaining("'jwksMinRefreshSeconds'");
    }

    @Test
    void theBrowserSignInIsOffWithoutAClientIdAndCheckedWithOne() {
        assertThat(settings(Map.of()).login()).isNull();
        Map<String, Object> login = Map.of("clientId", "parley", "allowedRedirectUris",
                new String[] { "https://chat.example.com/in", "http://localhost:3000/in" },
                "scopes", new String[] { "profile email", "groups" }, "callbackBaseUrl", "https://parley.example.com/");
        OidcSettings.LoginSettings s = OidcSettings.from(TestConfig.config(merged(login)), "acme").login();
        assertThat(s.name()).isEqualTo("acme");
        assertThat(s.scopes()).containsExactly("openid", "profile", "email", "groups");
        assertThat(s.callbackBaseUrl()).isEqualTo("https://parley.example.com");
        assertThat(s.timeout()).isEqualTo(Duration.ofSeconds(600));
        assertThat(s.maxPending()).isEqualTo(1000);

        assertThatThrownBy(() -> OidcSettings.from(TestConfig.config(merged(login)), ""))
                .hasMessageContaining("needs a named configuration");
        assertThatThrownBy(() -> OidcSettings.from(TestConfig.config(merged(Map.of("clientId", "parley"))), "acme"))
                .hasMessageContaining("needs 'allowedRedirectUris'");
        for (String bad : new String[] { "http://chat.example.com/in", "https://chat.example.com/in#x", "/relative",
                "javascript:alert(1)", "https://user@chat.example.com/" }) {
            assertThatThrownBy(() -> OidcSettings.from(TestConfig.config(merged(Map.of("clientId", "parley",
                    "allowedRedirectUris", new String[] { bad }))), "acme"))
                    .as(bad).isInstanceOf(IllegalArgumentException.class).hasMessageContaining("allowed");
        }
        assertThatThrownBy(() -> OidcSettings.from(TestConfig.config(merged(Map.of("clientId", "parley",
                "allowedRedirectUris", new String[] { "https://chat.example.com/in" }, "callbackBaseUrl",
                "http://parley.example.com"))), "acme")).hasMessageContaining("'callbackBaseUrl'");
        assertThatThrownBy(() -> OidcSettings.from(TestConfig.config(merged(Map.of("clientId", "parley",
                "allowedRedirectUris", new String[] { "https://chat.example.com/in" }, "loginTimeoutSeconds", 5))),
                "acme")).hasMessageContaining("'loginTimeoutSeconds'");
    }

    @Test
    void theNameOfANamedFactoryConfigurationIsWhatFollowsTheTilde() {
        assertThat(OidcBearerAuthenticator.name("dev.parley.identity.oidc~keycloak")).isEqualTo("keycloak");
        assertThat(OidcBearerAuthenticator.name("dev.parley.identity.oidc.1234")).isEmpty();
        assertThat(OidcBearerAuthenticator.name(null)).isEmpty();
    }

    private static Map<String, Object> merged(Map<String, Object> extra) {
        Map<String, Object> values = new HashMap<>(Map.of("issuer", "https://id.example.com/realms/acme",
                "audiences", new String[] { "parley" }));
        values.putAll(extra);
        return values;
    }
}

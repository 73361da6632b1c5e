package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.BearerAuthenticator;
import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Base64;
import java.util.Hashtable;
import org.apache.felix.hc.api.HealthCheck;
import org.apache.felix.hc.api.Result;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.component.runtime.dto.ComponentDescriptionDTO;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * The OIDC bundle in the runtime as shipped: it resolves (with Nimbus JOSE+JWT as a bundle beside it), and a factory
 * configuration registers a BearerAuthenticator and its health check, and with a client id the browser sign-in is
 * served behind the real edge (its database table migrated). The issuer here is an address nothing listens on, so a
 * token is refused with the clear reason, the health check warns and a sign-in cannot start (503); the whole
 * sign-in against a real issuer is BrowserSignInTest in the bundle.
 */
class OidcAuthenticatorTest {
    static final String ISSUER = "http://127.0.0.1:9/realms/itest";
    static final String CONSOLE = "http://localhost:3000/signed-in";

    @InjectService(timeout = 20_000)
    ConfigurationAdmin configAdmin;

    @InjectService(cardinality = 0, filter = "(issuer=" + ISSUER + ")")
    ServiceAware<BearerAuthenticator> authenticator;

    @InjectService(cardinality = 0, filter = "(&(hc.name=Parley OIDC issuer)(issuer=" + ISSUER + "))")
    ServiceAware<HealthCheck> health;

    @InjectService(timeout = 20_000)
    ServiceComponentRuntime scr;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    private Configuration config;

    @AfterEach
    void removeConfiguration() throws Exception {
        if (config != null) {
            config.delete();
        }
    }

    @Test
    void aConfiguredIssuerRegistersAnAuthenticatorThatRefusesClearlyWhileTheIssuerIsDown() throws Exception {
        config = configAdmin.getFactoryConfiguration("dev.parley.identity.oidc", "itest", "?");
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("issuer", ISSUER);
        props.put("audiences", new String[] { "parley" });
        props.put("roleMapping", new String[] { "parley-admins=admin" });
        config.update(props);

        BearerAuthenticator oidc = authenticator.waitForService(20_000);
        assertThat(oidc).isNotNull();
        String token = jwt("{\"alg\":\"RS256\",\"typ\":\"JWT\",\"kid\":\"k1\"}",
                "{\"iss\":\"" + ISSUER + "\",\"aud\":\"parley\",\"sub\":\"alice\",\"tenant\":\"acme\",\"exp\":"
                        + Instant.now().plusSeconds(600).getEpochSecond() + "}");
        assertThat(oidc.recognizes(token)).isTrue();
        assertThat(oidc.recognizes(jwt("{\"alg\":\"RS256\"}", "{\"iss\":\"https://elsewhere.example\"}"))).isFalse();
        assertThatThrownBy(() -> oidc.authenticate(token)).isInstanceOfSatisfying(ParleyException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.UNAVAILABLE);
            assertThat(e.getMessage()).isEqualTo("the identity provider cannot be reached");
        });
        assertThatThrownBy(() -> oidc.authenticate(jwt("{\"alg\":\"none\"}", "{\"iss\":\"" + ISSUER + "\"}")))
                .hasMessage("the token uses an algorithm that is not allowed");

        Result result = health.waitForService(20_000).execute();
        assertThat(result.getStatus()).isEqualTo(Result.Status.WARN);
        assertThat(result.toString()).contains("cannot be reached");
    }

    @Test
    void aConfigurationWithAnHmacAlgorithmRegistersNothing() throws Exception {
        config = configAdmin.getFactoryConfiguration("dev.parley.identity.oidc", "itest", "?");
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("issuer", ISSUER);
        props.put("audiences", new String[] { "parley" });
        props.put("algorithms", new String[] { "HS256" });
        config.update(props);

        // The component is refused at activation, with the reason an admin can act on, and registers nothing.
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(failures())
                .anySatisfy(f -> assertThat(f).contains("algorithm 'HS256' is not accepted")));
        assertThat(authenticator.getService()).isNull();
    }

    @Test
    void theBrowserSignInIsServedThroughTheEdgeAndRefusesClearly() throws Exception {
        config = configAdmin.getFactoryConfiguration("dev.parley.identity.oidc", "itest", "?");
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("issuer", ISSUER);
        props.put("audiences", new String[] { "parley" });
        props.put("clientId", "parley-console");
        props.put(".clientSecret", "not-a-service-property");
        props.put("allowedRedirectUris", new String[] { CONSOLE });
        config.update(props);
        assertThat(authenticator.waitForService(20_000)).isNotNull();
        // The secret stays out of the service properties.
        assertThat(authenticator.getServiceReference().getProperty(".clientSecret")).isNull();
        Server server = new Server(http.getServiceReference());
        String login = "api/v1/auth/oidc/itest/login?redirect_uri=" + URLEncoder.encode(CONSOLE, StandardCharsets.UTF_8);

        // No credential needed (a public route at the edge); the issuer cannot be reached: 503 with a retry hint.
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(
                server.sendAnonymous(server.request(login)).status()).isEqualTo(503));
        Server.Reply down = server.sendAnonymous(server.request(login));
        assertThat(down.contentType()).startsWith("application/problem+json");
        assertThat(down.json().get("detail").asText()).isEqualTo("the identity provider cannot be reached");

        Server.Reply notAllowed = server.sendAnonymous(server.request(
                "api/v1/auth/oidc/itest/login?redirect_uri=https%3A%2F%2Fevil.example.com%2F"));
        assertThat(notAllowed.status()).isEqualTo(400);
        assertThat(notAllowed.json().get("detail").asText()).contains("not one of the addresses allowed");
        assertThat(server.sendAnonymous(server.request("api/v1/auth/oidc/nobody/login?redirect_uri=x")).status())
                .isEqualTo(404);
        // The callback looks the state up in the database: an unknown one is a 400 problem.
        Server.Reply callback = server.sendAnonymous(server.request(
                "api/v1/auth/oidc/itest/callback?code=c&state=never-issued"));
        assertThat(callback.status()).isEqualTo(400);
        assertThat(callback.json().get("detail").asText()).contains("unknown or was used already");
    }

    private List<String> failures() {
        List<String> out = new ArrayList<>();
        for (ComponentDescriptionDTO d : scr.getComponentDescriptionDTOs()) {
            if (d.name.equals("dev.parley.identity.oidc.internal.OidcBearerAuthenticator")) {
                for (ComponentConfigurationDTO c : scr.getComponentConfigurationDTOs(d)) {
                    if (c.state == ComponentConfigurationDTO.FAILED_ACTIVATION && c.failure != null) {
                        out.add(c.failure);
                    }
                }
            }
        }
        return out;
    }

    private static String jwt(String header, String payload) {
        Base64.Encoder b64 = Base64.getUrlEncoder().withoutPadding();
        return b64.encodeToString(header.getBytes(StandardCharsets.UTF_8)) + "."
                + b64.encodeToString(payload.getBytes(StandardCharsets.UTF_8)) + ".c2ln";
    }
}

package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.identity.BearerAuthenticator;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.BundleContext;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * The built-in sign-in as shipped, over real HTTP (Felix, Jetty, the REST whiteboard, H2): the bootstrap admin signs
 * in with the generated password, refreshes, sees a reused refresh token end the session, makes a tenant and its
 * owner, locks an account out and changes the password, all through the real edge.
 */
class BuiltInSignInTest {
    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    @InjectService(timeout = 30_000, filter = "(parley.authenticator=password)")
    BearerAuthenticator signIn;

    private Server server;

    @BeforeEach
    void connect() throws Exception {
        server = new Server(http.getServiceReference());
        await().atMost(Duration.ofSeconds(30)).until(() -> server.get("health/ready").status() == 200);
    }

    @Test
    void theBootstrapAdminSignsInRefreshesAndAReusedRefreshTokenEndsTheSession() throws Exception {
        Path file = Path.of(context.getProperty("parley.data.dir"), "bootstrap-admin-password");
        assertThat(file).exists();
        String password = Files.readString(file).strip();

        Server.Reply login = server.post("api/v1/auth/login", json("username", "admin", "password", password));
        assertThat(login.status()).as(login.body()).isEqualTo(200);
        JsonNode tokens = login.json();
        assertThat(tokens.get("token_type").asText()).isEqualTo("Bearer");
        assertThat(tokens.get("expires_in").asLong()).isEqualTo(900);
        String access = tokens.get("access_token").asText();
        String refresh = tokens.get("refresh_token").asText();

        JsonNode me = bearer("GET", "api/v1/auth/me", access, null).json();
        assertThat(me.get("tenant").asText()).isEqualTo("default");
        assertThat(me.get("roles").toString()).isEqualTo("[\"owner\"]");
        assertThat(me.get("permissions").toString()).contains("tenants:admin", "users:admin");
        assertThat(server.sendAnonymous(server.request("api/v1/auth/me").GET()).status()).isEqualTo(401);

        // Rotation: a new pair; the old refresh token is used up.
        Server.Reply refreshed = server.post("api/v1/auth/refresh", json("refresh_token", refresh));
        assertThat(refreshed.status()).as(refreshed.body()).isEqualTo(200);
        String access2 = refreshed.json().get("access_token").asText();
        String refresh2 = refreshed.json().get("refresh_token").asText();
        assertThat(refresh2).isNotEqualTo(refresh);
        assertThat(bearer("GET", "api/v1/auth/me", access2, null).status()).isEqualTo(200);

        // Reuse of the old one: 401, and the whole session ends, newest tokens included.
        Server.Reply reuse = server.post("api/v1/auth/refresh", json("refresh_token", refresh));
        assertThat(reuse.status()).isEqualTo(401);
        assertThat(reuse.contentType()).contains("problem+json");
        assertThat(reuse.body()).contains("the refresh token is not valid").doesNotContain(refresh);
        assertThat(bearer("GET", "api/v1/auth/me", access2, null).status()).isEqualTo(401);
        assertThat(server.post("api/v1/auth/refresh", json("refresh_token", refresh2)).status()).isEqualTo(401);

        // Malformed bodies are 400 problems.
        assertThat(server.post("api/v1/auth/login", "not json").status()).isEqualTo(400);
        assertThat(server.post("api/v1/auth/login", "{\"password\":\"x\"}").status()).isEqualTo(400);
        assertThat(server.post("api/v1/auth/login", "{\"username\":42,\"password\":\"x\"}").status()).isEqualTo(400);
        assertThat(server.post("api/v1/auth/refresh", "{}").status()).isEqualTo(400);
    }

    @Test
    void anOperatorMakesATenantWithAnOwnerLocksAnAccountOutAndChangesThePassword() throws Exception {
        String password = Files.readString(Path.of(context.getProperty("parley.data.dir"),
                "bootstrap-admin-password")).strip();
        String admin = server.post("api/v1/auth/login", json("username", "admin", "password", password)).json()
                .get("access_token").asText();

        // A tenant and its owner, made by the operator.
        Server.Reply tenant = bearer("POST", "api/v1/admin/tenants", admin, json("id", "acme", "name", "Acme"));
        assertThat(tenant.status()).as(tenant.body()).isEqualTo(201);
        Server.Reply olga = bearer("POST", "api/v1/admin/users?tenant=acme", admin,
                "{\"username\":\"olga\",\"password\":\"olga's long password\",\"roles\":[\"owner\"]}");
        assertThat(olga.status()).as(olga.body()).isEqualTo(201);
        assertThat(olga.json().get("tenant").asText()).isEqualTo("acme");
        String olgaToken = server.post("api/v1/auth/login", json("tenant", "acme", "username", "olga", "password",
                "olga's long password")).json().get("access_token").asText();
        JsonNode olgaMe = bearer("GET", "api/v1/auth/me", olgaToken, null).json();
        assertThat(olgaMe.get("tenant").asText()).isEqualTo("acme");
        assertThat(olgaMe.get("permissions").toString()).contains("users:admin").doesNotContain("tenants:admin");
        assertThat(bearer("GET", "api/v1/admin/tenants", olgaToken, null).status()).isEqualTo(403);
        assertThat(bearer("GET", "api/v1/admin/users?tenant=default", olgaToken, null).status()).isEqualTo(403);
        Server.Reply acmeUsers = bearer("GET", "api/v1/admin/users", olgaToken, null);
        assertThat(acmeUsers.status()).isEqualTo(200);
        assertThat(acmeUsers.json().get("users")).hasSize(1);

        // Lock-out: five wrong passwords, then the right one gets the same 401; an admin unlocks.
        Server.Reply locky = bearer("POST", "api/v1/admin/users", admin,
                "{\"username\":\"locky\",\"password\":\"locky's long password\",\"roles\":[\"member\"]}");
        assertThat(locky.status()).isEqualTo(201);
        String wrong = null;
        for (int i = 0; i < 5; i++) {
            Server.Reply r = server.post("api/v1/auth/login", json("username", "locky", "password", "wrong!"));
            assertThat(r.status()).isEqualTo(401);
            wrong = r.json().get("detail").asText();
        }
        Server.Reply locked = server.post("api/v1/auth/login", json("username", "locky", "password",
                "locky's long password"));
        assertThat(locked.status()).isEqualTo(401);
        assertThat(locked.json().get("detail").asText()).isEqualTo(wrong);
        String lockyId = locky.json().get("id").asText();
        assertThat(bearer("GET", "api/v1/admin/users/" + lockyId, admin, null).json().get("locked").asBoolean())
                .isTrue();
        assertThat(bearer("POST", "api/v1/admin/users/" + lockyId + "/unlock", admin, null).status()).isEqualTo(200);
        assertThat(server.post("api/v1/auth/login", json("username", "locky", "password", "locky's long password"))
                .status()).isEqualTo(200);

        // The password changes; every older session ends; only the new password signs in.
        Server.Reply changed = bearer("POST", "api/v1/auth/password", admin,
                json("current", password, "new", "the operator's new password"));
        assertThat(changed.status()).as(changed.body()).isEqualTo(200);
        assertThat(bearer("GET", "api/v1/auth/me", admin, null).status()).isEqualTo(401);
        String fresh = changed.json().get("access_token").asText();
        assertThat(bearer("GET", "api/v1/auth/me", fresh, null).status()).isEqualTo(200);
        assertThat(server.post("api/v1/auth/login", json("username", "admin", "password", password)).status())
                .isEqualTo(401);
        // Back to the bootstrap password, so that the other test of this class finds it as the file says.
        assertThat(bearer("POST", "api/v1/auth/password", fresh,
                json("current", "the operator's new password", "new", password)).status()).isEqualTo(200);
        assertThat(bearer("POST", "api/v1/auth/logout", fresh, null).status()).isEqualTo(401);
    }

    /** Until the test filter is served, a token is not seen: wait for the whiteboard to add it. */
    private Server.Reply bearer(String method, String path, String token, String body) {
        var request = server.request(path).header("Authorization", "Bearer " + token);
        if (body != null) {
            request.header("Content-Type", "application/json").method(method,
                    java.net.http.HttpRequest.BodyPublishers.ofString(body));
        } else {
            request.method(method, java.net.http.HttpRequest.BodyPublishers.noBody());
        }
        return server.send(request);
    }

    private static String json(String... pairs) {
        StringBuilder sb = new StringBuilder("{");
        for (int i = 0; i < pairs.length; i += 2) {
            if (i > 0) {
                sb.append(',');
            }
            sb.append('"').append(pairs[i]).append("\":\"").append(pairs[i + 1].replace("\"", "\\\"")).append('"');
        }
        return sb.append('}').toString();
    }
}

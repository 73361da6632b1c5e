package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.identity.AuthMethod;
import dev.parley.api.identity.BearerAuthenticator;
import dev.parley.api.identity.IdentityEvents;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.Hashtable;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.BundleContext;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.event.EventConstants;
import org.osgi.service.event.EventHandler;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * API keys in the runtime as shipped (real Felix, Jetty over loopback, embedded H2): created, listed, used and revoked
 * over HTTP, and checked by the {@link BearerAuthenticator} the bundle registers.
 *
 * <p>Signed-in users are stood in for by a test {@link BearerAuthenticator} registered by the test: credentials
 * {@code it:subject;tenant;role,role} that the real edge accepts like any other.
 */
class ApiKeysTest {
    static final String PID = "dev.parley.identity.apikeys";
    static final String TEST_PREFIX = "it:";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    @InjectService(timeout = 20_000)
    ConfigurationAdmin configAdmin;

    private final HttpClient client = HttpClient.newHttpClient();
    private final List<org.osgi.service.event.Event> revocations = new CopyOnWriteArrayList<>();
    private final List<ServiceRegistration<?>> registrations = new ArrayList<>();
    private Configuration config;
    private Server server;
    /** A tenant of this test's own: the database outlives a test method. */
    private String tenant;
    private BearerAuthenticator authenticator;

    @BeforeEach
    void setUp() throws Exception {
        server = new Server(http.getServiceReference());
        tenant = "itest-" + UUID.randomUUID().toString().substring(0, 8);

        // Last-used times written every second, so the test sees one within its patience.
        config = configAdmin.getConfiguration(PID, "?");
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("lastUsedWriteSeconds", 1);
        props.put("maxExpiryDays", 90);
        config.update(props);
        authenticator = await().atMost(Duration.ofSeconds(20)).until(() -> apiKeyAuthenticator(
                "(&(parley.authenticator=api-key)(lastUsedWriteSeconds=1))"), a -> a != null);

        registrations.add(context.registerService(BearerAuthenticator.class, new SignedInUsers(), null));
        Hashtable<String, Object> handlerProps = new Hashtable<>();
        handlerProps.put(EventConstants.EVENT_TOPIC, IdentityEvents.REVOKED);
        registrations.add(context.registerService(EventHandler.class, revocations::add, handlerProps));

        // The keys resources come back after the configuration change restarted the component they use.
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(
                server.send(as(server.request("api/v1/keys"), "alice", Role.DEVELOPER)).status()).isEqualTo(200));
    }

    @AfterEach
    void tearDown() throws Exception {
        registrations.forEach(ServiceRegistration::unregister);
        if (config != null) {
            config.delete();
        }
    }

    @Test
    void createListUseAndRevokeAKeyOverHttp() throws Exception {
        // Created: 201, the key once, never cached by anyone on the way.
        HttpResponse<String> created = client.send(as(server.jsonPost("api/v1/keys", "{\"name\":\"ci deploy\","
                + "\"scopes\":[\"chat\",\"keys:own\",\"model:gpt-4o\"],\"expires_in_days\":30}"), "alice",
                Role.DEVELOPER).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(created.statusCode()).as(created.body()).isEqualTo(201);
        assertThat(created.headers().firstValue("Cache-Control")).hasValueSatisfying(v -> assertThat(v)
                .contains("no-store"));
        JsonNode body = new Server.Reply(201, "", created.body()).json();
        String key = body.get("key").asText();
        String id = body.get("id").asText();
        assertThat(key).matches("pk-parley-[0-9A-Za-z]{12}_[0-9A-Za-z]{49}").startsWith("pk-parley-" + id + "_");
        assertThat(created.headers().firstValue("Location")).hasValueSatisfying(v -> assertThat(v)
                .endsWith("/api/v1/keys/" + id));
        assertThat(body.get("prefix").asText()).isEqualTo("pk-parley-" + id + "_");
        assertThat(body.get("name").asText()).isEqualTo("ci deploy");
        assertThat(body.get("owner").asText()).isEqualTo("alice");
        assertThat(body.get("tenant").asText()).isEqualTo(tenant);
        assertThat(body.get("status").asText()).isEqualTo("active");
        assertThat(texts(body.get("roles"))).containsExactly("developer");
        assertThat(texts(body.get("scopes"))).containsExactly("chat", "keys:own", "model:gpt-4o");
        assertThat(Instant.parse(body.get("expires_at").asText()))
                .isBetween(Instant.now().plus(Duration.ofDays(30)).minusSeconds(60), Instant.now().plus(Duration.ofDays(30)));
        assertThat(body.get("last_used_at").isNull()).isTrue();
        String secret = key.substring(("pk-parley-" + id + "_").length(), key.length() - 6);

        // Listed and read: metadata only.
        Server.Reply list = server.send(as(server.request("api/v1/keys"), "alice", Role.DEVELOPER));
        assertThat(list.status()).isEqualTo(200);
        assertThat(list.json().get("total").asLong()).isEqualTo(1);
        assertThat(list.json().get("keys").get(0).get("id").asText()).isEqualTo(id);
        assertThat(list.json().get("keys").get(0).has("key")).isFalse();
        assertThat(list.body()).doesNotContain(secret);
        Server.Reply one = server.send(as(server.request("api/v1/keys/" + id), "alice", Role.DEVELOPER));
        assertThat(one.status()).isEqualTo(200);
        assertThat(one.body()).doesNotContain(secret);
        // Someone else in the tenant does not see it.
        assertThat(server.send(as(server.request("api/v1/keys/" + id), "bob", Role.DEVELOPER)).status())
                .isEqualTo(404);

        // Used: through the registered authenticator, and over HTTP as the edge will pass it.
        assertThat(authenticator.recognizes(key)).isTrue();
        Principal p = authenticator.authenticate(key);
        assertThat(p.subject()).isEqualTo("alice");
        assertThat(p.tenantId()).isEqualTo(tenant);
        assertThat(p.roles()).containsExactly(Role.DEVELOPER);
        assertThat(p.method()).isEqualTo(AuthMethod.API_KEY);
        assertThat(p.issuer()).isEqualTo("api-key");
        assertThat(p.credentialId()).isEqualTo(id);
        assertThat(p.scopes()).containsExactlyInAnyOrder("chat", "keys:own", "model:gpt-4o");
        Server.Reply viaKey = server.send(server.request("api/v1/keys").header("Authorization", "Bearer " + key));
        assertThat(viaKey.status()).as(viaKey.body()).isEqualTo(200);
        assertThat(viaKey.json().get("keys").get(0).get("id").asText()).isEqualTo(id);
        Server.Reply mint = server.send(server.jsonPost("api/v1/keys", "{\"name\":\"more\"}")
                .header("Authorization", "Bearer " + key));
        assertThat(mint.status()).isEqualTo(403);
        assertThat(mint.contentType()).startsWith("application/problem+json");
        assertThat(mint.json().get("detail").asText()).contains("An API key cannot create API keys");

        // Its use shows as a last-used time, written in the background.
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> assertThat(server.send(as(
                server.request("api/v1/keys/" + id), "alice", Role.DEVELOPER)).json().get("last_used_at").isNull())
                .isFalse());

        // The tenant's admin sees it, filtered.
        Server.Reply tenantKeys = admin(server.request("api/v1/admin/keys?owner=alice&revoked=false"));
        assertThat(tenantKeys.status()).as(tenantKeys.body()).isEqualTo(200);
        assertThat(tenantKeys.json().get("total").asLong()).isEqualTo(1);
        assertThat(admin(server.request("api/v1/admin/keys?revoked=true")).json().get("total").asLong()).isZero();

        // Revoked: at once on this node, announced, and refused over HTTP with the reason.
        Server.Reply revoked = server.send(as(server.request("api/v1/keys/" + id).DELETE(), "alice", Role.DEVELOPER));
        assertThat(revoked.status()).as(revoked.body()).isEqualTo(200);
        assertThat(revoked.json().get("status").asText()).isEqualTo("revoked");
        assertThat(revoked.json().get("revoked_by").asText()).isEqualTo("alice");
        assertThatThrownBy(() -> authenticator.authenticate(key)).isInstanceOfSatisfying(ParleyException.class, e -> {
            assertThat(e.code()).isEqualTo(ErrorCode.UNAUTHORIZED);
            assertThat(e.getMessage()).isEqualTo("the API key has been revoked");
        });
        Server.Reply refused = server.send(server.request("api/v1/keys").header("Authorization", "Bearer " + key));
        assertThat(refused.status()).isEqualTo(401);
        assertThat(refused.body()).contains("the API key has been revoked").doesNotContain(secret);
        org.osgi.service.event.Event event = await().atMost(Duration.ofSeconds(10)).until(() -> revocations.stream()
                .filter(e -> id.equals(e.getProperty(IdentityEvents.CREDENTIAL_ID))).findFirst().orElse(null),
                e -> e != null);
        assertThat(event.getProperty(IdentityEvents.CREDENTIAL_ID)).isEqualTo(id);
        assertThat(event.getProperty(IdentityEvents.SUBJECT)).isEqualTo("alice");
        assertThat(event.getProperty(IdentityEvents.TENANT)).isEqualTo(tenant);
        Server.Reply revokedList = admin(server.request("api/v1/admin/keys?revoked=true"));
        assertThat(revokedList.json().get("keys").get(0).get("id").asText()).isEqualTo(id);
    }

    @Test
    void anAdminRevokesAnyKeyOfTheTenant() {
        Server.Reply created = server.send(as(server.jsonPost("api/v1/keys", "{\"name\":\"bobs\"}"), "bob",
                Role.DEVELOPER));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        String id = created.json().get("id").asText();
        String key = created.json().get("key").asText();
        // Capped by configuration (90 days here) when no expiry is asked for.
        assertThat(Instant.parse(created.json().get("expires_at").asText()))
                .isAfter(Instant.now().plus(Duration.ofDays(89)));

        Server.Reply revoked = admin(server.request("api/v1/admin/keys/" + id).DELETE());
        assertThat(revoked.status()).as(revoked.body()).isEqualTo(200);
        assertThat(revoked.json().get("revoked_by").asText()).isEqualTo("carol");
        assertThatThrownBy(() -> authenticator.authenticate(key)).hasMessage("the API key has been revoked");
    }

    @Test
    void badRequestsAreProblemsNamingTheField() {
        assertProblem(server.sendAnonymous(server.request("api/v1/keys")), 401, "needs a credential");
        assertProblem(server.send(as(server.jsonPost("api/v1/keys", "{\"name\":\"x\"}"), "mallory", Role.MEMBER)), 403,
                "'keys:own'");
        assertProblem(create("{\"name\":\"" + "x".repeat(101) + "\"}"), 400, "Field 'name' is at most 100");
        assertProblem(create("{\"scopes\":[\"chat\"]}"), 400, "Field 'name' is required");
        assertProblem(create("{\"name\":\"x\",\"scopes\":[\"chat\",\"everything\"]}"), 400,
                "Field 'scopes[1]': unknown scope 'everything'");
        assertProblem(create("{\"name\":\"x\",\"roles\":[\"admin\"]}"), 400,
                "Field 'roles[0]': role 'admin' allows more than your roles do");
        assertProblem(create("{\"name\":\"x\",\"expires_in_days\":91}"), 400,
                "Field 'expires_in_days' is at most 90 on this server");
        assertProblem(create("{\"name\":\"x\",\"expires_in_days\":\"30\"}"), 400, "");
        assertProblem(create("{\"name\":"), 400, "");
        assertProblem(server.send(as(server.request("api/v1/keys?limit=0"), "alice", Role.DEVELOPER)), 400,
                "Query parameter 'limit'");
        assertProblem(server.send(as(server.request("api/v1/keys/AAAAAAAAAAAA").DELETE(), "alice", Role.DEVELOPER)),
                404, "No API key");
        // A developer is no keys admin.
        assertProblem(server.send(as(server.request("api/v1/admin/keys"), "alice", Role.DEVELOPER)), 403,
                "'keys:admin'");
        assertProblem(admin(server.request("api/v1/admin/keys?expired=maybe")), 400,
                "Query parameter 'expired' must be true or false");
        // Nothing was stored by any of them.
        assertThat(admin(server.request("api/v1/admin/keys")).json().get("total").asLong()).isZero();
    }

    private Server.Reply create(String json) {
        return server.send(as(server.jsonPost("api/v1/keys", json), "alice", Role.DEVELOPER));
    }

    private static void assertProblem(Server.Reply reply, int status, String detail) {
        assertThat(reply.status()).as(reply.body()).isEqualTo(status);
        assertThat(reply.contentType()).startsWith("application/problem+json");
        assertThat(reply.json().get("status").asInt()).isEqualTo(status);
        assertThat(reply.json().get("detail").asText()).contains(detail);
        assertThat(reply.body()).doesNotContain("Exception").doesNotContain("\tat ");
    }

    /** As the tenant's admin carol. */
    private Server.Reply admin(HttpRequest.Builder request) {
        return server.send(as(request, "carol", Role.ADMIN));
    }

    private HttpRequest.Builder as(HttpRequest.Builder request, String subject, Role... roles) {
        StringBuilder slugs = new StringBuilder();
        for (Role r : roles) {
            slugs.append(slugs.isEmpty() ? "" : ",").append(r.slug());
        }
        return request.header("Authorization", "Bearer " + TEST_PREFIX + subject + ";" + tenant + ";" + slugs);
    }

    private static List<String> texts(JsonNode array) {
        List<String> out = new ArrayList<>();
        array.forEach(n -> out.add(n.asText()));
        return out;
    }

    private BearerAuthenticator apiKeyAuthenticator(String filter) throws InvalidSyntaxException {
        var refs = context.getServiceReferences(BearerAuthenticator.class, filter);
        return refs.isEmpty() ? null : context.getService(refs.iterator().next());
    }

    /** Signed-in users for the test: {@code it:subject;tenant;role,role}. */
    private static final class SignedInUsers implements BearerAuthenticator {
        @Override
        public boolean recognizes(String credential) {
            return credential.startsWith(TEST_PREFIX);
        }

        @Override
        public Principal authenticate(String credential) {
            String[] parts = credential.substring(TEST_PREFIX.length()).split(";", -1);
            EnumSet<Role> roles = EnumSet.noneOf(Role.class);
            Arrays.stream(parts[2].split(",")).filter(s -> !s.isEmpty()).map(Role::fromSlug).forEach(roles::add);
            return new Principal(parts[0], parts[1], roles, AuthMethod.PASSWORD, "https://parley.itest", Set.of(),
                    null, "session-" + parts[0]);
        }
    }
}

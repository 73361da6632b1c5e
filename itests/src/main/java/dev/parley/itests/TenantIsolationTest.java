package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.identity.BearerAuthenticator;
import dev.parley.api.identity.Role;
import java.net.http.HttpRequest;
import java.net.http.WebSocket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * Tenants cannot see each other: users of several tenants, drawn at random (the seed is in the failure message),
 * each make conversations, then every user tries to read, list, write into and delete every other tenant's
 * conversations through the REST routes, the usage route and the WebSocket; not one cross-tenant read or write
 * succeeds, and every conversation is as its owner left it.
 */
class TenantIsolationTest {
    private static final String PREFIX = "tenant:";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    Server server;
    ServiceRegistration<BearerAuthenticator> users;

    record User(String tenant, String subject, Role role) {
        String credential() {
            return PREFIX + tenant + ":" + subject + ":" + role.slug();
        }
    }

    @BeforeEach
    void setUp() {
        server = new Server(http.getServiceReference());
        users = context.registerService(BearerAuthenticator.class, new TenantUsers(PREFIX), null);
        await().atMost(Duration.ofSeconds(30)).until(() -> server.get("health/ready").status() == 200);
    }

    @AfterEach
    void tearDown() {
        users.unregister();
    }

    @Test
    void noUserReadsListsChangesOrDeletesAnotherTenantsConversations() throws Exception {
        long seed = System.nanoTime();
        Random random = new Random(seed);
        String run = UUID.randomUUID().toString().substring(0, 6);
        List<User> all = new ArrayList<>();
        int tenants = 3 + random.nextInt(2);
        for (int t = 0; t < tenants; t++) {
            String tenant = "iso-" + run + "-" + t;
            int people = 1 + random.nextInt(3);
            for (int u = 0; u < people; u++) {
                Role role = List.of(Role.OWNER, Role.ADMIN, Role.DEVELOPER, Role.MEMBER).get(random.nextInt(4));
                all.add(new User(tenant, "u" + t + "-" + u, role));
            }
        }
        // Each user makes one or two conversations, with a title that says whose they are.
        Map<String, User> owners = new LinkedHashMap<>();
        for (User u : all) {
            for (int i = 0, n = 1 + random.nextInt(2); i < n; i++) {
                Server.Reply created = as(u, server.jsonPost("api/v1/conversations",
                        "{\"title\":\"" + u.tenant() + "/" + u.subject() + "\"}"));
                assertThat(created.status()).as("seed %d: %s", seed, created.body()).isEqualTo(201);
                owners.put(created.json().get("id").asText(), u);
            }
        }

        List<String> leaks = new ArrayList<>();
        for (User u : all) {
            JsonNode listed = as(u, server.request("api/v1/conversations?limit=100").GET()).json();
            for (JsonNode c : listed.get("items")) {
                User owner = owners.get(c.get("id").asText());
                if (owner != null && !owner.tenant().equals(u.tenant())) {
                    leaks.add(u + " lists " + c);
                }
            }
            for (var entry : owners.entrySet()) {
                String id = entry.getKey();
                if (entry.getValue().tenant().equals(u.tenant())) {
                    continue;
                }
                expectNotFound(leaks, u, "GET conversation", as(u, server.request("api/v1/conversations/" + id).GET()));
                expectNotFound(leaks, u, "GET messages",
                        as(u, server.request("api/v1/conversations/" + id + "/messages").GET()));
                expectNotFound(leaks, u, "POST message", as(u, server.jsonPost("api/v1/conversations/" + id
                        + "/messages", "{\"content\":\"written by " + u.subject() + "\"}")));
                expectNotFound(leaks, u, "DELETE", as(u, server.request("api/v1/conversations/" + id).DELETE()));
                Server.Reply usage = as(u, server.request("api/v1/usage?conversationId=" + id).GET());
                if (usage.status() == 200 && usage.json().get("items").size() > 0) {
                    leaks.add(u + " reads usage of " + id);
                }
            }
        }
        // Over the WebSocket: a turn into another tenant's conversation is refused as not found.
        User intruder = all.get(random.nextInt(all.size()));
        String foreign = owners.entrySet().stream().filter(e -> !e.getValue().tenant().equals(intruder.tenant()))
                .findFirst().orElseThrow().getKey();
        JsonNode frame = server.firstWebSocketReply(intruder.credential(), "{\"type\":\"send\",\"id\":\"r1\","
                + "\"conversationId\":\"" + foreign + "\",\"content\":\"let me in\"}");
        if (!"error".equals(frame.path("type").asText()) || !"not-found".equals(frame.path("code").asText())) {
            leaks.add(intruder + " over the WebSocket: " + frame);
        }
        assertThat(leaks).as("cross-tenant reads or writes (seed %d)", seed).isEmpty();

        // Every conversation is as its owner left it: there, and with no message from anyone else.
        for (var entry : owners.entrySet()) {
            User owner = entry.getValue();
            Server.Reply mine = as(owner, server.request("api/v1/conversations/" + entry.getKey()).GET());
            assertThat(mine.status()).as("seed %d: %s", seed, mine.body()).isEqualTo(200);
            assertThat(mine.json().get("title").asText()).isEqualTo(owner.tenant() + "/" + owner.subject());
            JsonNode messages = as(owner, server.request("api/v1/conversations/" + entry.getKey() + "/messages")
                    .GET()).json().get("items");
            messages.forEach(m -> assertThat(m.get("content").asText()).as("seed %d", seed).doesNotContain("written by")
                    .doesNotContain("let me in"));
        }
    }

    private Server.Reply as(User u, HttpRequest.Builder request) {
        return server.send(request.header("Authorization", "Bearer " + u.credential()));
    }

    private static void expectNotFound(List<String> leaks, User u, String what, Server.Reply reply) {
        if (reply.status() != 404) {
            leaks.add(u + " " + what + ": " + reply.status() + " " + reply.body());
        }
    }
}

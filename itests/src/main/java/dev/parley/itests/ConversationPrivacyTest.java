package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.identity.BearerAuthenticator;
import dev.parley.api.identity.Principal;
import dev.parley.api.identity.Role;
import dev.parley.testsupport.FakeOpenAiServer;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import java.util.UUID;
import java.util.stream.StreamSupport;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * Conversations are private to their owner within a tenant, through the real edge, REST routes and WebSocket, with
 * the real OpenAI-compatible provider calling a local server of its wire protocol: two members of one tenant cannot
 * read, list, post to or delete each other's conversations; the tenant's admin can; another tenant's owner still
 * cannot; the break-glass admin token sees its own tenant's only.
 */
class ConversationPrivacyTest {
    private static final String PREFIX = "priv:";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    @InjectService(timeout = 20_000)
    ConfigurationAdmin configAdmin;

    FakeOpenAiServer upstream;
    Configuration providerConfig;
    Server server;
    ServiceRegistration<BearerAuthenticator> users;
    String tenant;

    @BeforeEach
    void setUp() throws Exception {
        server = new Server(http.getServiceReference());
        users = context.registerService(BearerAuthenticator.class, new TenantUsers(PREFIX), null);
        upstream = FakeOpenAiServer.start();
        providerConfig = configAdmin.getFactoryConfiguration("dev.parley.provider.openai", "privacy", "?");
        var props = new Hashtable<String, Object>();
        props.put(".apiKey", "sk-itest");
        props.put("baseUrl", upstream.baseUrl());
        props.put("models", new String[] {"fake-model"});
        providerConfig.update(props);
        tenant = "priv-" + UUID.randomUUID().toString().substring(0, 8);
        await().atMost(Duration.ofSeconds(30)).until(() -> server.get("health/ready").status() == 200);
        await().atMost(Duration.ofSeconds(20)).until(() -> server.get("v1/models").body().contains("fake-model"));
    }

    @AfterEach
    void tearDown() throws Exception {
        users.unregister();
        providerConfig.delete();
        upstream.close();
    }

    private String credential(String tenantId, String subject, Role role) {
        return PREFIX + tenantId + ":" + subject + ":" + role.slug();
    }

    private Server.Reply as(String credential, HttpRequest.Builder request) {
        return server.send(request.header("Authorization", "Bearer " + credential));
    }

    private Server.Reply get(String credential, String path) {
        return as(credential, server.request(path).GET());
    }

    private Server.Reply post(String credential, String path, String json) {
        return as(credential, server.jsonPost(path, json));
    }

    private static List<String> ids(Server.Reply list) {
        assertThat(list.status()).as(list.body()).isEqualTo(200);
        return StreamSupport.stream(list.json().get("items").spliterator(), false)
                .map(c -> c.get("id").asText()).toList();
    }

    private static List<String> contents(Server.Reply messages) {
        assertThat(messages.status()).as(messages.body()).isEqualTo(200);
        return StreamSupport.stream(messages.json().get("items").spliterator(), false)
                .map(m -> m.get("content").asText()).toList();
    }

    @Test
    void membersCannotReachEachOthersConversationsButTheTenantsAdminCan() throws Exception {
        String ann = credential(tenant, "ann", Role.MEMBER);
        String bob = credential(tenant, "bob", Role.DEVELOPER);
        String ada = credential(tenant, "ada", Role.ADMIN);
        String gus = credential(tenant + "-other", "gus", Role.OWNER);

        Server.Reply made = post(ann, "api/v1/conversations", "{\"title\":\"ann's\"}");
        assertThat(made.status()).as(made.body()).isEqualTo(201);
        String annS = made.json().get("id").asText();
        Server.Reply turn = post(ann, "api/v1/conversations/" + annS + "/messages", "{\"content\":\"ann's secret\"}");
        assertThat(turn.status()).as(turn.body()).isEqualTo(200);
        String bobS = post(bob, "api/v1/conversations", "{\"title\":\"bob's\"}").json().get("id").asText();

        // Bob, another member: ann's conversation is not found, whatever he does with it; his list lacks it.
        List<String> leaks = new ArrayList<>();
        expectNotFound(leaks, "bob GET", get(bob, "api/v1/conversations/" + annS));
        expectNotFound(leaks, "bob GET messages", get(bob, "api/v1/conversations/" + annS + "/messages"));
        expectNotFound(leaks, "bob POST message", post(bob, "api/v1/conversations/" + annS + "/messages",
                "{\"content\":\"written by bob\"}"));
        expectNotFound(leaks, "bob DELETE", as(bob, server.request("api/v1/conversations/" + annS).DELETE()));
        JsonNode frame = server.firstWebSocketReply(bob, "{\"type\":\"send\",\"id\":\"r1\",\"conversationId\":\""
                + annS + "\",\"content\":\"written by bob over the socket\"}");
        if (!"error".equals(frame.path("type").asText()) || !"not-found".equals(frame.path("code").asText())) {
            leaks.add("bob over the WebSocket: " + frame);
        }
        // Nor can an owner of another tenant.
        expectNotFound(leaks, "gus GET", get(gus, "api/v1/conversations/" + annS));
        expectNotFound(leaks, "gus POST message", post(gus, "api/v1/conversations/" + bobS + "/messages",
                "{\"content\":\"written by gus\"}"));
        expectNotFound(leaks, "gus DELETE", as(gus, server.request("api/v1/conversations/" + bobS).DELETE()));
        assertThat(leaks).isEmpty();
        assertThat(ids(get(bob, "api/v1/conversations?limit=100"))).containsExactly(bobS);
        assertThat(ids(get(ann, "api/v1/conversations?limit=100"))).containsExactly(annS);
        assertThat(ids(get(gus, "api/v1/conversations?limit=100"))).doesNotContain(annS, bobS);

        // Bad input is still refused as such, in the caller's own conversation, and stores nothing.
        Server.Reply empty = post(ann, "api/v1/conversations/" + annS + "/messages", "{\"content\":\"\"}");
        assertThat(empty.status()).as(empty.body()).isEqualTo(400);
        assertThat(empty.json().get("code").asText()).isNotBlank();

        // The tenant's admin sees both, reads ann's, writes into it over REST and the WebSocket, and deletes bob's.
        assertThat(ids(get(ada, "api/v1/conversations?limit=100"))).containsExactlyInAnyOrder(annS, bobS);
        assertThat(contents(get(ada, "api/v1/conversations/" + annS + "/messages"))).contains("ann's secret");
        Server.Reply moderated = post(ada, "api/v1/conversations/" + annS + "/messages",
                "{\"content\":\"moderated by ada\"}");
        assertThat(moderated.status()).as(moderated.body()).isEqualTo(200);
        JsonNode accepted = server.firstWebSocketReply(ada, "{\"type\":\"send\",\"id\":\"r2\",\"conversationId\":\""
                + annS + "\",\"content\":\"ada over the socket\"}");
        assertThat(accepted.path("type").asText()).as(accepted.toString()).isNotEqualTo("error");
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(
                contents(get(ann, "api/v1/conversations/" + annS + "/messages"))).contains("ada over the socket"));
        assertThat(as(ada, server.request("api/v1/conversations/" + bobS).DELETE()).status()).isEqualTo(204);
        assertThat(get(bob, "api/v1/conversations/" + bobS).status()).isEqualTo(404);

        // The break-glass token is an owner of the operator tenant: it sees that tenant's, not this one's.
        assertThat(server.get("api/v1/conversations/" + annS).status()).isEqualTo(404);

        // Ann's conversation is as she and the admin left it: nothing from bob or gus.
        assertThat(contents(get(ann, "api/v1/conversations/" + annS + "/messages")))
                .contains("ann's secret", "moderated by ada")
                .noneMatch(c -> c.contains("written by"));
    }

    @Test
    void theBreakGlassTokenSeesEveryConversationOfTheOperatorTenant() {
        String member = credential(Principal.OPERATOR_TENANT, "mia-" + tenant, Role.MEMBER);
        String other = credential(Principal.OPERATOR_TENANT, "max-" + tenant, Role.MEMBER);
        String mine = post(member, "api/v1/conversations", "{\"title\":\"mia's\"}").json().get("id").asText();

        assertThat(get(other, "api/v1/conversations/" + mine).status()).isEqualTo(404);
        Server.Reply asAdmin = server.get("api/v1/conversations/" + mine);
        assertThat(asAdmin.status()).as(asAdmin.body()).isEqualTo(200);
        assertThat(asAdmin.json().get("title").asText()).isEqualTo("mia's");
        assertThat(server.send(server.request("api/v1/conversations/" + mine).DELETE()).status()).isEqualTo(204);
        assertThat(get(member, "api/v1/conversations/" + mine).status()).isEqualTo(404);
    }

    private static void expectNotFound(List<String> leaks, String what, Server.Reply reply) {
        if (reply.status() != 404) {
            leaks.add(what + ": " + reply.status() + " " + reply.body());
        }
    }
}

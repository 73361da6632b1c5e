package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.identity.BearerAuthenticator;
import dev.parley.api.identity.Role;
import dev.parley.api.limits.Budgets;
import dev.parley.testsupport.FakeOpenAiServer;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.Hashtable;
import java.util.UUID;
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
 * Budgets in the runtime as shipped, behind the real edge, with the real OpenAI-compatible provider calling a local
 * server of the OpenAI wire protocol: a tenant admin sets a user's budget over the admin API; the user's requests on
 * every chat API count against it (native turns, OpenAI chat completions and responses, Anthropic messages, the
 * WebSocket) and, once it is used up, each is refused with 402 in its own API's error shape before the provider is
 * called; the admin sees what was spent.
 *
 * <p>Signed-in users are stood in for by a test {@link BearerAuthenticator}: credentials
 * {@code bt:tenant:subject:role} that the real edge accepts like any other.
 */
class BudgetsTest {
    private static final String PREFIX = "bt:";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    @InjectService(timeout = 20_000)
    ConfigurationAdmin configAdmin;

    @InjectService(timeout = 20_000)
    Budgets budgetsService;

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
        providerConfig = configAdmin.getFactoryConfiguration("dev.parley.provider.openai", "default", "?");
        var props = new Hashtable<String, Object>();
        props.put(".apiKey", "sk-itest");
        props.put("baseUrl", upstream.baseUrl());
        props.put("models", new String[] {"fake-model"});
        props.put("embeddingModels", new String[] {"text-embedding-3-small=1536"});
        providerConfig.update(props);
        tenant = "bud-" + UUID.randomUUID().toString().substring(0, 8);
        await().atMost(Duration.ofSeconds(30)).until(() -> server.get("health/ready").status() == 200);
        await().atMost(Duration.ofSeconds(20)).until(() -> server.get("v1/models").body().contains("fake-model"));
    }

    @AfterEach
    void tearDown() throws Exception {
        users.unregister();
        providerConfig.delete();
        upstream.close();
    }

    private String credential(String subject, Role role) {
        return PREFIX + tenant + ":" + subject + ":" + role.slug();
    }

    private Server.Reply as(String credential, HttpRequest.Builder request) {
        return server.send(request.header("Authorization", "Bearer " + credential));
    }

    private Server.Reply post(String credential, String path, String json) {
        return as(credential, server.jsonPost(path, json));
    }

    @Test
    void aUsersBudgetCountsEveryChatApiAndRefusesEachWith402InItsOwnShape() throws Exception {
        String admin = credential("carol", Role.ADMIN);
        String ann = credential("ann", Role.MEMBER);
        String bob = credential("bob", Role.MEMBER);

        // Bad input is refused naming the field; a member may not manage budgets.
        Server.Reply bad = as(admin, server.request("api/v1/admin/budgets").header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"scope\":\"user\",\"period\":\"day\",\"max_requests\":4}")));
        assertThat(bad.status()).as(bad.body()).isEqualTo(400);
        assertThat(bad.json().get("detail").asText()).contains("'subject'");
        assertThat(as(ann, server.request("api/v1/admin/budgets").GET()).status()).isEqualTo(403);

        Server.Reply created = putBudget(admin, "{\"scope\":\"user\",\"subject\":\"ann\",\"period\":\"day\","
                + "\"max_requests\":3}");
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        String id = created.json().get("id").asText();
        Server.Reply replaced = putBudget(admin, "{\"scope\":\"user\",\"subject\":\"ann\",\"period\":\"day\","
                + "\"max_requests\":4}");
        assertThat(replaced.status()).as(replaced.body()).isEqualTo(200);
        assertThat(replaced.json().get("id").asText()).isEqualTo(id);
        assertThat(replaced.json().get("max_requests").asLong()).isEqualTo(4);

        // Four requests, one on each HTTP chat API: all answered.
        String conversation = post(ann, "api/v1/conversations", "{}").json().get("id").asText();
        Server.Reply turn = post(ann, "api/v1/conversations/" + conversation + "/messages",
                "{\"content\":\"native turn\"}");
        assertThat(turn.status()).as(turn.body()).isEqualTo(200);
        Server.Reply completion = post(ann, "v1/chat/completions", "{\"model\":\"fake-model\",\"messages\":"
                + "[{\"role\":\"user\",\"content\":\"openai completion\"}]}");
        assertThat(completion.status()).as(completion.body()).isEqualTo(200);
        Server.Reply response = post(ann, "v1/responses", "{\"model\":\"fake-model\",\"input\":\"openai response\"}");
        assertThat(response.status()).as(response.body()).isEqualTo(200);
        Server.Reply message = post(ann, "v1/messages", "{\"model\":\"fake-model\",\"max_tokens\":50,\"messages\":"
                + "[{\"role\":\"user\",\"content\":\"anthropic message\"}]}");
        assertThat(message.status()).as(message.body()).isEqualTo(200);
        int upstreamCalls = upstream.chatRequests().size();
        assertThat(upstreamCalls).isEqualTo(4);

        // The fifth, on any API, is refused before the provider is called, in that API's own shape.
        Server.Reply refusedTurn = post(ann, "api/v1/conversations/" + conversation + "/messages",
                "{\"content\":\"one more\"}");
        assertThat(refusedTurn.status()).as(refusedTurn.body()).isEqualTo(402);
        assertThat(refusedTurn.json().get("code").asText()).isEqualTo("budget-exceeded");
        assertThat(refusedTurn.json().get("detail").asText())
                .startsWith("The daily request budget of the user 'ann' is used up (4 of 4 requests).");
        assertThat(refusedTurn.json().get("retryAfterSeconds").asLong()).isBetween(1L, 86_401L);

        Server.Reply refusedCompletion = post(ann, "v1/chat/completions", "{\"model\":\"fake-model\",\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"more\"}]}");
        assertThat(refusedCompletion.status()).as(refusedCompletion.body()).isEqualTo(402);
        assertThat(refusedCompletion.json().at("/error/type").asText()).isEqualTo("insufficient_quota");
        assertThat(refusedCompletion.json().at("/error/code").asText()).isEqualTo("budget_exceeded");
        assertThat(refusedCompletion.json().at("/error/message").asText()).contains("user 'ann'");

        Server.Reply refusedResponse = post(ann, "v1/responses", "{\"model\":\"fake-model\",\"input\":\"more\"}");
        assertThat(refusedResponse.status()).as(refusedResponse.body()).isEqualTo(402);
        assertThat(refusedResponse.json().at("/error/code").asText()).isEqualTo("budget_exceeded");

        Server.Reply refusedMessage = post(ann, "v1/messages", "{\"model\":\"fake-model\",\"max_tokens\":50,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"more\"}]}");
        assertThat(refusedMessage.status()).as(refusedMessage.body()).isEqualTo(402);
        assertThat(refusedMessage.json().get("type").asText()).isEqualTo("error");
        assertThat(refusedMessage.json().at("/error/type").asText()).isEqualTo("billing_error");

        JsonNode frame = server.firstWebSocketReply(ann, "{\"type\":\"send\",\"id\":\"r1\",\"conversationId\":\""
                + conversation + "\",\"content\":\"over the socket\"}");
        assertThat(frame.path("type").asText()).as(frame.toString()).isEqualTo("error");
        assertThat(frame.path("code").asText()).isEqualTo("budget-exceeded");

        assertThat(upstream.chatRequests()).hasSize(upstreamCalls);

        // Bob, in the same tenant, has no budget of his own.
        assertThat(post(bob, "v1/chat/completions", "{\"model\":\"fake-model\",\"messages\":"
                + "[{\"role\":\"user\",\"content\":\"bob is free\"}]}").status()).isEqualTo(200);

        // The admin sees what ann spent: four requests and the tokens the provider reported (settled off the
        // request path, so awaited).
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            JsonNode listed = as(admin, server.request("api/v1/admin/budgets").GET()).json().get("budgets");
            assertThat(listed).hasSize(1);
            assertThat(listed.get(0).at("/spent/requests").asLong()).isEqualTo(4);
            assertThat(listed.get(0).at("/spent/tokens").asLong()).isPositive().isLessThan(1_000);
        });
        // Another tenant's admin sees none of it, and cannot name this tenant.
        String other = PREFIX + "other-" + tenant + ":dave:admin";
        assertThat(as(other, server.request("api/v1/admin/budgets").GET()).json().get("budgets")).isEmpty();
        assertThat(as(other, server.request("api/v1/admin/budgets?tenant=" + tenant).GET()).status())
                .isEqualTo(403);

        // Deleted: ann may chat again at once (this node dropped its cache of the tenant).
        assertThat(as(admin, server.request("api/v1/admin/budgets/" + id).DELETE()).status()).isEqualTo(204);
        assertThat(post(ann, "v1/chat/completions", "{\"model\":\"fake-model\",\"messages\":"
                + "[{\"role\":\"user\",\"content\":\"free again\"}]}").status()).isEqualTo(200);
    }

    @Test
    void embeddingsCountInTheCallersBudgetAndAreRefusedWith402OnceItIsUsedUp() throws Exception {
        String admin = credential("carol", Role.ADMIN);
        String eve = credential("eve", Role.MEMBER);
        Server.Reply created = putBudget(admin, "{\"scope\":\"user\",\"subject\":\"eve\",\"period\":\"month\","
                + "\"max_requests\":2}");
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        await().atMost(Duration.ofSeconds(20)).until(() -> server.get("v1/models").body()
                .contains("text-embedding-3-small"));
        String body = "{\"model\":\"text-embedding-3-small\",\"input\":[\"budgets hold\",\"on every API\"]}";

        Server.Reply first = post(eve, "v1/embeddings", body);
        assertThat(first.status()).as(first.body()).isEqualTo(200);
        assertThat(post(eve, "v1/chat/completions", "{\"model\":\"fake-model\",\"messages\":"
                + "[{\"role\":\"user\",\"content\":\"and chat\"}]}").status()).isEqualTo(200);
        int calls = upstream.embeddingRequests().size();

        Server.Reply refused = post(eve, "v1/embeddings", body);
        assertThat(refused.status()).as(refused.body()).isEqualTo(402);
        assertThat(refused.json().at("/error/type").asText()).isEqualTo("insufficient_quota");
        assertThat(refused.json().at("/error/code").asText()).isEqualTo("budget_exceeded");
        assertThat(refused.json().at("/error/message").asText()).contains("request budget of the user 'eve'");
        assertThat(upstream.embeddingRequests()).hasSize(calls);

        // The embeddings request is in eve's spend with the tokens the provider counted.
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            JsonNode listed = as(admin, server.request("api/v1/admin/budgets").GET()).json().get("budgets");
            assertThat(listed.get(0).at("/spent/requests").asLong()).isEqualTo(2);
            assertThat(listed.get(0).at("/spent/tokens").asLong()).isPositive();
        });
    }

    private Server.Reply putBudget(String credential, String json) {
        return as(credential, server.request("api/v1/admin/budgets").header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString(json)));
    }
}

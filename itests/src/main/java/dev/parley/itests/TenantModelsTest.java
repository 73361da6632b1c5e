package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.identity.BearerAuthenticator;
import dev.parley.api.identity.Role;
import dev.parley.testsupport.FakeOpenAiServer;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
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
 * Models per tenant in the runtime as shipped, behind the real edge, with the real OpenAI-compatible provider
 * calling a local server of the OpenAI wire protocol. Two tenants, A and B: A's admin disables a model and an
 * embedding model, and A's members get the unknown-model answer on every chat API (OpenAI chat completions and
 * responses, Anthropic messages, native turns, the WebSocket) and on embeddings, and no longer see them listed, while
 * B's members use them; the operator restricts the provider's plugin to B, and A cannot use any of its models. Bad
 * input and callers without the permission are refused with a problem and change nothing.
 *
 * <p>Users are stood in for by a test {@link BearerAuthenticator}: credentials {@code ma:tenant:subject:role}.
 */
class TenantModelsTest {
    private static final String PREFIX = "ma:";

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
    String tenantA;
    String tenantB;

    @BeforeEach
    void setUp() throws Exception {
        server = new Server(http.getServiceReference());
        users = context.registerService(BearerAuthenticator.class, new TenantUsers(PREFIX), null);
        upstream = FakeOpenAiServer.start();
        providerConfig = configAdmin.getFactoryConfiguration("dev.parley.provider.openai", "default", "?");
        var props = new Hashtable<String, Object>();
        props.put(".apiKey", "sk-itest");
        props.put("baseUrl", upstream.baseUrl());
        props.put("models", new String[] {"fake-model", "other-model"});
        props.put("embeddingModels", new String[] {"text-embedding-3-small=1536"});
        providerConfig.update(props);
        String run = UUID.randomUUID().toString().substring(0, 8);
        tenantA = "ma-a-" + run;
        tenantB = "ma-b-" + run;
        await().atMost(Duration.ofSeconds(30)).until(() -> server.get("health/ready").status() == 200);
        for (String t : List.of(tenantA, tenantB)) {
            Server.Reply created = server.send(server.jsonPost("api/v1/admin/tenants", "{\"id\":\"" + t
                    + "\",\"name\":\"" + t + "\"}"));
            assertThat(created.status()).as(created.body()).isEqualTo(201);
        }
        await().atMost(Duration.ofSeconds(20)).until(() -> server.get("v1/models").body()
                .contains("text-embedding-3-small"));
    }

    @AfterEach
    void tearDown() throws Exception {
        // The plugin rule is shared by the whole framework: never leave it for the next test.
        server.send(server.request("api/v1/admin/plugin-access/openai").DELETE());
        users.unregister();
        providerConfig.delete();
        upstream.close();
    }

    private String credential(String tenant, String subject, Role role) {
        return PREFIX + tenant + ":" + subject + ":" + role.slug();
    }

    private Server.Reply as(String credential, HttpRequest.Builder request) {
        return server.send(request.header("Authorization", "Bearer " + credential));
    }

    private Server.Reply post(String credential, String path, String json) {
        return as(credential, server.jsonPost(path, json));
    }

    private Server.Reply tenantModels(String credential, String method, String query, String json) {
        return as(credential, server.request("api/v1/tenant/models" + query).header("Content-Type",
                "application/json").method(method, HttpRequest.BodyPublishers.ofString(json)));
    }

    private static List<String> listed(Server.Reply models) {
        List<String> ids = new ArrayList<>();
        models.json().get("data").forEach(m -> ids.add(m.get("id").asText()));
        return ids;
    }

    /** Every chat API and embeddings, as {@code member}: each answer's status. */
    private List<Integer> everyApi(String member, String model, String embeddingModel) throws Exception {
        List<Integer> statuses = new ArrayList<>();
        statuses.add(post(member, "v1/chat/completions", "{\"model\":\"" + model + "\",\"messages\":"
                + "[{\"role\":\"user\",\"content\":\"hi\"}]}").status());
        statuses.add(post(member, "v1/responses", "{\"model\":\"" + model + "\",\"input\":\"hi\"}").status());
        statuses.add(post(member, "v1/messages", "{\"model\":\"" + model + "\",\"max_tokens\":50,\"messages\":"
                + "[{\"role\":\"user\",\"content\":\"hi\"}]}").status());
        String conversation = post(member, "api/v1/conversations", "{\"model\":\"" + model + "\"}").json().get("id")
                .asText();
        statuses.add(post(member, "api/v1/conversations/" + conversation + "/messages", "{\"content\":\"hi\"}")
                .status());
        JsonNode frame = server.firstWebSocketReply(member, "{\"type\":\"send\",\"id\":\"r1\",\"conversationId\":\""
                + conversation + "\",\"content\":\"over the socket\"}");
        boolean error = frame.path("type").asText().equals("error");
        statuses.add(!error ? 200 : frame.path("code").asText().equals("model-not-found") ? 404 : 500);
        statuses.add(post(member, "v1/embeddings", "{\"model\":\"" + embeddingModel + "\",\"input\":\"hi\"}")
                .status());
        return statuses;
    }

    @Test
    void aTenantAdminDisablesModelsForItsOwnTenantOnly() throws Exception {
        String adminA = credential(tenantA, "carol", Role.ADMIN);
        String annA = credential(tenantA, "ann", Role.MEMBER);
        String bobB = credential(tenantB, "bob", Role.MEMBER);

        // Offered to A: the provider's models and its embedding model, all enabled.
        Server.Reply offered = tenantModels(adminA, "GET", "", "");
        assertThat(offered.status()).as(offered.body()).isEqualTo(200);
        assertThat(offered.json().get("tenant").asText()).isEqualTo(tenantA);
        List<String> offeredIds = new ArrayList<>();
        offered.json().get("models").forEach(m -> {
            offeredIds.add(m.get("id").asText());
            assertThat(m.get("enabled").asBoolean()).isTrue();
        });
        assertThat(offeredIds).contains("fake-model", "other-model", "text-embedding-3-small");

        // Refused, and nothing changes: a member; an unknown model; malformed JSON; another tenant; an unknown one.
        assertThat(tenantModels(annA, "PATCH", "", "{\"models\":{\"fake-model\":false}}").status()).isEqualTo(403);
        Server.Reply unknown = tenantModels(adminA, "PATCH", "", "{\"models\":{\"fake-model\":false,"
                + "\"no-such-model\":false}}");
        assertThat(unknown.status()).as(unknown.body()).isEqualTo(400);
        assertThat(unknown.contentType()).startsWith("application/problem+json");
        assertThat(unknown.json().get("detail").asText()).contains("no-such-model");
        Server.Reply malformed = tenantModels(adminA, "PUT", "", "{\"models\":{\"fake-model\":fal");
        assertThat(malformed.status()).as(malformed.body()).isEqualTo(400);
        assertThat(malformed.contentType()).startsWith("application/problem+json");
        assertThat(tenantModels(adminA, "PUT", "", "{\"default\":\"sometimes\"}").status()).isEqualTo(400);
        assertThat(tenantModels(adminA, "GET", "?tenant=" + tenantB, "").status()).isEqualTo(403);
        Server.Reply noTenant = server.send(server.request("api/v1/tenant/models?tenant=ma-none-" + tenantA)
                .header("Content-Type", "application/json").method("PATCH",
                        HttpRequest.BodyPublishers.ofString("{\"models\":{\"fake-model\":false}}")));
        assertThat(noTenant.status()).as(noTenant.body()).isEqualTo(404);
        assertThat(noTenant.contentType()).startsWith("application/problem+json");
        JsonNode unchanged = tenantModels(adminA, "GET", "", "").json();
        assertThat(unchanged.get("settings").size()).isZero();
        assertThat(unchanged.get("default").asText()).isEqualTo("enabled");
        assertThat(everyApi(annA, "fake-model", "text-embedding-3-small")).containsOnly(200);

        // A's admin disables the model and the embedding model.
        Server.Reply patched = tenantModels(adminA, "PATCH", "", "{\"models\":{\"fake-model\":false,"
                + "\"text-embedding-3-small\":false}}");
        assertThat(patched.status()).as(patched.body()).isEqualTo(200);
        patched.json().get("models").forEach(m -> {
            String id = m.get("id").asText();
            boolean disabled = id.equals("fake-model") || id.equals("text-embedding-3-small");
            assertThat(m.get("enabled").asBoolean()).as(id).isEqualTo(!disabled);
        });

        // A's members: the unknown-model answer on every API, in each API's shape; nothing reaches the provider.
        int upstreamCalls = upstream.chatRequests().size();
        assertThat(everyApi(annA, "fake-model", "text-embedding-3-small")).containsOnly(404);
        assertThat(upstream.chatRequests()).hasSize(upstreamCalls);
        Server.Reply disabled = post(annA, "v1/chat/completions", "{\"model\":\"fake-model\",\"messages\":"
                + "[{\"role\":\"user\",\"content\":\"hi\"}]}");
        Server.Reply notThere = post(annA, "v1/chat/completions", "{\"model\":\"no-such-model\",\"messages\":"
                + "[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(disabled.json().at("/error/code").asText()).isEqualTo("model_not_found");
        assertThat(disabled.json().at("/error/message").asText().replace("fake-model is", "X is"))
                .isEqualTo(notThere.json().at("/error/message").asText().replace("no-such-model is", "X is"));
        Server.Reply anthropic = post(annA, "v1/messages", "{\"model\":\"fake-model\",\"max_tokens\":50,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}");
        assertThat(anthropic.json().at("/error/type").asText()).isEqualTo("not_found_error");
        assertThat(listed(as(annA, server.request("v1/models").GET()))).contains("other-model")
                .doesNotContain("fake-model", "text-embedding-3-small");
        assertThat(as(annA, server.request("api/v1/models").GET()).body()).contains("other-model")
                .doesNotContain("\"fake-model\"");
        // Other models of A still answer.
        assertThat(post(annA, "v1/chat/completions", "{\"model\":\"other-model\",\"messages\":"
                + "[{\"role\":\"user\",\"content\":\"hi\"}]}").status()).isEqualTo(200);

        // B's members are untouched.
        assertThat(listed(as(bobB, server.request("v1/models").GET()))).contains("fake-model",
                "text-embedding-3-small");
        assertThat(everyApi(bobB, "fake-model", "text-embedding-3-small")).containsOnly(200);

        // The operator sees A's settings; back to the default, A's members chat again at once.
        Server.Reply operatorView = server.send(server.request("api/v1/tenant/models?tenant=" + tenantA).GET());
        assertThat(operatorView.json().get("settings").get("fake-model").asBoolean()).isFalse();
        assertThat(tenantModels(adminA, "PUT", "", "{\"default\":\"enabled\"}").status()).isEqualTo(200);
        assertThat(everyApi(annA, "fake-model", "text-embedding-3-small")).containsOnly(200);
    }

    @Test
    void theOperatorRestrictsAPluginToOneTenant() throws Exception {
        String annA = credential(tenantA, "ann", Role.MEMBER);
        String bobB = credential(tenantB, "bob", Role.MEMBER);
        String adminA = credential(tenantA, "carol", Role.ADMIN);

        // Refused, and nothing changes: a tenant's admin; an unknown tenant; malformed JSON.
        assertThat(as(adminA, server.request("api/v1/admin/plugin-access/openai").header("Content-Type",
                "application/json").PUT(HttpRequest.BodyPublishers.ofString("{\"restricted_to\":[\"" + tenantA
                + "\"]}"))).status()).isEqualTo(403);
        Server.Reply noTenant = putRule("{\"restricted_to\":[\"" + tenantB + "\",\"ma-none-" + tenantB + "\"]}");
        assertThat(noTenant.status()).as(noTenant.body()).isEqualTo(404);
        assertThat(noTenant.json().get("detail").asText()).contains("ma-none-" + tenantB);
        Server.Reply malformed = putRule("{\"restricted_to\":[");
        assertThat(malformed.status()).as(malformed.body()).isEqualTo(400);
        assertThat(malformed.contentType()).startsWith("application/problem+json");
        Server.Reply rule = server.send(server.request("api/v1/admin/plugin-access/openai").GET());
        assertThat(rule.status()).as(rule.body()).isEqualTo(200);
        assertThat(rule.json().get("available_to").asText()).isEqualTo("all");
        assertThat(rule.json().get("installed").asBoolean()).isTrue();

        Server.Reply restricted = putRule("{\"restricted_to\":[\"" + tenantB + "\"]}");
        assertThat(restricted.status()).as(restricted.body()).isEqualTo(201);
        assertThat(restricted.json().get("available_to").asText()).isEqualTo("listed");

        // A cannot use any of the plugin's models, nor see them, nor be offered them by its admin's API.
        assertThat(everyApi(annA, "fake-model", "text-embedding-3-small")).containsOnly(404);
        assertThat(listed(as(annA, server.request("v1/models").GET()))).doesNotContain("fake-model", "other-model",
                "text-embedding-3-small");
        List<String> offeredToA = new ArrayList<>();
        tenantModels(adminA, "GET", "", "").json().get("models").forEach(m -> offeredToA.add(m.get("id").asText()));
        assertThat(offeredToA).doesNotContain("fake-model", "other-model", "text-embedding-3-small");
        assertThat(tenantModels(adminA, "PATCH", "", "{\"models\":{\"fake-model\":true}}").status()).isEqualTo(400);
        // B can.
        assertThat(everyApi(bobB, "fake-model", "text-embedding-3-small")).containsOnly(200);

        // Removed: every tenant may use it again.
        assertThat(server.send(server.request("api/v1/admin/plugin-access/openai").DELETE()).status())
                .isEqualTo(204);
        assertThat(everyApi(annA, "fake-model", "text-embedding-3-small")).containsOnly(200);
    }

    private Server.Reply putRule(String json) {
        return server.send(server.request("api/v1/admin/plugin-access/openai").header("Content-Type",
                "application/json").PUT(HttpRequest.BodyPublishers.ofString(json)));
    }
}

package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.identity.BearerAuthenticator;
import dev.parley.api.identity.Role;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.db.Database;
import dev.parley.testsupport.FakeOpenAiServer;
import java.net.http.HttpRequest;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.ServiceRegistration;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * Provider instances a tenant owns, in the runtime as shipped behind the real edge: tenant A's admin runs its own
 * instance of the real OpenAI-compatible plugin, with its own key, against a local server of the OpenAI wire protocol
 * that accepts only that key. A's members chat through it as {@code A~work/model}; B's members neither see nor reach
 * it, and a bare model id is never routed to it. The key is sealed at rest and never becomes a service property. What
 * a tenant may set is limited (hosts, count, the provider id, the plugins the operator makes available), bad input is
 * refused with a problem, every change is audited, and deleting the instance stops its provider.
 *
 * <p>Users are stood in for by a test {@link BearerAuthenticator}: credentials {@code tp:tenant:subject:role}.
 */
class TenantProvidersTest {
    private static final String PREFIX = "tp:";
    private static final String TENANT_KEY = "sk-tenant-own-key-7f3a";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    @InjectService(timeout = 20_000)
    ConfigurationAdmin configAdmin;

    @InjectService(timeout = 20_000)
    Database database;

    FakeOpenAiServer tenantUpstream;
    FakeOpenAiServer operatorUpstream;
    Configuration operatorProvider;
    Configuration limits;
    Server server;
    ServiceRegistration<BearerAuthenticator> users;
    String tenantA;
    String tenantB;
    String adminA;
    String memberA;
    String adminB;
    String memberB;
    /** The operator's model: unique per run, since claims outlive a test (another test's provider may own "op-model"). */
    String opModel;

    @BeforeEach
    void setUp() throws Exception {
        server = new Server(http.getServiceReference());
        users = context.registerService(BearerAuthenticator.class, new TenantUsers(PREFIX), null);
        tenantUpstream = FakeOpenAiServer.start(TENANT_KEY);
        String run = UUID.randomUUID().toString().substring(0, 8);
        opModel = "op-model-" + run;
        // The operator's own provider, so the framework's providers are known whatever ran before.
        operatorUpstream = FakeOpenAiServer.start("sk-operator");
        operatorProvider = configAdmin.getFactoryConfiguration("dev.parley.provider.openai", "tp-operator", "?");
        var operator = new Hashtable<String, Object>();
        operator.put(".apiKey", "sk-operator");
        operator.put("baseUrl", operatorUpstream.baseUrl());
        operator.put("models", new String[] {opModel});
        operator.put("providerId", "tp-op");
        operator.put("parley.provider.id", "tp-op");
        operatorProvider.update(operator);
        tenantA = "tp-a-" + run;
        tenantB = "tp-b-" + run;
        adminA = PREFIX + tenantA + ":carol:" + Role.ADMIN.slug();
        memberA = PREFIX + tenantA + ":ann:" + Role.MEMBER.slug();
        adminB = PREFIX + tenantB + ":dave:" + Role.ADMIN.slug();
        memberB = PREFIX + tenantB + ":bob:" + Role.MEMBER.slug();
        await().atMost(Duration.ofSeconds(30)).until(() -> server.get("health/ready").status() == 200);
        for (String t : List.of(tenantA, tenantB)) {
            Server.Reply created = server.send(server.jsonPost("api/v1/admin/tenants", "{\"id\":\"" + t
                    + "\",\"name\":\"" + t + "\"}"));
            assertThat(created.status()).as(created.body()).isEqualTo(201);
        }
        // The operator lets tenants point the OpenAI plugin at loopback (the local upstream), and run two instances.
        limits = configAdmin.getConfiguration("dev.parley.plugins.tenants", "?");
        var props = new Hashtable<String, Object>();
        props.put("hosts", new String[] {"openai=http://127.0.0.1:*"});
        props.put("max", 2);
        limits.update(props);
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            Server.Reply r = as(adminA, server.request("api/v1/tenant/providers").GET());
            return r.status() == 200 && r.json().get("max").asInt() == 2;
        });
    }

    @AfterEach
    void tearDown() throws Exception {
        server.send(server.request("api/v1/admin/plugin-access/openai").DELETE());
        for (String t : List.of(tenantA, tenantB)) {
            for (String name : List.of("work", "second")) {
                server.send(server.request("api/v1/tenant/providers/" + name + "?tenant=" + t).DELETE());
            }
        }
        limits.delete();
        operatorProvider.delete();
        users.unregister();
        tenantUpstream.close();
        operatorUpstream.close();
    }

    private Server.Reply as(String credential, HttpRequest.Builder request) {
        return server.send(request.header("Authorization", "Bearer " + credential));
    }

    private Server.Reply put(String credential, String name, String json) {
        return as(credential, server.request("api/v1/tenant/providers/" + name).header("Content-Type",
                "application/json").PUT(HttpRequest.BodyPublishers.ofString(json)));
    }

    private String instance(String extraSettings) {
        return "{\"plugin\":\"openai\",\"settings\":{\"apiKey\":\"" + TENANT_KEY + "\",\"baseUrl\":\""
                + tenantUpstream.baseUrl() + "\",\"models\":[\"tenant-model\"]" + extraSettings + "}}";
    }

    private Server.Reply chat(String credential, String model) {
        return as(credential, server.jsonPost("v1/chat/completions", "{\"model\":\"" + model + "\",\"messages\":"
                + "[{\"role\":\"user\",\"content\":\"hi\"}]}"));
    }

    private List<String> models(String credential) {
        Server.Reply r = as(credential, server.request("v1/models").GET());
        assertThat(r.status()).as(r.body()).isEqualTo(200);
        List<String> ids = new ArrayList<>();
        r.json().get("data").forEach(m -> ids.add(m.get("id").asText()));
        return ids;
    }

    @Test
    void aSettingsChangeAppliesInPlaceAndKeepsTheApiServed() throws Exception {
        // The REST resource stays registered (the same service) while the operator changes the settings: a change
        // does not take the API away while the REST whiteboard reloads.
        ServiceReference<?>[] before = context.getAllServiceReferences(null,
                "(component.name=dev.parley.plugins.internal.TenantProvidersResource)");
        assertThat(before).hasSize(1);
        var props = new Hashtable<String, Object>();
        props.put("hosts", new String[] {"openai=http://127.0.0.1:*"});
        props.put("max", 3);
        limits.update(props);
        await().atMost(Duration.ofSeconds(20)).until(() -> {
            Server.Reply r = as(adminA, server.request("api/v1/tenant/providers").GET());
            return r.status() == 200 && r.json().get("max").asInt() == 3;
        });
        ServiceReference<?>[] after = context.getAllServiceReferences(null,
                "(component.name=dev.parley.plugins.internal.TenantProvidersResource)");
        assertThat(after).hasSize(1);
        assertThat(after[0].getProperty("service.id")).isEqualTo(before[0].getProperty("service.id"));
    }

    @Test
    void aTenantRunsItsOwnInstanceWithItsOwnKeyAndNoOtherTenantReachesIt() throws Exception {
        String provider = tenantA + "~work";
        String model = provider + "/tenant-model";

        Server.Reply created = put(adminA, "work", instance(""));
        assertThat(created.status()).as(created.body()).isEqualTo(201);
        assertThat(created.json().get("providerId").asText()).isEqualTo(provider);
        assertThat(created.json().get("secrets").toString()).contains("\".apiKey\"");
        assertThat(created.body()).doesNotContain(TENANT_KEY);

        await().atMost(Duration.ofSeconds(30)).until(() -> models(memberA).containsAll(List.of(model, opModel)));
        Server.Reply answer = chat(memberA, model);
        assertThat(answer.status()).as(answer.body()).isEqualTo(200);
        // The local upstream accepts only the tenant's key: the answer proves the key reached its provider.
        assertThat(tenantUpstream.lastChatRequest().body().get("model").asText()).isEqualTo("tenant-model");
        Server.Reply shown = as(adminA, server.request("api/v1/tenant/providers/work").GET());
        assertThat(shown.json().get("running").asBoolean()).isTrue();
        assertThat(shown.json().get("models").toString()).contains(model);

        // Another tenant neither sees nor reaches it; nobody reaches it by the bare model id.
        assertThat(models(memberB)).contains(opModel).doesNotContain(model).noneMatch(id -> id.contains(provider));
        assertThat(chat(memberB, opModel).status()).isEqualTo(200);
        assertThat(chat(memberB, model).status()).isEqualTo(404);
        assertThat(chat(memberB, "tenant-model").status()).isEqualTo(404);
        assertThat(chat(memberA, "tenant-model").status()).isEqualTo(404);
        assertThat(as(adminB, server.request("api/v1/tenant/models").GET()).body()).doesNotContain(provider);
        assertThat(as(adminA, server.request("api/v1/tenant/models").GET()).body()).contains(model);
        assertThat(as(adminB, server.request("api/v1/tenant/providers").GET()).json().get("instances")).isEmpty();
        assertThat(as(adminB, server.request("api/v1/tenant/providers/work").GET()).status()).isEqualTo(404);
        assertThat(as(adminB, server.request("api/v1/tenant/providers?tenant=" + tenantA).GET()).status())
                .isEqualTo(403);

        // The key is sealed at rest and kept out of the service registry.
        String stored = database.inTransaction("read", c -> {
            try (PreparedStatement ps = c.prepareStatement(
                    "SELECT config FROM tenant_providers WHERE tenant_id = ? AND name = 'work'")) {
                ps.setString(1, tenantA);
                try (ResultSet rs = ps.executeQuery()) {
                    return rs.next() ? rs.getString(1) : null;
                }
            }
        });
        assertThat(stored).isNotNull().doesNotContain(TENANT_KEY);
        ServiceReference<?>[] refs = context.getServiceReferences(ChatModelProvider.class.getName(),
                "(" + ChatModelProvider.TENANT_PROPERTY + "=" + tenantA + ")");
        assertThat(refs).hasSize(1);
        for (String key : refs[0].getPropertyKeys()) {
            assertThat(String.valueOf(refs[0].getProperty(key))).as(key).doesNotContain(TENANT_KEY);
        }

        // Changing the models keeps the key (not sent again); deleting stops the provider.
        Server.Reply changed = put(adminA, "work", "{\"plugin\":\"openai\",\"settings\":{\"baseUrl\":\""
                + tenantUpstream.baseUrl() + "\",\"models\":[\"renamed-model\"]}}");
        assertThat(changed.status()).as(changed.body()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(30)).until(() -> models(memberA).contains(provider + "/renamed-model"));
        assertThat(chat(memberA, provider + "/renamed-model").status()).isEqualTo(200);

        assertThat(as(adminA, server.request("api/v1/tenant/providers/work").DELETE()).status()).isEqualTo(204);
        await().atMost(Duration.ofSeconds(30)).until(() -> models(memberA).stream().noneMatch(
                id -> id.startsWith(provider)));
        assertThat(chat(memberA, provider + "/renamed-model").status()).isEqualTo(404);
        assertThat(as(adminA, server.request("api/v1/tenant/providers/work").GET()).status()).isEqualTo(404);
        assertThat(as(adminA, server.request("api/v1/tenant/providers/work").DELETE()).status()).isEqualTo(404);

        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            JsonNode events = as(adminA, server.request("api/v1/admin/audit?action=tenant.provider.put").GET()).json()
                    .get("events");
            assertThat(events.toString()).contains("tenant-provider:" + tenantA + "/work").doesNotContain(TENANT_KEY);
        });
    }

    @Test
    void whatATenantMaySetIsLimitedAndBadInputIsRefusedWithAProblem() {
        assertProblem(put(adminA, "work", "{\"plugin\":\"openai\",\"settings\":{\"baseUrl\":\"http://10.0.0.1/v1\"}}"),
                400, "not among the hosts");
        assertProblem(put(adminA, "work", "{\"plugin\":\"openai\",\"settings\":{\"baseUrl\":"
                + "\"https://user:pw@127.0.0.1/v1\"}}"), 400, "user info");
        assertProblem(put(adminA, "work", instance(",\"providerId\":\"openai\"")), 400, "set by Parley");
        assertProblem(put(adminA, "work", instance(",\"noSuchSetting\":1")), 400, "unknown setting");
        assertProblem(put(adminA, "work", "{\"plugin\":\"no-such-plugin\",\"settings\":{}}"), 404, "no-such-plugin");
        assertProblem(put(adminA, "work", "{\"settings\":{}}"), 400, "plugin");
        assertProblem(put(adminA, "Bad_Name", instance("")), 400, "instance name");
        assertProblem(put(adminA, "work", "{\"plugin\":"), 400, null);
        assertProblem(put(memberA, "work", instance("")), 403, null);
        assertThat(as(adminA, server.request("api/v1/tenant/providers").GET()).json().get("instances")).isEmpty();

        // At most two instances per tenant (as configured); another tenant's count is its own.
        assertThat(put(adminA, "work", instance("")).status()).isEqualTo(201);
        assertThat(put(adminA, "second", instance("")).status()).isEqualTo(201);
        assertProblem(put(adminA, "third", instance("")), 409, "has 2 provider instances");
        assertThat(put(adminB, "work", instance("")).status()).isEqualTo(201);

        // A plugin the operator keeps from the tenant cannot be run by it.
        Server.Reply rule = server.send(server.request("api/v1/admin/plugin-access/openai").header("Content-Type",
                "application/json").PUT(HttpRequest.BodyPublishers.ofString("{\"restricted_to\":[\"" + tenantB + "\"]}")));
        assertThat(rule.status()).as(rule.body()).isIn(200, 201);
        assertProblem(put(adminA, "work", instance("")), 403, "does not make plugin 'openai' available");
        assertThat(as(adminA, server.request("api/v1/tenant/providers").GET()).json().get("plugins").toString())
                .doesNotContain("\"openai\"");
        assertThat(as(adminB, server.request("api/v1/tenant/providers").GET()).json().get("plugins").toString())
                .contains("\"openai\"").contains("http://127.0.0.1:*");
    }

    private static void assertProblem(Server.Reply reply, int status, String detail) {
        assertThat(reply.status()).as(reply.body()).isEqualTo(status);
        assertThat(reply.contentType()).contains("problem+json");
        if (detail != null) {
            assertThat(reply.json().get("detail").asText()).contains(detail);
        }
        assertThat(reply.body()).doesNotContain("Exception").doesNotContain(TENANT_KEY);
    }
}

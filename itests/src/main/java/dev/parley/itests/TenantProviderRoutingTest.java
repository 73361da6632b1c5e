package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.identity.BearerAuthenticator;
import dev.parley.api.identity.Role;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.StreamHandle;
import dev.parley.api.llm.Usage;
import java.net.http.HttpRequest;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
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
 * A tenant's own provider instance in the runtime as shipped, behind the real edge: a provider service registered
 * with {@code parley.tenant=<t1>} and the id {@code <t1>~work}, beside one of the operator's. Only t1's users see
 * and use it, and only as {@code <t1>~work/<model>}: its bare model id is unknown to everyone (it claims none), t2's
 * users get exactly the unknown-model answer for it, an admin alias naming it is refused, the operator's router view
 * shows its owner, and its use is recorded under its own provider id.
 *
 * <p>Users are stood in for by a test {@link BearerAuthenticator}: credentials {@code tp:tenant:subject:role}.
 */
class TenantProviderRoutingTest {
    private static final String PREFIX = "tp:";
    private static final String OPERATOR_PROVIDER = "tp-operator";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    Server server;
    TenantUsers users;
    ServiceRegistration<BearerAuthenticator> usersRegistration;
    final List<ServiceRegistration<ChatModelProvider>> providers = new ArrayList<>();
    EchoProvider work;
    EchoProvider operator;
    String t1;
    String t2;

    /** Answers every request with "echo: " and the last message, on a thread of its own, as a provider does. */
    static final class EchoProvider implements ChatModelProvider {
        final String id;
        final List<String> models;
        final List<ChatRequest> requests = new CopyOnWriteArrayList<>();

        EchoProvider(String id, String... models) {
            this.id = id;
            this.models = List.of(models);
        }

        @Override
        public String id() {
            return id;
        }

        @Override
        public List<ModelDescriptor> models() {
            return models.stream().map(m -> new ModelDescriptor(m, id, null, 8000, 1000)).toList();
        }

        @Override
        public StreamHandle stream(ChatRequest request, ChatStreamHandler handler) {
            requests.add(request);
            List<ChatMessage> messages = request.messages();
            String text = "echo: " + messages.get(messages.size() - 1).content();
            CompletableFuture.runAsync(() -> {
                handler.onToken(text);
                handler.onComplete(new ChatResponse(text, List.of(), FinishReason.STOP, new Usage(7, 3),
                        request.model()));
            });
            return () -> { };
        }
    }

    @BeforeEach
    void setUp() {
        server = new Server(http.getServiceReference());
        users = new TenantUsers(PREFIX);
        usersRegistration = context.registerService(BearerAuthenticator.class, users, null);
        String run = UUID.randomUUID().toString().substring(0, 8);
        t1 = "tp-a-" + run;
        t2 = "tp-b-" + run;
        await().atMost(Duration.ofSeconds(30)).until(() -> server.get("health/ready").status() == 200);
        for (String t : List.of(t1, t2)) {
            Server.Reply created = server.send(server.jsonPost("api/v1/admin/tenants", "{\"id\":\"" + t
                    + "\",\"name\":\"" + t + "\"}"));
            assertThat(created.status()).as(created.body()).isEqualTo(201);
        }
        work = new EchoProvider(t1 + "~work", "shared-x");
        operator = new EchoProvider(OPERATOR_PROVIDER, "op-model");
        Hashtable<String, Object> owned = new Hashtable<>();
        owned.put(ChatModelProvider.TENANT_PROPERTY, t1);
        providers.add(context.registerService(ChatModelProvider.class, work, owned));
        providers.add(context.registerService(ChatModelProvider.class, operator, null));
        await().atMost(Duration.ofSeconds(20)).until(() -> server.get("v1/models").body().contains("op-model"));
    }

    @AfterEach
    void tearDown() {
        providers.forEach(ServiceRegistration::unregister);
        usersRegistration.unregister();
    }

    private Server.Reply as(String credential, HttpRequest.Builder request) {
        return server.send(request.header("Authorization", "Bearer " + credential));
    }

    private Server.Reply chat(String credential, String model) {
        return as(credential, server.jsonPost("v1/chat/completions", "{\"model\":\"" + model + "\",\"messages\":"
                + "[{\"role\":\"user\",\"content\":\"hi from " + credential + "\"}]}"));
    }

    private List<String> listed(String credential) {
        Server.Reply models = as(credential, server.request("v1/models").GET());
        assertThat(models.status()).as(models.body()).isEqualTo(200);
        List<String> ids = new ArrayList<>();
        models.json().get("data").forEach(m -> ids.add(m.get("id").asText()));
        return ids;
    }

    @Test
    void onlyItsTenantSeesAndUsesItAndOnlyByItsProviderId() {
        String annT1 = users.credential(t1, "ann", Role.MEMBER);
        String bobT2 = users.credential(t2, "bob", Role.MEMBER);
        String own = t1 + "~work/shared-x";

        // t1: listed as provider/model, never bare; it answers.
        assertThat(listed(annT1)).contains(own, "op-model").doesNotContain("shared-x");
        Server.Reply answer = chat(annT1, own);
        assertThat(answer.status()).as(answer.body()).isEqualTo(200);
        assertThat(answer.json().at("/choices/0/message/content").asText()).isEqualTo("echo: hi from " + annT1);
        assertThat(work.requests).extracting(ChatRequest::model).containsExactly("shared-x");
        // Its bare model id is claimed by nobody: unknown for its own tenant too.
        Server.Reply bareOwn = chat(annT1, "shared-x");
        assertThat(bareOwn.status()).as(bareOwn.body()).isEqualTo(404);

        // t2: not listed, and exactly the unknown-model answer, by provider id or bare.
        assertThat(listed(bobT2)).contains("op-model").noneMatch(id -> id.contains(t1 + "~work"))
                .doesNotContain("shared-x");
        assertThat(as(bobT2, server.request("api/v1/models").GET()).body()).doesNotContain(t1 + "~work");
        Server.Reply theirs = chat(bobT2, own);
        Server.Reply unknown = chat(bobT2, t1 + "~work/no-such-model");
        assertThat(theirs.status()).as(theirs.body()).isEqualTo(404);
        assertThat(theirs.json().at("/error/code").asText()).isEqualTo("model_not_found");
        assertThat(theirs.json().at("/error/message").asText().replace("shared-x", "X"))
                .isEqualTo(unknown.json().at("/error/message").asText().replace("no-such-model", "X"));
        assertThat(chat(bobT2, "shared-x").status()).isEqualTo(404);
        // A native turn too (a conversation may name any model; its turns are routed like every request).
        Server.Reply conversation = as(bobT2, server.jsonPost("api/v1/conversations", "{\"model\":\"" + own
                + "\"}"));
        assertThat(conversation.status()).as(conversation.body()).isEqualTo(201);
        Server.Reply turn = as(bobT2, server.jsonPost("api/v1/conversations/" + conversation.json().get("id")
                .asText() + "/messages", "{\"content\":\"hi\"}"));
        assertThat(turn.status()).as(turn.body()).isEqualTo(404);
        assertThat(turn.json().get("code").asText()).isEqualTo("model-not-found");
        assertThat(work.requests).hasSize(1);
        // The operator's provider answers both tenants.
        assertThat(chat(bobT2, "op-model").status()).isEqualTo(200);
        assertThat(chat(annT1, "op-model").status()).isEqualTo(200);

        // The operator sees the instance's owner; an alias naming it is refused with a problem naming it.
        Server.Reply view = server.get("api/v1/admin/models");
        assertThat(view.status()).as(view.body()).isEqualTo(200);
        List<String> owners = new ArrayList<>();
        view.json().get("providers").forEach(p -> owners.add(p.get("id").asText() + "=" + p.path("owner")
                .asText("")));
        assertThat(owners).contains(t1 + "~work=" + t1, OPERATOR_PROVIDER + "=");
        assertThat(view.json().get("claims").toString()).doesNotContain(t1 + "~work");
        Server.Reply alias = server.send(server.request("api/v1/admin/models/aliases/tp-" + t1).header(
                "Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(
                        "{\"definition\":\"" + own + "\"}")));
        assertThat(alias.status()).as(alias.body()).isEqualTo(400);
        assertThat(alias.contentType()).startsWith("application/problem+json");
        assertThat(alias.json().get("detail").asText()).contains(t1 + "~work");

        // Its use is recorded under its own provider id, in its tenant.
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            Server.Reply usage = server.get("api/v1/usage?tenant=" + t1 + "&provider=" + t1 + "~work");
            assertThat(usage.status()).as(usage.body()).isEqualTo(200);
            assertThat(usage.json().get("items")).hasSize(1);
            assertThat(usage.json().at("/items/0/providerId").asText()).isEqualTo(t1 + "~work");
            assertThat(usage.json().at("/items/0/model").asText()).isEqualTo("shared-x");
            assertThat(usage.json().at("/items/0/requestedModel").asText()).isEqualTo(own);
        });
    }
}

package dev.parley.web.rest.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** {@code /api/v1/admin/models} over real HTTP: the admin token, the view's JSON, changes, problem details. */
class AdminModelApiTest {
    private final RestServer server = new RestServer(new ScriptedChatService(), new StubHealthChecks());

    @AfterEach
    void close() {
        server.close();
    }

    private HttpResponse<String> admin(String method, String path, String json) throws Exception {
        HttpRequest.Builder b = server.request(path);
        if (json != null) {
            b.header("Content-Type", "application/json");
        }
        return server.send(b.method(method, json == null ? HttpRequest.BodyPublishers.noBody()
                : HttpRequest.BodyPublishers.ofString(json)).build());
    }

    @Test
    void needsTheRouterPermission() throws Exception {
        assertThat(server.send(server.anonymous("api/v1/admin/models").GET().build()).statusCode()).isEqualTo(401);
        assertThat(server.send(server.anonymous("api/v1/admin/models").header("Authorization", "Bearer as:developer")
                .GET().build()).statusCode()).isEqualTo(403);
        assertThat(server.send(server.anonymous("api/v1/admin/models/aliases/fast")
                .header("Content-Type", "application/json")
                .PUT(HttpRequest.BodyPublishers.ofString("{\"definition\":\"openai/gpt-4o\"}")).build()).statusCode())
                .isEqualTo(401);
        assertThat(server.routing.aliases).doesNotContainKey("fast");
    }

    @Test
    void listsProvidersBreakersAliasesClaimsAndPrices() throws Exception {
        var r = admin("GET", "api/v1/admin/models", null);

        assertThat(r.statusCode()).isEqualTo(200);
        var json = server.parse(r);
        assertThat(json.path("providers")).hasSize(3);
        assertThat(json.path("providers").get(0).path("id").asText()).isEqualTo("ollama");
        assertThat(json.path("providers").get(2).path("up").asBoolean()).isFalse();
        var target = json.path("targets").get(0);
        assertThat(target.path("target").asText()).isEqualTo("openai/gpt-4o");
        assertThat(target.path("breaker").asText()).isEqualTo("OPEN");
        assertThat(target.path("ttftMillis").asLong()).isEqualTo(420);
        assertThat(target.path("failures").asLong()).isEqualTo(30);
        assertThat(json.path("aliases").get(0).path("name").asText()).isEqualTo("default");
        assertThat(json.path("aliases").get(0).path("targets").get(0).path("providerId").asText()).isEqualTo("openai");
        assertThat(json.path("claims").get(0).path("modelId").asText()).isEqualTo("gpt-4o");
        assertThat(json.path("prices").get(0).path("outputPerMillion").asDouble()).isEqualTo(10.0);
    }

    @Test
    void putsAndDeletesAnAlias() throws Exception {
        var put = admin("PUT", "api/v1/admin/models/aliases/fast",
                "{\"definition\":\"priority:openai/gpt-4o-mini,ollama/meta-llama/Llama-3-8B\"}");

        assertThat(put.statusCode()).isEqualTo(200);
        assertThat(server.parse(put).path("strategy").asText()).isEqualTo("PRIORITY");
        assertThat(server.parse(put).path("targets")).hasSize(2);
        assertThat(server.routing.aliases).containsKey("fast");

        assertThat(admin("DELETE", "api/v1/admin/models/aliases/fast", null).statusCode()).isEqualTo(204);
        assertThat(server.routing.aliases).doesNotContainKey("fast");
    }

    @Test
    void badInputIsAProblemWithAClearMessage() throws Exception {
        var unknownProvider = admin("PUT", "api/v1/admin/models/aliases/fast", "{\"definition\":\"nobody/x\"}");
        assertThat(unknownProvider.statusCode()).isEqualTo(400);
        assertThat(unknownProvider.headers().firstValue("Content-Type")).hasValue(ErrorResponses.PROBLEM_JSON);
        assertThat(server.parse(unknownProvider).path("detail").asText()).contains("unknown provider 'nobody'");

        var badSyntax = admin("PUT", "api/v1/admin/models/aliases/fast", "{\"definition\":\"gpt-4o\"}");
        assertThat(badSyntax.statusCode()).isEqualTo(400);
        assertThat(server.parse(badSyntax).path("detail").asText()).contains("'provider/model'");

        var noDefinition = admin("PUT", "api/v1/admin/models/aliases/fast", "{}");
        assertThat(noDefinition.statusCode()).isEqualTo(400);
        assertThat(server.parse(noDefinition).path("detail").asText()).contains("'definition'");

        var notJson = admin("PUT", "api/v1/admin/models/aliases/fast", "{definition");
        assertThat(notJson.statusCode()).isEqualTo(400);

        var unknownAlias = admin("DELETE", "api/v1/admin/models/aliases/nope", null);
        assertThat(unknownAlias.statusCode()).isEqualTo(404);
        assertThat(server.parse(unknownAlias).path("type").asText()).endsWith("/not-found");

        var configured = admin("DELETE", "api/v1/admin/models/aliases/default", null);
        assertThat(configured.statusCode()).isEqualTo(409);
        assertThat(server.parse(configured).path("detail").asText()).contains("configuration");
        assertThat(server.routing.aliases).containsKey("default");
    }

    @Test
    void reassignsAndForgetsAClaimEvenWhenTheModelIdHasASlash() throws Exception {
        var put = admin("PUT", "api/v1/admin/models/claims/meta-llama/Llama-3-8B", "{\"provider\":\"ollama\"}");

        assertThat(put.statusCode()).isEqualTo(200);
        assertThat(server.parse(put).path("modelId").asText()).isEqualTo("meta-llama/Llama-3-8B");
        assertThat(server.routing.claims).containsEntry("meta-llama/Llama-3-8B", "ollama");

        var unknown = admin("PUT", "api/v1/admin/models/claims/gpt-4o", "{\"provider\":\"azure\"}");
        assertThat(unknown.statusCode()).isEqualTo(400);
        assertThat(server.parse(unknown).path("detail").asText()).contains("unknown provider 'azure'");
        assertThat(server.routing.claims).containsEntry("gpt-4o", "openai");

        assertThat(admin("DELETE", "api/v1/admin/models/claims/meta-llama/Llama-3-8B", null).statusCode())
                .isEqualTo(204);
        assertThat(admin("DELETE", "api/v1/admin/models/claims/meta-llama/Llama-3-8B", null).statusCode())
                .isEqualTo(404);
    }
}

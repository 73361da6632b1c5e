package dev.parley.web.rest.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.io.ByteArrayInputStream;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class ConversationApiTest {
    private final ScriptedChatService chat = new ScriptedChatService();
    private RestServer server;

    @BeforeEach
    void start() {
        server = new RestServer(chat, new StubHealthChecks());
    }

    @AfterEach
    void stop() {
        server.close();
        chat.close();
    }

    @Test
    void createsGetsAndDeletesAConversation() throws Exception {
        HttpResponse<String> created = server.postJson("api/v1/conversations",
                "{\"title\":\"Trip\",\"model\":\"test-model\",\"systemPrompt\":\"Be brief\"}");
        assertThat(created.statusCode()).isEqualTo(201);
        JsonNode body = server.parse(created);
        String id = body.get("id").asText();
        assertThat(body.get("title").asText()).isEqualTo("Trip");
        assertThat(body.get("systemPrompt").asText()).isEqualTo("Be brief");
        assertThat(body.get("createdAt").asText()).matches("\\d{4}-\\d{2}-\\d{2}T.*Z");
        assertThat(created.headers().firstValue("Location")).hasValueSatisfying(
                l -> assertThat(l).endsWith("/api/v1/conversations/" + id));

        HttpResponse<String> got = server.get("api/v1/conversations/" + id);
        assertThat(got.statusCode()).isEqualTo(200);
        assertThat(server.parse(got).get("model").asText()).isEqualTo("test-model");

        assertThat(server.delete("api/v1/conversations/" + id).statusCode()).isEqualTo(204);
        assertProblem(server.get("api/v1/conversations/" + id), 404, "not-found");
        assertProblem(server.delete("api/v1/conversations/" + id), 404, "not-found");
    }

    @Test
    void createAcceptsAnEmptyBody() throws Exception {
        HttpResponse<String> empty = server.send(server.request("api/v1/conversations")
                .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.noBody()).build());
        assertThat(empty.statusCode()).isEqualTo(201);
        assertThat(server.parse(empty).has("title")).isFalse();
        assertThat(server.postJson("api/v1/conversations", "{}").statusCode()).isEqualTo(201);
    }

    @Test
    void listsPagesNewestFirstWithinLimitBounds() throws Exception {
        for (int i = 0; i < 5; i++) {
            server.postJson("api/v1/conversations", "{\"title\":\"c" + i + "\"}");
        }
        JsonNode page = server.parse(server.get("api/v1/conversations?offset=1&limit=2"));
        assertThat(page.get("total").asLong()).isEqualTo(5);
        assertThat(page.get("offset").asInt()).isEqualTo(1);
        assertThat(page.get("limit").asInt()).isEqualTo(2);
        assertThat(page.get("items")).extracting(n -> n.get("title").asText()).containsExactly("c3", "c2");

        JsonNode defaults = server.parse(server.get("api/v1/conversations"));
        assertThat(defaults.get("limit").asInt()).isEqualTo(20);
        assertThat(defaults.get("items")).hasSize(5);

        assertThat(server.get("api/v1/conversations?limit=100").statusCode()).isEqualTo(200);
        assertProblem(server.get("api/v1/conversations?limit=101"), 400, "invalid-request");
        assertProblem(server.get("api/v1/conversations?limit=0"), 400, "invalid-request");
        assertProblem(server.get("api/v1/conversations?offset=-1"), 400, "invalid-request");
        assertProblem(server.get("api/v1/conversations?limit=ten"), 400, "invalid-request");
    }

    @Test
    void malformedJsonIsA400ProblemWithoutStackTrace() throws Exception {
        HttpResponse<String> r = server.postJson("api/v1/conversations", "{\"title\": \"x\",,}");
        JsonNode problem = assertProblem(r, 400, "invalid-request");
        assertThat(problem.get("detail").asText()).contains("Malformed JSON").contains("line 1");
        assertThat(r.body()).doesNotContain("Exception").doesNotContain("\tat ").doesNotContain("jackson");
    }

    @Test
    void wrongFieldTypesNameTheField() throws Exception {
        String id = server.parse(server.postJson("api/v1/conversations", "{}")).get("id").asText();
        HttpResponse<String> r = server.postJson("api/v1/conversations/" + id + "/messages",
                "{\"content\":\"hi\",\"maxTokens\":\"many\"}");
        JsonNode problem = assertProblem(r, 400, "invalid-request");
        assertThat(problem.get("detail").asText()).contains("maxTokens");
        assertThat(r.body()).doesNotContain("Exception").doesNotContain("java.lang");

        JsonNode objectForString = assertProblem(server.postJson("api/v1/conversations", "{\"title\":{\"a\":1}}"), 400,
                "invalid-request");
        assertThat(objectForString.get("detail").asText()).contains("title");
        assertThat(server.postJson("api/v1/conversations", "{\"title\":17}").statusCode()).isEqualTo(400);
        assertThat(chat.conversations(0, 100).total()).isEqualTo(1);
    }

    @Test
    void oversizeBodiesAre413() throws Exception {
        String big = "{\"title\":\"" + "x".repeat((int) RestServer.LIMITS.maxBodyBytes()) + "\"}";
        HttpResponse<String> tooLarge = server.postJson("api/v1/conversations", big);
        assertProblem(tooLarge, 413, "too-large");
        assertThat(tooLarge.headers().firstValue("Connection")).hasValue("close");

        // Without Content-Length (chunked) the limit is enforced while reading.
        HttpResponse<String> chunked = server.send(server.request("api/v1/conversations")
                .header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofInputStream(() -> new ByteArrayInputStream(big.getBytes())))
                .build());
        assertProblem(chunked, 413, "too-large");
        assertThat(chat.conversations(0, 100).total()).isZero();
    }

    @Test
    void unknownPathWrongMethodAndMediaTypeAreProblems() throws Exception {
        assertProblem(server.get("api/v1/nothing-here"), 404, "not-found");
        HttpResponse<String> wrongMethod = server.send(server.request("api/v1/models")
                .DELETE().build());
        assertProblem(wrongMethod, 405, "invalid-request");
        HttpResponse<String> wrongType = server.send(server.request("api/v1/conversations")
                .header("Content-Type", "text/plain").POST(HttpRequest.BodyPublishers.ofString("hello")).build());
        assertProblem(wrongType, 415, "invalid-request");
    }

    @Test
    void postsAMessageAndGetsTheAnswerAsJson() throws Exception {
        String id = server.parse(server.postJson("api/v1/conversations", "{}")).get("id").asText();
        HttpResponse<String> r = server.postJson("api/v1/conversations/" + id + "/messages",
                "{\"content\":\"Hello?\",\"temperature\":0.5,\"maxTokens\":50}");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(t -> assertThat(t).startsWith("application/json"));
        JsonNode body = server.parse(r);
        assertThat(body.at("/userMessage/content").asText()).isEqualTo("Hello?");
        assertThat(body.at("/userMessage/role").asText()).isEqualTo("user");
        assertThat(body.at("/answer/content").asText()).isEqualTo("Hello world");
        assertThat(body.at("/answer/status").asText()).isEqualTo("complete");
        assertThat(body.at("/answer/usage/totalTokens").asInt()).isEqualTo(10);
        assertThat(body.get("finishReason").asText()).isEqualTo("stop");
        assertThat(body.at("/route/provider").asText()).isEqualTo("scripted");
        assertThat(body.at("/route/costUsd").decimalValue()).isEqualByComparingTo("0.0125");
        assertThat(chat.sends.get(0).options().temperature()).isEqualTo(0.5);
        assertThat(chat.sends.get(0).options().maxTokens()).isEqualTo(50);
        assertThat(chat.calls).containsExactly("sendWhole");

        JsonNode messages = server.parse(server.get("api/v1/conversations/" + id + "/messages"));
        assertThat(messages.get("items")).extracting(n -> n.get("role").asText()).containsExactly("user", "assistant");
        assertProblem(server.get("api/v1/conversations/nope/messages"), 404, "not-found");
    }

    @Test
    void messageValidationAndFailuresAreProblems() throws Exception {
        String id = server.parse(server.postJson("api/v1/conversations", "{}")).get("id").asText();
        assertProblem(server.postJson("api/v1/conversations/" + id + "/messages", "{\"content\":\"  \"}"), 400,
                "invalid-request");
        assertProblem(server.postJson("api/v1/conversations/missing/messages", "{\"content\":\"hi\"}"), 404,
                "not-found");

        chat.failAfterTokens = new dev.parley.api.error.ParleyException(dev.parley.api.error.ErrorCode.UPSTREAM_FAILURE,
                "provider fell over");
        JsonNode failed = assertProblem(server.postJson("api/v1/conversations/" + id + "/messages", "{\"content\":\"hi\"}"),
                502, "upstream-failure");
        assertThat(failed.get("detail").asText()).isEqualTo("provider fell over");
        assertThat(failed.get("title").asText()).isNotBlank();
    }

    @Test
    void listsModels() throws Exception {
        JsonNode models = server.parse(server.get("api/v1/models"));
        assertThat(models.get("items")).extracting(n -> n.get("id").asText()).containsExactly("other-model", "test-model");
        assertThat(models.at("/items/1/provider").asText()).isEqualTo("scripted");
        assertThat(models.at("/items/1/contextWindow").asInt()).isEqualTo(4096);
        assertThat(models.at("/items/1/maxOutputTokens").asInt()).isEqualTo(1024);
        assertThat(models.at("/items/1/displayName").asText()).isEqualTo("Test model");
    }

    @Test
    void unexpectedFailuresAre500WithAnErrorIdAndNoInternals() throws Exception {
        chat.modelsBug = new IllegalStateException("secret internal detail");
        HttpResponse<String> r = server.get("api/v1/models");
        JsonNode problem = assertProblem(r, 500, "internal");
        assertThat(problem.get("detail").asText()).containsPattern("reference id [0-9a-f-]{36}");
        assertThat(r.body()).doesNotContain("secret internal detail").doesNotContain("IllegalStateException");
    }

    private JsonNode assertProblem(HttpResponse<String> r, int status, String slug) throws Exception {
        assertThat(r.statusCode()).as(r.body()).isEqualTo(status);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(
                t -> assertThat(t).startsWith("application/problem+json"));
        JsonNode problem = server.parse(r);
        assertThat(problem.get("type").asText()).isEqualTo("https://parley.dev/problems/" + slug);
        assertThat(problem.get("code").asText()).isEqualTo(slug);
        assertThat(problem.get("status").asInt()).isEqualTo(status);
        assertThat(problem.get("title").asText()).isNotBlank();
        assertThat(problem.get("detail").asText()).isNotBlank();
        return problem;
    }
}

package dev.parley.web.rest.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import java.net.http.HttpResponse;
import java.util.List;
import org.apache.felix.hc.api.Result;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class HealthResourceTest {
    private final ScriptedChatService chat = new ScriptedChatService();
    private final StubHealthChecks checks = new StubHealthChecks();
    private RestServer server;

    @BeforeEach
    void start() {
        server = new RestServer(chat, checks);
    }

    @AfterEach
    void stop() {
        server.close();
        chat.close();
    }

    @Test
    void liveIsAlwaysUp() throws Exception {
        HttpResponse<String> r = server.get("health/live");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(server.parse(r).get("status").asText()).isEqualTo("UP");
    }

    @Test
    void readyWhenAllReadyChecksPassAndTheRequiredOnesAreThere() throws Exception {
        checks.results = List.of(StubHealthChecks.result("Parley core", Result.Status.OK, "running"),
                StubHealthChecks.result("Parley store", Result.Status.WARN, "slow disk"));
        HttpResponse<String> r = server.get("health/ready");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode body = server.parse(r);
        assertThat(body.get("status").asText()).isEqualTo("UP");
        assertThat(body.get("checks")).extracting(n -> n.get("name").asText()).containsExactly("Parley core", "Parley store");
        assertThat(body.at("/checks/1/message").asText()).isEqualTo("slow disk");
        assertThat(checks.selectors).allSatisfy(s -> assertThat(s.tags()).containsExactly("ready"));
    }

    @Test
    void notReadyWhenACheckFails() throws Exception {
        checks.results = List.of(StubHealthChecks.result("Parley core", Result.Status.OK, "running"),
                StubHealthChecks.result("Parley store", Result.Status.CRITICAL, "database unreachable"));
        HttpResponse<String> r = server.get("health/ready");
        assertThat(r.statusCode()).isEqualTo(503);
        JsonNode body = server.parse(r);
        assertThat(body.get("status").asText()).isEqualTo("DOWN");
        assertThat(body.get("checks")).hasSize(1);
        assertThat(body.at("/checks/0/name").asText()).isEqualTo("Parley store");
        assertThat(body.at("/checks/0/status").asText()).isEqualTo("DOWN");
        assertThat(body.at("/checks/0/message").asText()).isEqualTo("database unreachable");
    }

    @Test
    void notReadyWhileARequiredCheckIsMissing() throws Exception {
        checks.results = List.of(StubHealthChecks.result("Parley core", Result.Status.OK, "running"));
        HttpResponse<String> r = server.get("health/ready");
        assertThat(r.statusCode()).isEqualTo(503);
        assertThat(server.parse(r).at("/checks/0/name").asText()).isEqualTo("Parley store");
    }
}

package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.testsupport.FakeOpenAiServer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.sql.DriverManager;
import java.util.Map;
import java.util.UUID;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The exported server configured for PostgreSQL through PARLEY_DB_* (the production store), against the
 * PostgreSQL server on 127.0.0.1:5432, in a schema of its own.
 */
class PostgresEndToEndIT {
    static final ObjectMapper JSON = new ObjectMapper();
    static final String BASE_URL = System.getenv().getOrDefault("PARLEY_TEST_PG_URL",
            "jdbc:postgresql://127.0.0.1:5432/test?user=postgres");

    String schema;

    @BeforeEach
    void createSchema() throws Exception {
        schema = "parley_e2e_" + UUID.randomUUID().toString().replace("-", "").substring(0, 12);
        try (var c = DriverManager.getConnection(BASE_URL); var s = c.createStatement()) {
            s.execute("CREATE SCHEMA " + schema);
        }
    }

    @AfterEach
    void dropSchema() throws Exception {
        try (var c = DriverManager.getConnection(BASE_URL); var s = c.createStatement()) {
            s.execute("DROP SCHEMA IF EXISTS " + schema + " CASCADE");
        }
    }

    @Test
    void chatsAreStoredInPostgresqlAndSurviveARestart(@TempDir Path temp) throws Exception {
        var http = HttpClient.newHttpClient();
        String url = BASE_URL.replace("?user=postgres", "") + "?currentSchema=" + schema;
        try (var upstream = FakeOpenAiServer.start()) {
            var env = Map.of("OPENAI_BASE_URL", upstream.baseUrl(), "OPENAI_MODELS", "fake-model",
                    "PARLEY_DB_URL", url, "PARLEY_DB_USER", "postgres", "PARLEY_DB_PASSWORD", "unused-with-trust-auth");
            String id;
            try (var parley = ParleyProcess.start(temp.resolve("data"), env)) {
                var ready = http.send(HttpRequest.newBuilder(parley.uri("/health/ready")).build(), HttpResponse.BodyHandlers.ofString());
                assertThat(ready.body()).contains("postgresql");
                id = JSON.readTree(http.send(HttpRequest.newBuilder(parley.uri("/api/v1/conversations"))
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"title\":\"pg\"}")).build(),
                        HttpResponse.BodyHandlers.ofString()).body()).get("id").asText();
                var answer = http.send(HttpRequest.newBuilder(parley.uri("/api/v1/conversations/" + id + "/messages"))
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"content\":\"stored where\"}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
            }

            // The rows are in PostgreSQL, in this schema, where another node (or a restart) finds them.
            try (var c = DriverManager.getConnection(BASE_URL); var s = c.createStatement();
                    var rs = s.executeQuery("SELECT role, content, status FROM " + schema + ".messages ORDER BY seq")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString("content")).isEqualTo("stored where");
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString("content")).isEqualTo("echo: stored where");
                assertThat(rs.getString("status")).isEqualToIgnoringCase("complete");
            }
            try (var again = ParleyProcess.start(temp.resolve("data2"), env)) {
                var messages = JSON.readTree(http.send(HttpRequest.newBuilder(again.uri("/api/v1/conversations/" + id + "/messages")).build(),
                        HttpResponse.BodyHandlers.ofString()).body()).get("items");
                assertThat(messages).hasSize(2);
            }
        }
    }
}

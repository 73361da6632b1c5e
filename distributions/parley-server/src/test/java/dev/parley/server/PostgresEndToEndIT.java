package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.testsupport.FakeOpenAiServer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Path;
import java.util.HashMap;
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
    PostgresSchema pg;
    String schema;

    @BeforeEach
    void createSchema() throws Exception {
        pg = PostgresSchema.create("parley_e2e_");
        schema = pg.name;
    }

    @AfterEach
    void dropSchema() throws Exception {
        pg.close();
    }

    @Test
    void chatsAreStoredInPostgresqlAndSurviveARestart(@TempDir Path temp) throws Exception {
        var http = HttpClient.newHttpClient();
        try (var upstream = FakeOpenAiServer.start()) {
            var env = new HashMap<>(pg.serverEnv());
            env.put("OPENAI_BASE_URL", upstream.baseUrl());
            env.put("OPENAI_MODELS", "fake-model");
            String id;
            try (var parley = ParleyProcess.start(temp.resolve("data"), env)) {
                var ready = http.send(parley.request("/health/ready").build(), HttpResponse.BodyHandlers.ofString());
                assertThat(ready.body()).contains("postgresql");
                id = JSON.readTree(http.send(parley.request("/api/v1/conversations")
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"title\":\"pg\"}")).build(),
                        HttpResponse.BodyHandlers.ofString()).body()).get("id").asText();
                var answer = http.send(parley.request("/api/v1/conversations/" + id + "/messages")
                        .header("Content-Type", "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"content\":\"stored where\"}")).build(),
                        HttpResponse.BodyHandlers.ofString());
                assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
            }

            // The rows are in PostgreSQL, in this schema, where another node (or a restart) finds them.
            try (var c = PostgresSchema.connect(); var s = c.createStatement();
                    var rs = s.executeQuery("SELECT role, content, status FROM " + schema + ".messages ORDER BY seq")) {
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString("content")).isEqualTo("stored where");
                assertThat(rs.next()).isTrue();
                assertThat(rs.getString("content")).isEqualTo("echo: stored where");
                assertThat(rs.getString("status")).isEqualToIgnoringCase("complete");
            }
            try (var again = ParleyProcess.start(temp.resolve("data2"), env)) {
                var messages = JSON.readTree(http.send(again.request("/api/v1/conversations/" + id + "/messages").build(),
                        HttpResponse.BodyHandlers.ofString()).body()).get("items");
                assertThat(messages).hasSize(2);
            }
        }
    }
}

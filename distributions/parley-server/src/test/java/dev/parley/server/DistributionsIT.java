package dev.parley.server;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.testsupport.FakeOpenAiServer;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The gateway and worker jars (distributions/parley-gateway, distributions/parley-worker) as processes: both refuse
 * the embedded database; on one PostgreSQL schema the gateway chats and runs no maintenance job, and the worker
 * serves health and metrics but no chat route, and runs the budget spend purge the gateway leaves to it.
 */
class DistributionsIT {
    static final HttpClient HTTP = HttpClient.newHttpClient();

    @Test
    void gatewayAndWorkerRefuseTheEmbeddedDatabase(@TempDir Path temp) throws Exception {
        for (String jar : List.of(jar("gateway"), jar("worker"))) {
            var p = new ProcessBuilder(java(), "-jar", jar).redirectErrorStream(true)
                    .redirectOutput(temp.resolve("out.log").toFile());
            p.environment().keySet().removeIf(k -> k.startsWith("PARLEY_"));
            p.environment().put("PARLEY_DATA_DIR", temp.resolve("data").toString());
            var process = p.start();
            assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();
            assertThat(process.exitValue()).isEqualTo(2);
            assertThat(Files.readString(temp.resolve("out.log"))).contains("needs its shared PostgreSQL database")
                    .contains("PARLEY_DB_URL");
            assertThat(temp.resolve("data")).doesNotExist();
        }
    }

    @Test
    void aGatewayChatsAndAWorkerRunsTheMaintenanceJobsOnTheSameDatabase(@TempDir Path temp) throws Exception {
        try (var pg = PostgresSchema.create("parley_dist_"); var upstream = FakeOpenAiServer.start()) {
            var env = new HashMap<>(pg.serverEnv());
            env.put("OPENAI_BASE_URL", upstream.baseUrl());
            env.put("OPENAI_MODELS", "fake-model");
            env.put("PARLEY_NODE_ID", "gateway-1");
            try (var gateway = ParleyProcess.start(temp.resolve("gateway"), env, jar("gateway"))) {
                var chat = HTTP.send(gateway.request("/v1/chat/completions").header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofString(
                                "{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"hi there\"}]}"))
                        .build(), HttpResponse.BodyHandlers.ofString());
                assertThat(chat.statusCode()).as(chat.body()).isEqualTo(200);
                assertThat(chat.body()).contains("echo: hi there");
                assertThat(gateway.logLinesWith("distribution gateway")).isNotEmpty();
                assertThat(gateway.logLinesWith("Audit retention purge is off on this node")).isNotEmpty();

                // Spend of a day long past, which the budget spend purge deletes.
                try (var c = PostgresSchema.connect();
                        var ps = c.prepareStatement("INSERT INTO " + pg.name + ".budget_spend (tenant_id, scope_kind, scope_id, "
                                + "budget_period, period_start, requests, tokens, cost_usd) VALUES (?,?,?,?,?,?,?,?)")) {
                    ps.setString(1, "default");
                    ps.setString(2, "tenant");
                    ps.setString(3, "default");
                    ps.setString(4, "day");
                    ps.setObject(5, OffsetDateTime.of(2020, 1, 1, 0, 0, 0, 0, ZoneOffset.UTC));
                    ps.setLong(6, 1);
                    ps.setLong(7, 10);
                    ps.setBigDecimal(8, java.math.BigDecimal.ONE);
                    ps.executeUpdate();
                }

                var workerEnv = new HashMap<>(pg.serverEnv());
                workerEnv.put("PARLEY_NODE_ID", "worker-1");
                Path workerData = temp.resolve("worker");
                Files.createDirectories(workerData.resolve("config"));
                Files.writeString(workerData.resolve("config/jobs.json"),
                        "{\"dev.parley.budgets\": {\"purgeIntervalSeconds\": 1}}");
                try (var worker = ParleyProcess.start(workerData, workerEnv, jar("worker"))) {
                    assertThat(HTTP.send(worker.request("/health/live").build(), HttpResponse.BodyHandlers.ofString())
                            .statusCode()).isEqualTo(200);
                    var metrics = HTTP.send(HttpRequest.newBuilder(worker.uri("/metrics")).build(),
                            HttpResponse.BodyHandlers.ofString());
                    assertThat(metrics.statusCode()).isEqualTo(200);
                    assertThat(metrics.body()).contains("jvm_");
                    // No chat here: the chat routes are not served at all.
                    for (String path : List.of("/v1/models", "/api/v1/conversations")) {
                        assertThat(HTTP.send(worker.request(path).build(), HttpResponse.BodyHandlers.ofString())
                                .statusCode()).as(path).isEqualTo(404);
                    }
                    await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200))
                            .until(() -> spendRows(pg) == 0);
                    assertThat(worker.logLinesWith("distribution worker")).isNotEmpty();
                }
            }
        }
    }

    static long spendRows(PostgresSchema pg) throws Exception {
        try (var c = PostgresSchema.connect();
                var rs = c.createStatement().executeQuery("SELECT count(*) FROM " + pg.name + ".budget_spend")) {
            rs.next();
            return rs.getLong(1);
        }
    }

    static String jar(String distribution) {
        return System.getProperty("parley." + distribution + ".jar",
                "../parley-" + distribution + "/target/parley-" + distribution + ".jar");
    }

    static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }
}

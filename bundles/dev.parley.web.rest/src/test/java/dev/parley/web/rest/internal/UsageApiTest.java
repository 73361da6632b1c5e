package dev.parley.web.rest.internal;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.usage.UsageAttempt;
import dev.parley.api.usage.UsageOutcome;
import dev.parley.api.usage.UsageQuery;
import dev.parley.api.usage.UsageRecord;
import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** {@code GET /api/v1/usage}: query parameters checked and passed on, records and totals in the native JSON shape. */
class UsageApiTest {
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
    void listsRecordsWithTheirAttemptsAndTotals() throws Exception {
        server.usage.records = List.of(new UsageRecord("u1", Instant.parse("2026-12-01T10:00:00Z"), null, null,
                "turn", "c1", "m1", "fast", "anthropic", "claude-haiku", UsageOutcome.COMPLETED, null,
                List.of(new UsageAttempt("openai", "gpt-4o-mini", "rate-limited", 40),
                        new UsageAttempt("anthropic", "claude-haiku", null, 800)),
                100, 20, 40, new BigDecimal("0.00123"), 850, 120L));

        HttpResponse<String> r = server.get("api/v1/usage");
        assertThat(r.statusCode()).isEqualTo(200);
        JsonNode page = server.parse(r);
        assertThat(page.get("total").asLong()).isEqualTo(1);
        JsonNode item = page.get("items").get(0);
        assertThat(item.get("createdAt").asText()).isEqualTo("2026-12-01T10:00:00Z");
        assertThat(item.get("requestedModel").asText()).isEqualTo("fast");
        assertThat(item.get("providerId").asText()).isEqualTo("anthropic");
        assertThat(item.get("outcome").asText()).isEqualTo("COMPLETED");
        assertThat(item.get("costUsd").decimalValue()).isEqualByComparingTo("0.00123");
        assertThat(item.get("attempts")).hasSize(2);
        assertThat(item.get("attempts").get(0).get("errorCode").asText()).isEqualTo("rate-limited");
        assertThat(item.get("attempts").get(1).get("errorCode").isNull()).isTrue();
        assertThat(page.get("totals").get("promptTokens").asLong()).isEqualTo(100);
        assertThat(page.get("totals").get("costUsd").decimalValue()).isEqualByComparingTo("0.00123");
        UsageQuery q = server.usage.queries.get(0);
        assertThat(q.offset()).isZero();
        assertThat(q.limit()).isEqualTo(RestServer.LIMITS.defaultPageSize());
        assertThat(q.model()).isNull();
    }

    @Test
    void passesFiltersAndPagingOn() throws Exception {
        HttpResponse<String> r = server.get("api/v1/usage?model=fast&provider=openai&conversationId=c9"
                + "&from=2026-12-01T00:00:00Z&to=2026-12-02T00:00:00%2B01:00&offset=20&limit=10");
        assertThat(r.statusCode()).isEqualTo(200);
        UsageQuery q = server.usage.queries.get(0);
        assertThat(q.model()).isEqualTo("fast");
        assertThat(q.providerId()).isEqualTo("openai");
        assertThat(q.conversationId()).isEqualTo("c9");
        assertThat(q.from()).isEqualTo(Instant.parse("2026-12-01T00:00:00Z"));
        assertThat(q.to()).isEqualTo(Instant.parse("2026-12-01T23:00:00Z"));
        assertThat(q.offset()).isEqualTo(20);
        assertThat(q.limit()).isEqualTo(10);
    }

    @Test
    void refusesBadParametersWithAProblemNamingThem() throws Exception {
        assertProblem("api/v1/usage?from=yesterday", "from");
        assertProblem("api/v1/usage?to=2026-12-01", "to");
        assertProblem("api/v1/usage?from=2026-12-02T00:00:00Z&to=2026-12-01T00:00:00Z", "before");
        assertProblem("api/v1/usage?limit=0", "limit");
        assertProblem("api/v1/usage?limit=" + (RestServer.LIMITS.maxPageSize() + 1), "limit");
        assertProblem("api/v1/usage?offset=-1", "offset");
        assertProblem("api/v1/usage?model=" + "m".repeat(401), "model");
        assertThat(server.usage.queries).isEmpty();
    }

    private void assertProblem(String path, String mentioned) throws Exception {
        HttpResponse<String> r = server.get(path);
        assertThat(r.statusCode()).as(path).isEqualTo(400);
        assertThat(r.headers().firstValue("Content-Type")).hasValueSatisfying(
                t -> assertThat(t).startsWith("application/problem+json"));
        assertThat(server.parse(r).get("detail").asText()).as(path).contains(mentioned);
    }
}

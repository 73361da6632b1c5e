package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import dev.parley.api.identity.BearerAuthenticator;
import dev.parley.api.identity.Role;
import dev.parley.testsupport.FakeOpenAiServer;
import java.time.Duration;
import java.util.Hashtable;
import java.util.UUID;
import java.util.concurrent.atomic.AtomicInteger;
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
 * Core's per-model and token rate limits in the runtime as shipped, behind the real edge, with the real
 * OpenAI-compatible provider calling a local server of the OpenAI wire protocol: once a tenant has used its model's
 * requests, or its tokens (charged when each answer ends), the next request is refused with 429, Retry-After and the
 * RateLimit headers through {@code /v1}, and with an error frame naming the wait through the WebSocket, before the
 * provider is called.
 */
class ChatRateLimitsTest {
    private static final String PREFIX = "crl:";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    @InjectService(timeout = 20_000)
    ConfigurationAdmin configAdmin;

    FakeOpenAiServer upstream;
    Configuration providerConfig;
    Configuration limitsConfig;
    Server server;
    ServiceRegistration<BearerAuthenticator> users;
    String tenant;

    @BeforeEach
    void setUp() throws Exception {
        server = new Server(http.getServiceReference());
        users = context.registerService(BearerAuthenticator.class, new TenantUsers(PREFIX), null);
        upstream = FakeOpenAiServer.start();
        providerConfig = configAdmin.getFactoryConfiguration("dev.parley.provider.openai", "default", "?");
        var props = new Hashtable<String, Object>();
        props.put(".apiKey", "sk-itest");
        props.put("baseUrl", upstream.baseUrl());
        props.put("models", new String[] {"fake-model"});
        providerConfig.update(props);
        limitsConfig = configAdmin.getConfiguration("dev.parley.chat.limits", "?");
        tenant = "crl-" + UUID.randomUUID().toString().substring(0, 8);
        await().atMost(Duration.ofSeconds(30)).until(() -> server.get("health/ready").status() == 200);
        await().atMost(Duration.ofSeconds(20)).until(() -> server.get("v1/models").body().contains("fake-model"));
    }

    @AfterEach
    void tearDown() throws Exception {
        limitsConfig.delete();
        users.unregister();
        providerConfig.delete();
        upstream.close();
    }

    private Server.Reply completion(String credential) {
        return server.send(server.jsonPost("v1/chat/completions", "{\"model\":\"fake-model\",\"max_tokens\":20,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"hello there\"}]}")
                .header("Authorization", "Bearer " + credential));
    }

    /** Sends completions until one is refused (the configuration reaches core asynchronously); returns the refusal. */
    private Server.Reply firstRefusal(String credential, AtomicInteger answered) {
        Server.Reply[] refused = new Server.Reply[1];
        await().atMost(Duration.ofSeconds(20)).pollInterval(Duration.ofMillis(50)).until(() -> {
            Server.Reply r = completion(credential);
            if (r.status() == 200) {
                answered.incrementAndGet();
                return false;
            }
            refused[0] = r;
            return true;
        });
        return refused[0];
    }

    @Test
    void aModelsRequestLimitRefusesWith429AndHeadersOnV1AndAnErrorFrameOnTheWebSocket() throws Exception {
        var props = new Hashtable<String, Object>();
        props.put("modelLimits", new String[] {"fake-model=2/0", "malformed entry"});
        limitsConfig.update(props);
        String ann = PREFIX + tenant + ":ann:member";
        AtomicInteger answered = new AtomicInteger();

        Server.Reply refused = firstRefusal(ann, answered);
        assertThat(refused.status()).as(refused.body()).isEqualTo(429);
        assertThat(answered.get()).isGreaterThanOrEqualTo(2);
        assertThat(refused.json().at("/error/type").asText()).isEqualTo("rate_limit_error");
        assertThat(refused.json().at("/error/message").asText()).contains("model 'fake-model'");
        // Two a minute: the next comes 30 s after the last.
        assertThat(Long.parseLong(refused.header("Retry-After"))).isBetween(1L, 30L);
        assertThat(refused.header("RateLimit-Policy")).isEqualTo("\"model\";q=2;w=60");
        assertThat(refused.header("RateLimit")).isEqualTo("\"model\";r=0;t=" + refused.header("Retry-After"));
        int upstreamCalls = upstream.chatRequests().size();

        JsonNode frame = server.firstWebSocketReply(ann, "{\"type\":\"send\",\"id\":\"r1\",\"model\":\"fake-model\","
                + "\"content\":\"over the socket\"}");
        assertThat(frame.path("type").asText()).as(frame.toString()).isEqualTo("error");
        assertThat(frame.path("code").asText()).isEqualTo("rate-limited");
        assertThat(frame.path("retryAfterSeconds").asLong()).isBetween(1L, 30L);
        assertThat(upstream.chatRequests()).hasSize(upstreamCalls);

        // The limit is per tenant: another tenant's user is not held by ann's tenant.
        Server.Reply other = completion(PREFIX + tenant + "-other:bob:member");
        assertThat(other.status()).as(other.body()).isEqualTo(200);
    }

    @Test
    void aTenantsTokensAreChargedWhenAnswersEndAndRefuseTheNextRequestWhileInDebt() throws Exception {
        var props = new Hashtable<String, Object>();
        props.put("tenantTokensPerMinute", 5L);
        limitsConfig.update(props);
        String ann = PREFIX + tenant + ":ann:member";
        AtomicInteger answered = new AtomicInteger();

        Server.Reply refused = firstRefusal(ann, answered);
        assertThat(refused.status()).as(refused.body()).isEqualTo(429);
        assertThat(answered.get()).isGreaterThanOrEqualTo(1);
        assertThat(refused.header("RateLimit-Policy")).isEqualTo("\"tokens-tenant\";q=5;w=60");
        assertThat(refused.header("Retry-After")).isNotNull();
        assertThat(refused.header("RateLimit")).isEqualTo("\"tokens-tenant\";r=0;t=" + refused.header("Retry-After"));
        assertThat(refused.json().at("/error/message").asText()).contains("Too many tokens for this tenant");

        JsonNode frame = server.firstWebSocketReply(PREFIX + tenant + ":bob:member", "{\"type\":\"send\",\"id\":\"r1\","
                + "\"model\":\"fake-model\",\"content\":\"over the socket\"}");
        assertThat(frame.path("code").asText()).as(frame.toString()).isEqualTo("rate-limited");
        assertThat(frame.path("retryAfterSeconds").asLong()).isPositive();
    }
}

package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.Arrays;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/** The shipped bundles resolve, start and serve, with nothing configured (the embedded defaults). */
class RuntimeTest {
    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    Server server;

    @BeforeEach
    void connect() {
        server = new Server(http.getServiceReference());
    }

    @Test
    void everyBundleIsActive() {
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(Arrays.stream(context.getBundles())
                .filter(b -> b.getHeaders().get(Constants.FRAGMENT_HOST) == null)
                .filter(b -> b.getState() != Bundle.ACTIVE)
                .map(b -> b.getSymbolicName() + " state=" + b.getState()))
                .isEmpty());
    }

    @Test
    void readyOnceCoreAndStoreAreUp() {
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            var ready = server.get("health/ready");
            assertThat(ready.status()).as(ready.body()).isEqualTo(200);
            assertThat(ready.body()).contains("Parley core").contains("Parley store");
        });
        assertThat(server.get("health/live").status()).isEqualTo(200);
    }

    @Test
    void withoutAProviderChatExplainsWhatToConfigure() {
        await().atMost(Duration.ofSeconds(20)).until(() -> server.get("api/v1/models").status() == 200);
        assertThat(server.get("api/v1/models").json().get("items")).isEmpty();

        var conversation = server.post("api/v1/conversations", "{\"title\":\"offline\"}");
        assertThat(conversation.status()).isEqualTo(201);
        String id = conversation.json().get("id").asText();

        var answer = server.post("api/v1/conversations/" + id + "/messages", "{\"content\":\"hello?\"}");
        assertThat(answer.status()).isEqualTo(503);
        assertThat(answer.contentType()).startsWith("application/problem+json");
        assertThat(answer.json().get("code").asText()).isEqualTo("no-provider");
        assertThat(answer.json().get("detail").asText()).contains("OPENAI_API_KEY").contains("OPENAI_BASE_URL");
        // Nothing was stored for a turn that could not start.
        assertThat(server.get("api/v1/conversations/" + id + "/messages").json().get("items")).isEmpty();
    }

    @Test
    void unknownPathsAndIdsAreProblems() {
        var missing = server.get("api/v1/conversations/does-not-exist");
        assertThat(missing.status()).isEqualTo(404);
        assertThat(missing.contentType()).startsWith("application/problem+json");
        assertThat(missing.json().get("type").asText()).endsWith("/not-found");

        var broken = server.post("api/v1/conversations", "{\"title\": ");
        assertThat(broken.status()).isEqualTo(400);
        assertThat(broken.body()).doesNotContain("Exception").doesNotContain("\tat ");
    }
}

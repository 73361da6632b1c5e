package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.testsupport.FakeOpenAiServer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * The real OpenAI-compatible provider bundle, pointed at a local server speaking the OpenAI wire protocol,
 * comes and goes at run time: chats use it while it is there and fail clearly while it is not.
 */
class ProviderDynamicsTest {
    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    @InjectService(timeout = 20_000)
    ConfigurationAdmin configAdmin;

    FakeOpenAiServer upstream;
    Configuration providerConfig;
    Server server;

    @BeforeEach
    void start() throws Exception {
        server = new Server(http.getServiceReference());
        upstream = FakeOpenAiServer.start();
        providerConfig = configAdmin.getFactoryConfiguration("dev.parley.provider.openai", "default", "?");
        var props = new Hashtable<String, Object>();
        props.put(".apiKey", "sk-itest");
        props.put("baseUrl", upstream.baseUrl());
        props.put("models", new String[] {"fake-model"});
        providerConfig.update(props);
    }

    @AfterEach
    void stop() throws Exception {
        providerConfig.delete();
        upstream.close();
        await().atMost(Duration.ofSeconds(10)).until(() -> modelIds().isEmpty());
    }

    @Test
    void aProviderBundleStoppedAndStartedIsDroppedAndPickedUpWithoutRestart() throws Exception {
        await().atMost(Duration.ofSeconds(20)).until(() -> modelIds().contains("fake-model"));
        String conversation = server.post("api/v1/conversations", "{}").json().get("id").asText();
        assertThat(chat(conversation, "first question").status()).isEqualTo(200);

        Bundle provider = Arrays.stream(context.getBundles())
                .filter(b -> "dev.parley.provider.openai".equals(b.getSymbolicName())).findFirst().orElseThrow();
        provider.stop();
        await().atMost(Duration.ofSeconds(10)).until(() -> modelIds().isEmpty());
        var refused = chat(conversation, "while it is gone");
        assertThat(refused.status()).isEqualTo(503);
        assertThat(refused.json().get("code").asText()).isEqualTo("no-provider");

        provider.start();
        await().atMost(Duration.ofSeconds(20)).until(() -> modelIds().contains("fake-model"));
        var answer = chat(conversation, "after it came back");
        assertThat(answer.status()).as(answer.body()).isEqualTo(200);
        assertThat(answer.json().at("/answer/content").asText()).contains("after it came back");

        // Both answered turns are stored; the refused one left nothing behind.
        var messages = server.get("api/v1/conversations/" + conversation + "/messages").json().get("items");
        var contents = new ArrayList<String>();
        messages.forEach(m -> contents.add(m.get("role").asText() + ":" + m.get("status").asText()));
        assertThat(contents).containsExactly("user:complete", "assistant:complete", "user:complete", "assistant:complete");
    }

    @Test
    void aClientThatAsksForNoStreamIsAnsweredFromANonStreamedUpstreamCall() throws Exception {
        await().atMost(Duration.ofSeconds(20)).until(() -> modelIds().contains("fake-model"));
        String conversation = server.post("api/v1/conversations", "{}").json().get("id").asText();

        var whole = server.post("v1/chat/completions",
                "{\"model\":\"fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"openai whole\"}]}");
        var turn = chat(conversation, "native whole");
        var streamed = server.post("v1/chat/completions", "{\"model\":\"fake-model\",\"stream\":true,"
                + "\"messages\":[{\"role\":\"user\",\"content\":\"openai streamed\"}]}");

        assertThat(whole.status()).as(whole.body()).isEqualTo(200);
        assertThat(whole.json().at("/choices/0/message/content").asText()).isEqualTo("echo: openai whole");
        assertThat(turn.status()).as(turn.body()).isEqualTo(200);
        assertThat(turn.json().at("/answer/content").asText()).isEqualTo("echo: native whole");
        assertThat(streamed.contentType()).startsWith("text/event-stream");
        // What the upstream received: "stream": false exactly where the client did not ask for a stream.
        assertThat(upstreamStream("openai whole")).isEqualTo("false");
        assertThat(upstreamStream("native whole")).isEqualTo("false");
        assertThat(upstreamStream("openai streamed")).isEqualTo("true");
    }

    @Test
    void twoInstancesOfTheProviderRunSideBySideEachWithItsOwnServerKeyAndModels() throws Exception {
        try (FakeOpenAiServer second = FakeOpenAiServer.start()) {
            Configuration work = configAdmin.getFactoryConfiguration("dev.parley.provider.openai", "work", "?");
            var props = new Hashtable<String, Object>();
            props.put("providerId", "openai-work");
            props.put("parley.provider.id", "openai-work");
            props.put(".apiKey", "sk-work");
            props.put("baseUrl", second.baseUrl());
            props.put("models", new String[] {"work-model"});
            work.update(props);
            try {
                await().atMost(Duration.ofSeconds(20))
                        .until(() -> modelIds().containsAll(List.of("fake-model", "work-model")));
                assertThat(context.getServiceReferences(dev.parley.api.llm.ChatModelProvider.class,
                        "(parley.provider.id=openai-work)")).hasSize(1);

                var viaWork = server.post("v1/chat/completions",
                        "{\"model\":\"work-model\",\"messages\":[{\"role\":\"user\",\"content\":\"to work\"}]}");
                var viaDefault = server.post("v1/chat/completions",
                        "{\"model\":\"openai/fake-model\",\"messages\":[{\"role\":\"user\",\"content\":\"to default\"}]}");

                assertThat(viaWork.status()).as(viaWork.body()).isEqualTo(200);
                assertThat(viaWork.json().at("/choices/0/message/content").asText()).isEqualTo("echo: to work");
                assertThat(viaDefault.status()).as(viaDefault.body()).isEqualTo(200);
                // Each instance called its own server with its own key, and only that one.
                assertThat(second.chatRequests()).singleElement().satisfies(r -> {
                    assertThat(r.header("authorization")).isEqualTo("Bearer sk-work");
                    assertThat(r.body().path("model").asText()).isEqualTo("work-model");
                });
                assertThat(upstream.chatRequests()).singleElement().satisfies(r ->
                        assertThat(r.header("authorization")).isEqualTo("Bearer sk-itest"));
            } finally {
                work.delete();
            }
            await().atMost(Duration.ofSeconds(10)).until(() -> !modelIds().contains("work-model"));
            assertThat(modelIds()).contains("fake-model");
        }
    }

    /** The {@code stream} flag of the one upstream request whose last message is {@code text}. */
    private String upstreamStream(String text) {
        var matching = upstream.chatRequests().stream().filter(r -> {
            var messages = r.body().path("messages");
            return messages.size() > 0 && text.equals(messages.get(messages.size() - 1).path("content").asText());
        }).toList();
        assertThat(matching).as("upstream requests for '%s'", text).hasSize(1);
        var body = matching.get(0).body();
        assertThat(body.has("stream_options")).isEqualTo(body.path("stream").asBoolean());
        return body.path("stream").toString();
    }

    private Server.Reply chat(String conversation, String text) {
        return server.post("api/v1/conversations/" + conversation + "/messages", "{\"content\":\"" + text + "\"}");
    }

    private List<String> modelIds() {
        var ids = new ArrayList<String>();
        server.get("api/v1/models").json().get("items").forEach(m -> ids.add(m.get("id").asText()));
        return ids;
    }
}

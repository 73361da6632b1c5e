package dev.parley.provider.ollama.itest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.embedding.EmbeddingProvider;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.testsupport.ollama.FakeOllamaServer;
import dev.parley.testsupport.ollama.OllamaBehaviour;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkUtil;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.metatype.MetaTypeService;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.util.tracker.ServiceTracker;

/**
 * The plugin bundle in a real Felix framework with only the Parley API, Declarative Services, Configuration Admin and
 * Metatype: it resolves, starts, registers one provider per factory configuration and answers a streamed chat from
 * the fake Ollama server over loopback.
 */
class OllamaProviderInFrameworkTest {

    static final String BSN = "dev.parley.provider.ollama";
    static final String FACTORY_PID = "dev.parley.provider.ollama";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10_000)
    ConfigurationAdmin configAdmin;

    @InjectService(timeout = 10_000)
    MetaTypeService metaType;

    final List<Configuration> configs = new ArrayList<>();
    FakeOllamaServer server;

    @BeforeEach
    void start() {
        server = FakeOllamaServer.start("itest-token-123");
    }

    @AfterEach
    void cleanUp() throws Exception {
        for (Configuration c : configs) {
            c.delete();
        }
        server.close();
    }

    @Test
    void theBundleIsAProviderPluginThatExportsNothingAndDescribesItsFactoryConfiguration() {
        Bundle plugin = plugin();
        assertThat(plugin.getState()).isEqualTo(Bundle.ACTIVE);
        assertThat(plugin.getHeaders().get("Parley-Plugin")).startsWith("ollama;type=provider;")
                .contains("publisher=parley");
        assertThat(plugin.getHeaders().get("Parley-Permissions")).contains("network;target=").contains("secret;target=apiKey");
        assertThat(plugin.getHeaders().get(Constants.EXPORT_PACKAGE)).isNull();
        assertThat(plugin.getHeaders().get(Constants.IMPORT_PACKAGE)).doesNotContain("dev.langchain4j")
                .doesNotContain("com.fasterxml");
        assertThat(metaType.getMetaTypeInformation(plugin).getFactoryPids()).containsExactly(FACTORY_PID);
        // Nothing is registered without a configuration.
        assertThat(context.getServiceReference(ChatModelProvider.class)).isNull();
    }

    @Test
    void aConfiguredInstanceStreamsAChatAndKeepsItsTokenOutOfTheServiceRegistry() throws Exception {
        server.defaultBehaviour(OllamaBehaviour.reply("Hello from the framework."));
        configure("itest", server.baseUrl(), "itest-token-123");
        ChatModelProvider provider = await(ChatModelProvider.class, "(id=itest)");
        assertThat(provider.id()).isEqualTo("itest");
        assertThat(provider.models()).extracting(m -> m.id()).containsExactly("llama3.2:latest");

        Handler h = new Handler();
        provider.stream(new ChatRequest("llama3.2:latest", List.of(ChatMessage.user("hi")), null, null), h);
        assertThat(h.ended.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(h.error).isNull();
        assertThat(h.response.text()).isEqualTo("Hello from the framework.");
        assertThat(String.join("", h.tokens)).isEqualTo("Hello from the framework.");
        assertThat(server.lastChatRequest().header("Authorization")).isEqualTo("Bearer itest-token-123");

        ServiceReference<ChatModelProvider> ref = context.getServiceReferences(ChatModelProvider.class, "(id=itest)")
                .iterator().next();
        for (String key : ref.getPropertyKeys()) {
            assertThat(key).doesNotStartWith(".");
            assertThat(String.valueOf(ref.getProperty(key))).doesNotContain("itest-token-123");
        }
        assertThat(ref.getProperty("objectClass")).asInstanceOf(
                org.assertj.core.api.InstanceOfAssertFactories.array(String[].class))
                .contains(ChatModelProvider.class.getName(), EmbeddingProvider.class.getName());

        EmbeddingProvider embeddings = await(EmbeddingProvider.class, "(id=itest)");
        var vectors = embeddings.embed(new EmbeddingRequest("nomic-embed-text:latest", List.of("a b"), null))
                .toCompletableFuture().get(10, TimeUnit.SECONDS);
        assertThat(vectors.embeddings().get(0).vector()).containsExactly(FakeOllamaServer.vector("a b", 8));
    }

    @Test
    void twoInstancesRunSideBySide() throws Exception {
        try (FakeOllamaServer other = FakeOllamaServer.start()) {
            other.defaultBehaviour(OllamaBehaviour.reply("from the other one"));
            server.defaultBehaviour(OllamaBehaviour.reply("from the first one"));
            configure("first", server.baseUrl(), "itest-token-123");
            configure("second", other.baseUrl(), null);
            ChatModelProvider first = await(ChatModelProvider.class, "(id=first)");
            ChatModelProvider second = await(ChatModelProvider.class, "(id=second)");
            Handler a = new Handler();
            Handler b = new Handler();
            first.stream(new ChatRequest("llama3.2:latest", List.of(ChatMessage.user("hi")), null, null), a);
            second.stream(new ChatRequest("llama3.2:latest", List.of(ChatMessage.user("hi")), null, null), b);
            assertThat(a.ended.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(b.ended.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(a.response.text()).isEqualTo("from the first one");
            assertThat(b.response.text()).isEqualTo("from the other one");
            assertThat(other.lastChatRequest().header("Authorization")).isNull();
        }
    }

    @Test
    void anAnswerInFlightFinishesWhenThePluginIsStoppedAndTheProviderComesBackWithTheBundle() throws Exception {
        server.defaultBehaviour(OllamaBehaviour.reply("one two three four five six seven eight")
                .tokenDelay(java.time.Duration.ofMillis(60)));
        configure("draining", server.baseUrl(), "itest-token-123");
        ChatModelProvider provider = await(ChatModelProvider.class, "(id=draining)");
        Handler h = new Handler();
        provider.stream(new ChatRequest("llama3.2:latest", List.of(ChatMessage.user("count")), null, null), h);
        assertThat(h.firstToken.await(10, TimeUnit.SECONDS)).isTrue();

        plugin().stop(); // DS deactivates the provider, which lets the answer finish before stop() returns

        try {
            assertThat(h.ended.getCount()).as("the answer ended before stop() returned").isZero();
            assertThat(h.error).isNull();
            assertThat(h.response.text()).isEqualTo("one two three four five six seven eight");
            assertThat(context.getServiceReferences(ChatModelProvider.class, "(id=draining)")).isEmpty();
            assertThat(Thread.getAllStackTraces().keySet()).noneMatch(t -> t.isAlive()
                    && t.getName().startsWith("parley-ollama-") && t.getName().contains("-draining-"));
        } finally {
            plugin().start();
        }
        Handler again = new Handler();
        await(ChatModelProvider.class, "(id=draining)")
                .stream(new ChatRequest("llama3.2:latest", List.of(ChatMessage.user("again")), null, null), again);
        assertThat(again.ended.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(again.error).isNull();
    }

    private void configure(String id, String baseUrl, String token) throws Exception {
        Configuration c = configAdmin.createFactoryConfiguration(FACTORY_PID, "?");
        var props = new Hashtable<String, Object>();
        props.put("id", id);
        props.put("baseUrl", baseUrl);
        props.put("models", new String[] {"llama3.2:latest"});
        props.put("embeddingModels", new String[] {"nomic-embed-text:latest"});
        props.put("embeddingDimensions", 8);
        if (token != null) {
            props.put(".apiKey", token);
        }
        c.update(props);
        configs.add(c);
    }

    private <T> T await(Class<T> type, String filter) throws Exception {
        var tracker = new ServiceTracker<T, T>(context,
                FrameworkUtil.createFilter("(&(objectClass=" + type.getName() + ")" + filter + ")"), null);
        tracker.open();
        try {
            T service = tracker.waitForService(10_000);
            assertThat(service).as("a %s matching %s", type.getSimpleName(), filter).isNotNull();
            return service;
        } finally {
            tracker.close();
        }
    }

    private Bundle plugin() {
        return Arrays.stream(context.getBundles()).filter(b -> BSN.equals(b.getSymbolicName())).findFirst()
                .orElseThrow();
    }

    static final class Handler implements ChatStreamHandler {
        final List<String> tokens = new CopyOnWriteArrayList<>();
        final CountDownLatch firstToken = new CountDownLatch(1);
        final CountDownLatch ended = new CountDownLatch(1);
        volatile ChatResponse response;
        volatile ParleyException error;

        @Override
        public void onToken(String delta) {
            tokens.add(delta);
            firstToken.countDown();
        }

        @Override
        public void onComplete(ChatResponse r) {
            response = r;
            ended.countDown();
        }

        @Override
        public void onError(ParleyException e) {
            error = e;
            ended.countDown();
        }
    }
}

package dev.parley.provider.mistral.itest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.embedding.EmbeddingProvider;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.testsupport.mistral.FakeMistralServer;
import dev.parley.testsupport.mistral.MistralBehaviour;
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
 * The plugin in a real Felix framework with only the Parley API, SCR, Configuration Admin and Metatype: it resolves,
 * starts, registers nothing until configured, then registers its providers and answers a streamed chat from the
 * fake Mistral server (which runs inside this test bundle).
 */
class MistralProviderInFrameworkTest {

    static final String BSN = "dev.parley.provider.mistral";
    static final String FACTORY_PID = "dev.parley.provider.mistral";
    static final String KEY = "mk-framework-5150";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10_000)
    ConfigurationAdmin configAdmin;

    @InjectService(timeout = 10_000)
    MetaTypeService metaType;

    FakeMistralServer server;
    Configuration config;
    final List<ServiceTracker<?, ?>> trackers = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() {
        server = FakeMistralServer.start(KEY);
    }

    @AfterEach
    void cleanUp() throws Exception {
        trackers.forEach(ServiceTracker::close);
        if (config != null) {
            // Deleting the configuration deactivates the component asynchronously: wait until its service is gone,
            // so the next test starts from an unconfigured plugin.
            CountDownLatch gone = new CountDownLatch(1);
            org.osgi.framework.ServiceListener listener = event -> {
                if (event.getType() == org.osgi.framework.ServiceEvent.UNREGISTERING) {
                    gone.countDown();
                }
            };
            context.addServiceListener(listener, "(objectClass=" + ChatModelProvider.class.getName() + ")");
            try {
                config.delete();
                if (context.getServiceReference(ChatModelProvider.class) != null) {
                    assertThat(gone.await(10, TimeUnit.SECONDS)).as("provider unregistered").isTrue();
                }
            } finally {
                context.removeServiceListener(listener);
            }
        }
        server.close();
    }

    @Test
    void theBundleIsAPluginThatExportsNothingAndDeclaresItsPermissions() {
        Bundle plugin = plugin();
        assertThat(plugin.getState()).isEqualTo(Bundle.ACTIVE);
        assertThat(plugin.getHeaders().get("Parley-Plugin")).startsWith("mistral;type=provider;")
                .contains("publisher=parley");
        assertThat(plugin.getHeaders().get("Parley-Permissions")).contains("network;target=\"api.mistral.ai:443\"")
                .contains("secret;target=apiKey");
        assertThat(plugin.getHeaders().get(Constants.EXPORT_PACKAGE)).isNull();
        // The embedded library stays private: nothing but the API, slf4j and the JDK is imported.
        assertThat(plugin.getHeaders().get(Constants.IMPORT_PACKAGE)).doesNotContain("dev.langchain4j")
                .doesNotContain("com.fasterxml");
        assertThat(metaType.getMetaTypeInformation(plugin).getFactoryPids()).contains(FACTORY_PID);
    }

    @Test
    void withoutConfigurationNothingIsRegistered() {
        assertThat(context.getServiceReference(ChatModelProvider.class)).isNull();
    }

    @Test
    void configuredItRegistersAndStreamsAChatAndEmbeds() throws Exception {
        config = configAdmin.createFactoryConfiguration(FACTORY_PID, "?");
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("id", "mistral-it");
        props.put("baseUrl", server.baseUrl());
        props.put(".apiKey", KEY);
        props.put("models", new String[] {"mistral-small-latest"});
        config.update(props);

        ChatModelProvider provider = awaitService(ChatModelProvider.class);
        assertThat(provider.id()).isEqualTo("mistral-it");
        assertThat(provider.models()).extracting(m -> m.id()).containsExactly("mistral-small-latest");
        ServiceReference<ChatModelProvider> ref = context.getServiceReference(ChatModelProvider.class);
        for (String key : ref.getPropertyKeys()) {
            assertThat(key).doesNotContain("apiKey");
            assertThat(String.valueOf(ref.getProperty(key))).doesNotContain(KEY);
            assertThat(Arrays.deepToString(new Object[] {ref.getProperty(key)})).doesNotContain(KEY);
        }

        server.enqueue(MistralBehaviour.reply("Bonjour from Felix"));
        Handler handler = new Handler();
        provider.stream(new ChatRequest("mistral-small-latest", List.of(ChatMessage.user("salut")), null, null),
                handler);
        assertThat(handler.ended.await(20, TimeUnit.SECONDS)).isTrue();
        assertThat(handler.error).isNull();
        assertThat(handler.response.text()).isEqualTo("Bonjour from Felix");
        assertThat(String.join("", handler.tokens)).isEqualTo("Bonjour from Felix");
        assertThat(server.lastChatRequest().header("authorization")).isEqualTo("Bearer " + KEY);

        EmbeddingProvider embeddings = awaitService(EmbeddingProvider.class);
        var vectors = embeddings.embed(new EmbeddingRequest("mistral-embed", List.of("a", "b"), null))
                .toCompletableFuture().get(20, TimeUnit.SECONDS);
        assertThat(vectors.embeddings()).hasSize(2);
        assertThat(vectors.embeddings().get(0).vector()).hasSize(1024);
    }

    /** Waits for the service and keeps using it until the test ends (the tracker is closed in cleanUp). */
    <T> T awaitService(Class<T> type) throws InterruptedException {
        ServiceTracker<T, T> tracker = new ServiceTracker<>(context, type, null);
        tracker.open();
        trackers.add(tracker);
        T service = tracker.waitForService(10_000);
        assertThat(service).as(type.getSimpleName()).isNotNull();
        return service;
    }

    Bundle plugin() {
        for (Bundle b : FrameworkUtil.getBundle(getClass()).getBundleContext().getBundles()) {
            if (BSN.equals(b.getSymbolicName())) {
                return b;
            }
        }
        throw new AssertionError(BSN + " is not installed");
    }

    static final class Handler implements ChatStreamHandler {
        final List<String> tokens = new CopyOnWriteArrayList<>();
        final CountDownLatch ended = new CountDownLatch(1);
        volatile ChatResponse response;
        volatile ParleyException error;

        @Override
        public void onToken(String delta) {
            tokens.add(delta);
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

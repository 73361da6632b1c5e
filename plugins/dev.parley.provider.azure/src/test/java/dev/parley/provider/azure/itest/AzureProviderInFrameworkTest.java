package dev.parley.provider.azure.itest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.embedding.EmbeddingProvider;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.testsupport.azure.AzureBehaviour;
import dev.parley.testsupport.azure.FakeAzureOpenAiServer;
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
 * Metatype beside it: it resolves, starts, registers a provider per factory configuration, and answers through its
 * embedded SDK against the fake Azure OpenAI server.
 */
class AzureProviderInFrameworkTest {

    static final String BSN = "dev.parley.provider.azure";
    static final String FACTORY_PID = "dev.parley.provider.azure";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10_000)
    ConfigurationAdmin configAdmin;

    @InjectService(timeout = 10_000)
    MetaTypeService metaType;

    FakeAzureOpenAiServer azure;
    final List<Configuration> configs = new ArrayList<>();

    @BeforeEach
    void start() {
        azure = FakeAzureOpenAiServer.start("framework-key").deployment("dep-4o", "gpt-4o-2024-08-06")
                .embeddingDeployment("dep-emb", "text-embedding-3-small", 4);
    }

    @AfterEach
    void stop() throws Exception {
        for (Configuration c : configs) {
            c.delete();
        }
        azure.close();
    }

    @Test
    void theBundleIsAPluginThatExportsNothingAndEmbedsItsLibraries() {
        Bundle plugin = plugin();
        assertThat(plugin.getState()).isEqualTo(Bundle.ACTIVE);
        assertThat(plugin.getHeaders().get("Parley-Plugin")).startsWith("azure-openai;type=provider;")
                .contains("publisher=parley");
        assertThat(plugin.getHeaders().get("Parley-Permissions")).contains("network;target=\"*.openai.azure.com:443\"")
                .contains("secret;target=apiKey");
        assertThat(plugin.getHeaders().get(Constants.EXPORT_PACKAGE)).isNull();
        assertThat(plugin.getHeaders().get(Constants.BUNDLE_CLASSPATH)).contains("lib/openai-java-core.jar");
        // Nothing of the SDK, Kotlin, OkHttp or Jackson is imported: they are inside.
        assertThat(plugin.getHeaders().get(Constants.IMPORT_PACKAGE)).doesNotContain("com.openai")
                .doesNotContain("kotlin").doesNotContain("okhttp3").doesNotContain("com.fasterxml");
        var ocd = metaType.getMetaTypeInformation(plugin).getObjectClassDefinition(FACTORY_PID, null);
        assertThat(ocd).isNotNull();
        assertThat(metaType.getMetaTypeInformation(plugin).getFactoryPids()).contains(FACTORY_PID);
    }

    @Test
    void twoFactoryConfigurationsAreTwoProvidersThatStreamThroughTheEmbeddedSdk() throws Exception {
        ChatModelProvider a = configure("azure-a", "framework-key");
        ChatModelProvider b = configure("azure-b", "framework-key");
        assertThat(a.id()).isEqualTo("azure-a");
        assertThat(b.id()).isEqualTo("azure-b");

        azure.enqueue(AzureBehaviour.reply("Hello from the framework"));
        var h = new Handler();
        a.stream(new ChatRequest("gpt-4o", List.of(ChatMessage.user("hi")), null, null), h);
        assertThat(h.ended.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(h.error).isNull();
        assertThat(String.join("", h.tokens)).isEqualTo("Hello from the framework");
        assertThat(h.response.text()).isEqualTo("Hello from the framework");
        assertThat(h.response.usage().completionTokens()).isEqualTo(4);
        assertThat(azure.lastRequest().path()).isEqualTo("/openai/deployments/dep-4o/chat/completions");
        assertThat(azure.lastRequest().header("api-key")).isEqualTo("framework-key");

        var embedder = awaitService(EmbeddingProvider.class, "(id=azure-b)");
        var vectors = embedder.embed(new EmbeddingRequest("text-embedding-3-small", List.of("abc"), null))
                .toCompletableFuture().get(30, TimeUnit.SECONDS);
        assertThat(vectors.embeddings().get(0).vector()).containsExactly(FakeAzureOpenAiServer.vector("abc", 4));
    }

    @Test
    void secretsAreNeverServiceProperties() throws Exception {
        configure("azure-secret", "framework-key");
        for (ServiceReference<?> ref : context.getServiceReferences(ChatModelProvider.class, "(id=azure-secret)")) {
            for (String key : ref.getPropertyKeys()) {
                assertThat(key).doesNotStartWith(".");
                assertThat(String.valueOf(ref.getProperty(key))).doesNotContain("framework-key");
            }
            assertThat(ref.getProperty("endpoint")).isEqualTo(azure.endpoint());
        }
    }

    @Test
    void stoppingThePluginLeavesNoThreadOfItsOwn() throws Exception {
        ChatModelProvider p = configure("azure-stop", "framework-key");
        var h = new Handler();
        p.stream(new ChatRequest("gpt-4o", List.of(ChatMessage.user("before stop")), null, null), h);
        assertThat(h.ended.await(30, TimeUnit.SECONDS)).isTrue();
        assertThat(threadsNamed("parley-azure-")).isNotEmpty();
        plugin().stop();
        try {
            assertThat(context.getServiceReferences(ChatModelProvider.class, "(id=azure-stop)")).isEmpty();
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(10))
                    .until(() -> threadsNamed("parley-azure-").isEmpty() && threadsNamed("openai-").isEmpty()
                            && threadsNamed("DefaultSleeper").isEmpty());
        } finally {
            plugin().start();
        }
    }

    private static List<String> threadsNamed(String prefix) {
        return Thread.getAllStackTraces().keySet().stream().filter(Thread::isAlive).map(Thread::getName)
                .filter(n -> n.startsWith(prefix)).toList();
    }

    private ChatModelProvider configure(String id, String key) throws Exception {
        Configuration c = configAdmin.getFactoryConfiguration(FACTORY_PID, id, "?");
        var props = new Hashtable<String, Object>();
        props.put("id", id);
        props.put("parley.provider.id", id);
        props.put("endpoint", azure.endpoint());
        props.put(".apiKey", key);
        props.put("deployments", new String[] {"gpt-4o=dep-4o"});
        props.put("embeddingDeployments", new String[] {"text-embedding-3-small=dep-emb:4"});
        props.put("drainTimeoutSeconds", 1);
        c.update(props);
        configs.add(c);
        return awaitService(ChatModelProvider.class, "(id=" + id + ")");
    }

    private <T> T awaitService(Class<T> type, String filter) throws Exception {
        var tracker = new ServiceTracker<T, T>(context,
                FrameworkUtil.createFilter("(&(objectClass=" + type.getName() + ")" + filter + ")"), null);
        tracker.open();
        try {
            T s = tracker.waitForService(30_000);
            assertThat(s).as("a %s matching %s", type.getSimpleName(), filter).isNotNull();
            return s;
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

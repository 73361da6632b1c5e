package dev.parley.provider.bedrock.itest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.embedding.EmbeddingProvider;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.embedding.EmbeddingResponse;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.testsupport.bedrock.BedrockBehaviour;
import dev.parley.testsupport.bedrock.FakeBedrockServer;
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
 * The plugin bundle in a real Felix framework with only the Parley API, Declarative Services, Configuration Admin
 * and Metatype: it resolves and starts, registers a provider per factory configuration, keeps the credentials out
 * of the service properties, and answers a streamed chat against the fake Bedrock server.
 */
class BedrockProviderInFrameworkTest {

    static final String BSN = "dev.parley.provider.bedrock";
    static final String FACTORY_PID = "dev.parley.provider.bedrock";
    static final String MODEL = "amazon.nova-lite-v1:0";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10_000)
    ConfigurationAdmin configAdmin;

    @InjectService(timeout = 10_000)
    MetaTypeService metaType;

    FakeBedrockServer server;
    Configuration config;

    @BeforeEach
    void startServer() {
        server = FakeBedrockServer.start();
    }

    @AfterEach
    void cleanUp() throws Exception {
        if (config != null) {
            config.delete();
        }
        server.close();
    }

    Bundle plugin() {
        return Arrays.stream(context.getBundles()).filter(b -> BSN.equals(b.getSymbolicName())).findFirst()
                .orElseThrow();
    }

    Configuration configure(String id) throws Exception {
        Configuration c = configAdmin.getFactoryConfiguration(FACTORY_PID, id, "?");
        Hashtable<String, Object> props = new Hashtable<>();
        props.put("id", id);
        props.put("region", FakeBedrockServer.REGION);
        props.put("endpoint", server.endpoint());
        props.put(".accessKeyId", FakeBedrockServer.ACCESS_KEY_ID);
        props.put(".secretAccessKey", FakeBedrockServer.SECRET_ACCESS_KEY);
        props.put("models", new String[] {MODEL});
        c.update(props);
        return c;
    }

    <T> ServiceTracker<T, T> track(Class<T> type, String id) throws Exception {
        ServiceTracker<T, T> t = new ServiceTracker<>(context,
                FrameworkUtil.createFilter("(&(objectClass=" + type.getName() + ")(id=" + id + "))"), null);
        t.open();
        return t;
    }

    @Test
    void theBundleIsAPluginThatExportsNothingAndImportsOnlyTheApiSlf4jAndTheJdk() {
        Bundle plugin = plugin();
        assertThat(plugin.getState()).isEqualTo(Bundle.ACTIVE);
        assertThat(plugin.getHeaders().get("Parley-Plugin")).startsWith("bedrock;type=provider;")
                .contains("publisher=parley");
        assertThat(plugin.getHeaders().get("Parley-Permissions")).contains("network;target=")
                .contains("secret;target=secretAccessKey");
        assertThat(plugin.getHeaders().get(Constants.EXPORT_PACKAGE)).isNull();
        String imports = plugin.getHeaders().get(Constants.IMPORT_PACKAGE);
        for (String clause : imports.split(",(?=[a-z])")) {
            assertThat(clause).matches("(dev\\.parley\\.api\\.|org\\.slf4j|java\\.|javax\\.|org\\.ietf\\.|sun\\.).*");
        }
    }

    @Test
    void metatypeDescribesAFactoryConfiguration() {
        var info = metaType.getMetaTypeInformation(plugin());
        assertThat(info.getFactoryPids()).contains(FACTORY_PID);
        var attributes = info.getObjectClassDefinition(FACTORY_PID, null)
                .getAttributeDefinitions(org.osgi.service.metatype.ObjectClassDefinition.ALL);
        assertThat(Arrays.stream(attributes).map(a -> a.getID()))
                .contains("id", "region", "endpoint", ".accessKeyId", ".secretAccessKey", ".sessionToken", "models");
    }

    @Test
    void twoConfigurationsRegisterTwoProvidersWhoseServicePropertiesHoldNoSecret() throws Exception {
        ServiceTracker<ChatModelProvider, ChatModelProvider> one = track(ChatModelProvider.class, "bedrock-one");
        ServiceTracker<ChatModelProvider, ChatModelProvider> two = track(ChatModelProvider.class, "bedrock-two");
        config = configure("bedrock-one");
        Configuration second = configure("bedrock-two");
        try {
            assertThat(one.waitForService(10_000)).isNotNull();
            assertThat(two.waitForService(10_000)).isNotNull();
            for (ServiceReference<ChatModelProvider> ref : List.of(one.getServiceReference(),
                    two.getServiceReference())) {
                for (String key : ref.getPropertyKeys()) {
                    assertThat(key).doesNotStartWith(".");
                    assertThat(String.valueOf(ref.getProperty(key)))
                            .doesNotContain(FakeBedrockServer.SECRET_ACCESS_KEY)
                            .doesNotContain(FakeBedrockServer.ACCESS_KEY_ID);
                }
            }
            assertThat(one.getService().id()).isEqualTo("bedrock-one");
            assertThat(two.getService().id()).isEqualTo("bedrock-two");
        } finally {
            second.delete();
            one.close();
            two.close();
        }
    }

    @Test
    void answersAStreamedChatAndEmbedsThroughTheFakeServer() throws Exception {
        ServiceTracker<ChatModelProvider, ChatModelProvider> chat = track(ChatModelProvider.class, "bedrock-it");
        ServiceTracker<EmbeddingProvider, EmbeddingProvider> embed = track(EmbeddingProvider.class, "bedrock-it");
        try {
            config = configure("bedrock-it");
            ChatModelProvider provider = chat.waitForService(10_000);
            assertThat(provider).isNotNull();
            assertThat(provider.models()).extracting(m -> m.id()).containsExactly(MODEL);
            server.enqueue(BedrockBehaviour.reply("Hello from Bedrock in Felix"));

            Handler handler = new Handler();
            provider.stream(new ChatRequest(MODEL, List.of(ChatMessage.user("hi")), null, null), handler);

            assertThat(handler.ended.await(20, TimeUnit.SECONDS)).isTrue();
            assertThat(handler.error).isNull();
            assertThat(handler.response.text()).isEqualTo("Hello from Bedrock in Felix");
            assertThat(String.join("", handler.tokens)).isEqualTo("Hello from Bedrock in Felix");
            assertThat(handler.tokens).hasSize(5);

            EmbeddingProvider embeddings = embed.waitForService(10_000);
            EmbeddingResponse vectors = embeddings.embed(new EmbeddingRequest("amazon.titan-embed-text-v2:0",
                    List.of("a short text"), 256)).toCompletableFuture().get(20, TimeUnit.SECONDS);
            assertThat(vectors.embeddings()).hasSize(1);
            assertThat(vectors.embeddings().get(0).vector()).hasSize(256);

            config.delete();
            config = null;
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
            while (chat.getService() != null && System.nanoTime() < deadline) {
                chat.waitForService(100);
                if (chat.getService() != null) {
                    Thread.onSpinWait();
                }
            }
            assertThat(chat.getService()).isNull();
        } finally {
            chat.close();
            embed.close();
        }
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

package dev.parley.provider.gemini.itest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.embedding.EmbeddingProvider;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.testsupport.gemini.FakeGeminiServer;
import dev.parley.testsupport.gemini.GeminiBehaviour;
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
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.util.tracker.ServiceTracker;

/**
 * The plugin bundle in a real Felix framework with only the Parley API, Declarative Services, Configuration Admin
 * and Metatype: it resolves with its libraries embedded, registers nothing until configured, registers one provider
 * per factory configuration, and answers a streamed chat against the fake Gemini server.
 */
class GeminiProviderInFrameworkTest {

    static final String BSN = "dev.parley.provider.gemini";
    static final String KEY = "AIza-in-framework-key";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10_000)
    ConfigurationAdmin configAdmin;

    FakeGeminiServer server;
    final List<Configuration> configs = new CopyOnWriteArrayList<>();
    final List<ServiceTracker<?, ?>> trackers = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() {
        server = FakeGeminiServer.start(KEY);
    }

    @AfterEach
    void cleanUp() throws Exception {
        trackers.forEach(ServiceTracker::close);
        for (Configuration c : configs) {
            c.delete();
        }
        server.close();
    }

    @Test
    void theBundleIsAPluginThatExportsNothingAndEmbedsItsLibraries() {
        Bundle plugin = plugin();
        assertThat(plugin.getState()).isEqualTo(Bundle.ACTIVE);
        assertThat(plugin.getHeaders().get("Parley-Plugin")).startsWith("gemini;type=provider;")
                .contains("publisher=parley");
        assertThat(plugin.getHeaders().get("Parley-Permissions"))
                .contains("generativelanguage.googleapis.com:443").contains("secret;target=apiKey");
        assertThat(plugin.getHeaders().get(Constants.EXPORT_PACKAGE)).isNull();
        String imports = plugin.getHeaders().get(Constants.IMPORT_PACKAGE);
        assertThat(imports).doesNotContain("dev.langchain4j").doesNotContain("com.fasterxml.jackson");
        // At least 1.3: tool calls streamed piece by piece (ChatStreamHandler.onToolCallDelta); bnd imports from the
        // minor version it compiled against, so a later minor of the API raises the floor, never below 1.3.
        java.util.regex.Matcher llm = java.util.regex.Pattern.compile("dev\\.parley\\.api\\.llm;version=\"\\[1\\.(\\d+),2\\)\"")
                .matcher(imports);
        assertThat(llm.find()).as(imports).isTrue();
        assertThat(Integer.parseInt(llm.group(1))).isGreaterThanOrEqualTo(3);
    }

    @Test
    void metatypeDescribesAFactoryWhoseKeyIsAPassword() throws Exception {
        var url = plugin().getEntry("OSGI-INF/metatype/dev.parley.provider.gemini.internal.GeminiConfig.xml");
        assertThat(url).isNotNull();
        String xml;
        try (var in = url.openStream()) {
            xml = new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        }
        assertThat(xml).contains("<AD id=\".apiKey\" type=\"Password\"")
                .contains("factoryPid=\"dev.parley.provider.gemini\"");
    }

    @Test
    void nothingIsRegisteredWithoutConfiguration() throws Exception {
        assertThat(context.getServiceReferences(ChatModelProvider.class, "(component.name=" + BSN
                + ".internal.GeminiProvider)")).isEmpty();
    }

    @Test
    void twoConfiguredInstancesAnswerStreamedChatsAndKeepTheirKeysOutOfServiceProperties() throws Exception {
        configure("gemini-a", KEY);
        try (FakeGeminiServer other = FakeGeminiServer.start("AIza-other-key")) {
            Configuration b = configAdmin.createFactoryConfiguration("dev.parley.provider.gemini", "?");
            var props = new Hashtable<String, Object>();
            props.put("id", "gemini-b");
            props.put("baseUrl", other.baseUrl());
            props.put(".apiKey", "AIza-other-key");
            props.put("models", new String[] {"gemini-2.5-pro"});
            b.update(props);
            configs.add(b);

            ChatModelProvider a = awaitProvider("(id=gemini-a)");
            ChatModelProvider pb = awaitProvider("(id=gemini-b)");
            assertThat(a.id()).isEqualTo("gemini-a");
            assertThat(pb.models()).extracting(m -> m.id()).containsExactly("gemini-2.5-pro");

            server.enqueue(GeminiBehaviour.reply("Hello from Felix"));
            var h = new Handler();
            a.stream(new ChatRequest("gemini-2.5-flash", List.of(ChatMessage.user("hi")), null, null), h);
            assertThat(h.ended.await(20, TimeUnit.SECONDS)).isTrue();
            assertThat(h.error).isNull();
            assertThat(h.tokens).containsExactly("Hello", " from", " Felix");
            assertThat(h.response.text()).isEqualTo("Hello from Felix");

            var hb = new Handler();
            pb.stream(new ChatRequest("gemini-2.5-pro", List.of(ChatMessage.user("to b")), null, null), hb);
            assertThat(hb.ended.await(20, TimeUnit.SECONDS)).isTrue();
            assertThat(hb.response.text()).isEqualTo("echo: to b");
            assertThat(other.lastGenerateRequest().header("x-goog-api-key")).isEqualTo("AIza-other-key");

            ServiceReference<?>[] refs = context.getServiceReferences(ChatModelProvider.class.getName(),
                    "(component.name=" + BSN + ".internal.GeminiProvider)");
            assertThat(refs).hasSize(2);
            for (ServiceReference<?> ref : refs) {
                assertThat(ref.getProperty(".apiKey")).isNull();
                for (String key : ref.getPropertyKeys()) {
                    assertThat(String.valueOf(ref.getProperty(key))).doesNotContain("AIza");
                }
            }
        }
    }

    @Test
    void theSameInstanceServesEmbeddings() throws Exception {
        configure("gemini-e", KEY);
        EmbeddingProvider embeddings = awaitService(EmbeddingProvider.class, "(id=gemini-e)");
        var response = embeddings.embed(new EmbeddingRequest("gemini-embedding-001", List.of("a", "b"), 8))
                .toCompletableFuture().get(20, TimeUnit.SECONDS);
        assertThat(response.embeddings()).hasSize(2).allSatisfy(e -> assertThat(e.vector()).hasSize(8));
    }

    private void configure(String id, String key) throws Exception {
        Configuration c = configAdmin.createFactoryConfiguration("dev.parley.provider.gemini", "?");
        var props = new Hashtable<String, Object>();
        props.put("id", id);
        props.put("baseUrl", server.baseUrl());
        props.put(".apiKey", key);
        props.put("models", new String[] {"gemini-2.5-flash"});
        c.update(props);
        configs.add(c);
    }

    private ChatModelProvider awaitProvider(String filter) throws Exception {
        return awaitService(ChatModelProvider.class, filter);
    }

    private <T> T awaitService(Class<T> type, String filter) throws Exception {
        var tracker = new ServiceTracker<T, T>(context,
                FrameworkUtil.createFilter("(&(objectClass=" + type.getName() + ")" + filter + ")"), null);
        tracker.open();
        trackers.add(tracker); // held until the test ends, as a consumer holds a provider it uses
        T service = tracker.waitForService(20_000);
        assertThat(service).as("a %s matching %s", type.getSimpleName(), filter).isNotNull();
        return service;
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

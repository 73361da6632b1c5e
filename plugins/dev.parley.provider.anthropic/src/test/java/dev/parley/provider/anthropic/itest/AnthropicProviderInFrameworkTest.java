package dev.parley.provider.anthropic.itest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.testsupport.anthropic.FakeAnthropicServer;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
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
 * Metatype (plus the SLF4J API it imports): it resolves with its SDK embedded, registers one provider per factory
 * configuration, keeps the key out of the service properties, and streams a chat from the fake Messages API server.
 */
class AnthropicProviderInFrameworkTest {

    static final String BSN = "dev.parley.provider.anthropic";
    static final String FACTORY_PID = "dev.parley.provider.anthropic";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10_000)
    ConfigurationAdmin configAdmin;

    final List<Configuration> configs = new ArrayList<>();
    final List<FakeAnthropicServer> servers = new ArrayList<>();
    /** Open while the test uses the provider: Declarative Services disposes a delayed component nobody holds. */
    final List<ServiceTracker<?, ?>> trackers = new ArrayList<>();

    @AfterEach
    void cleanUp() throws Exception {
        trackers.forEach(ServiceTracker::close);
        for (Configuration c : configs) {
            c.delete();
        }
        servers.forEach(FakeAnthropicServer::close);
    }

    @Test
    void theBundleIsAPluginThatExportsNothingAndDeclaresItsPermissions() {
        Bundle plugin = plugin();
        assertThat(plugin.getState()).isEqualTo(Bundle.ACTIVE);
        assertThat(plugin.getHeaders().get("Parley-Plugin")).startsWith("anthropic;type=provider;")
                .contains("publisher=parley");
        assertThat(plugin.getHeaders().get("Parley-Permissions")).contains("network;target=\"api.anthropic.com:443\"")
                .contains("secret;target=apiKey");
        assertThat(plugin.getHeaders().get(Constants.EXPORT_PACKAGE)).isNull();
        // The SDK, Kotlin and Jackson are private: nothing of them is imported from the framework.
        assertThat(plugin.getHeaders().get(Constants.IMPORT_PACKAGE)).doesNotContain("com.anthropic")
                .doesNotContain("kotlin").doesNotContain("com.fasterxml");
    }

    @Test
    void withoutConfigurationThereIsNoProvider() throws Exception {
        assertThat(context.getServiceReferences(ChatModelProvider.class, "(parley.provider.id=anthropic*)")).isEmpty();
    }

    @Test
    void itsSettingsAreDescribedByMetatypeAsAFactory(@InjectService(timeout = 10_000) MetaTypeService metatype) {
        var info = metatype.getMetaTypeInformation(plugin());
        assertThat(info.getFactoryPids()).contains(FACTORY_PID);
        var ocd = info.getObjectClassDefinition(FACTORY_PID, null);
        assertThat(Arrays.stream(ocd.getAttributeDefinitions(-1)).map(a -> a.getID()))
                .contains("id", "baseUrl", ".apiKey", "models", "connectTimeoutSeconds", "answerTimeoutSeconds",
                        "maxAnswerChars", "drainTimeoutSeconds");
    }

    @Test
    void twoConfiguredInstancesRegisterAndStreamAChat() throws Exception {
        FakeAnthropicServer one = server("sk-ant-one");
        FakeAnthropicServer two = server("sk-ant-two");
        configure("anthropic", one, "sk-ant-one");
        configure("anthropic-eu", two, "sk-ant-two");

        ChatModelProvider first = awaitProvider("(parley.provider.id=anthropic)");
        ChatModelProvider second = awaitProvider("(parley.provider.id=anthropic-eu)");
        assertThat(first.id()).isEqualTo("anthropic");
        assertThat(second.id()).isEqualTo("anthropic-eu");

        // The key is configuration, never a service property.
        for (ServiceReference<ChatModelProvider> ref : context.getServiceReferences(ChatModelProvider.class,
                "(parley.provider.id=anthropic*)")) {
            for (String key : ref.getPropertyKeys()) {
                assertThat(String.valueOf(ref.getProperty(key))).doesNotContain("sk-ant-");
            }
            assertThat(ref.getPropertyKeys()).doesNotContain(".apiKey", "apiKey");
        }

        Handler h = new Handler();
        first.stream(new ChatRequest("claude-sonnet-4-5", List.of(ChatMessage.user("hello from felix")), null, null), h);
        assertThat(h.ended.await(60, TimeUnit.SECONDS)).isTrue();
        assertThat(h.error).isNull();
        assertThat(h.response.text()).isEqualTo("echo: hello from felix");
        assertThat(String.join("", h.tokens)).isEqualTo("echo: hello from felix");
        assertThat(one.lastMessageRequest().header("x-api-key")).isEqualTo("sk-ant-one");

        Handler h2 = new Handler();
        second.complete(new ChatRequest("claude-sonnet-4-5", List.of(ChatMessage.user("second")), null, null), h2);
        assertThat(h2.ended.await(60, TimeUnit.SECONDS)).isTrue();
        assertThat(h2.error).isNull();
        assertThat(h2.response.text()).isEqualTo("echo: second");
        assertThat(two.lastMessageRequest().header("x-api-key")).isEqualTo("sk-ant-two");
        assertThat(one.messageRequests()).hasSize(1);
    }

    private FakeAnthropicServer server(String key) {
        FakeAnthropicServer s = FakeAnthropicServer.start(key);
        servers.add(s);
        return s;
    }

    private void configure(String id, FakeAnthropicServer server, String key) throws Exception {
        Configuration c = configAdmin.getFactoryConfiguration(FACTORY_PID, id, "?");
        var props = new Hashtable<String, Object>();
        props.put("id", id);
        props.put("parley.provider.id", id);
        props.put("baseUrl", server.baseUrl());
        props.put(".apiKey", key);
        props.put("models", new String[] {"claude-sonnet-4-5"});
        c.update(props);
        configs.add(c);
    }

    private ChatModelProvider awaitProvider(String filter) throws Exception {
        var tracker = new ServiceTracker<ChatModelProvider, ChatModelProvider>(context,
                FrameworkUtil.createFilter("(&(objectClass=" + ChatModelProvider.class.getName() + ")" + filter + ")"),
                null);
        tracker.open();
        trackers.add(tracker);
        ChatModelProvider p = tracker.waitForService(20_000);
        assertThat(p).as("a provider matching %s", filter).isNotNull();
        return p;
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

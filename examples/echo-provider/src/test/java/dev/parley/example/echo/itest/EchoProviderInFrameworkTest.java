package dev.parley.example.echo.itest;

import static org.assertj.core.api.Assertions.assertThat;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
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
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.util.tracker.ServiceTracker;

/** The plugin bundle in a real Felix framework with Declarative Services and Configuration Admin. */
class EchoProviderInFrameworkTest {

    static final String BSN = "dev.parley.example.echo";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 10_000)
    ConfigurationAdmin configAdmin;

    @InjectService(filter = "(parley.provider.id=echo)", timeout = 10_000)
    ChatModelProvider provider;

    Configuration config;

    @AfterEach
    void cleanUp() throws Exception {
        if (config != null) {
            config.delete();
        }
        Bundle plugin = plugin();
        if (plugin.getState() != Bundle.ACTIVE) {
            plugin.start();
        }
    }

    @Test
    void theBundleIsAPluginThatExportsNothing() {
        Bundle plugin = plugin();
        assertThat(plugin.getHeaders().get("Parley-Plugin"))
                .startsWith("example.echo;type=provider;")
                .contains("publisher=parley-examples");
        assertThat(plugin.getHeaders().get(Constants.EXPORT_PACKAGE)).isNull();
        // The provider SPI's types it implements (ChatModelProvider, StreamHandle) are consumer types: any later 1.x
        // of the package fits (from the minor version it was built against), no rebuild for a minor API release.
        assertThat(plugin.getHeaders().get(Constants.IMPORT_PACKAGE))
                .containsPattern("dev\\.parley\\.api\\.llm;version=\"\\[1\\.[0-9]+,2\\)\"");
    }

    // What the plugin answers is the unit tests' business (one of them pins the text); these check that the real
    // service, registered by Declarative Services in a real framework, keeps the streaming contract.
    @Test
    void streamsAChatThroughTheRegisteredService() throws Exception {
        assertThat(provider.models()).extracting(m -> m.id()).containsExactly("echo-1");
        var handler = new Handler();
        provider.stream(request("hello from the framework"), handler);

        assertThat(handler.ended.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(handler.error).isNull();
        assertThat(handler.tokens).isNotEmpty();
        assertThat(handler.response.text()).isNotBlank().isEqualTo(String.join("", handler.tokens));
        assertThat(handler.response.model()).isEqualTo("echo-1");
        assertThat(handler.response.usage().completionTokens()).isPositive();
    }

    @Test
    void anAnswerInFlightFinishesWhenThePluginIsStopped() throws Exception {
        config = configAdmin.getConfiguration("dev.parley.example.echo", "?");
        var props = new Hashtable<String, Object>();
        props.put("tokenDelayMs", 40L);
        config.update(props);
        ChatModelProvider slow = awaitProvider("(&(parley.provider.id=echo)(tokenDelayMs=40))");

        var handler = new Handler();
        slow.stream(request("one two three four five six seven eight nine ten"), handler);
        assertThat(handler.firstToken.await(10, TimeUnit.SECONDS)).isTrue();

        plugin().stop(); // Declarative Services deactivates the provider: it drains before returning

        assertThat(handler.ended.getCount()).as("the answer ended before stop() returned").isZero();
        assertThat(handler.error).isNull();
        assertThat(handler.tokens).as("more than the first token arrived").hasSizeGreaterThan(1);
        assertThat(handler.response.text()).isEqualTo(String.join("", handler.tokens));
        assertThat(context.getServiceReferences(ChatModelProvider.class, "(parley.provider.id=echo)")).isEmpty();

        plugin().start();
        var again = new Handler();
        awaitProvider("(parley.provider.id=echo)").stream(request("back again"), again);
        assertThat(again.ended.await(10, TimeUnit.SECONDS)).isTrue();
        assertThat(again.error).isNull();
        assertThat(again.response.text()).isNotBlank().isEqualTo(String.join("", again.tokens));
    }

    private ChatModelProvider awaitProvider(String filter) throws Exception {
        var tracker = new ServiceTracker<ChatModelProvider, ChatModelProvider>(context,
                FrameworkUtil.createFilter("(&(objectClass=" + ChatModelProvider.class.getName() + ")" + filter + ")"),
                null);
        tracker.open();
        try {
            ChatModelProvider p = tracker.waitForService(10_000);
            assertThat(p).as("a provider matching %s", filter).isNotNull();
            return p;
        } finally {
            tracker.close();
        }
    }

    private Bundle plugin() {
        return Arrays.stream(context.getBundles()).filter(b -> BSN.equals(b.getSymbolicName())).findFirst()
                .orElseThrow();
    }

    private static ChatRequest request(String text) {
        return new ChatRequest("echo-1", List.of(ChatMessage.user(text)), null, null);
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

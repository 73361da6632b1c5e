package dev.parley.itests.oop;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ChatStreamHandler;
import dev.parley.pluginhost.HostLimits;
import dev.parley.pluginhost.HostStatus;
import dev.parley.pluginhost.PluginHosts;
import java.io.ByteArrayInputStream;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;

/**
 * Plugins run out of process for the tests (ADR 31): a plugin's stand-in, made by {@link PluginHosts#standIn}, is
 * installed and started in the framework, so that its jar runs in a real plugin-host JVM; its providers are the proxies
 * the stand-in registers. {@link #close} uninstalls every stand-in and checks its host is gone.
 */
public final class HostedPlugins implements AutoCloseable {
    private final BundleContext context;
    private final PluginHosts hosts;
    private final String suffix;
    private final List<Bundle> installed = new ArrayList<>();

    public HostedPlugins(BundleContext context, PluginHosts hosts, String suffix) {
        this.context = context;
        this.hosts = hosts;
        this.suffix = suffix;
    }

    public Bundle runOutOfProcess(byte[] pluginJar, HostLimits limits) throws Exception {
        byte[] standIn = hosts.standIn(pluginJar, limits);
        Bundle b = context.installBundle("parley-plugin-host-test:" + suffix + ":" + installed.size(),
                new ByteArrayInputStream(standIn));
        installed.add(b);
        b.start();
        return b;
    }

    public HostStatus awaitRunning(Bundle standIn, String provider) {
        return await().atMost(Duration.ofSeconds(60)).until(() -> hosts.host(standIn.getBundleId()).orElse(null),
                h -> h != null && "running".equals(h.state()) && h.providers().contains(provider));
    }

    public HostStatus awaitRestarted(Bundle standIn, HostStatus before) {
        return await().atMost(Duration.ofSeconds(60)).until(() -> hosts.host(standIn.getBundleId()).orElse(null),
                h -> h != null && "running".equals(h.state()) && h.pid() != before.pid()
                        && h.starts() > before.starts() && !h.providers().isEmpty());
    }

    public ChatModelProvider proxy(String provider) {
        return await().atMost(Duration.ofSeconds(20)).until(() -> {
            Collection<ServiceReference<ChatModelProvider>> refs = context.getServiceReferences(
                    ChatModelProvider.class, "(parley.provider.id=" + provider + ")");
            return refs.isEmpty() ? null : context.getService(refs.iterator().next());
        }, p -> p != null);
    }

    /** Asserts that the proxy answers a three-token chat of {@link HostedTestProvider}'s {@code slow} mode. */
    public static void assertAnswers(ChatModelProvider proxy, String model) {
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            Recorder r = new Recorder();
            proxy.stream(request(model, 3), r);
            assertThat(r.ended.get(10, TimeUnit.SECONDS)).isInstanceOf(ChatResponse.class);
            assertThat(r.tokens).containsExactly("t0 ", "t1 ", "t2 ");
        });
    }

    public static ChatRequest request(String model, int maxTokens) {
        return new ChatRequest(model, List.of(ChatMessage.user("count")), new ChatOptions(null, null, maxTokens,
                List.of()), List.of());
    }

    public static boolean alive(long pid) {
        return ProcessHandle.of(pid).map(ProcessHandle::isAlive).orElse(false);
    }

    /** Sends {@code signal} ({@code -9}, {@code -STOP}) to a host process. */
    public static void signal(long pid, String signal) throws Exception {
        assertThat(new ProcessBuilder("kill", signal, Long.toString(pid)).start().waitFor(10, TimeUnit.SECONDS))
                .isTrue();
    }

    @Override
    public void close() throws Exception {
        for (Bundle b : installed) {
            long id = b.getBundleId();
            if (b.getState() != Bundle.UNINSTALLED) { // a test may have uninstalled it itself
                b.uninstall();
            }
            assertThat(hosts.host(id)).isEmpty();
        }
        installed.clear();
    }

    /** Records one answer: its tokens in order and how it ended (a ChatResponse or a ParleyException). */
    public static final class Recorder implements ChatStreamHandler {
        public final List<String> tokens = new CopyOnWriteArrayList<>();
        public final CompletableFuture<Object> ended = new CompletableFuture<>();

        @Override
        public void onToken(String delta) {
            tokens.add(delta);
        }

        @Override
        public void onComplete(ChatResponse response) {
            ended.complete(response);
        }

        @Override
        public void onError(ParleyException error) {
            ended.complete(error);
        }
    }
}

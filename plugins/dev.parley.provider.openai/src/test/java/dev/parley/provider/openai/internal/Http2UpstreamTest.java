package dev.parley.provider.openai.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.StreamHandle;
import java.io.OutputStream;
import java.lang.reflect.Proxy;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.eclipse.jetty.alpn.server.ALPNServerConnectionFactory;
import org.eclipse.jetty.http2.HTTP2Cipher;
import org.eclipse.jetty.http2.server.HTTP2ServerConnectionFactory;
import org.eclipse.jetty.io.Connection;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.HttpConfiguration;
import org.eclipse.jetty.server.HttpConnectionFactory;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.server.SecureRequestCustomizer;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import org.eclipse.jetty.server.SslConnectionFactory;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.ssl.SslContextFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The provider against an upstream that offers HTTP/2 over TLS (ALPN), as api.openai.com and most hosted
 * OpenAI-compatible servers do: a real Jetty HTTP/2 server with a test certificate that this module's test JVM trusts
 * (see the surefire configuration in the pom). Checks that the provider speaks HTTP/2 there, keeps one connection for
 * sequential answers, and that cancelling one answer resets only its stream, not the connection.
 */
class Http2UpstreamTest {
    private static final Duration WAIT = Duration.ofSeconds(10);
    private static final String PASSWORD = "parley-test";

    private final List<String> protocols = new CopyOnWriteArrayList<>();
    private final AtomicInteger connectionsOpened = new AtomicInteger();
    private final CountDownLatch clientLeft = new CountDownLatch(1);
    private Server server;
    private int port;
    private OpenAiChatModelProvider provider;

    @BeforeEach
    void startUpstream() throws Exception {
        server = new Server();
        HttpConfiguration http = new HttpConfiguration();
        SecureRequestCustomizer secure = new SecureRequestCustomizer();
        secure.setSniHostCheck(false);
        http.addCustomizer(secure);
        HttpConnectionFactory h1 = new HttpConnectionFactory(http);
        HTTP2ServerConnectionFactory h2 = new HTTP2ServerConnectionFactory(http);
        ALPNServerConnectionFactory alpn = new ALPNServerConnectionFactory();
        alpn.setDefaultProtocol(h1.getProtocol());
        SslContextFactory.Server tls = new SslContextFactory.Server();
        tls.setKeyStorePath(Path.of("src/test/resources/tls/upstream-tls.p12").toAbsolutePath().toString());
        tls.setKeyStorePassword(PASSWORD);
        tls.setKeyStoreType("PKCS12");
        tls.setCipherComparator(HTTP2Cipher.COMPARATOR);
        ServerConnector connector = new ServerConnector(server, new SslConnectionFactory(tls, alpn.getProtocol()),
                alpn, h2, h1);
        connector.setHost("127.0.0.1");
        connector.setPort(0);
        connector.addEventListener(new Connection.Listener() {
            @Override
            public void onOpened(Connection connection) {
                if (connection instanceof org.eclipse.jetty.io.ssl.SslConnection) {
                    connectionsOpened.incrementAndGet();
                }
            }
        });
        server.addConnector(connector);
        server.setHandler(new Handler.Abstract() {
            @Override
            public boolean handle(Request request, Response response, Callback callback) throws Exception {
                protocols.add(request.getConnectionMetaData().getProtocol());
                Content.Source.consumeAll(request);
                boolean slow = slowFirst && protocols.size() == 1;
                response.getHeaders().put("Content-Type", "text/event-stream");
                try (OutputStream out = Content.Sink.asOutputStream(response)) {
                    write(out, "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\","
                            + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"}}]}");
                    int words = slow ? 200 : 2;
                    for (int i = 0; i < words; i++) {
                        write(out, "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\","
                                + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\"" + (i == 0 ? "Hello" : " world")
                                + "\"}}]}");
                        if (slow) {
                            Thread.sleep(50);
                        }
                    }
                    write(out, "{\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"model\":\"gpt-4o-mini\","
                            + "\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"stop\"}]}");
                    out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
                    out.flush();
                } catch (java.io.IOException e) {
                    clientLeft.countDown(); // the stream was reset under us
                    callback.failed(e);
                    return true;
                }
                callback.succeeded();
                return true;
            }
        });
        server.start();
        port = connector.getLocalPort();
    }

    private volatile boolean slowFirst;

    private static void write(OutputStream out, String json) throws java.io.IOException {
        out.write(("data: " + json + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    @AfterEach
    void stop() throws Exception {
        if (provider != null) {
            provider.deactivate();
        }
        server.stop();
    }

    private OpenAiChatModelProvider provider() {
        Map<String, Object> values = Map.of("apiKey", "sk-test", "baseUrl", "https://127.0.0.1:" + port + "/v1",
                "models", new String[] {"gpt-4o-mini"});
        OpenAiProviderConfig config = (OpenAiProviderConfig) Proxy.newProxyInstance(
                OpenAiProviderConfig.class.getClassLoader(), new Class<?>[] {OpenAiProviderConfig.class},
                (proxy, method, args) -> method.getName().equals("annotationType") ? OpenAiProviderConfig.class
                        : values.getOrDefault(method.getName(), method.getDefaultValue()));
        provider = new OpenAiChatModelProvider(config, Map.of());
        return provider;
    }

    private static ChatRequest ask(String text) {
        return new ChatRequest("gpt-4o-mini", List.of(ChatMessage.user(text)), ChatOptions.DEFAULTS, List.of());
    }

    @Test
    void speaksHttp2OverTlsAndKeepsOneConnectionForSequentialAnswers() {
        OpenAiChatModelProvider p = provider();
        for (int i = 0; i < 3; i++) {
            OpenAiChatModelProviderTest.Recorder r = new OpenAiChatModelProviderTest.Recorder();
            p.stream(ask("hi " + i), r);
            assertThat(r.awaitCompletion().text()).isEqualTo("Hello world");
            assertThat(r.tokens).containsExactly("Hello", " world");
        }
        assertThat(protocols).containsExactly("HTTP/2.0", "HTTP/2.0", "HTTP/2.0");
        assertThat(connectionsOpened.get()).as("TLS connections the upstream accepted").isEqualTo(1);
    }

    @Test
    void cancellingAnAnswerResetsItsStreamAndKeepsTheConnection() throws Exception {
        slowFirst = true;
        OpenAiChatModelProvider p = provider();
        OpenAiChatModelProviderTest.Recorder first = new OpenAiChatModelProviderTest.Recorder();
        StreamHandle handle = p.stream(ask("long"), first);
        await().atMost(WAIT).until(() -> !first.tokens.isEmpty());

        handle.cancel();

        assertThat(first.awaitError().code()).isEqualTo(ErrorCode.CANCELLED);
        assertThat(clientLeft.await(WAIT.toSeconds(), TimeUnit.SECONDS)).as("the upstream saw its stream reset").isTrue();
        OpenAiChatModelProviderTest.Recorder second = new OpenAiChatModelProviderTest.Recorder();
        p.stream(ask("short"), second);
        assertThat(second.awaitCompletion().text()).isEqualTo("Hello world");
        assertThat(protocols).containsExactly("HTTP/2.0", "HTTP/2.0");
        assertThat(connectionsOpened.get()).as("TLS connections the upstream accepted").isEqualTo(1);
    }
}

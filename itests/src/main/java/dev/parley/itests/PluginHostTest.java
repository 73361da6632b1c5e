package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.StreamHandle;
import dev.parley.itests.oop.HostedPluginJars;
import dev.parley.itests.oop.HostedPlugins;
import dev.parley.itests.oop.HostedPlugins.Recorder;
import dev.parley.pluginhost.HostLimits;
import dev.parley.pluginhost.HostStatus;
import dev.parley.pluginhost.PluginHosts;
import dev.parley.registry.Signatures;
import java.io.DataInputStream;
import java.io.DataOutputStream;
import java.io.IOException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.http.HttpRequest;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * The untrusted tier out of process (ADR 31), with real plugin-host JVMs: a plugin's stand-in is installed in the
 * framework, its jar runs in a host process, and its providers answer through the proxies the stand-in registers.
 */
class PluginHostTest {
    static final ObjectMapper JSON = new ObjectMapper();

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    PluginHosts hosts;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    String suffix;
    HostedPlugins hosted;

    @BeforeEach
    void setUp() {
        suffix = UUID.randomUUID().toString().substring(0, 8);
        hosted = new HostedPlugins(context, hosts, suffix);
    }

    @AfterEach
    void tearDown() throws Exception {
        hosted.close();
    }

    @Test
    void theExamplePluginAnswersAChatFromItsOwnProcess() throws Exception {
        byte[] echo = Files.readAllBytes(Path.of(context.getProperty("parley.test.plugins"), "echo-provider.jar"));
        Bundle standIn = runOutOfProcess(echo, HostLimits.UNTRUSTED_DEFAULTS);
        HostStatus host = awaitRunning(standIn, "echo");
        assertThat(host.pid()).isNotEqualTo(ProcessHandle.current().pid());
        assertThat(ProcessHandle.of(host.pid())).isPresent();

        Server server = new Server(http.getServiceReference());
        await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
            var reply = server.post("v1/chat/completions",
                    "{\"model\":\"echo-1\",\"messages\":[{\"role\":\"user\",\"content\":\"hello out there\"}]}");
            assertThat(reply.status()).as(reply.body()).isEqualTo(200);
            assertThat(reply.json().at("/choices/0/message/content").asText()).endsWith("hello out there");
        });
    }

    @Test
    void tokensArriveInOrderAndCancelReachesThePlugin() throws Exception {
        String provider = "hosted-" + suffix;
        Bundle standIn = runOutOfProcess(HostedPluginJars.provider("hosted.slow." + suffix, "slow", provider,
                "slow-" + suffix), HostLimits.UNTRUSTED_DEFAULTS);
        awaitRunning(standIn, provider);
        ChatModelProvider proxy = proxy(provider);

        Recorder done = new Recorder();
        proxy.stream(request("slow-" + suffix, 5), done);
        ChatResponse whole = done.ended.get(20, TimeUnit.SECONDS) instanceof ChatResponse r ? r : null;
        assertThat(whole).as("ended with %s", done.ended.join()).isNotNull();
        assertThat(done.tokens).containsExactly("t0 ", "t1 ", "t2 ", "t3 ", "t4 ");
        assertThat(whole.text()).isEqualTo("t0 t1 t2 t3 t4 ");
        assertThat(whole.usage().completionTokens()).isEqualTo(5);

        Recorder cancelled = new Recorder();
        StreamHandle handle = proxy.stream(request("slow-" + suffix, 1000), cancelled);
        await().atMost(Duration.ofSeconds(10)).until(() -> cancelled.tokens.size() >= 3);
        handle.cancel();
        Object end = cancelled.ended.get(10, TimeUnit.SECONDS);
        assertThat(end).isInstanceOf(ParleyException.class);
        assertThat(((ParleyException) end).code()).isEqualTo(ErrorCode.CANCELLED);
        assertThat(((ParleyException) end).getMessage()).contains("cancelled by the caller"); // the plugin's own words
        assertThat(cancelled.tokens.size()).isLessThan(1000);
    }

    @Test
    void aKilledHostFailsItsChatClearlyAndComesBack() throws Exception {
        String provider = "hosted-" + suffix;
        Bundle standIn = runOutOfProcess(HostedPluginJars.provider("hosted.kill." + suffix, "slow", provider,
                "slow-" + suffix), HostLimits.UNTRUSTED_DEFAULTS);
        HostStatus first = awaitRunning(standIn, provider);
        ChatModelProvider proxy = proxy(provider);

        Recorder chat = new Recorder();
        proxy.stream(request("slow-" + suffix, 1000), chat);
        await().atMost(Duration.ofSeconds(10)).until(() -> chat.tokens.size() >= 3);
        new ProcessBuilder("kill", "-9", Long.toString(first.pid())).start().waitFor(10, TimeUnit.SECONDS);

        Object end = chat.ended.get(10, TimeUnit.SECONDS);
        assertThat(end).isInstanceOf(ParleyException.class);
        assertThat(((ParleyException) end).code()).isEqualTo(ErrorCode.UNAVAILABLE);
        assertThat(((ParleyException) end).getMessage()).contains("plugin host of hosted.kill." + suffix)
                .contains("exit code 137").contains("restarted");

        HostStatus second = awaitRestarted(standIn, first);
        assertThat(second.lastExit()).contains("137");
        assertThat(ProcessHandle.of(first.pid()).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        assertAnswers(proxy(provider), "slow-" + suffix);
    }

    @Test
    void thePluginsClassesAreCheckedInItsHostAsInTheServer() throws Exception {
        // The host runs the sandbox's hooks too (ADR 30): System.exit in the plugin's stream() is refused there, the
        // chat fails with the refusal, and the host process lives on (not ended and restarted).
        String provider = "hosted-" + suffix;
        Bundle standIn = runOutOfProcess(HostedPluginJars.provider("hosted.exit." + suffix, "exit", provider,
                "exit-" + suffix), HostLimits.UNTRUSTED_DEFAULTS);
        HostStatus first = awaitRunning(standIn, provider);

        Recorder chat = new Recorder();
        proxy(provider).stream(request("exit-" + suffix, 10), chat);
        Object end = chat.ended.get(30, TimeUnit.SECONDS);
        assertThat(end).isInstanceOf(ParleyException.class);
        assertThat(((ParleyException) end).getMessage()).contains("SecurityException").contains("exit");
        assertThat(ProcessHandle.of(first.pid()).map(ProcessHandle::isAlive).orElse(false)).isTrue();
        assertThat(hosts.host(standIn.getBundleId()).orElseThrow().pid()).isEqualTo(first.pid());
    }

    @Test
    void aHostThatStopsAnsweringHeartbeatsIsRestarted() throws Exception {
        String provider = "hosted-" + suffix;
        Bundle standIn = runOutOfProcess(HostedPluginJars.provider("hosted.hang." + suffix, "slow", provider,
                "slow-" + suffix), HostLimits.UNTRUSTED_DEFAULTS);
        HostStatus first = awaitRunning(standIn, provider);
        // SIGSTOP: the process is alive and its socket open, but nothing in it runs: a hang, as the server sees it.
        new ProcessBuilder("kill", "-STOP", Long.toString(first.pid())).start().waitFor(10, TimeUnit.SECONDS);

        HostStatus second = awaitRestarted(standIn, first);
        assertThat(second.lastExit()).contains("no answer to heartbeats");
        assertThat(ProcessHandle.of(first.pid()).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        assertAnswers(proxy(provider), "slow-" + suffix);
    }

    @Test
    void aMemoryBombEndsOnlyItsHost() throws Exception {
        String provider = "hosted-" + suffix;
        Bundle standIn = runOutOfProcess(HostedPluginJars.provider("hosted.bomb." + suffix, "bomb", provider,
                "bomb-" + suffix), new HostLimits(48, 1000, 4));
        HostStatus first = awaitRunning(standIn, provider);

        Recorder chat = new Recorder();
        proxy(provider).stream(request("bomb-" + suffix, 10), chat);
        Object end = chat.ended.get(60, TimeUnit.SECONDS);
        assertThat(end).isInstanceOf(ParleyException.class);
        assertThat(((ParleyException) end).code()).isEqualTo(ErrorCode.UNAVAILABLE);
        assertThat(((ParleyException) end).getMessage()).contains("out of memory");

        HostStatus second = awaitRestarted(standIn, first);
        assertThat(second.lastExit()).contains("out of memory");
        // This JVM is untouched and still serves: the framework's HTTP server answers.
        assertThat(new Server(http.getServiceReference()).get("health/ready").status()).isEqualTo(200);
    }

    @Test
    void aConnectionWithoutTheSecretIsRefused() throws Exception {
        String provider = "hosted-" + suffix;
        Bundle standIn = runOutOfProcess(HostedPluginJars.provider("hosted.auth." + suffix, "slow", provider,
                "slow-" + suffix), HostLimits.UNTRUSTED_DEFAULTS);
        HostStatus host = awaitRunning(standIn, provider);

        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), host.port())) {
            send(s, "{\"type\":\"hello\",\"v\":1,\"secret\":\"guessed\",\"pid\":1}");
            assertThat(receive(s)).contains("\"refused\"").contains("bad-secret");
            assertClosed(s);
        }
        // A second connection with the secret the host used is refused too: a secret is good for one connection.
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), host.port())) {
            send(s, "{\"type\":\"hello\",\"v\":2,\"secret\":\"x\"}");
            assertThat(receive(s)).contains("\"refused\"").contains("version");
            assertClosed(s);
        }
        assertThat(hosts.host(standIn.getBundleId()).orElseThrow().pid()).isEqualTo(host.pid());
        assertAnswers(proxy(provider), "slow-" + suffix);
    }

    @Test
    void anOversizedFrameIsRefusedBeforeItIsRead() throws Exception {
        String provider = "hosted-" + suffix;
        Bundle standIn = runOutOfProcess(HostedPluginJars.provider("hosted.frame." + suffix, "slow", provider,
                "slow-" + suffix), HostLimits.UNTRUSTED_DEFAULTS);
        HostStatus host = awaitRunning(standIn, provider);

        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), host.port())) {
            var out = new DataOutputStream(s.getOutputStream());
            out.writeInt(64 * 1024 * 1024); // and nothing after it: the server must refuse on the length alone
            out.flush();
            assertThat(receive(s)).contains("\"refused\"").contains("frame-too-large");
            assertClosed(s);
        }
        assertAnswers(proxy(provider), "slow-" + suffix);
    }

    @Test
    void thePluginRuntimeRunsAnUntrustedPublishersPluginOutOfProcess() throws Exception {
        Server server = new Server(http.getServiceReference());
        String adminToken = Server.adminToken(context);
        String publisher = "oop-" + suffix;
        String pluginId = "hosted.inline." + suffix;
        String model = "inline-" + suffix;
        String[] keys = Signatures.generateKeyPair();
        var added = server.admin(server.jsonPost("api/v1/admin/registry/publishers",
                "{\"id\":\"" + publisher + "\",\"publicKey\":\"" + keys[0] + "\"}"), adminToken);
        assertThat(added.status()).as(added.body()).isIn(200, 201);
        byte[] jar = HostedPluginJars.inline(pluginId, publisher, "inline-" + suffix, model);
        var published = server.publish(jar, Signatures.sign(jar, keys[1]));
        assertThat(published.status()).as(published.body()).isEqualTo(201);

        String untrusted = server.admin(server.request("api/v1/admin/sandbox/policy/untrusted").GET(), adminToken)
                .json().get("policy").toString()
                .replaceFirst("\"publishers\":\\[[^\\]]*\\]", "\"publishers\":[\"" + publisher + "\"]");
        try {
            var changed = server.admin(server.request("api/v1/admin/sandbox/policy/untrusted")
                    .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(untrusted)),
                    adminToken);
            assertThat(changed.status()).as(changed.body()).isEqualTo(200);
            var install = server.admin(server.jsonPost("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}"),
                    adminToken);
            assertThat(install.status()).as(install.body()).isEqualTo(201);

            // In the framework: the stand-in, at the plugin's own location, with the untrusted tier's limits.
            Bundle standIn = context.getBundle("parley-plugin:" + pluginId + "@1.0.0");
            assertThat(standIn).isNotNull();
            assertThat(standIn.getHeaders("").get(PluginHosts.HEADER)).isEqualTo("heapMb=256;cpuMillicores=1000;"
                    + "maxThreads=16");
            assertThat(standIn.getEntry("dev/parley/itests/oop/InlineHostedProvider.class")).isNull();
            // The install answered once the plugin served: the health gate waits for the host and its providers.
            HostStatus host = hosts.host(standIn.getBundleId()).orElseThrow();
            assertThat(host.state()).isEqualTo("running");
            assertThat(host.providers()).containsExactly("inline-" + suffix);
            assertThat(host.pluginId()).isEqualTo(pluginId);

            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                var reply = server.post("v1/chat/completions", "{\"model\":\"" + model
                        + "\",\"messages\":[{\"role\":\"user\",\"content\":\"from another process\"}]}");
                assertThat(reply.status()).as(reply.body()).isEqualTo(200);
                assertThat(reply.json().at("/choices/0/message/content").asText())
                        .isEqualTo("[inline] from another process");
            });

            // Its embedding provider too, through the embedding service.
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> {
                var reply = server.post("v1/embeddings", "{\"model\":\"" + model + "-embed\",\"input\":[\"abc\","
                        + "\"hello\"]}");
                assertThat(reply.status()).as(reply.body()).isEqualTo(200);
                assertThat(reply.json().at("/data/0/embedding").toString()).isEqualTo("[3.0,0.0]");
                assertThat(reply.json().at("/data/1/embedding").toString()).isEqualTo("[5.0,1.0]");
            });

            var removed = server.admin(server.request("api/v1/admin/plugins/" + pluginId).DELETE(), adminToken);
            assertThat(removed.status()).as(removed.body()).isIn(200, 204);
            await().atMost(Duration.ofSeconds(30)).until(() -> hosts.hosts().stream()
                    .noneMatch(h -> h.pluginId().equals(pluginId)));
            assertThat(ProcessHandle.of(host.pid()).map(ProcessHandle::isAlive).orElse(false)).isFalse();
        } finally {
            server.admin(server.request("api/v1/admin/plugins/" + pluginId).DELETE(), adminToken);
            var reset = server.admin(server.request("api/v1/admin/sandbox/policy/untrusted").DELETE(), adminToken);
            assertThat(reset.status()).as(reset.body()).isEqualTo(200);
        }
    }

    // --- helpers ---

    Bundle runOutOfProcess(byte[] pluginJar, HostLimits limits) throws Exception {
        return hosted.runOutOfProcess(pluginJar, limits);
    }

    HostStatus awaitRunning(Bundle standIn, String provider) {
        return hosted.awaitRunning(standIn, provider);
    }

    HostStatus awaitRestarted(Bundle standIn, HostStatus before) {
        return hosted.awaitRestarted(standIn, before);
    }

    ChatModelProvider proxy(String provider) {
        return hosted.proxy(provider);
    }

    static void assertAnswers(ChatModelProvider proxy, String model) {
        HostedPlugins.assertAnswers(proxy, model);
    }

    static ChatRequest request(String model, int maxTokens) {
        return HostedPlugins.request(model, maxTokens);
    }

    static void send(Socket s, String json) throws IOException {
        byte[] b = json.getBytes(StandardCharsets.UTF_8);
        var out = new DataOutputStream(s.getOutputStream());
        out.writeInt(b.length);
        out.write(b);
        out.flush();
    }

    static String receive(Socket s) throws IOException {
        s.setSoTimeout(10_000);
        var in = new DataInputStream(s.getInputStream());
        int length = in.readInt();
        assertThat(length).isBetween(1, 4096);
        byte[] b = new byte[length];
        in.readFully(b);
        return new String(b, StandardCharsets.UTF_8);
    }

    static void assertClosed(Socket s) throws IOException {
        s.setSoTimeout(10_000);
        try {
            assertThat(s.getInputStream().read()).isEqualTo(-1);
        } catch (java.net.SocketException e) {
            // reset by the server: closed as well
        }
    }
}

package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.ObjectMapper;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.api.llm.ChatOptions;
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
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.metatype.MetaTypeInformation;
import org.osgi.service.metatype.MetaTypeService;
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

    @InjectService(timeout = 20_000)
    ConfigurationAdmin configAdmin;

    @InjectService(timeout = 20_000)
    MetaTypeService metaType;

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
            send(s, "{\"type\":\"hello\",\"v\":3,\"secret\":\"guessed\",\"pid\":1}");
            assertThat(receive(s)).contains("\"refused\"").contains("bad-secret");
            assertClosed(s);
        }
        // A second connection with the secret the host used is refused too: a secret is good for one connection.
        try (Socket s = new Socket(InetAddress.getLoopbackAddress(), host.port())) {
            send(s, "{\"type\":\"hello\",\"v\":1,\"secret\":\"x\"}"); // an older host's version
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
        publish(server, adminToken, publisher, HostedPluginJars.inline(pluginId, publisher, "inline-" + suffix, model));
        try {
            // In the framework: the stand-in, at the plugin's own location, with the untrusted tier's limits.
            Bundle standIn = installAsUntrusted(server, adminToken, publisher, pluginId);
            assertThat(standIn.getHeaders("").get(PluginHosts.HEADER)).isEqualTo("heapMb=256;cpuMillicores=1000;"
                    + "maxThreads=16;maxHostThreads=80");
            assertThat(standIn.getEntry("dev/parley/itests/oop/InlineHostedProvider.class")).isNull();
            // The install answered once the plugin served: the health gate waits for the host and its providers.
            HostStatus host = hosts.host(standIn.getBundleId()).orElseThrow();
            assertThat(host.state()).isEqualTo("running");
            assertThat(host.providers()).containsExactly("inline-" + suffix);
            assertThat(host.pluginId()).isEqualTo(pluginId);
            // The admin's view of the plugin shows its host and the limits it runs under.
            var view = server.admin(server.request("api/v1/admin/plugins/" + pluginId).GET(), adminToken);
            assertThat(view.status()).as(view.body()).isEqualTo(200);
            assertThat(view.json().at("/thisNode/host/pid").asLong()).isEqualTo(host.pid());
            assertThat(view.json().at("/thisNode/host/state").asText()).isEqualTo("running");
            assertThat(view.json().at("/thisNode/host/cgroups").asText()).isEqualTo(host.cgroups())
                    .startsWith("cgroups=");

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

    @Test
    void eachHostRunsInACgroupOfItsOwnWhereTheMachineAllowsAndTheJvmLimitsOtherwise() throws Exception {
        String provider = "hosted-" + suffix;
        Bundle standIn = runOutOfProcess(HostedPluginJars.provider("hosted.cg." + suffix, "threads", provider,
                "threads-" + suffix), HostLimits.UNTRUSTED_DEFAULTS);
        HostStatus host = awaitRunning(standIn, provider);
        assertAnswers(proxy(provider), "threads-" + suffix);

        // An idle host's threads: what HostLimits.BASE_HOST_THREADS stands for (measured, not assumed).
        Map<String, String> status = procStatus(host.pid());
        int idleThreads = Integer.parseInt(status.get("Threads"));
        System.out.println("event=idle_plugin_host threads=" + idleThreads + " rss=" + status.get("VmRSS")
                + " " + host.cgroups());
        assertThat(idleThreads).isLessThanOrEqualTo(HostLimits.BASE_HOST_THREADS);

        String expected = cgroupsWritable();
        if (expected != null) {
            // Not writable here: the host runs with the JVM's limits alone, and says so.
            assertThat(host.cgroups()).startsWith("cgroups=not-applied reason=");
            assertThat(host.cgroup()).isNull();
            Assumptions.abort("cgroups are not writable on this machine (" + expected + "); the fallback was checked");
        }
        assertThat(host.cgroups()).matches("cgroups=v[12] cpu,pids,memory .*");
        assertThat(host.cgroup()).isNotNull().contains("/parley-pluginhost/hosted.cg." + suffix + "-");
        // The process is in its cgroup, with the limits of its tier.
        Map<String, Path> dirs = cgroupDirs(host.pid());
        Path pids = dirs.get("pids");
        assertThat(pids.toString()).endsWith(host.cgroup());
        assertThat(Files.readAllLines(pids.resolve("cgroup.procs"))).contains(Long.toString(host.pid()));
        assertThat(Files.readString(pids.resolve("pids.max")).strip()).isEqualTo("80");
        if (host.cgroups().startsWith("cgroups=v1")) {
            assertThat(Files.readString(dirs.get("cpu").resolve("cpu.cfs_quota_us")).strip()).isEqualTo("100000");
            assertThat(Files.readString(dirs.get("cpu").resolve("cpu.cfs_period_us")).strip()).isEqualTo("100000");
            assertThat(Files.readString(dirs.get("memory").resolve("memory.limit_in_bytes")).strip())
                    .isEqualTo(Long.toString(512L * 1024 * 1024));
        } else {
            assertThat(Files.readString(pids.resolve("cpu.max")).strip()).isEqualTo("100000 100000");
            assertThat(Files.readString(pids.resolve("memory.max")).strip())
                    .isEqualTo(Long.toString(512L * 1024 * 1024));
        }

        // A thread bomb in the plugin is stopped by the task cap: at most pids.max threads, the server untouched.
        Recorder bomb = new Recorder();
        proxy(provider).stream(new ChatRequest("threads-" + suffix, List.of(ChatMessage.user("bomb")),
                ChatOptions.DEFAULTS, List.of()), bomb);
        Object end = bomb.ended.get(60, TimeUnit.SECONDS);
        System.out.println("event=thread_bomb_end " + end);
        if (end instanceof ChatResponse r) {
            assertThat(r.text()).doesNotContain("started=5000").contains("unable to create native thread");
        } else {
            assertThat(end).isInstanceOf(ParleyException.class); // the host gave up; it is restarted
        }
        assertThat(Files.readString(pids.resolve("pids.events"))).doesNotContain("max 0");
        assertThat(new Server(http.getServiceReference()).get("health/ready").status()).isEqualTo(200);
        assertAnswers(proxy(provider), "threads-" + suffix);

        // Stopping the host removes its cgroup, in every hierarchy.
        HostStatus last = hosts.host(standIn.getBundleId()).orElseThrow();
        Map<String, Path> lastDirs = cgroupDirs(last.pid());
        standIn.uninstall();
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(lastDirs.values())
                .allSatisfy(d -> assertThat(d).doesNotExist()));
    }

    @Test
    void withCgroupsTurnedOffTheHostRunsWithTheJvmLimitsAndSaysSo() throws Exception {
        Configuration config = configAdmin.getConfiguration("dev.parley.pluginhost", "?");
        var before = config.getProperties();
        var off = before == null ? new Hashtable<String, Object>() : copy(before);
        off.put("cgroups", false);
        config.update(off);
        try {
            // Declarative Services shows the component's settings on its service once it has them.
            await().atMost(Duration.ofSeconds(20)).until(() -> Boolean.FALSE.equals(
                    context.getServiceReference(PluginHosts.class).getProperty("cgroups")));
            String provider = "hosted-" + suffix;
            Bundle standIn = runOutOfProcess(HostedPluginJars.provider("hosted.nocg." + suffix, "slow", provider,
                    "slow-" + suffix), HostLimits.UNTRUSTED_DEFAULTS);
            HostStatus host = awaitRunning(standIn, provider);
            assertThat(host.cgroups()).isEqualTo("cgroups=not-applied reason=\"turned off (cgroups=off)\"");
            assertThat(host.cgroup()).isNull();
            assertThat(Files.readString(Path.of("/proc", Long.toString(host.pid()), "cgroup")))
                    .doesNotContain("parley-pluginhost");
            // The JVM limits hold: the heap the tier gives, and the end on running out of memory.
            assertThat(Files.readString(Path.of("/proc", Long.toString(host.pid()), "cmdline")))
                    .contains("-Xmx256m").contains("-XX:+ExitOnOutOfMemoryError");
            assertAnswers(proxy(provider), "slow-" + suffix);
        } finally {
            if (before == null) {
                config.delete();
            } else {
                config.update(before);
            }
            await().atMost(Duration.ofSeconds(20)).until(() -> !Boolean.FALSE.equals(
                    context.getServiceReference(PluginHosts.class).getProperty("cgroups")));
        }
    }

    static Hashtable<String, Object> copy(java.util.Dictionary<String, Object> d) {
        Hashtable<String, Object> out = new Hashtable<>();
        for (var keys = d.keys(); keys.hasMoreElements();) {
            String k = keys.nextElement();
            out.put(k, d.get(k));
        }
        return out;
    }

    @Test
    void aPluginsConfigurationReachesItsHostAndChangesFollow() throws Exception {
        String pluginId = "hosted.cfg." + suffix;
        String bsn = "dev.parley.test.hosted." + pluginId;
        String pid = bsn + ".provider";
        String provider = "hosted-" + suffix;
        String model = "cfg-" + suffix;
        // Set before the plugin runs, as an admin's settings are: a plain setting and a secret (a dot key), and one
        // long enough that its message is larger than a hello may be.
        Configuration settings = configAdmin.getConfiguration(pid, "?");
        settings.update(new Hashtable<>(Map.of("greeting", "hola", ".apiKey", "sk-12345678", "notes",
                "n".repeat(6000))));
        Configuration instance = null;
        try {
            Bundle standIn = runOutOfProcess(HostedPluginJars.configured(pluginId, provider, model),
                    HostLimits.UNTRUSTED_DEFAULTS);
            awaitRunning(standIn, provider);
            // The settings reach the host before the plugin starts: its first answer already has them.
            assertThat(answer(proxy(provider), model, "hi")).isEqualTo("[hola] key=11 hi");

            // The plugin's Metatype is known in the server, where the admin's settings and a tenant's instances are
            // validated against it.
            MetaTypeInformation info = metaType.getMetaTypeInformation(standIn);
            assertThat(info).isNotNull();
            assertThat(info.getPids()).contains(pid);
            assertThat(info.getFactoryPids()).contains(bsn + ".instance");

            // A change reaches the running plugin.
            settings.update(new Hashtable<>(Map.of("greeting", "hej", ".apiKey", "sk-2")));
            ChatModelProvider proxy = proxy(provider);
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(answer(proxy, model, "hi"))
                    .isEqualTo("[hej] key=4 hi"));

            // estimateTokens is the plugin's own, asked of the host.
            assertThat(proxy.estimateTokens(model, List.of(ChatMessage.user("a"), ChatMessage.user("b"))))
                    .isEqualTo(1020);

            // A tenant's instance (ADR 26): a factory configuration as TenantProviders makes it. Its proxy carries
            // the tenant, so only that tenant may use it.
            String tenant = "t" + suffix;
            String instanceId = tenant + "~mine";
            instance = configAdmin.getFactoryConfiguration(bsn + ".instance", "tenant." + tenant + ".mine", "?");
            instance.update(new Hashtable<>(Map.of("providerId", instanceId, "parley.provider.id", instanceId,
                    "models", "inst-" + suffix, "greeting", "tenant", ChatModelProvider.TENANT_PROPERTY, tenant,
                    "parley.tenant.instance", "mine")));
            ServiceReference<ChatModelProvider> ref = await().atMost(Duration.ofSeconds(20)).until(() -> {
                var refs = context.getServiceReferences(ChatModelProvider.class, "(parley.provider.id=" + instanceId
                        + ")");
                return refs.isEmpty() ? null : refs.iterator().next();
            }, r -> r != null);
            assertThat(ref.getProperty(ChatModelProvider.TENANT_PROPERTY)).isEqualTo(tenant);
            assertThat(ref.getProperty("parley.tenant.instance")).isEqualTo("mine");
            assertThat(answer(context.getService(ref), "inst-" + suffix, "x")).isEqualTo("[tenant] key=0 x");
            assertThat(hosts.host(standIn.getBundleId()).orElseThrow().providers()).contains(instanceId, provider);

            // Deleted in the server, gone in the host: the instance's provider and the plugin's settings.
            instance.delete();
            instance = null;
            await().atMost(Duration.ofSeconds(20)).until(() -> context.getServiceReferences(ChatModelProvider.class,
                    "(parley.provider.id=" + instanceId + ")").isEmpty());
            settings.delete();
            settings = null;
            await().atMost(Duration.ofSeconds(20)).untilAsserted(() -> assertThat(answer(proxy(provider), model, "hi"))
                    .isEqualTo("[hello] key=0 hi"));
        } finally {
            if (settings != null) {
                settings.delete();
            }
            if (instance != null) {
                instance.delete();
            }
        }
    }

    @Test
    void aTenantRunsItsOwnInstanceOfAnOutOfProcessPlugin() throws Exception {
        // As ADR 26 has it, through the tenant API, for an untrusted publisher's plugin that runs in a plugin host:
        // the instance's settings (its secret among them) reach the host, its provider serves its tenant only.
        Server server = new Server(http.getServiceReference());
        String adminToken = Server.adminToken(context);
        String publisher = "oop-" + suffix;
        String pluginId = "hosted.tenant." + suffix;
        TenantUsers users = new TenantUsers("oop" + suffix + ":");
        var registration = context.registerService(dev.parley.api.identity.BearerAuthenticator.class, users, null);
        String tenantA = "oa-" + suffix;
        String tenantB = "ob-" + suffix;
        String adminA = users.credential(tenantA, "carol", dev.parley.api.identity.Role.ADMIN);
        String memberA = users.credential(tenantA, "ann", dev.parley.api.identity.Role.MEMBER);
        String memberB = users.credential(tenantB, "bob", dev.parley.api.identity.Role.MEMBER);
        for (String t : List.of(tenantA, tenantB)) {
            var created = server.send(server.jsonPost("api/v1/admin/tenants", "{\"id\":\"" + t + "\",\"name\":\""
                    + t + "\"}"));
            assertThat(created.status()).as(created.body()).isEqualTo(201);
        }
        publish(server, adminToken, publisher, HostedPluginJars.configured(pluginId, publisher, "op-" + suffix,
                "op-model-" + suffix));
        try {
            Bundle standIn = installAsUntrusted(server, adminToken, publisher, pluginId);
            assertThat(standIn.getHeaders("").get(PluginHosts.HEADER)).isNotNull();

            var put = server.send(server.request("api/v1/tenant/providers/work").header("Authorization", "Bearer "
                    + adminA).header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(
                    "{\"plugin\":\"" + pluginId + "\",\"settings\":{\"apiKey\":\"sk-tenant-a\",\"models\":\"tm\","
                            + "\"greeting\":\"for A\"}}")));
            assertThat(put.status()).as(put.body()).isEqualTo(201);
            String model = tenantA + "~work/tm";
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                var reply = server.send(server.jsonPost("v1/chat/completions", "{\"model\":\"" + model
                        + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").header("Authorization",
                        "Bearer " + memberA));
                assertThat(reply.status()).as(reply.body()).isEqualTo(200);
                // The greeting and the secret's length: the tenant's settings reached the plugin in its host.
                assertThat(reply.json().at("/choices/0/message/content").asText()).isEqualTo("[for A] key=11 hi");
            });
            assertThat(hosts.host(standIn.getBundleId()).orElseThrow().providers()).contains(tenantA + "~work");
            var shown = server.send(server.request("api/v1/tenant/providers/work").header("Authorization",
                    "Bearer " + adminA).GET());
            assertThat(shown.json().get("running").asBoolean()).as(shown.body()).isTrue();
            // Another tenant does not reach it.
            var other = server.send(server.jsonPost("v1/chat/completions", "{\"model\":\"" + model
                    + "\",\"messages\":[{\"role\":\"user\",\"content\":\"hi\"}]}").header("Authorization",
                    "Bearer " + memberB));
            assertThat(other.status()).as(other.body()).isEqualTo(404);

            var deleted = server.send(server.request("api/v1/tenant/providers/work").header("Authorization",
                    "Bearer " + adminA).DELETE());
            assertThat(deleted.status()).as(deleted.body()).isEqualTo(204);
            await().atMost(Duration.ofSeconds(30)).until(() -> !hosts.host(standIn.getBundleId()).orElseThrow()
                    .providers().contains(tenantA + "~work"));
        } finally {
            server.send(server.request("api/v1/tenant/providers/work?tenant=" + tenantA).DELETE());
            server.admin(server.request("api/v1/admin/plugins/" + pluginId).DELETE(), adminToken);
            var reset = server.admin(server.request("api/v1/admin/sandbox/policy/untrusted").DELETE(), adminToken);
            assertThat(reset.status()).as(reset.body()).isEqualTo(200);
            registration.unregister();
        }
    }

    // --- helpers ---

    /** Adds {@code publisher} to the registry with a key pair of its own and publishes {@code jar} signed with it. */
    static void publish(Server server, String adminToken, String publisher, byte[] jar) {
        String[] keys = Signatures.generateKeyPair();
        var added = server.admin(server.jsonPost("api/v1/admin/registry/publishers",
                "{\"id\":\"" + publisher + "\",\"publicKey\":\"" + keys[0] + "\"}"), adminToken);
        assertThat(added.status()).as(added.body()).isIn(200, 201);
        var published = server.publish(jar, Signatures.sign(jar, keys[1]));
        assertThat(published.status()).as(published.body()).isEqualTo(201);
    }

    /**
     * Makes {@code publisher} the untrusted tier's only publisher through the policy API and installs its plugin
     * through the admin API (the caller resets the tier). @return the bundle at the plugin's own location
     */
    Bundle installAsUntrusted(Server server, String adminToken, String publisher, String pluginId) {
        String untrusted = server.admin(server.request("api/v1/admin/sandbox/policy/untrusted").GET(), adminToken)
                .json().get("policy").toString()
                .replaceFirst("\"publishers\":\\[[^\\]]*\\]", "\"publishers\":[\"" + publisher + "\"]");
        var changed = server.admin(server.request("api/v1/admin/sandbox/policy/untrusted")
                .header("Content-Type", "application/json").PUT(HttpRequest.BodyPublishers.ofString(untrusted)),
                adminToken);
        assertThat(changed.status()).as(changed.body()).isEqualTo(200);
        var install = server.admin(server.jsonPost("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}"),
                adminToken);
        assertThat(install.status()).as(install.body()).isEqualTo(201);
        Bundle standIn = context.getBundle("parley-plugin:" + pluginId + "@1.0.0");
        assertThat(standIn).isNotNull();
        return standIn;
    }

    /** The whole answer of {@code proxy} to one user message. */
    static String answer(ChatModelProvider proxy, String model, String message) throws Exception {
        Recorder r = new Recorder();
        proxy.complete(new ChatRequest(model, List.of(ChatMessage.user(message)), ChatOptions.DEFAULTS, List.of()), r);
        Object end = r.ended.get(20, TimeUnit.SECONDS);
        assertThat(end).as("%s", end).isInstanceOf(ChatResponse.class);
        return ((ChatResponse) end).text();
    }

    static Map<String, String> procStatus(long pid) throws IOException {
        Map<String, String> out = new java.util.HashMap<>();
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "status"))) {
            String[] kv = line.split(":", 2);
            if (kv.length == 2) {
                out.put(kv[0].strip(), kv[1].strip());
            }
        }
        return out;
    }

    /** The process's cgroup directory per controller (cpu, pids, memory), from /proc/[pid]/cgroup. */
    static Map<String, Path> cgroupDirs(long pid) throws IOException {
        Path root = Path.of("/sys/fs/cgroup");
        Map<String, Path> out = new java.util.HashMap<>();
        boolean v2 = Files.isRegularFile(root.resolve("cgroup.controllers"));
        for (String line : Files.readAllLines(Path.of("/proc", Long.toString(pid), "cgroup"))) {
            String[] f = line.split(":", 3);
            for (String c : List.of("cpu", "pids", "memory")) {
                if (v2 && f[0].equals("0")) {
                    out.put(c, root.resolve(f[2].substring(1)));
                } else if (!v2 && List.of(f[1].split(",")).contains(c)) {
                    out.put(c, root.resolve(c).resolve(f[2].substring(1)));
                }
            }
        }
        return out;
    }

    /**
     * Null when this test may make a cgroup where the server makes its hosts' (so they must have one); otherwise why
     * not.
     */
    static String cgroupsWritable() {
        try {
            Path root = Path.of("/sys/fs/cgroup");
            Path probe;
            if (Files.isRegularFile(root.resolve("cgroup.controllers"))) {
                if (!Files.readString(Path.of("/proc/self/cgroup")).contains("0::/\n")) {
                    return "cgroup v2 and the server's cgroup is not the root (its parent must be set)";
                }
                probe = root.resolve("parley-probe-" + UUID.randomUUID());
            } else {
                Path own = cgroupDirs(ProcessHandle.current().pid()).get("pids");
                if (own == null) {
                    return "no pids hierarchy";
                }
                probe = own.resolve("parley-probe-" + UUID.randomUUID());
            }
            Files.createDirectory(probe);
            Files.delete(probe);
            return null;
        } catch (IOException | RuntimeException e) {
            return e.toString();
        }
    }

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

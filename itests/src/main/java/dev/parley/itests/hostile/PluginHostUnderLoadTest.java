package dev.parley.itests.hostile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatModelProvider;
import dev.parley.itests.Server;
import dev.parley.itests.oop.HostedPluginJars;
import dev.parley.itests.oop.HostedPlugins;
import dev.parley.itests.oop.HostedPlugins.Recorder;
import dev.parley.pluginhost.HostLimits;
import dev.parley.pluginhost.HostStatus;
import dev.parley.pluginhost.PluginHosts;
import java.time.Duration;
import java.util.UUID;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * The hostile-plugin suite's out-of-process rows (issue 11, ADR 31): a plugin of the untrusted tier, run in a real
 * plugin-host JVM, whose host is killed, hangs, runs out of memory or tries {@code System.exit}, while the steady chat
 * load of {@link HostileLoad} runs on another provider in the server; every chat of the load must succeed. The host is
 * started (and connected) before the load starts; each attack runs until the host serves again or lives on.
 * {@code PluginHostTest} covers the same cases' details without a load.
 */
class PluginHostUnderLoadTest {
    static final String TIER = "untrusted (out of process)";

    @InjectBundleContext
    static BundleContext context;

    @InjectService(timeout = 20_000)
    static ServiceAware<HttpServiceRuntime> http;

    @InjectService(timeout = 20_000)
    static ConfigurationAdmin configAdmin;

    @InjectService(timeout = 20_000)
    static PluginHosts hosts;

    static HostileLoad load;

    String suffix;
    String provider;
    HostedPlugins hosted;

    @BeforeAll
    static void startTheOtherProvider() throws Exception {
        load = HostileLoad.start(context, configAdmin, new Server(http.getServiceReference()));
    }

    @AfterAll
    static void stopTheOtherProviderAndWriteTheResults() throws Exception {
        load.close();
    }

    @BeforeEach
    void setUp() {
        suffix = UUID.randomUUID().toString().substring(0, 8);
        provider = "hosted-" + suffix;
        hosted = new HostedPlugins(context, hosts, suffix);
    }

    @AfterEach
    void tearDown() throws Exception {
        hosted.close();
    }

    @Test
    void aHostKilledMidAnswer() throws Exception {
        String model = "slow-" + suffix;
        Bundle standIn = hosted.runOutOfProcess(HostedPluginJars.provider("hosted.kill." + suffix, "slow", provider,
                model), HostLimits.UNTRUSTED_DEFAULTS);
        HostStatus first = hosted.awaitRunning(standIn, provider);
        ChatModelProvider proxy = hosted.proxy(provider);
        ParleyException[] error = new ParleyException[1];
        HostStatus[] second = new HostStatus[1];

        var figures = load.underLoad(() -> {
            Recorder chat = new Recorder();
            proxy.stream(HostedPlugins.request(model, 1000), chat);
            await().atMost(Duration.ofSeconds(10)).until(() -> chat.tokens.size() >= 3);
            HostedPlugins.signal(first.pid(), "-9");
            error[0] = failure(chat, 10);
            second[0] = hosted.awaitRestarted(standIn, first);
            HostedPlugins.assertAnswers(hosted.proxy(provider), model);
        });
        assertThat(error[0].code()).isEqualTo(ErrorCode.UNAVAILABLE);
        assertThat(error[0].getMessage()).contains("exit code 137").contains("restarted");
        assertThat(second[0].lastExit()).contains("137");
        assertThat(HostedPlugins.alive(first.pid())).isFalse();
        load.results.record("plugin host killed (kill -9) mid-answer", TIER, "plugin host supervision: the answer "
                + "in flight fails at once, the host is restarted with backoff", "the chat's error: unavailable \""
                + error[0].getMessage() + "\"; host lastExit \"" + second[0].lastExit() + "\"", figures);
    }

    @Test
    void aHostThatHangs() throws Exception {
        String model = "slow-" + suffix;
        Bundle standIn = hosted.runOutOfProcess(HostedPluginJars.provider("hosted.hang." + suffix, "slow", provider,
                model), HostLimits.UNTRUSTED_DEFAULTS);
        HostStatus first = hosted.awaitRunning(standIn, provider);
        HostStatus[] second = new HostStatus[1];

        var figures = load.underLoad(() -> {
            // SIGSTOP: alive, its socket open, nothing in it runs: a hang, as the server sees it.
            HostedPlugins.signal(first.pid(), "-STOP");
            second[0] = hosted.awaitRestarted(standIn, first);
            HostedPlugins.assertAnswers(hosted.proxy(provider), model);
        });
        assertThat(second[0].lastExit()).contains("no answer to heartbeats");
        assertThat(HostedPlugins.alive(first.pid())).isFalse();
        load.results.record("plugin host hangs (SIGSTOP)", TIER, "plugin host supervision: heartbeats unanswered "
                + "for heartbeatTimeoutMillis (5 s), the host is killed and restarted", "host lastExit \""
                + second[0].lastExit() + "\"", figures);
    }

    @Test
    void aMemoryBombInTheHost() throws Exception {
        String model = "bomb-" + suffix;
        Bundle standIn = hosted.runOutOfProcess(HostedPluginJars.provider("hosted.bomb." + suffix, "bomb", provider,
                model), new HostLimits(48, 1000, 4));
        HostStatus first = hosted.awaitRunning(standIn, provider);
        ChatModelProvider proxy = hosted.proxy(provider);
        ParleyException[] error = new ParleyException[1];
        HostStatus[] second = new HostStatus[1];

        var figures = load.underLoad(() -> {
            Recorder chat = new Recorder();
            proxy.stream(HostedPlugins.request(model, 10), chat);
            error[0] = failure(chat, 60);
            second[0] = hosted.awaitRestarted(standIn, first);
        });
        assertThat(error[0].code()).isEqualTo(ErrorCode.UNAVAILABLE);
        assertThat(error[0].getMessage()).contains("out of memory");
        assertThat(second[0].lastExit()).contains("out of memory");
        load.results.record("memory bomb in the plugin host (48 MB heap)", TIER, "the host's own heap: "
                + "OutOfMemoryError ends the host (exit code 3), it is restarted with backoff", "the chat's error: "
                + "unavailable \"" + error[0].getMessage() + "\"; host lastExit \"" + second[0].lastExit() + "\"",
                figures);
    }

    @Test
    void systemExitInTheHost() throws Exception {
        String model = "exit-" + suffix;
        Bundle standIn = hosted.runOutOfProcess(HostedPluginJars.provider("hosted.exit." + suffix, "exit", provider,
                model), HostLimits.UNTRUSTED_DEFAULTS);
        HostStatus first = hosted.awaitRunning(standIn, provider);
        ChatModelProvider proxy = hosted.proxy(provider);
        ParleyException[] error = new ParleyException[1];

        var figures = load.underLoad(() -> {
            Recorder chat = new Recorder();
            proxy.stream(HostedPlugins.request(model, 10), chat);
            error[0] = failure(chat, 30);
        });
        assertThat(error[0].getMessage()).contains("SecurityException").contains("exit");
        assertThat(HostedPlugins.alive(first.pid())).isTrue();
        assertThat(hosts.host(standIn.getBundleId()).orElseThrow().pid()).isEqualTo(first.pid());
        load.results.record("System.exit in a call, in the plugin host", TIER, "run-time checks in the host: "
                + "SecurityException, the host lives on", "the chat's error: " + error[0].getMessage(), figures);
    }

    /** How the chat ended, which must be an error. */
    static ParleyException failure(Recorder chat, int seconds) throws Exception {
        Object end = chat.ended.get(seconds, TimeUnit.SECONDS);
        assertThat(end).as("how the chat ended").isInstanceOf(ParleyException.class);
        return (ParleyException) end;
    }
}

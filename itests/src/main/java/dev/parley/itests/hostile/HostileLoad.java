package dev.parley.itests.hostile;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.itests.Server;
import dev.parley.testsupport.FakeOpenAiServer;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Hashtable;
import java.util.List;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * What every hostile-plugin suite runs its attacks against: the other provider (the shipped OpenAI-compatible plugin
 * against a local server of its wire protocol), a steady chat load on it while each attack runs, and the figures of
 * each attack, written to {@code itests/target/hostile-results.json} for the table in {@code docs/sandbox.md}.
 */
final class HostileLoad implements AutoCloseable {
    static final String LOAD_MODEL = "fake-model";
    static final int LOAD_CLIENTS = 3;
    /** Chats of the load before each attack starts, and at least as many after it was refused or contained. */
    static final int CHATS_AROUND = 30;

    final Server server;
    final HostileResults results = new HostileResults();
    private final BundleContext context;
    private final FakeOpenAiServer upstream;
    private final Configuration providerConfig;

    private HostileLoad(BundleContext context, Server server, FakeOpenAiServer upstream, Configuration providerConfig) {
        this.context = context;
        this.server = server;
        this.upstream = upstream;
        this.providerConfig = providerConfig;
    }

    /** Configures the other provider and waits until its model is served. */
    static HostileLoad start(BundleContext context, ConfigurationAdmin configAdmin, Server server) throws IOException {
        FakeOpenAiServer upstream = FakeOpenAiServer.start();
        Configuration config = configAdmin.getFactoryConfiguration("dev.parley.provider.openai", "default", "?");
        var props = new Hashtable<String, Object>();
        props.put(".apiKey", "sk-itest");
        props.put("baseUrl", upstream.baseUrl());
        props.put("models", new String[] {LOAD_MODEL});
        config.update(props);
        await().atMost(Duration.ofSeconds(20)).until(() -> modelIds(server).contains(LOAD_MODEL));
        return new HostileLoad(context, server, upstream, config);
    }

    /** Runs {@code attack} while the chat load runs on the other provider; every chat of the load must succeed. */
    ChatLoad.Figures underLoad(ThrowingRunnable attack) throws Exception {
        ChatLoad.Figures figures;
        try (var load = new ChatLoad(server, LOAD_MODEL, LOAD_CLIENTS)) {
            load.awaitMore(CHATS_AROUND);
            attack.run();
            load.awaitMore(CHATS_AROUND);
            figures = load.stop();
        }
        assertThat(figures.failures()).as("chats of the other provider that failed during the attack").isEmpty();
        assertThat(figures.succeeded()).isEqualTo(figures.attempted()).isGreaterThanOrEqualTo(2 * CHATS_AROUND);
        return figures;
    }

    /** Writes this suite's figures (beside the other suites' of earlier runs), removes the provider. */
    @Override
    public void close() throws Exception {
        try {
            results.write(Path.of(context.getProperty("parley.data.dir")).getParent()
                    .resolve("hostile-results.json"));
        } finally {
            providerConfig.delete();
            upstream.close();
        }
    }

    static List<String> modelIds(Server server) {
        var ids = new ArrayList<String>();
        server.get("api/v1/models").json().get("items").forEach(m -> ids.add(m.get("id").asText()));
        return ids;
    }

    interface ThrowingRunnable {
        void run() throws Exception;
    }
}

package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import dev.parley.registry.Signatures;
import dev.parley.sandbox.hooks.Confinement;
import dev.parley.testsupport.FakeOpenAiServer;
import dev.parley.testsupport.plugins.TestPluginJars;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.jar.Attributes;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;
import org.osgi.service.component.runtime.ServiceComponentRuntime;
import org.osgi.service.component.runtime.dto.ComponentConfigurationDTO;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * The plugin sandbox in the real framework with every shipped bundle (ADR 29). A probe plugin (a bundle installed at a
 * plugin's location, with no code: its bundle context is what plugin code would call) finds none of the platform's
 * internal services and no other bundle; a plugin importing a platform package does not resolve and the plugin
 * runtime says why; a second plugin registering a provider id another plugin holds takes none of its chats while
 * they keep succeeding; and the shipped OpenAI plugin, confined like any plugin, still gets its configuration and
 * its trace headers.
 */
class SandboxTest {
    /** Services of the platform a plugin must never reach, by interface name. */
    static final List<String> INTERNAL = List.of("dev.parley.db.Database", "dev.parley.api.secrets.SecretSealer",
            "org.osgi.service.cm.ConfigurationAdmin", "dev.parley.plugins.internal.PluginOperations",
            "dev.parley.registry.PluginRegistry", "dev.parley.api.identity.BearerAuthenticator",
            "dev.parley.api.identity.TenantDirectory", "dev.parley.api.audit.AuditLog",
            "org.osgi.service.component.runtime.ServiceComponentRuntime", "org.osgi.service.event.EventAdmin",
            "dev.parley.api.chat.ChatService", "dev.parley.api.routing.ModelRoutingAdmin",
            "dev.parley.api.routing.RouterStateStore", "io.opentelemetry.api.OpenTelemetry",
            "org.osgi.service.metatype.MetaTypeService", "dev.parley.sandbox.hooks.Confinement");
    static final String MODEL = "echo-1";

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    @InjectService(timeout = 20_000)
    Confinement confinement;

    Server server;
    String suffix;
    final List<Bundle> probes = new ArrayList<>();
    final List<String> plugins = new ArrayList<>();
    String adminToken;

    @BeforeEach
    void setUp() throws Exception {
        server = new Server(http.getServiceReference());
        adminToken = Server.adminToken(context);
        suffix = UUID.randomUUID().toString().substring(0, 8);
    }

    @AfterEach
    void tearDown() throws Exception {
        for (Bundle b : probes) {
            if (b.getState() != Bundle.UNINSTALLED) {
                b.uninstall();
            }
        }
        for (String p : plugins) {
            server.admin(server.request("api/v1/admin/plugins/" + p).DELETE(), adminToken);
        }
        if (!plugins.isEmpty()) {
            await().atMost(Duration.ofSeconds(30)).until(() -> Arrays.stream(context.getBundles())
                    .noneMatch(b -> plugins.stream().anyMatch(p -> b.getLocation().startsWith("parley-plugin:" + p + "@"))));
        }
    }

    @Test
    void aPluginFindsNoInternalServiceOfThePlatformButTheTraceHeaders() throws Exception {
        BundleContext probe = probe().getBundleContext();

        for (String name : INTERNAL) {
            assertThat(context.getServiceReference(name)).as("the platform has " + name).isNotNull();
            assertThat(probe.getServiceReference(name)).as("a plugin finds " + name).isNull();
            assertThat(probe.getAllServiceReferences(name, null)).as("a plugin finds " + name).isNull();
        }
        assertThat(probe.getServiceReference("dev.parley.api.telemetry.TraceHeaders")).isNotNull();
        // Another plugin's provider (the shipped OpenAI plugin's, when configured) is not there for it either.
        assertThat(probe.getServiceReferences("dev.parley.api.llm.ChatModelProvider", null)).isNull();
        List<String> visible = new ArrayList<>();
        for (ServiceReference<?> ref : probe.getAllServiceReferences(null, null)) {
            visible.addAll(Arrays.asList((String[]) ref.getProperty("objectClass")));
        }
        assertThat(visible).containsOnly("dev.parley.api.telemetry.TraceHeaders", "org.osgi.service.condition.Condition");
    }

    @Test
    void aPluginCannotListGetOrStopAnotherBundle() throws Exception {
        Bundle probeBundle = probe();
        BundleContext probe = probeBundle.getBundleContext();
        Bundle core = bundle("dev.parley.core");

        assertThat(probe.getBundles()).containsExactly(probeBundle);
        assertThat(probe.getBundle(0)).as("the system bundle").isNull();
        assertThat(probe.getBundle(core.getBundleId())).isNull();
        assertThatThrownBy(() -> probe.installBundle(core.getLocation(), new ByteArrayInputStream(new byte[0])))
                .isInstanceOfSatisfying(BundleException.class,
                        e -> assertThat(e.getType()).isEqualTo(BundleException.REJECTED_BY_HOOK));
        Bundle smuggled = probe.installBundle("itest:smuggled-" + suffix, new ByteArrayInputStream(jar(
                "itest.smuggled." + suffix)));
        assertThat(smuggled.getState()).as("a bundle a plugin installs is gone at once").isEqualTo(Bundle.UNINSTALLED);
        assertThat(confinement.refusals(probeBundle)).anySatisfy(r -> assertThat(r).contains("may not install bundles"));
        assertThat(core.getState()).isEqualTo(Bundle.ACTIVE);
        assertThat(confinement.confined(probeBundle)).isTrue();
        assertThat(confinement.confined(core)).isFalse();
    }

    @Test
    void aPluginImportingAPlatformPackageDoesNotResolveAndTheRuntimeSaysWhy() throws Exception {
        // Directly: the resolver hook leaves the import without a candidate, and the sandbox records why.
        Bundle direct = context.installBundle("parley-plugin:itest.h2user." + suffix + "@1.0.0", new ByteArrayInputStream(
                jar("itest.h2user." + suffix, "Import-Package", "org.h2.tools", "Parley-Plugin", "itest.h2user")));
        probes.add(direct);
        assertThatThrownBy(direct::start).isInstanceOf(BundleException.class).hasMessageContaining("org.h2.tools");
        assertThat(confinement.refusals(direct)).containsExactly(
                "may not import package org.h2.tools: it is not in the sandbox's allowed packages");
        // The same import from a bundle that is no plugin resolves: the H2 bundle does export it.
        Bundle platform = context.installBundle("itest:h2user-" + suffix, new ByteArrayInputStream(
                jar("itest.h2user.platform." + suffix, "Import-Package", "org.h2.tools")));
        probes.add(platform);
        platform.start();

        // Through the plugin runtime: the example plugin, edited to import the database's tools.
        String pluginId = "itest.sandbox.h2." + suffix;
        String publisher = publisher();
        byte[] jar = TestPluginJars.withHeaders(echoJar(), Map.of(
                "Parley-Plugin", pluginId + ";type=provider;name=\"Echo\";publisher=" + publisher,
                "Import-Package", "dev.parley.api.chat;version=\"[2.0,3)\",dev.parley.api.error;version=\"[1.4,2)\","
                        + "dev.parley.api.llm;version=\"[1.4,2)\",org.osgi.framework;version=\"[1.10,2)\",org.h2.tools"));
        assertThat(publish(jar, "1.0.0").status()).isEqualTo(201);
        plugins.add(pluginId);

        var install = server.admin(server.jsonPost("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}"), adminToken);

        assertThat(install.status()).as(install.body()).isEqualTo(422);
        assertThat(install.json().get("detail").asText()).contains("org.h2.tools");
        System.out.printf("sandbox: a plugin importing org.h2.tools was refused: %s%n",
                install.json().get("detail").asText());
        assertThat(Arrays.stream(context.getBundles()).filter(b -> b.getLocation().startsWith(
                "parley-plugin:" + pluginId + "@"))).isEmpty();
        // The plugin's events keep the reason for the admin.
        var events = server.admin(server.request("api/v1/admin/plugins/" + pluginId + "/events").GET(), adminToken);
        assertThat(events.json().get("events")).anySatisfy(e -> {
            assertThat(e.get("action").asText() + ":" + e.get("outcome").asText()).isEqualTo("install:refused");
            assertThat(e.get("detail").asText()).contains("org.h2.tools");
        });
    }

    @Test
    void aSecondPluginRegisteringATakenProviderIdGetsNoneOfItsChatsWhileTheyKeepSucceeding() throws Exception {
        String publisher = publisher();
        String owner = "itest.sandbox.echo." + suffix;
        String squatter = "itest.sandbox.squat." + suffix;
        byte[] echo = echoJar();
        assertThat(publish(TestPluginJars.withHeaders(echo, Map.of("Parley-Plugin", owner
                + ";type=provider;name=\"Echo\";publisher=" + publisher)), "1.0.0").status()).isEqualTo(201);
        assertThat(publish(TestPluginJars.withHeaders(echo, Map.of("Parley-Plugin", squatter
                + ";type=provider;name=\"Not echo\";publisher=" + publisher)), "6.6.6").status()).isEqualTo(201);
        plugins.add(squatter);
        plugins.add(owner);
        var installed = server.admin(server.jsonPost("api/v1/admin/plugins", "{\"id\":\"" + owner + "\"}"), adminToken);
        assertThat(installed.status()).as(installed.body()).isEqualTo(201);
        assertThat(chat("hello")).isEqualTo("[echo 1.0.0] hello");

        long squatterInstalledAt;
        try (var load = new ChatLoad(4)) {
            load.awaitCompleted(20);
            var second = server.admin(server.jsonPost("api/v1/admin/plugins", "{\"id\":\"" + squatter + "\"}"),
                    adminToken);
            assertThat(second.status()).as(second.body()).isEqualTo(201);
            squatterInstalledAt = load.completed.size();
            assertThat(bundleAt(squatter).getState()).isEqualTo(Bundle.ACTIVE);
            load.awaitCompleted(squatterInstalledAt + 200);
            load.stop();

            long total = load.completed.size() + load.failures.size();
            long bySquatter = load.completed.stream().filter(a -> a.startsWith("[echo 6.6.6]")).count();
            System.out.printf("sandbox: %d chats while a second plugin held the provider id 'echo' (%d after it was "
                    + "installed): %d succeeded (%.1f %%), %d answered by the second plugin%n", total,
                    total - squatterInstalledAt, load.completed.size(), 100.0 * load.completed.size() / total,
                    bySquatter);
            assertThat(load.failures).isEmpty();
            assertThat(load.completed).allSatisfy(a -> assertThat(a).startsWith("[echo 1.0.0] "));
        }

        // The admin sees which plugin holds the id and which one is kept out.
        var models = server.admin(server.request("api/v1/admin/models").GET(), adminToken);
        var echoView = new ArrayList<com.fasterxml.jackson.databind.JsonNode>();
        models.json().get("providers").forEach(p -> {
            if ("echo".equals(p.get("id").asText())) {
                echoView.add(p);
            }
        });
        assertThat(echoView).singleElement().satisfies(p -> {
            assertThat(p.get("plugin").asText()).isEqualTo(owner);
            assertThat(p.get("refusedPlugins").toString()).contains(squatter);
            assertThat(p.get("registrations").asInt()).isEqualTo(1);
        });

        // Only when the owner is uninstalled is the id free: then the other plugin serves.
        var removed = server.admin(server.request("api/v1/admin/plugins/" + owner).DELETE(), adminToken);
        assertThat(removed.status()).isEqualTo(204);
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() -> chat("who now").equals(
                "[echo 6.6.6] who now"));
    }

    @Test
    void theShippedOpenAiPluginIsConfinedAndStillGetsItsConfigurationAndTraceHeaders() throws Exception {
        Bundle openai = bundle("dev.parley.provider.openai");
        assertThat(confinement.confined(openai)).isTrue();
        ConfigurationAdmin configAdmin = context.getService(context.getServiceReference(ConfigurationAdmin.class));
        ServiceComponentRuntime scr = context.getService(context.getServiceReference(ServiceComponentRuntime.class));
        try (FakeOpenAiServer upstream = FakeOpenAiServer.start()) {
            Configuration config = configAdmin.getFactoryConfiguration("dev.parley.provider.openai", "sandbox" + suffix,
                    "?");
            var props = new Hashtable<String, Object>();
            props.put(".apiKey", "sk-itest");
            props.put("baseUrl", upstream.baseUrl());
            props.put("providerId", "sandboxed-" + suffix);
            props.put("models", new String[] {"sandboxed-model-" + suffix});
            config.update(props);
            try {
                await().atMost(Duration.ofSeconds(20)).until(() -> modelIds().contains("sandboxed-model-" + suffix));
                String conversation = server.post("api/v1/conversations", "{}").json().get("id").asText();
                var answer = server.post("api/v1/conversations/" + conversation + "/messages",
                        "{\"content\":\"through the sandbox\",\"model\":\"sandboxed-model-" + suffix + "\"}");
                assertThat(answer.status()).as(answer.body()).isEqualTo(200);

                List<ComponentConfigurationDTO> active = new ArrayList<>();
                scr.getComponentDescriptionDTOs(openai).forEach(d -> active.addAll(scr.getComponentConfigurationDTOs(d)));
                assertThat(active).anySatisfy(c -> {
                    assertThat(c.properties.get("providerId")).isEqualTo("sandboxed-" + suffix);
                    assertThat(c.state).isEqualTo(ComponentConfigurationDTO.ACTIVE);
                    assertThat(Arrays.stream(c.satisfiedReferences).filter(r -> r.name.equals("traceHeaders"))
                            .flatMap(r -> Arrays.stream(r.boundServices))).hasSize(1);
                });
            } finally {
                config.delete();
            }
        }
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    /** A bundle at a plugin's location with no code: its context is what a plugin's code would call. */
    Bundle probe() throws BundleException {
        Bundle b = context.installBundle("parley-plugin:itest.probe." + suffix + "@1.0.0",
                new ByteArrayInputStream(jar("itest.probe." + suffix)));
        probes.add(b);
        b.start();
        return b;
    }

    static byte[] jar(String bsn, String... headers) {
        Manifest manifest = new Manifest();
        Attributes main = manifest.getMainAttributes();
        main.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        main.putValue("Bundle-ManifestVersion", "2");
        main.putValue("Bundle-SymbolicName", bsn);
        main.putValue("Bundle-Version", "1.0.0");
        for (int i = 0; i < headers.length; i += 2) {
            main.putValue(headers[i], headers[i + 1]);
        }
        var out = new ByteArrayOutputStream();
        try (var jar = new JarOutputStream(out, manifest)) {
            jar.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toByteArray();
    }

    Bundle bundle(String bsn) {
        return Arrays.stream(context.getBundles()).filter(b -> bsn.equals(b.getSymbolicName())).findFirst()
                .orElseThrow();
    }

    Bundle bundleAt(String pluginId) {
        return Arrays.stream(context.getBundles()).filter(b -> b.getLocation().startsWith(
                "parley-plugin:" + pluginId + "@")).findFirst().orElseThrow();
    }

    byte[] echoJar() throws IOException {
        return Files.readAllBytes(Path.of(context.getProperty("parley.test.plugins"), "echo-provider.jar"));
    }

    String privateKey;

    /** A publisher of this test's own, whose key signs what {@link #publish} publishes. */
    String publisher() {
        String id = "itest-sandbox-" + suffix;
        String[] keys = Signatures.generateKeyPair();
        privateKey = keys[1];
        var added = server.admin(server.request("api/v1/admin/registry/publishers").header("Content-Type",
                "application/json").POST(HttpRequest.BodyPublishers.ofString("{\"id\":\"" + id + "\",\"publicKey\":\""
                        + keys[0] + "\"}")), adminToken);
        assertThat(added.status()).as(added.body()).isIn(200, 201);
        return id;
    }

    Server.Reply publish(byte[] jar, String version) {
        byte[] artifact = TestPluginJars.withVersion(jar, version);
        return server.publish(artifact, Signatures.sign(artifact, privateKey));
    }

    List<String> modelIds() {
        var ids = new ArrayList<String>();
        server.get("api/v1/models").json().get("items").forEach(m -> ids.add(m.get("id").asText()));
        return ids;
    }

    /** One non-streamed chat turn on the echo model; its answer. */
    String chat(String question) {
        String conversation = server.post("api/v1/conversations", "{}").json().get("id").asText();
        var reply = server.post("api/v1/conversations/" + conversation + "/messages",
                "{\"content\":\"" + question + "\",\"model\":\"" + MODEL + "\"}");
        if (reply.status() != 200) {
            throw new IllegalStateException("status " + reply.status() + ": " + reply.body());
        }
        return reply.json().at("/answer/content").asText();
    }

    /** Clients sending chats back to back until stopped; every answer and failure is kept. */
    final class ChatLoad implements AutoCloseable {
        final ConcurrentLinkedQueue<String> completed = new ConcurrentLinkedQueue<>();
        final ConcurrentLinkedQueue<String> failures = new ConcurrentLinkedQueue<>();
        final AtomicBoolean running = new AtomicBoolean(true);
        final ExecutorService clients;
        final CountDownLatch stopped;

        ChatLoad(int clients) {
            this.clients = Executors.newFixedThreadPool(clients);
            this.stopped = new CountDownLatch(clients);
            for (int i = 0; i < clients; i++) {
                int client = i;
                this.clients.execute(() -> {
                    try {
                        for (int n = 0; running.get(); n++) {
                            String question = "client " + client + " question " + n;
                            try {
                                String answer = chat(question);
                                if (answer.endsWith("] " + question)) {
                                    completed.add(answer);
                                } else {
                                    failures.add(question + ": answered '" + answer + "'");
                                }
                            } catch (RuntimeException e) {
                                failures.add(question + ": " + e.getMessage());
                            }
                        }
                    } finally {
                        stopped.countDown();
                    }
                });
            }
        }

        void awaitCompleted(long count) {
            await().atMost(Duration.ofSeconds(120)).until(() -> !failures.isEmpty() || completed.size() >= count);
        }

        void stop() throws InterruptedException {
            running.set(false);
            assertThat(stopped.await(60, TimeUnit.SECONDS)).isTrue();
        }

        @Override
        public void close() {
            running.set(false);
            clients.shutdownNow();
        }
    }
}

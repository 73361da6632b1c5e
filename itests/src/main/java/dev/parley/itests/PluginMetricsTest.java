package dev.parley.itests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import dev.parley.registry.Signatures;
import dev.parley.testsupport.plugins.TestPluginJars;
import java.net.http.HttpRequest;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.service.servlet.runtime.HttpServiceRuntime;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.common.annotation.InjectService;
import org.osgi.test.common.service.ServiceAware;

/**
 * What the plugin runtime and the store record, as a Prometheus scrape of {@code GET /metrics} shows it in the
 * shipped runtime; and both keep working, without restarting, while the observability bundle is stopped.
 */
class PluginMetricsTest {
    private static final Pattern SAMPLE = Pattern.compile("([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\\{(.*)\\})?\\s+(\\S+).*");
    private static final Pattern LABEL = Pattern.compile("([a-zA-Z_][a-zA-Z0-9_]*)=\"((?:[^\"\\\\]|\\\\.)*)\"");

    @InjectBundleContext
    BundleContext context;

    @InjectService(timeout = 20_000)
    ServiceAware<HttpServiceRuntime> http;

    Server server;
    String adminToken;
    String pluginId;
    String publisher;
    String privateKey;
    byte[] echo;

    @BeforeEach
    void setUp() throws Exception {
        server = new Server(http.getServiceReference());
        adminToken = Server.adminToken(context);
        String suffix = UUID.randomUUID().toString().substring(0, 8);
        pluginId = "example.metrics." + suffix;
        publisher = "itest-metrics-" + suffix;
        String[] keys = Signatures.generateKeyPair();
        privateKey = keys[1];
        var added = admin(server.jsonPost("api/v1/admin/registry/publishers",
                "{\"id\":\"" + publisher + "\",\"publicKey\":\"" + keys[0] + "\"}"));
        assertThat(added.status()).as(added.body()).isIn(200, 201);
        byte[] example = Files.readAllBytes(Path.of(context.getProperty("parley.test.plugins"), "echo-provider.jar"));
        echo = TestPluginJars.withHeaders(example, Map.of("Parley-Plugin", pluginId
                + ";type=provider;name=\"Echo (metrics)\";publisher=" + publisher));
    }

    @AfterEach
    void tearDown() throws Exception {
        Bundle observability = bundle("dev.parley.observability");
        if (observability.getState() != Bundle.ACTIVE) {
            observability.start();
        }
        admin(server.request("api/v1/admin/plugins/" + pluginId).DELETE());
        await().atMost(Duration.ofSeconds(30)).until(() -> pluginBundles().isEmpty());
    }

    @Test
    void pluginOperationsAndStoreCallsAreScrapedUnderTheirPrometheusNames() {
        Map<String, Double> before = scrape();
        publish(echo, "1.0.0");
        var installed = admin(server.jsonPost("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}"));
        assertThat(installed.status()).as(installed.body()).isEqualTo(201);
        publish(TestPluginJars.throwingOnActivate(pluginId, "2.0.0", publisher), null);
        var upgrade = admin(server.jsonPost("api/v1/admin/plugins/" + pluginId + "/upgrade", "{\"version\":\"2.0.0\"}"));
        assertThat(upgrade.status()).as(upgrade.body()).isEqualTo(422);
        assertThat(server.post("api/v1/conversations", "{}").status()).isEqualTo(201);
        String node = admin(server.request("api/v1/admin/plugins").GET()).json().get("node").asText();

        Map<String, Double> after = scrape();
        print(after);
        assertThat(delta(before, after, "parley_plugin_operations_total",
                "parley_plugin_operation", "install", "parley_plugin_outcome", "success")).isEqualTo(1);
        assertThat(delta(before, after, "parley_plugin_operations_total",
                "parley_plugin_operation", "upgrade", "parley_plugin_outcome", "failure")).isEqualTo(1);
        assertThat(delta(before, after, "parley_plugin_operations_total",
                "parley_plugin_operation", "upgrade", "parley_plugin_outcome", "success")).isZero();
        assertThat(delta(before, after, "parley_plugin_health_gate_failures_total")).isEqualTo(1);
        assertThat(delta(before, after, "parley_plugin_operation_duration_seconds_count",
                "parley_plugin_operation", "install")).isEqualTo(1);
        assertThat(delta(before, after, "parley_plugin_operation_duration_seconds_bucket",
                "parley_plugin_operation", "install", "le", "300.0")).isEqualTo(1);
        assertThat(value(after, "parley_plugins", "parley_plugin_state", "active")).isGreaterThanOrEqualTo(1);
        assertThat(series(after, "parley_plugins")).hasSize(6);
        // Converged passes run every reconcileIntervalSeconds (5 s by default).
        await().atMost(Duration.ofSeconds(30)).until(() ->
                value(scrape(), "parley_plugin_reconciler_lag_seconds", "parley_node_id", node) < 10);

        assertThat(delta(before, after, "db_client_operation_duration_seconds_count",
                "db_system_name", "h2", "db_operation_name", "create")).isEqualTo(1);
        assertThat(value(after, "db_client_connection_max", "db_client_connection_pool_name", "parley")).isEqualTo(10);
        assertThat(series(after, "db_client_connection_count")).containsOnlyKeys(
                "db_client_connection_count{db_client_connection_pool_name=\"parley\",db_client_connection_state=\"idle\"}",
                "db_client_connection_count{db_client_connection_pool_name=\"parley\",db_client_connection_state=\"used\"}");
        assertThat(value(after, "db_client_connection_pending_requests", "db_client_connection_pool_name", "parley"))
                .isZero();
    }

    @Test
    void withoutTheObservabilityBundleThePluginRuntimeAndTheStoreWorkUnmeasuredAndDoNotRestart() throws Exception {
        long store = serviceId("dev.parley.api.store.ConversationStore");
        long database = serviceId("dev.parley.db.Database");
        long plugins = serviceId("dev.parley.plugins.internal.PluginOperations");
        Bundle observability = bundle("dev.parley.observability");

        observability.stop();
        publish(echo, "1.0.0");
        var installed = admin(server.jsonPost("api/v1/admin/plugins", "{\"id\":\"" + pluginId + "\"}"));
        assertThat(installed.status()).as(installed.body()).isEqualTo(201);
        assertThat(server.post("api/v1/conversations", "{}").status()).isEqualTo(201);
        assertThat(server.get("metrics").status()).isEqualTo(404);
        observability.start();

        await().atMost(Duration.ofSeconds(20)).until(() -> server.get("metrics").status() == 200);
        var disabled = admin(server.request("api/v1/admin/plugins/" + pluginId + "/disable")
                .POST(HttpRequest.BodyPublishers.noBody()));
        assertThat(disabled.status()).as(disabled.body()).isEqualTo(200);
        Map<String, Double> fresh = scrape();
        // A new SDK: only what happened since it came back, recorded by the same, never restarted components.
        assertThat(value(fresh, "parley_plugin_operations_total", "parley_plugin_operation", "disable",
                "parley_plugin_outcome", "success")).isEqualTo(1);
        assertThat(value(fresh, "parley_plugin_operations_total", "parley_plugin_operation", "install")).isZero();
        assertThat(value(fresh, "parley_plugins", "parley_plugin_state", "disabled")).isGreaterThanOrEqualTo(1);
        assertThat(value(fresh, "db_client_connection_max", "db_client_connection_pool_name", "parley")).isEqualTo(10);
        assertThat(serviceId("dev.parley.api.store.ConversationStore")).as("store service id").isEqualTo(store);
        assertThat(serviceId("dev.parley.db.Database")).as("database service id").isEqualTo(database);
        assertThat(serviceId("dev.parley.plugins.internal.PluginOperations")).as("plugin runtime service id")
                .isEqualTo(plugins);
    }

    // ---- helpers ----------------------------------------------------------------------------------------------

    /** Every sample of {@code GET /metrics} (Prometheus text), keyed by name and labels as written. */
    Map<String, Double> scrape() {
        var reply = server.get("metrics");
        assertThat(reply.status()).as(reply.body()).isEqualTo(200);
        Map<String, Double> samples = new LinkedHashMap<>();
        for (String line : reply.body().split("\n")) {
            Matcher m = SAMPLE.matcher(line);
            if (!line.startsWith("#") && m.matches()) {
                samples.put(m.group(2) == null ? m.group(1) : m.group(1) + "{" + m.group(2) + "}",
                        Double.parseDouble(m.group(3)));
            }
        }
        return samples;
    }

    /** The samples of one metric name. */
    static Map<String, Double> series(Map<String, Double> scrape, String name) {
        Map<String, Double> out = new LinkedHashMap<>();
        scrape.forEach((key, v) -> {
            if (key.equals(name) || key.startsWith(name + "{")) {
                out.put(key, v);
            }
        });
        return out;
    }

    /** The sum of the samples of {@code name} that carry all {@code labels} (name, value, name, value...). */
    static double value(Map<String, Double> scrape, String name, String... labels) {
        double sum = 0;
        for (var e : series(scrape, name).entrySet()) {
            Map<String, String> has = new LinkedHashMap<>();
            int brace = e.getKey().indexOf('{');
            if (brace >= 0) {
                Matcher m = LABEL.matcher(e.getKey().substring(brace));
                while (m.find()) {
                    has.put(m.group(1), m.group(2));
                }
            }
            boolean all = true;
            for (int i = 0; i < labels.length; i += 2) {
                all &= labels[i + 1].equals(has.get(labels[i]));
            }
            if (all) {
                sum += e.getValue();
            }
        }
        return sum;
    }

    static double delta(Map<String, Double> before, Map<String, Double> after, String name, String... labels) {
        return value(after, name, labels) - value(before, name, labels);
    }

    /** The scrape's plugin and store series, for the record. */
    static void print(Map<String, Double> scrape) {
        List<String> lines = new ArrayList<>();
        scrape.forEach((k, v) -> {
            if (k.startsWith("parley_plugin") || k.startsWith("db_client")) {
                lines.add(k + " " + v);
            }
        });
        System.out.println("plugin and store series in the scrape:\n  " + String.join("\n  ", lines));
    }

    long serviceId(String className) throws InvalidSyntaxException {
        ServiceReference<?>[] refs = context.getAllServiceReferences(className, null);
        assertThat(refs).as("services " + className).hasSize(1);
        return (Long) refs[0].getProperty(Constants.SERVICE_ID);
    }

    Bundle bundle(String bsn) {
        return Arrays.stream(context.getBundles()).filter(b -> bsn.equals(b.getSymbolicName())).findFirst().orElseThrow();
    }

    List<String> pluginBundles() {
        return Arrays.stream(context.getBundles())
                .filter(b -> b.getLocation().startsWith("parley-plugin:" + pluginId + "@") && b.getState() != Bundle.UNINSTALLED)
                .map(b -> b.getVersion().toString()).toList();
    }

    void publish(byte[] jar, String version) {
        byte[] artifact = version == null ? jar : TestPluginJars.withVersion(jar, version);
        var published = server.publish(artifact, Signatures.sign(artifact, privateKey));
        assertThat(published.status()).as(published.body()).isEqualTo(201);
    }

    Server.Reply admin(HttpRequest.Builder request) {
        return server.admin(request, adminToken);
    }
}

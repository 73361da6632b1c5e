package dev.parley.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.stream.Stream;

import org.junit.jupiter.api.Test;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/** What the chart renders for each documented value set, and the values it refuses. */
class ChartRenderTest {

    private static JsonNode yamlFile(Path p) {
        try {
            return Manifests.YAML.readTree(Files.readString(p));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String appVersion() {
        return yamlFile(Tools.chart().resolve("Chart.yaml")).path("appVersion").asString();
    }

    private static JsonNode container(ObjectNode deployment) {
        return deployment.path("spec").path("template").path("spec").path("containers").get(0);
    }

    private static Set<String> ids(List<ObjectNode> objects) {
        Set<String> ids = new TreeSet<>();
        objects.forEach(o -> ids.add(Manifests.id(o)));
        return ids;
    }

    @Test
    void everyValuesFileIsADocumentedValueSet() throws IOException {
        Set<String> files = new TreeSet<>();
        try (Stream<Path> s = Files.list(Tools.chart())) {
            s.map(p -> p.getFileName().toString()).filter(n -> n.matches("values-.+\\.yaml")).forEach(files::add);
        }
        Set<String> documented = new TreeSet<>();
        Chart.VALUE_SETS.forEach(v -> documented.addAll(Chart.valueFiles(v)));
        assertThat(files).isEqualTo(documented);
    }

    @Test
    void helmLintStrictPassesForEveryValueSet() {
        for (String valueSet : Chart.VALUE_SETS) {
            List<String> cmd = new ArrayList<>(List.of(Tools.helm(), "lint", "--strict", Tools.chart().toString()));
            for (String f : Chart.valueFiles(valueSet)) {
                cmd.addAll(List.of("--values", Tools.chart().resolve(f).toString()));
            }
            Tools.Result r = Chart.helm(cmd);
            assertThat(r.exitCode()).as("%s: %s", valueSet, r.describe()).isZero();
            assertThat(r.stdout()).contains("0 chart(s) failed");
        }
    }

    @Test
    void defaultValuesRenderGatewayAndWorkerPinnedToTheAppVersion() {
        List<ObjectNode> objects = Chart.render("default");
        assertThat(ids(objects)).containsExactlyInAnyOrder(
                "ConfigMap/parley-config", "ServiceAccount/parley",
                "Deployment/parley-gateway", "Deployment/parley-worker",
                "Service/parley-gateway", "Service/parley-worker",
                "HorizontalPodAutoscaler/parley-gateway",
                "PodDisruptionBudget/parley-gateway", "PodDisruptionBudget/parley-worker",
                "Ingress/parley-gateway",
                "NetworkPolicy/parley-default-deny", "NetworkPolicy/parley-from-ingress",
                "NetworkPolicy/parley-from-prometheus", "NetworkPolicy/parley-egress");
        String tag = appVersion();
        assertThat(tag).isNotBlank().isNotEqualTo("latest");
        assertThat(container(Manifests.get(objects, "Deployment", "parley-gateway")).path("image").asString())
                .isEqualTo("ghcr.io/parley-dev/parley-gateway:" + tag);
        assertThat(container(Manifests.get(objects, "Deployment", "parley-worker")).path("image").asString())
                .isEqualTo("ghcr.io/parley-dev/parley-worker:" + tag);
        assertThat(objects).allSatisfy(o -> assertThat(o.path("metadata").path("namespace").asString())
                .isEqualTo("parley"));
    }

    @Test
    void probesHitTheHealthEndpoints() {
        JsonNode c = container(Manifests.get(Chart.render("default"), "Deployment", "parley-gateway"));
        assertThat(c.path("startupProbe").path("httpGet").path("path").asString()).isEqualTo("/health/live");
        assertThat(c.path("livenessProbe").path("httpGet").path("path").asString()).isEqualTo("/health/live");
        assertThat(c.path("readinessProbe").path("httpGet").path("path").asString()).isEqualTo("/health/ready");
    }

    @Test
    void everyConfigValueReachesTheContainersAndSecretsComeFromTheExistingSecret() {
        List<ObjectNode> objects = Chart.render("default");
        JsonNode values = yamlFile(Tools.chart().resolve("values.yaml"));
        JsonNode data = Manifests.get(objects, "ConfigMap", "parley-config").path("data");
        List<String> keys = new ArrayList<>(values.path("config").propertyNames());
        assertThat(keys).contains("PARLEY_DB_URL", "PARLEY_REDIS_URI", "PARLEY_RATELIMIT_STORE",
                "PARLEY_REGISTRY_STORAGE", "PARLEY_TRUSTED_PROXIES", "OTEL_EXPORTER_OTLP_ENDPOINT");
        for (String key : keys) {
            assertThat(data.path(key).asString()).as(key).isEqualTo(values.path("config").path(key).asString());
        }
        for (ObjectNode d : Manifests.ofKind(objects, "Deployment")) {
            JsonNode envFrom = container(d).path("envFrom");
            assertThat(envFrom.get(0).path("configMapRef").path("name").asString()).isEqualTo("parley-config");
            assertThat(envFrom.get(1).path("secretRef").path("name").asString())
                    .isEqualTo(values.path("secrets").path("existingSecret").asString());
        }
        assertThat(Manifests.ofKind(objects, "Secret")).isEmpty();
    }

    @Test
    void withoutAnExistingSecretTheChartRendersOneFromValues() {
        List<ObjectNode> objects = Chart.render(List.of(), Map.of("secrets.existingSecret", "",
                "secrets.values.PARLEY_MASTER_KEY", "k1:abc"));
        ObjectNode secret = Manifests.get(objects, "Secret", "parley-env");
        assertThat(secret.path("stringData").path("PARLEY_MASTER_KEY").asString()).isEqualTo("k1:abc");
        assertThat(container(Manifests.get(objects, "Deployment", "parley-gateway")).path("envFrom").get(1)
                .path("secretRef").path("name").asString()).isEqualTo("parley-env");
    }

    @Test
    void theGatewayScalesOnCpuAndOnStreamsInFlight() throws IOException {
        ObjectNode hpa = Manifests.get(Chart.render("default"), "HorizontalPodAutoscaler", "parley-gateway");
        assertThat(hpa.path("spec").path("scaleTargetRef").path("name").asString()).isEqualTo("parley-gateway");
        JsonNode metrics = hpa.path("spec").path("metrics");
        assertThat(metrics.get(0).path("resource").path("name").asString()).isEqualTo("cpu");
        String metric = metrics.get(1).path("pods").path("metric").path("name").asString();
        assertThat(metrics.get(1).path("type").asString()).isEqualTo("Pods");
        // The name is the gauge the metrics reference documents for answers in progress.
        String reference = Files.readString(Tools.repo().resolve("docs/operations/metrics.md"));
        assertThat(reference).containsPattern("\\| `" + metric + "` \\| gauge \\|");
        assertThat(metric).isEqualTo("parley_chat_turns_active");
        // Without prometheus-adapter: CPU only.
        ObjectNode cpuOnly = Manifests.get(Chart.render(List.of(),
                Map.of("gateway.autoscaling.streams.enabled", "false")), "HorizontalPodAutoscaler", "parley-gateway");
        assertThat(cpuOnly.path("spec").path("metrics").size()).isEqualTo(1);
    }

    @Test
    void theIngressStreamsUnbufferedWithLongTimeoutsAndParleysBodyLimit() {
        List<ObjectNode> objects = Chart.render("default");
        JsonNode a = Manifests.get(objects, "Ingress", "parley-gateway").path("metadata").path("annotations");
        assertThat(a.path("nginx.ingress.kubernetes.io/proxy-buffering").asString()).isEqualTo("off");
        assertThat(Integer.parseInt(a.path("nginx.ingress.kubernetes.io/proxy-read-timeout").asString()))
                .isGreaterThanOrEqualTo(3600);
        assertThat(Integer.parseInt(a.path("nginx.ingress.kubernetes.io/proxy-send-timeout").asString()))
                .isGreaterThanOrEqualTo(3600);
        assertThat(a.path("nginx.ingress.kubernetes.io/proxy-body-size").asString()).isEqualTo(
                Manifests.get(objects, "ConfigMap", "parley-config").path("data").path("PARLEY_MAX_BODY_BYTES")
                        .asString());
        assertThat(a.has("nginx.ingress.kubernetes.io/canary")).isFalse();
        JsonNode sized = Manifests.get(Chart.render(List.of(), Map.of("config.PARLEY_MAX_BODY_BYTES", "5242880")),
                "Ingress", "parley-gateway").path("metadata").path("annotations");
        assertThat(sized.path("nginx.ingress.kubernetes.io/proxy-body-size").asString()).isEqualTo("5242880");
    }

    @Test
    void networkPoliciesOpenOnlyWhatThePartsNeed() {
        List<ObjectNode> objects = Chart.render("default");
        JsonNode egress = Manifests.get(objects, "NetworkPolicy", "parley-egress").path("spec").path("egress");
        Set<String> ports = new TreeSet<>();
        egress.forEach(rule -> rule.path("ports").forEach(p -> ports.add(
                p.path("protocol").asString() + "/" + p.path("port").asString())));
        assertThat(ports).containsExactlyInAnyOrder("UDP/53", "TCP/53", "TCP/5432", "TCP/6379", "TCP/4318",
                "TCP/9000", "TCP/443");
        JsonNode fromIngress = Manifests.get(objects, "NetworkPolicy", "parley-from-ingress").path("spec");
        assertThat(fromIngress.path("ingress").get(0).path("ports").get(0).path("port").asInt()).isEqualTo(8080);
        assertThat(fromIngress.path("podSelector").toString()).contains("gateway").doesNotContain("worker");
        JsonNode withKafka = Manifests.get(Chart.render(List.of(),
                Map.of("networkPolicy.egress.kafka.enabled", "true")), "NetworkPolicy", "parley-egress");
        assertThat(withKafka.path("spec").path("egress").toString()).contains("9092");
    }

    @Test
    void serviceMonitorOnlyWhenAsked() {
        assertThat(Manifests.ofKind(Chart.render("default"), "ServiceMonitor")).isEmpty();
        ObjectNode sm = Manifests.get(Chart.render("servicemonitor"), "ServiceMonitor", "parley");
        JsonNode endpoint = sm.path("spec").path("endpoints").get(0);
        assertThat(endpoint.path("path").asString()).isEqualTo("/metrics");
        assertThat(endpoint.path("port").asString()).isEqualTo("http");
        assertThat(endpoint.path("authorization").path("credentials").path("key").asString())
                .isEqualTo("PARLEY_METRICS_TOKEN");
        // Not scraped twice: the annotation-based job is told to leave these pods alone.
        for (ObjectNode d : Manifests.ofKind(Chart.render("servicemonitor"), "Deployment")) {
            assertThat(d.path("spec").path("template").path("metadata").path("annotations")
                    .path("prometheus.io/scrape").asString()).isEqualTo("false");
        }
    }

    @Test
    void istioRequiresMutualTls() {
        assertThat(Manifests.ofKind(Chart.render("default"), "PeerAuthentication")).isEmpty();
        List<ObjectNode> objects = Chart.render("istio");
        ObjectNode pa = Manifests.get(objects, "PeerAuthentication", "parley");
        assertThat(pa.path("apiVersion").asString()).isEqualTo("security.istio.io/v1");
        assertThat(pa.path("spec").path("mtls").path("mode").asString()).isEqualTo("STRICT");
        JsonNode selector = pa.path("spec").path("selector").path("matchLabels");
        for (ObjectNode d : Manifests.ofKind(objects, "Deployment")) {
            JsonNode labels = d.path("spec").path("template").path("metadata").path("labels");
            selector.propertyNames().forEach(k -> assertThat(labels.path(k).asString())
                    .isEqualTo(selector.path(k).asString()));
            assertThat(labels.path("sidecar.istio.io/inject").asString()).isEqualTo("true");
        }
        // The default deny lets the sidecars reach istiod, and Prometheus the merged metrics port.
        assertThat(Manifests.get(objects, "NetworkPolicy", "parley-egress").path("spec").toString())
                .contains("istio-system").contains("15012");
        assertThat(Manifests.get(objects, "NetworkPolicy", "parley-from-prometheus").path("spec").toString())
                .contains("15020");
        assertThat(Manifests.get(Chart.render("default"), "NetworkPolicy", "parley-egress").path("spec").toString())
                .doesNotContain("15012");
    }

    @Test
    void theCanaryIsASecondGatewayTrackWithItsOwnTagAndAWeightedIngress() {
        JsonNode canaryValues = yamlFile(Tools.chart().resolve("values-canary.yaml")).path("canary");
        List<ObjectNode> objects = Chart.render("canary");
        ObjectNode stable = Manifests.get(objects, "Deployment", "parley-gateway");
        ObjectNode canary = Manifests.get(objects, "Deployment", "parley-gateway-canary");
        assertThat(container(canary).path("image").asString())
                .isEqualTo("ghcr.io/parley-dev/parley-gateway:" + canaryValues.path("tag").asString());
        assertThat(container(stable).path("image").asString()).endsWith(":" + appVersion());
        // Each Service selects one track only.
        assertThat(Manifests.get(objects, "Service", "parley-gateway").path("spec").path("selector")
                .path("parley.dev/track").asString()).isEqualTo("stable");
        assertThat(Manifests.get(objects, "Service", "parley-gateway-canary").path("spec").path("selector")
                .path("parley.dev/track").asString()).isEqualTo("canary");
        ObjectNode main = Manifests.get(objects, "Ingress", "parley-gateway");
        ObjectNode canaryIngress = Manifests.get(objects, "Ingress", "parley-gateway-canary");
        JsonNode a = canaryIngress.path("metadata").path("annotations");
        assertThat(a.path("nginx.ingress.kubernetes.io/canary").asString()).isEqualTo("true");
        assertThat(a.path("nginx.ingress.kubernetes.io/canary-weight").asString())
                .isEqualTo(canaryValues.path("weight").asString());
        assertThat(a.path("nginx.ingress.kubernetes.io/proxy-buffering").asString()).isEqualTo("off");
        assertThat(canaryIngress.path("spec").path("rules").get(0).path("host"))
                .isEqualTo(main.path("spec").path("rules").get(0).path("host"));
        assertThat(canaryIngress.path("spec").path("rules").get(0).path("http").path("paths").get(0).path("backend")
                .path("service").path("name").asString()).isEqualTo("parley-gateway-canary");
    }

    @Test
    void allInOneKeepsItsDataOnAVolumeClaim() {
        List<ObjectNode> objects = Chart.render("all-in-one");
        assertThat(Manifests.ofKind(objects, "Deployment")).extracting(Manifests::id)
                .containsExactly("Deployment/parley-all-in-one");
        Manifests.get(objects, "PersistentVolumeClaim", "parley-all-in-one-data");
        JsonNode volumes = Manifests.get(objects, "Deployment", "parley-all-in-one").path("spec").path("template")
                .path("spec").path("volumes");
        assertThat(volumes.get(0).path("persistentVolumeClaim").path("claimName").asString())
                .isEqualTo("parley-all-in-one-data");
        assertThat(container(Manifests.get(objects, "Deployment", "parley-all-in-one")).path("image").asString())
                .isEqualTo("ghcr.io/parley-dev/parley-all-in-one:" + appVersion());
    }

    @Test
    void badValuesAreRefusedWithAReason() {
        assertRefused(Map.of("image.tag", "latest"), "\"latest\" is refused");
        assertRefused(Map.of("canary.enabled", "true", "canary.tag", "latest"), "\"latest\" is refused");
        assertRefused(Map.of("canary.enabled", "true"), "canary.enabled needs canary.tag");
        assertRefused(Map.of("secrets.existingSecret", ""), "set existingSecret");
        assertRefused(Map.of("secrets.existingSecret", "", "secrets.values.PARLEY_DB_PASSWORD", "x"),
                "secrets.values needs PARLEY_MASTER_KEY");
        assertRefused(Map.of("config.parley_db_url", "x"), "not an environment variable name");
    }

    private static void assertRefused(Map<String, String> sets, String reason) {
        Tools.Result r = Chart.template(List.of(), sets);
        assertThat(r.exitCode()).as("helm template %s", sets).isNotZero();
        assertThat(r.stderr()).contains(reason);
    }
}

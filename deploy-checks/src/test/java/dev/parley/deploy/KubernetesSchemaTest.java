package dev.parley.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.Set;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import tools.jackson.databind.node.ObjectNode;

/** Every object the chart renders, for every documented value set, passes the Kubernetes 1.33 schemas (strict). */
class KubernetesSchemaTest {

    static final List<String> VALUE_SETS = Chart.VALUE_SETS;

    @ParameterizedTest(name = "{0}")
    @FieldSource("VALUE_SETS")
    void everyRenderedObjectPassesTheStrictSchema(String valueSet) {
        List<ObjectNode> objects = Chart.render(valueSet);
        assertThat(objects).isNotEmpty();
        List<String> failures = new ArrayList<>();
        List<ObjectNode> istio = new ArrayList<>();
        for (ObjectNode o : objects) {
            if (IstioSchemas.isIstio(o)) {
                istio.add(o);
                continue;
            }
            for (String error : KubernetesSchemas.get().validate(o)) {
                failures.add(Manifests.id(o) + ": " + error);
            }
        }
        // Istio's own kinds: against Istio's CRD schemas (not in the Kubernetes document).
        if (!istio.isEmpty()) {
            failures.addAll(IstioSchemas.validate(istio));
        }
        assertThat(failures).as("schema errors (%s values)", valueSet).isEmpty();
        assertThat(istio.size()).isEqualTo(valueSet.equals("istio") ? 1 : 0);
    }

    @Test
    void istioSchemasRefuseAWrongMode() {
        ObjectNode pa = Manifests.copy(Manifests.get(Chart.render("istio"), "PeerAuthentication", "parley"));
        assertThat(IstioSchemas.validate(List.of(pa))).isEmpty();
        ((ObjectNode) pa.path("spec").path("mtls")).put("mode", "STRICTEST");
        assertThat(IstioSchemas.validate(List.of(pa))).singleElement().asString()
                .contains("/spec/mtls/mode").contains("allowed values");
        pa.put("kind", "PeerAuthorisation");
        assertThat(IstioSchemas.validate(List.of(pa))).singleElement().asString().contains("no Istio schema");
    }

    @Test
    void theSchemasAreThoseOfKubernetes133() {
        Set<String> names = KubernetesSchemas.get().definitionNames();
        // New in 1.33: the resource.k8s.io/v1beta2 API and Lifecycle.stopSignal; resource.k8s.io/v1 came in 1.34.
        assertThat(names).contains("io.k8s.api.resource.v1beta2.DeviceClass", "io.k8s.api.apps.v1.Deployment",
                "io.k8s.api.autoscaling.v2.HorizontalPodAutoscaler", "com.coreos.monitoring.v1.ServiceMonitor");
        assertThat(names).doesNotContain("io.k8s.api.resource.v1.DeviceClass");
    }

    private ObjectNode deployment() {
        return Manifests.copy(Manifests.get(Chart.render("default"), "Deployment", "parley-gateway"));
    }

    @Test
    void anUnknownFieldIsRefused() {
        ObjectNode d = deployment();
        ((ObjectNode) d.path("spec").path("template").path("spec").path("containers").get(0))
                .put("imagePullPolcy", "Always");
        assertThat(KubernetesSchemas.get().validate(d)).anySatisfy(e -> assertThat(e).contains("imagePullPolcy"));
    }

    @Test
    void aWrongTypeIsRefused() {
        ObjectNode d = deployment();
        ((ObjectNode) d.path("spec").path("template").path("spec")).put("terminationGracePeriodSeconds", "fifty");
        assertThat(KubernetesSchemas.get().validate(d))
                .anySatisfy(e -> assertThat(e).contains("terminationGracePeriodSeconds"));
    }

    @Test
    void aMissingRequiredFieldIsRefused() {
        ObjectNode d = deployment();
        ((ObjectNode) d.path("spec").path("template").path("spec").path("containers").get(0)).remove("name");
        assertThat(KubernetesSchemas.get().validate(d)).anySatisfy(e -> assertThat(e).contains("name"));
    }

    @Test
    void aRemovedApiVersionIsRefused() {
        ObjectNode pdb = Manifests.copy(Manifests.get(Chart.render("default"), "PodDisruptionBudget", "parley-gateway"));
        pdb.put("apiVersion", "policy/v1beta1");
        assertThat(KubernetesSchemas.get().validate(pdb)).singleElement().asString().contains("not served");
        pdb.put("apiVersion", "policy/v2");
        assertThat(KubernetesSchemas.get().validate(pdb)).singleElement().asString().contains("no schema");
    }

    @Test
    void aQuantityAndAnIntOrStringTakeNumbersAndStrings() {
        ObjectNode d = deployment();
        ObjectNode limits = (ObjectNode) d.path("spec").path("template").path("spec").path("containers").get(0)
                .path("resources").path("limits");
        limits.put("cpu", 2);
        ((ObjectNode) d.path("spec").path("strategy").path("rollingUpdate")).put("maxSurge", "25%");
        assertThat(KubernetesSchemas.get().validate(d)).isEmpty();
        limits.put("cpu", true);
        assertThat(KubernetesSchemas.get().validate(d)).isNotEmpty();
    }
}

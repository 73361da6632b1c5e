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

    /**
     * Kinds whose schema the Kubernetes 1.33 document does not hold (CRDs of other projects). Each is listed with its
     * reason; any other kind without a schema fails.
     */
    static final Set<String> NO_SCHEMA = Set.of(
            // Istio's CRD: no registry reachable from here serves its JSON schema; ChartRenderTest checks its fields.
            "security.istio.io/v1 PeerAuthentication");

    @ParameterizedTest(name = "{0}")
    @FieldSource("VALUE_SETS")
    void everyRenderedObjectPassesTheStrictSchema(String valueSet) {
        List<ObjectNode> objects = Chart.render(valueSet);
        assertThat(objects).isNotEmpty();
        List<String> failures = new ArrayList<>();
        int validated = 0;
        for (ObjectNode o : objects) {
            String gvk = o.path("apiVersion").asString() + " " + o.path("kind").asString();
            if (NO_SCHEMA.contains(gvk)) {
                continue;
            }
            validated++;
            for (String error : KubernetesSchemas.get().validate(o)) {
                failures.add(Manifests.id(o) + ": " + error);
            }
        }
        assertThat(failures).as("schema errors (%s values)", valueSet).isEmpty();
        assertThat(validated).isGreaterThanOrEqualTo(objects.size() - 1);
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

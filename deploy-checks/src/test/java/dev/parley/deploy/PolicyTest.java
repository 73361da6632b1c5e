package dev.parley.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.FieldSource;

import tools.jackson.databind.node.ArrayNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The chart meets the deployment policy ({@link Policy}) for every documented value set, and each check refuses a
 * manifest broken in just its way: the default render with one thing changed.
 */
class PolicyTest {

    static final List<String> VALUE_SETS = Chart.VALUE_SETS;

    @ParameterizedTest(name = "{0}")
    @FieldSource("VALUE_SETS")
    void theChartMeetsThePolicy(String valueSet) {
        List<ObjectNode> objects = Chart.render(valueSet);
        assertThat(Manifests.ofKind(objects, "Deployment")).isNotEmpty();
        assertThat(Policy.check(objects)).isEmpty();
    }

    /** The default render with the gateway Deployment changed by `change`; the violations of its checks. */
    private static List<Policy.Violation> withGateway(Consumer<ObjectNode> change) {
        List<ObjectNode> objects = new ArrayList<>(Chart.render("default"));
        ObjectNode gateway = Manifests.get(objects, "Deployment", "parley-gateway");
        change.accept(gateway);
        return Policy.check(objects);
    }

    private static ObjectNode podSpec(ObjectNode d) {
        return (ObjectNode) d.path("spec").path("template").path("spec");
    }

    private static ObjectNode container(ObjectNode d) {
        return (ObjectNode) podSpec(d).path("containers").get(0);
    }

    private static ObjectNode containerSc(ObjectNode d) {
        return (ObjectNode) container(d).path("securityContext");
    }

    private static void assertOnly(List<Policy.Violation> violations, String check) {
        assertThat(violations).isNotEmpty();
        assertThat(violations).allSatisfy(v -> assertThat(v.check()).isEqualTo(check));
        assertThat(violations).allSatisfy(v -> assertThat(v.object()).startsWith("Deployment/parley-gateway"));
    }

    @Test
    void rootIsRefused() {
        assertOnly(withGateway(d -> containerSc(d).put("runAsNonRoot", false)), Policy.NON_ROOT);
        assertOnly(withGateway(d -> {
            containerSc(d).remove("runAsNonRoot");
            ((ObjectNode) podSpec(d).path("securityContext")).remove("runAsNonRoot");
        }), Policy.NON_ROOT);
        assertOnly(withGateway(d -> containerSc(d).put("runAsUser", 0)), Policy.NON_ROOT);
    }

    @Test
    void aWritableRootFilesystemIsRefused() {
        assertOnly(withGateway(d -> containerSc(d).remove("readOnlyRootFilesystem")), Policy.READ_ONLY_ROOT);
    }

    @Test
    void privilegesAreRefused() {
        assertOnly(withGateway(d -> containerSc(d).put("allowPrivilegeEscalation", true)), Policy.NO_PRIVILEGE);
        assertOnly(withGateway(d -> ((ObjectNode) containerSc(d).path("capabilities")).putArray("drop").add("NET_RAW")),
                Policy.NO_PRIVILEGE);
        assertOnly(withGateway(d -> ((ObjectNode) containerSc(d).path("capabilities")).putArray("add").add("NET_ADMIN")),
                Policy.NO_PRIVILEGE);
        assertOnly(withGateway(d -> containerSc(d).put("privileged", true)), Policy.NO_PRIVILEGE);
    }

    @Test
    void noSeccompProfileIsRefused() {
        assertOnly(withGateway(d -> ((ObjectNode) podSpec(d).path("securityContext")).remove("seccompProfile")),
                Policy.SECCOMP);
    }

    @Test
    void missingLimitsAreRefused() {
        assertOnly(withGateway(d -> ((ObjectNode) container(d).path("resources")).remove("limits")), Policy.RESOURCES);
        assertOnly(withGateway(d -> ((ObjectNode) container(d).path("resources").path("requests")).remove("memory")),
                Policy.RESOURCES);
    }

    @Test
    void unpinnedImagesAreRefused() {
        assertOnly(withGateway(d -> container(d).put("image", "ghcr.io/parley-dev/parley-gateway:latest")),
                Policy.PINNED_IMAGE);
        assertOnly(withGateway(d -> container(d).put("image", "ghcr.io/parley-dev/parley-gateway")),
                Policy.PINNED_IMAGE);
        assertOnly(withGateway(d -> container(d).put("image", "registry:5000/parley-gateway")), Policy.PINNED_IMAGE);
        assertThat(withGateway(d -> container(d).put("image", "registry:5000/parley-gateway@sha256:"
                + "0".repeat(64)))).isEmpty();
    }

    @Test
    void missingProbesAreRefused() {
        for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
            List<Policy.Violation> v = withGateway(d -> container(d).remove(probe));
            assertOnly(v, Policy.PROBES);
            assertThat(v).singleElement().extracting(Policy.Violation::message).asString().contains(probe);
        }
    }

    @Test
    void aRolloutThatMayTakePodsAwayIsRefused() {
        assertOnly(withGateway(d -> ((ObjectNode) d.path("spec").path("strategy").path("rollingUpdate"))
                .put("maxUnavailable", 1)), Policy.ROLLING_UPDATE);
        assertOnly(withGateway(d -> ((ObjectNode) d.path("spec").path("strategy").path("rollingUpdate"))
                .remove("maxUnavailable")), Policy.ROLLING_UPDATE);
        assertOnly(withGateway(d -> ((ObjectNode) d.path("spec")).putObject("strategy").put("type", "Recreate")),
                Policy.ROLLING_UPDATE);
    }

    @Test
    void aStopThatCutsTheDrainIsRefused() {
        assertOnly(withGateway(d -> podSpec(d).put("terminationGracePeriodSeconds", 30)), Policy.GRACEFUL_STOP);
        // Exactly preStop + shutdown timeout + the process's margin: SIGKILL could still land mid-exit.
        assertOnly(withGateway(d -> podSpec(d).put("terminationGracePeriodSeconds", 10 + 30 + 5)), Policy.GRACEFUL_STOP);
        assertOnly(withGateway(d -> container(d).remove("lifecycle")), Policy.GRACEFUL_STOP);
    }

    @Test
    void aLongerShutdownTimeoutNeedsALongerGracePeriod() {
        List<ObjectNode> objects = new ArrayList<>(Chart.render("default"));
        ((ObjectNode) Manifests.get(objects, "ConfigMap", "parley-config").path("data"))
                .put("PARLEY_SHUTDOWN_TIMEOUT_SECONDS", "120");
        List<Policy.Violation> v = Policy.check(objects);
        assertThat(v).isNotEmpty().allSatisfy(x -> assertThat(x.check()).isEqualTo(Policy.GRACEFUL_STOP));
        // The chart itself derives the grace period from the setting.
        assertThat(Policy.check(Chart.render(List.of(), java.util.Map.of("config.PARLEY_SHUTDOWN_TIMEOUT_SECONDS",
                "120")))).isEmpty();
    }

    @Test
    void aDeploymentWithoutDisruptionBudgetIsRefused() {
        List<ObjectNode> objects = new ArrayList<>(Chart.render("default"));
        objects.removeIf(o -> Manifests.id(o).equals("PodDisruptionBudget/parley-gateway"));
        assertOnly(Policy.check(objects), Policy.DISRUPTION_BUDGET);
    }

    @Test
    void podsWithoutDefaultDenyAreRefused() {
        List<ObjectNode> objects = new ArrayList<>(Chart.render("default"));
        ObjectNode deny = Manifests.get(objects, "NetworkPolicy", "parley-default-deny");
        ((ArrayNode) deny.path("spec").path("policyTypes")).removeAll().add("Ingress");
        List<Policy.Violation> v = Policy.check(objects);
        assertThat(v).extracting(Policy.Violation::check).containsOnly(Policy.DEFAULT_DENY);
        assertThat(v).extracting(Policy.Violation::object)
                .containsExactlyInAnyOrder("Deployment/parley-gateway", "Deployment/parley-worker");
    }
}

package dev.parley.deploy;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;

import tools.jackson.databind.node.ObjectNode;

/** Renders k8s/helm/parley with `helm template` (release "parley", namespace "parley", Kubernetes 1.33). */
final class Chart {

    static final String KUBE_VERSION = "1.33.0";

    /**
     * The value sets the chart documents: the name is the values file beside values.yaml that is layered over it
     * ("default": values.yaml alone).
     */
    static final List<String> VALUE_SETS = List.of("default", "canary", "istio", "servicemonitor", "all-in-one");

    private Chart() {
    }

    static List<String> valueFiles(String valueSet) {
        return valueSet.equals("default") ? List.of() : List.of("values-" + valueSet + ".yaml");
    }

    static Tools.Result template(List<String> valueFiles, Map<String, String> sets) {
        List<String> cmd = new ArrayList<>(List.of(Tools.helm(), "template", "parley", Tools.chart().toString(),
                "--namespace", "parley", "--kube-version", KUBE_VERSION));
        for (String f : valueFiles) {
            cmd.add("--values");
            cmd.add(Tools.chart().resolve(f).toString());
        }
        sets.forEach((k, v) -> {
            cmd.add("--set");
            cmd.add(k + "=" + v);
        });
        return helm(cmd);
    }

    /** Runs a helm command with its cache, configuration and data homes under target/. */
    static Tools.Result helm(List<String> cmd) {
        return Tools.run(cmd, null, Map.of("HELM_CACHE_HOME", tmp("cache"), "HELM_CONFIG_HOME", tmp("config"),
                "HELM_DATA_HOME", tmp("data")), false);
    }

    static List<ObjectNode> render(String valueSet) {
        return render(valueFiles(valueSet), Map.of());
    }

    /** Rendered YAML by value files and --set pairs: each is rendered once per test run; every caller parses anew. */
    private static final Map<List<Object>, String> RENDERED = new ConcurrentHashMap<>();

    static List<ObjectNode> render(List<String> valueFiles, Map<String, String> sets) {
        String yaml = RENDERED.computeIfAbsent(List.of(valueFiles, new TreeMap<>(sets)), k -> {
            Tools.Result r = template(valueFiles, sets);
            if (!r.ok()) {
                throw new AssertionError("helm template " + valueFiles + " " + sets + " failed: " + r.describe());
            }
            return r.stdout();
        });
        return Manifests.parse(yaml);
    }

    private static String tmp(String name) {
        return Tools.repo().resolve("deploy-checks/target/helm-home").resolve(name).toString();
    }
}

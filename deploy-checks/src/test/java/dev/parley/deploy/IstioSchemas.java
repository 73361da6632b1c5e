package dev.parley.deploy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import tools.jackson.databind.json.JsonMapper;
import tools.jackson.databind.node.ObjectNode;

/**
 * Istio objects checked against Istio 1.29.2's CRD schemas, as validators compiled by the npm package
 * {@code @kubernetes-models/istio} 3.0.1 (deploy-checks/istio-schema, installed by install-tools.sh). These schemas
 * check types, enums and bounds; they do not refuse unknown fields (Istio's CRDs do not list every field as closed).
 */
final class IstioSchemas {

    private static final Path DIR = Tools.repo().resolve("deploy-checks/istio-schema");

    private IstioSchemas() {
    }

    static boolean isIstio(ObjectNode o) {
        return o.path("apiVersion").asString("").contains(".istio.io/");
    }

    /** Errors per object, as "Kind/name path message"; empty when all are valid. */
    static List<String> validate(List<ObjectNode> objects) {
        if (!Files.isDirectory(DIR.resolve("node_modules/@kubernetes-models/istio"))) {
            throw new IllegalStateException(DIR + "/node_modules is missing: run deploy-checks/install-tools.sh");
        }
        String json = JsonMapper.builder().build().writeValueAsString(objects);
        Tools.Result r = Tools.run(List.of(Tools.node(), DIR.resolve("validate.mjs").toString()), DIR, Map.of(), false,
                json);
        List<String> errors = new ArrayList<>();
        int ok = 0;
        for (String line : r.stdout().split("\n")) {
            if (line.startsWith("error ")) {
                errors.add(line.substring(6));
            } else if (line.startsWith("ok ")) {
                ok++;
            }
        }
        if (errors.isEmpty() && (r.exitCode() != 0 || ok != objects.size())) {
            throw new IllegalStateException("validate.mjs: " + r.describe());
        }
        return errors;
    }
}

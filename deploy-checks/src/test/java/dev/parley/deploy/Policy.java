package dev.parley.deploy;

import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Set;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.node.ObjectNode;

/**
 * The deployment policy every rendered release must meet, as plain checks over the parsed objects. Each violation
 * names its check, the object and the container.
 */
final class Policy {

    /** One broken rule. check: the rule's name (the constants below). */
    record Violation(String check, String object, String message) {
        @Override
        public String toString() {
            return check + " " + object + ": " + message;
        }
    }

    static final String NON_ROOT = "non-root";
    static final String READ_ONLY_ROOT = "read-only-root-filesystem";
    static final String NO_PRIVILEGE = "no-privilege";
    static final String SECCOMP = "seccomp-runtime-default";
    static final String RESOURCES = "resources";
    static final String PINNED_IMAGE = "pinned-image";
    static final String PROBES = "probes";
    static final String ROLLING_UPDATE = "rolling-update-max-unavailable-0";
    static final String GRACEFUL_STOP = "graceful-stop";
    static final String DISRUPTION_BUDGET = "disruption-budget";
    static final String DEFAULT_DENY = "default-deny-network-policy";

    static final List<String> CHECKS = List.of(NON_ROOT, READ_ONLY_ROOT, NO_PRIVILEGE, SECCOMP, RESOURCES, PINNED_IMAGE,
            PROBES, ROLLING_UPDATE, GRACEFUL_STOP, DISRUPTION_BUDGET, DEFAULT_DENY);

    /** Parley's own margin: the process waits PARLEY_SHUTDOWN_TIMEOUT_SECONDS + 5 s before it exits (README). */
    static final int PROCESS_MARGIN_SECONDS = 5;

    private Policy() {
    }

    static List<Violation> check(List<ObjectNode> objects) {
        List<Violation> v = new ArrayList<>();
        List<ObjectNode> deployments = Manifests.ofKind(objects, "Deployment");
        int shutdownTimeout = shutdownTimeout(objects);
        for (ObjectNode d : deployments) {
            String id = Manifests.id(d);
            JsonNode pod = d.path("spec").path("template").path("spec");
            JsonNode podSc = pod.path("securityContext");
            checkRollingUpdate(d, id, v);
            if (!"RuntimeDefault".equals(podSc.path("seccompProfile").path("type").asString(""))) {
                boolean allContainers = pod.path("containers").size() > 0;
                for (JsonNode c : pod.path("containers")) {
                    allContainers &= "RuntimeDefault".equals(
                            c.path("securityContext").path("seccompProfile").path("type").asString(""));
                }
                if (!allContainers) {
                    v.add(new Violation(SECCOMP, id, "no seccompProfile RuntimeDefault on the pod or every container"));
                }
            }
            int tgps = pod.path("terminationGracePeriodSeconds").asInt(30);
            for (JsonNode c : pod.path("containers")) {
                String cid = id + " container " + c.path("name").asString("?");
                JsonNode sc = c.path("securityContext");
                checkNonRoot(podSc, sc, cid, v);
                if (!sc.path("readOnlyRootFilesystem").asBoolean(false)) {
                    v.add(new Violation(READ_ONLY_ROOT, cid, "readOnlyRootFilesystem is not true"));
                }
                checkNoPrivilege(sc, cid, v);
                checkResources(c, cid, v);
                checkImage(c.path("image").asString(""), cid, v);
                for (String probe : List.of("startupProbe", "livenessProbe", "readinessProbe")) {
                    if (!c.has(probe) || c.path(probe).isEmpty()) {
                        v.add(new Violation(PROBES, cid, probe + " missing"));
                    }
                }
                checkGracefulStop(c, tgps, shutdownTimeout, cid, v);
            }
            if (!hasDisruptionBudget(d, objects)) {
                v.add(new Violation(DISRUPTION_BUDGET, id, "no PodDisruptionBudget selects its pods"));
            }
            if (!hasDefaultDeny(d, objects)) {
                v.add(new Violation(DEFAULT_DENY, id,
                        "no NetworkPolicy without rules selects its pods for both Ingress and Egress"));
            }
        }
        return v;
    }

    private static void checkRollingUpdate(JsonNode d, String id, List<Violation> v) {
        JsonNode strategy = d.path("spec").path("strategy");
        String type = strategy.path("type").asString("RollingUpdate");
        JsonNode maxUnavailable = strategy.path("rollingUpdate").path("maxUnavailable");
        boolean zero = maxUnavailable.isIntegralNumber() ? maxUnavailable.asInt() == 0
                : Set.of("0", "0%").contains(maxUnavailable.asString("25%"));
        if (!"RollingUpdate".equals(type) || !zero) {
            v.add(new Violation(ROLLING_UPDATE, id, "strategy " + type + " with maxUnavailable "
                    + (maxUnavailable.isMissingNode() ? "25% (default)" : maxUnavailable.toString())
                    + "; wanted RollingUpdate with maxUnavailable 0"));
        }
    }

    private static void checkNonRoot(JsonNode podSc, JsonNode sc, String cid, List<Violation> v) {
        JsonNode runAsNonRoot = sc.has("runAsNonRoot") ? sc.path("runAsNonRoot") : podSc.path("runAsNonRoot");
        JsonNode runAsUser = sc.has("runAsUser") ? sc.path("runAsUser") : podSc.path("runAsUser");
        if (!runAsNonRoot.asBoolean(false)) {
            v.add(new Violation(NON_ROOT, cid, "runAsNonRoot is not true (container or pod)"));
        }
        if (runAsUser.isNumber() && runAsUser.asLong() == 0) {
            v.add(new Violation(NON_ROOT, cid, "runAsUser is 0"));
        }
    }

    private static void checkNoPrivilege(JsonNode sc, String cid, List<Violation> v) {
        if (sc.path("privileged").asBoolean(false)) {
            v.add(new Violation(NO_PRIVILEGE, cid, "privileged"));
        }
        if (sc.path("allowPrivilegeEscalation").asBoolean(true)) {
            v.add(new Violation(NO_PRIVILEGE, cid, "allowPrivilegeEscalation is not false"));
        }
        boolean dropsAll = false;
        for (JsonNode cap : sc.path("capabilities").path("drop")) {
            dropsAll |= "ALL".equals(cap.asString(""));
        }
        if (!dropsAll) {
            v.add(new Violation(NO_PRIVILEGE, cid, "capabilities.drop does not hold ALL"));
        }
        if (!sc.path("capabilities").path("add").isEmpty()) {
            v.add(new Violation(NO_PRIVILEGE, cid, "capabilities.add is not empty"));
        }
    }

    private static void checkResources(JsonNode c, String cid, List<Violation> v) {
        JsonNode r = c.path("resources");
        for (String kind : List.of("requests", "limits")) {
            for (String resource : List.of("cpu", "memory")) {
                JsonNode q = r.path(kind).path(resource);
                if (q.isMissingNode() || q.isNull() || q.asString("").isBlank()) {
                    v.add(new Violation(RESOURCES, cid, kind + "." + resource + " not set"));
                }
            }
        }
    }

    static void checkImage(String image, String cid, List<Violation> v) {
        if (image.contains("@sha256:")) {
            return;
        }
        int slash = image.lastIndexOf('/');
        int colon = image.lastIndexOf(':');
        if (image.isBlank() || colon < slash + 1 || colon == image.length() - 1) {
            v.add(new Violation(PINNED_IMAGE, cid, "image " + image + " has no tag or digest"));
        } else if (image.substring(colon + 1).equals("latest")) {
            v.add(new Violation(PINNED_IMAGE, cid, "image " + image + " is tagged latest"));
        }
    }

    private static void checkGracefulStop(JsonNode c, int tgps, int shutdownTimeout, String cid, List<Violation> v) {
        JsonNode preStop = c.path("lifecycle").path("preStop");
        int sleep;
        if (preStop.has("sleep")) {
            sleep = preStop.path("sleep").path("seconds").asInt(0);
        } else if (preStop.has("exec")) {
            sleep = execSleepSeconds(preStop.path("exec").path("command"));
        } else {
            sleep = 0;
        }
        if (sleep <= 0) {
            v.add(new Violation(GRACEFUL_STOP, cid, "no preStop sleep: endpoints may still route to a stopping pod"));
        }
        int needed = sleep + shutdownTimeout + PROCESS_MARGIN_SECONDS;
        if (tgps <= needed) {
            v.add(new Violation(GRACEFUL_STOP, cid, "terminationGracePeriodSeconds " + tgps + " is not above preStop "
                    + sleep + " + PARLEY_SHUTDOWN_TIMEOUT_SECONDS " + shutdownTimeout + " + " + PROCESS_MARGIN_SECONDS));
        }
    }

    private static int execSleepSeconds(JsonNode command) {
        for (Iterator<JsonNode> it = command.iterator(); it.hasNext(); ) {
            String word = it.next().asString("");
            for (String part : word.split("\\s+")) {
                if (part.matches("\\d+")) {
                    return Integer.parseInt(part);
                }
            }
        }
        return 0;
    }

    /** PARLEY_SHUTDOWN_TIMEOUT_SECONDS from the rendered ConfigMaps, else Parley's default (30). */
    static int shutdownTimeout(List<ObjectNode> objects) {
        for (ObjectNode cm : Manifests.ofKind(objects, "ConfigMap")) {
            JsonNode t = cm.path("data").path("PARLEY_SHUTDOWN_TIMEOUT_SECONDS");
            if (!t.isMissingNode()) {
                return Integer.parseInt(t.asString().trim());
            }
        }
        return 30;
    }

    private static boolean hasDisruptionBudget(JsonNode d, List<ObjectNode> objects) {
        JsonNode labels = d.path("spec").path("template").path("metadata").path("labels");
        return Manifests.ofKind(objects, "PodDisruptionBudget").stream()
                .anyMatch(p -> selects(p.path("spec").path("selector").path("matchLabels"), labels));
    }

    private static boolean hasDefaultDeny(JsonNode d, List<ObjectNode> objects) {
        JsonNode labels = d.path("spec").path("template").path("metadata").path("labels");
        return Manifests.ofKind(objects, "NetworkPolicy").stream().anyMatch(np -> {
            JsonNode spec = np.path("spec");
            Set<String> types = new java.util.HashSet<>();
            spec.path("policyTypes").forEach(t -> types.add(t.asString("")));
            return types.containsAll(Set.of("Ingress", "Egress")) && spec.path("ingress").isEmpty()
                    && spec.path("egress").isEmpty()
                    && !spec.path("podSelector").has("matchExpressions")
                    && selects(spec.path("podSelector").path("matchLabels"), labels);
        });
    }

    /** Whether a matchLabels selector (all of its pairs) matches the labels; an empty selector matches all. */
    private static boolean selects(JsonNode matchLabels, JsonNode labels) {
        if (!matchLabels.isObject()) {
            return false;
        }
        for (Map.Entry<String, JsonNode> e : matchLabels.properties()) {
            if (!e.getValue().asString("").equals(labels.path(e.getKey()).asString(null))) {
                return false;
            }
        }
        return true;
    }
}

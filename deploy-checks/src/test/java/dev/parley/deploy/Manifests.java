package dev.parley.deploy;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

import tools.jackson.databind.JsonNode;
import tools.jackson.databind.MappingIterator;
import tools.jackson.databind.node.ObjectNode;
import tools.jackson.dataformat.yaml.YAMLMapper;

/** Kubernetes objects parsed from (multi-document) YAML, and small look-ups over them. */
final class Manifests {

    static final YAMLMapper YAML = YAMLMapper.builder().build();

    private Manifests() {
    }

    /** Every non-empty document of a YAML stream, in order. */
    static List<ObjectNode> parse(String yaml) {
        List<ObjectNode> objects = new ArrayList<>();
        try (MappingIterator<JsonNode> it = YAML.readerFor(JsonNode.class).readValues(yaml)) {
            while (it.hasNextValue()) {
                JsonNode doc = it.nextValue();
                if (doc == null || doc.isNull() || doc.isMissingNode() || doc.isEmpty()) {
                    continue;
                }
                if (!doc.isObject()) {
                    throw new IllegalArgumentException("a YAML document that is not an object: " + doc);
                }
                objects.add((ObjectNode) doc);
            }
        }
        return objects;
    }

    static String id(JsonNode o) {
        return o.path("kind").asString("?") + "/" + o.path("metadata").path("name").asString("?");
    }

    static List<ObjectNode> ofKind(List<ObjectNode> objects, String kind) {
        return objects.stream().filter(o -> kind.equals(o.path("kind").asString(""))).toList();
    }

    static Optional<ObjectNode> find(List<ObjectNode> objects, String kind, String name) {
        return objects.stream()
                .filter(o -> kind.equals(o.path("kind").asString("")))
                .filter(o -> name.equals(o.path("metadata").path("name").asString("")))
                .findFirst();
    }

    static ObjectNode get(List<ObjectNode> objects, String kind, String name) {
        return find(objects, kind, name).orElseThrow(() -> new AssertionError(
                "no " + kind + "/" + name + " among " + objects.stream().map(Manifests::id).toList()));
    }

    /** A deep copy to change in a negative test. */
    static ObjectNode copy(ObjectNode o) {
        return o.deepCopy();
    }
}

package dev.parley.provider.bedrock.internal;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import software.amazon.awssdk.core.document.Document;
import software.amazon.awssdk.protocols.jsoncore.JsonNode;

/**
 * JSON text to and from the SDK's {@link Document}: tool schemas and tool-call arguments are JSON text in Parley's
 * API and documents in the Converse API.
 */
final class JsonDocuments {

    private JsonDocuments() {
    }

    /** Parses JSON text; throws {@link IllegalArgumentException} when it is not JSON. */
    static Document parse(String json) {
        JsonNode node;
        try {
            node = JsonNode.parser().parse(json);
        } catch (RuntimeException e) {
            throw new IllegalArgumentException("not valid JSON", e);
        }
        return toDocument(node);
    }

    private static Document toDocument(JsonNode node) {
        if (node.isObject()) {
            Map<String, Document> map = new LinkedHashMap<>();
            node.asObject().forEach((k, v) -> map.put(k, toDocument(v)));
            return Document.fromMap(map);
        }
        if (node.isArray()) {
            List<Document> list = new ArrayList<>();
            for (JsonNode item : node.asArray()) {
                list.add(toDocument(item));
            }
            return Document.fromList(list);
        }
        if (node.isString()) {
            return Document.fromString(node.asString());
        }
        if (node.isNumber()) {
            return Document.fromNumber(node.asNumber());
        }
        if (node.isBoolean()) {
            return Document.fromBoolean(node.asBoolean());
        }
        return Document.fromNull();
    }

    /** Writes a document as compact JSON text. */
    static String write(Document doc) {
        StringBuilder out = new StringBuilder();
        write(doc, out);
        return out.toString();
    }

    private static void write(Document doc, StringBuilder out) {
        if (doc == null || doc.isNull()) {
            out.append("null");
        } else if (doc.isMap()) {
            out.append('{');
            boolean first = true;
            for (Map.Entry<String, Document> e : doc.asMap().entrySet()) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                quote(e.getKey(), out);
                out.append(':');
                write(e.getValue(), out);
            }
            out.append('}');
        } else if (doc.isList()) {
            out.append('[');
            boolean first = true;
            for (Document d : doc.asList()) {
                if (!first) {
                    out.append(',');
                }
                first = false;
                write(d, out);
            }
            out.append(']');
        } else if (doc.isString()) {
            quote(doc.asString(), out);
        } else if (doc.isNumber()) {
            out.append(doc.asNumber().stringValue());
        } else if (doc.isBoolean()) {
            out.append(doc.asBoolean());
        } else {
            out.append("null");
        }
    }

    static void quote(String s, StringBuilder out) {
        out.append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                case '\r' -> out.append("\\r");
                case '\t' -> out.append("\\t");
                case '\b' -> out.append("\\b");
                case '\f' -> out.append("\\f");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}

package dev.parley.web.ws.internal;

import com.fasterxml.jackson.core.JacksonException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

/** Reads client text frames. Never throws: anything unusable becomes {@link ClientFrame.Invalid}. */
final class FrameParser {
    private final ObjectMapper mapper;

    FrameParser(ObjectMapper mapper) {
        this.mapper = mapper;
    }

    ClientFrame parse(String text) {
        JsonNode root;
        try {
            root = mapper.readTree(text);
        } catch (JacksonException e) {
            return new ClientFrame.Invalid(null, "frame is not valid JSON" + position(e));
        }
        if (root == null || !root.isObject()) {
            return new ClientFrame.Invalid(null, "frame must be a JSON object");
        }
        JsonNode idNode = root.get("id");
        String id = idNode != null && idNode.isTextual() ? idNode.textValue() : null;
        JsonNode typeNode = root.get("type");
        if (typeNode == null || typeNode.isNull()) {
            return new ClientFrame.Invalid(id, "field 'type' is required");
        }
        if (!typeNode.isTextual()) {
            return new ClientFrame.Invalid(id, "field 'type' must be a string");
        }
        String type = typeNode.textValue();
        try {
            return switch (type) {
                case "send" -> new ClientFrame.Send(requiredId(idNode), optionalText(root, "conversationId"),
                        requiredText(root, "content"), optionalText(root, "model"), optionalText(root, "traceparent"),
                        optionalText(root, "tracestate"));
                case "resume" -> new ClientFrame.Resume(requiredId(idNode), requiredText(root, "conversationId"),
                        requiredText(root, "answerId"), after(root));
                case "cancel" -> new ClientFrame.Cancel(requiredId(idNode));
                case "ping" -> new ClientFrame.Ping(optionalText(root, "id"));
                default -> new ClientFrame.Invalid(id, "unknown frame type '" + truncate(type) + "'");
            };
        } catch (FieldException e) {
            return new ClientFrame.Invalid(id, e.getMessage());
        }
    }

    private static String requiredId(JsonNode idNode) {
        if (idNode == null || idNode.isNull()) {
            throw new FieldException("field 'id' is required");
        }
        if (!idNode.isTextual() || idNode.textValue().isBlank()) {
            throw new FieldException("field 'id' must be a non-empty string");
        }
        return idNode.textValue();
    }

    /** {@code after}: the seq of the last frame the client got, 0 or more; absent means 0. */
    private static long after(JsonNode root) {
        JsonNode node = root.get("after");
        if (node == null || node.isNull()) {
            return 0;
        }
        if (!node.canConvertToExactIntegral() || !node.canConvertToLong() || node.asLong() < 0) {
            throw new FieldException("field 'after' must be a whole number, 0 or more");
        }
        return node.asLong();
    }

    private static String requiredText(JsonNode root, String field) {
        String value = optionalText(root, field);
        if (value == null) {
            throw new FieldException("field '" + field + "' is required");
        }
        return value;
    }

    private static String optionalText(JsonNode root, String field) {
        JsonNode node = root.get(field);
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual()) {
            throw new FieldException("field '" + field + "' must be a string");
        }
        return node.textValue();
    }

    private static String position(JacksonException e) {
        var location = e.getLocation();
        if (location == null || location.getLineNr() < 0) {
            return "";
        }
        return " (line " + location.getLineNr() + ", column " + location.getColumnNr() + ")";
    }

    private static String truncate(String s) {
        return s.length() <= 64 ? s : s.substring(0, 64) + "...";
    }

    /** A field is missing or has the wrong type; its message names the field. */
    private static final class FieldException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        FieldException(String message) {
            super(message, null, false, false);
        }
    }
}

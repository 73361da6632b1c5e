package dev.parley.pluginhost.agent.rpc;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import dev.parley.api.chat.ChatMessage;
import dev.parley.api.embedding.Embedding;
import dev.parley.api.embedding.EmbeddingModel;
import dev.parley.api.embedding.EmbeddingRequest;
import dev.parley.api.embedding.EmbeddingResponse;
import dev.parley.api.chat.Role;
import dev.parley.api.error.ErrorCode;
import dev.parley.api.error.ParleyException;
import dev.parley.api.llm.ChatOptions;
import dev.parley.api.llm.ChatRequest;
import dev.parley.api.llm.ChatResponse;
import dev.parley.api.llm.ContentPart;
import dev.parley.api.llm.FinishReason;
import dev.parley.api.llm.ModelCapability;
import dev.parley.api.llm.ModelDescriptor;
import dev.parley.api.llm.ResponseFormat;
import dev.parley.api.llm.ToolCall;
import dev.parley.api.llm.ToolCallDelta;
import dev.parley.api.llm.ToolChoice;
import dev.parley.api.llm.ToolSpec;
import dev.parley.api.llm.Usage;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Base64;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;

/**
 * The API's chat types as JSON and back, field by field (no reflection on the API's records, so a field added to
 * the API is a decision here, not a silent change of the wire format). Reading checks what the records check;
 * a malformed message fails with {@link IllegalArgumentException} or {@link NullPointerException}, which the
 * caller turns into a protocol error.
 */
public final class WireCodec {
    private final ObjectMapper json;

    public WireCodec(ObjectMapper json) {
        this.json = json;
    }

    // --- requests ---

    public ObjectNode request(ChatRequest r) {
        ObjectNode n = json.createObjectNode();
        n.put("model", r.model());
        ArrayNode messages = n.putArray("messages");
        for (ChatMessage m : r.messages()) {
            messages.add(message(m));
        }
        n.set("options", options(r.options()));
        ArrayNode tools = n.putArray("tools");
        for (ToolSpec t : r.tools()) {
            ObjectNode tn = tools.addObject();
            tn.put("name", t.name());
            tn.put("description", t.description());
            tn.put("parameters", t.parametersJsonSchema());
        }
        return n;
    }

    public ChatRequest request(JsonNode n) {
        List<ChatMessage> messages = new ArrayList<>();
        for (JsonNode m : n.path("messages")) {
            messages.add(message(m));
        }
        List<ToolSpec> tools = new ArrayList<>();
        for (JsonNode t : n.path("tools")) {
            tools.add(new ToolSpec(text(t, "name"), text(t, "description"), text(t, "parameters")));
        }
        return new ChatRequest(text(n, "model"), messages, options(n.path("options")), tools);
    }

    /** The messages of an {@code estimate}. */
    public ArrayNode messages(List<ChatMessage> list) {
        ArrayNode a = json.createArrayNode();
        for (ChatMessage m : list) {
            a.add(message(m));
        }
        return a;
    }

    public List<ChatMessage> messages(JsonNode a) {
        List<ChatMessage> out = new ArrayList<>();
        for (JsonNode m : a) {
            out.add(message(m));
        }
        return out;
    }

    private ObjectNode message(ChatMessage m) {
        ObjectNode n = json.createObjectNode();
        n.put("role", m.role().name());
        n.put("content", m.content());
        ArrayNode parts = n.putArray("parts");
        for (ContentPart p : m.parts()) {
            ObjectNode pn = parts.addObject();
            pn.put("kind", p.kind().name());
            pn.put("text", p.text());
            pn.put("mediaType", p.mediaType());
            pn.put("data", p.data());
            pn.put("url", p.url());
        }
        n.set("toolCalls", toolCalls(m.toolCalls()));
        n.put("toolCallId", m.toolCallId());
        return n;
    }

    private ChatMessage message(JsonNode n) {
        List<ContentPart> parts = new ArrayList<>();
        for (JsonNode p : n.path("parts")) {
            parts.add(new ContentPart(ContentPart.Kind.valueOf(text(p, "kind")), text(p, "text"), text(p, "mediaType"),
                    text(p, "data"), text(p, "url")));
        }
        return new ChatMessage(Role.valueOf(text(n, "role")), text(n, "content"), parts, toolCalls(n.path("toolCalls")),
                text(n, "toolCallId"));
    }

    private ObjectNode options(ChatOptions o) {
        ObjectNode n = json.createObjectNode();
        if (o.temperature() != null) {
            n.put("temperature", o.temperature());
        }
        if (o.topP() != null) {
            n.put("topP", o.topP());
        }
        if (o.maxTokens() != null) {
            n.put("maxTokens", o.maxTokens());
        }
        ArrayNode stop = n.putArray("stop");
        o.stop().forEach(stop::add);
        if (o.toolChoice() != null) {
            ObjectNode tc = n.putObject("toolChoice");
            tc.put("mode", o.toolChoice().mode().name());
            tc.put("toolName", o.toolChoice().toolName());
        }
        if (o.responseFormat() != null) {
            ObjectNode rf = n.putObject("responseFormat");
            rf.put("type", o.responseFormat().type().name());
            rf.put("name", o.responseFormat().name());
            rf.put("jsonSchema", o.responseFormat().jsonSchema());
            rf.put("strict", o.responseFormat().strict());
        }
        return n;
    }

    private ChatOptions options(JsonNode n) {
        if (n.isMissingNode() || n.isNull()) {
            return ChatOptions.DEFAULTS;
        }
        List<String> stop = new ArrayList<>();
        n.path("stop").forEach(s -> stop.add(s.asText()));
        ToolChoice choice = null;
        JsonNode tc = n.path("toolChoice");
        if (tc.isObject()) {
            choice = new ToolChoice(ToolChoice.Mode.valueOf(text(tc, "mode")), text(tc, "toolName"));
        }
        ResponseFormat format = null;
        JsonNode rf = n.path("responseFormat");
        if (rf.isObject()) {
            format = new ResponseFormat(ResponseFormat.Type.valueOf(text(rf, "type")), text(rf, "name"),
                    text(rf, "jsonSchema"), rf.path("strict").asBoolean(false));
        }
        return new ChatOptions(n.hasNonNull("temperature") ? n.get("temperature").asDouble() : null,
                n.hasNonNull("topP") ? n.get("topP").asDouble() : null,
                n.hasNonNull("maxTokens") ? n.get("maxTokens").asInt() : null, stop, choice, format);
    }

    private ArrayNode toolCalls(List<ToolCall> calls) {
        ArrayNode a = json.createArrayNode();
        for (ToolCall c : calls) {
            ObjectNode cn = a.addObject();
            cn.put("id", c.id());
            cn.put("name", c.name());
            cn.put("arguments", c.argumentsJson());
        }
        return a;
    }

    private static List<ToolCall> toolCalls(JsonNode n) {
        List<ToolCall> calls = new ArrayList<>();
        for (JsonNode c : n) {
            calls.add(new ToolCall(text(c, "id"), text(c, "name"), text(c, "arguments")));
        }
        return calls;
    }

    // --- models ---

    public ArrayNode models(List<ModelDescriptor> models) {
        ArrayNode a = json.createArrayNode();
        for (ModelDescriptor m : models) {
            ObjectNode n = a.addObject();
            n.put("id", m.id());
            n.put("providerId", m.providerId());
            n.put("displayName", m.displayName());
            n.put("contextWindow", m.contextWindow());
            n.put("maxOutputTokens", m.maxOutputTokens());
            ArrayNode caps = n.putArray("capabilities");
            m.capabilities().forEach(c -> caps.add(c.name()));
        }
        return a;
    }

    public List<ModelDescriptor> models(JsonNode a) {
        List<ModelDescriptor> models = new ArrayList<>();
        for (JsonNode n : a) {
            Set<ModelCapability> caps = EnumSet.noneOf(ModelCapability.class);
            n.path("capabilities").forEach(c -> caps.add(ModelCapability.valueOf(c.asText())));
            models.add(new ModelDescriptor(text(n, "id"), text(n, "providerId"), text(n, "displayName"),
                    n.path("contextWindow").asInt(), n.path("maxOutputTokens").asInt(), caps));
        }
        return List.copyOf(models);
    }

    // --- embeddings ---

    public ArrayNode embeddingModels(List<EmbeddingModel> models) {
        ArrayNode a = json.createArrayNode();
        for (EmbeddingModel m : models) {
            ObjectNode n = a.addObject();
            n.put("id", m.id());
            n.put("providerId", m.providerId());
            n.put("dimensions", m.dimensions());
            n.put("maxInputTokens", m.maxInputTokens());
            n.put("maxBatchSize", m.maxBatchSize());
            n.put("reducible", m.reducible());
        }
        return a;
    }

    public List<EmbeddingModel> embeddingModels(JsonNode a) {
        List<EmbeddingModel> models = new ArrayList<>();
        for (JsonNode n : a) {
            models.add(new EmbeddingModel(text(n, "id"), text(n, "providerId"), n.path("dimensions").asInt(),
                    n.path("maxInputTokens").asInt(), n.path("maxBatchSize").asInt(), n.path("reducible").asBoolean()));
        }
        return List.copyOf(models);
    }

    public ObjectNode embeddingRequest(EmbeddingRequest r) {
        ObjectNode n = json.createObjectNode();
        n.put("model", r.model());
        ArrayNode inputs = n.putArray("inputs");
        r.inputs().forEach(inputs::add);
        if (r.dimensions() != null) {
            n.put("dimensions", r.dimensions());
        }
        return n;
    }

    public EmbeddingRequest embeddingRequest(JsonNode n) {
        List<String> inputs = new ArrayList<>();
        n.path("inputs").forEach(i -> inputs.add(i.asText()));
        return new EmbeddingRequest(text(n, "model"), inputs,
                n.hasNonNull("dimensions") ? n.get("dimensions").asInt() : null);
    }

    /** Vectors as base64 of little-endian float32 (a quarter of the size of JSON numbers, and exact). */
    public ObjectNode embeddingResponse(EmbeddingResponse r) {
        ObjectNode n = json.createObjectNode();
        n.put("model", r.model());
        n.put("promptTokens", r.promptTokens());
        ArrayNode list = n.putArray("embeddings");
        for (Embedding e : r.embeddings()) {
            ByteBuffer b = ByteBuffer.allocate(e.vector().length * Float.BYTES).order(ByteOrder.LITTLE_ENDIAN);
            for (float f : e.vector()) {
                b.putFloat(f);
            }
            ObjectNode en = list.addObject();
            en.put("index", e.index());
            en.put("vector", Base64.getEncoder().encodeToString(b.array()));
        }
        return n;
    }

    public EmbeddingResponse embeddingResponse(JsonNode n) {
        List<Embedding> embeddings = new ArrayList<>();
        for (JsonNode en : n.path("embeddings")) {
            ByteBuffer b = ByteBuffer.wrap(Base64.getDecoder().decode(en.path("vector").asText()))
                    .order(ByteOrder.LITTLE_ENDIAN);
            float[] v = new float[b.remaining() / Float.BYTES];
            for (int i = 0; i < v.length; i++) {
                v[i] = b.getFloat();
            }
            embeddings.add(new Embedding(en.path("index").asInt(), v));
        }
        return new EmbeddingResponse(text(n, "model"), embeddings, n.path("promptTokens").asInt());
    }

    // --- answers ---

    public ObjectNode response(ChatResponse r) {
        ObjectNode n = json.createObjectNode();
        n.put("text", r.text());
        n.set("toolCalls", toolCalls(r.toolCalls()));
        n.put("finishReason", r.finishReason().name());
        ObjectNode u = n.putObject("usage");
        u.put("prompt", r.usage().promptTokens());
        u.put("completion", r.usage().completionTokens());
        u.put("cached", r.usage().cachedPromptTokens());
        n.put("model", r.model());
        return n;
    }

    public ChatResponse response(JsonNode n) {
        JsonNode u = n.path("usage");
        return new ChatResponse(text(n, "text"), toolCalls(n.path("toolCalls")),
                FinishReason.valueOf(n.path("finishReason").asText("STOP")),
                new Usage(u.path("prompt").asInt(), u.path("completion").asInt(), u.path("cached").asInt()),
                text(n, "model"));
    }

    public void toolCallDelta(ObjectNode into, ToolCallDelta d) {
        into.put("index", d.index());
        into.put("id", d.id());
        into.put("name", d.name());
        into.put("args", d.argumentsDelta());
    }

    public ToolCallDelta toolCallDelta(JsonNode n) {
        return new ToolCallDelta(n.path("index").asInt(), text(n, "id"), text(n, "name"), text(n, "args"));
    }

    public void error(ObjectNode into, ParleyException e) {
        into.put("code", e.code().slug());
        into.put("message", e.getMessage());
        e.retryAfter().ifPresent(d -> into.put("retryAfterMs", d.toMillis()));
        e.param().ifPresent(p -> into.put("param", p));
    }

    public ParleyException error(JsonNode n) {
        String slug = n.path("code").asText("");
        ErrorCode code = ErrorCode.UPSTREAM_FAILURE;
        for (ErrorCode c : ErrorCode.values()) {
            if (c.slug().equals(slug)) {
                code = c;
            }
        }
        Duration retryAfter = n.hasNonNull("retryAfterMs") ? Duration.ofMillis(n.get("retryAfterMs").asLong()) : null;
        return new ParleyException(code, n.path("message").asText("the plugin reported an error"), retryAfter, null,
                text(n, "param"));
    }

    // --- configurations ---

    /** Most properties one configuration carries over the RPC. */
    public static final int MAX_PROPERTIES = 256;
    /** Most elements of one array or collection value. */
    public static final int MAX_VALUES = 1024;
    /** Longest property name. */
    public static final int MAX_KEY_LENGTH = 256;

    /**
     * A configuration's properties as JSON, each value with its type ({@code {"key": {"t": "Long", "v": 5}}}), so the
     * host's Configuration Admin gets the types the server's has. Scalars of the types Configuration Admin allows and
     * arrays of them ({@code "String[]"}); a collection is sent as an array. The properties Configuration Admin sets
     * itself ({@code service.pid}, {@code service.factoryPid}, {@code service.bundleLocation}) are left out.
     *
     * @throws IllegalArgumentException for a value of another type or beyond the bounds above
     */
    public ObjectNode properties(java.util.Map<String, Object> props) {
        if (props.size() > MAX_PROPERTIES + 3) {
            throw new IllegalArgumentException("more than " + MAX_PROPERTIES + " properties");
        }
        ObjectNode n = json.createObjectNode();
        for (var e : props.entrySet()) {
            String k = e.getKey();
            if (k.equals("service.pid") || k.equals("service.factoryPid") || k.equals("service.bundleLocation")) {
                continue;
            }
            if (k.length() > MAX_KEY_LENGTH) {
                throw new IllegalArgumentException("property name longer than " + MAX_KEY_LENGTH);
            }
            Object v = e.getValue();
            ObjectNode typed = n.putObject(k);
            if (v instanceof java.util.Collection<?> c) {
                v = c.toArray();
                if (c.isEmpty()) {
                    typed.put("t", "String[]");
                    typed.putArray("v");
                    continue;
                }
                Class<?> type = c.iterator().next().getClass();
                for (Object o : c) {
                    if (o == null || o.getClass() != type) {
                        throw new IllegalArgumentException(k + ": a collection of mixed or null values");
                    }
                }
                Object array = java.lang.reflect.Array.newInstance(type, c.size());
                int i = 0;
                for (Object o : c) {
                    java.lang.reflect.Array.set(array, i++, o);
                }
                v = array;
            }
            if (v != null && v.getClass().isArray()) {
                String t = scalarType(v.getClass().getComponentType());
                int length = java.lang.reflect.Array.getLength(v);
                if (length > MAX_VALUES) {
                    throw new IllegalArgumentException(k + ": more than " + MAX_VALUES + " values");
                }
                typed.put("t", t + "[]");
                ArrayNode a = typed.putArray("v");
                for (int i = 0; i < length; i++) {
                    a.add(scalar(k, t, java.lang.reflect.Array.get(v, i)));
                }
            } else {
                String t = scalarType(v == null ? Void.class : v.getClass());
                typed.put("t", t);
                typed.set("v", scalar(k, t, v));
            }
        }
        return n;
    }

    /** Reads {@link #properties(java.util.Map)}. */
    public java.util.Map<String, Object> properties(JsonNode n) {
        if (!n.isObject() || n.size() > MAX_PROPERTIES) {
            throw new IllegalArgumentException("properties must be an object of at most " + MAX_PROPERTIES);
        }
        java.util.Map<String, Object> out = new java.util.LinkedHashMap<>();
        for (var it = n.fields(); it.hasNext();) {
            var e = it.next();
            String k = e.getKey();
            if (k.isEmpty() || k.length() > MAX_KEY_LENGTH) {
                throw new IllegalArgumentException("bad property name");
            }
            String t = text(e.getValue(), "t");
            if (t == null) {
                throw new IllegalArgumentException(k + ": no type");
            }
            JsonNode v = e.getValue().path("v");
            if (t.endsWith("[]")) {
                String element = t.substring(0, t.length() - 2);
                if (!v.isArray() || v.size() > MAX_VALUES) {
                    throw new IllegalArgumentException(k + ": an array of at most " + MAX_VALUES + " values");
                }
                Object array = java.lang.reflect.Array.newInstance(javaType(element), v.size());
                for (int i = 0; i < v.size(); i++) {
                    java.lang.reflect.Array.set(array, i, value(k, element, v.get(i)));
                }
                out.put(k, array);
            } else {
                out.put(k, value(k, t, v));
            }
        }
        return out;
    }

    private static String scalarType(Class<?> c) {
        if (c == String.class) {
            return "String";
        }
        if (c == Long.class || c == long.class) {
            return "Long";
        }
        if (c == Integer.class || c == int.class) {
            return "Integer";
        }
        if (c == Short.class || c == short.class) {
            return "Short";
        }
        if (c == Byte.class || c == byte.class) {
            return "Byte";
        }
        if (c == Character.class || c == char.class) {
            return "Character";
        }
        if (c == Double.class || c == double.class) {
            return "Double";
        }
        if (c == Float.class || c == float.class) {
            return "Float";
        }
        if (c == Boolean.class || c == boolean.class) {
            return "Boolean";
        }
        throw new IllegalArgumentException("a configuration value of type " + c.getName()
                + " cannot be carried to a plugin host");
    }

    private static Class<?> javaType(String t) {
        return switch (t) {
            case "String" -> String.class;
            case "Long" -> Long.class;
            case "Integer" -> Integer.class;
            case "Short" -> Short.class;
            case "Byte" -> Byte.class;
            case "Character" -> Character.class;
            case "Double" -> Double.class;
            case "Float" -> Float.class;
            case "Boolean" -> Boolean.class;
            default -> throw new IllegalArgumentException("unknown type " + t);
        };
    }

    private JsonNode scalar(String key, String t, Object v) {
        if (v == null) {
            throw new IllegalArgumentException(key + ": a null value");
        }
        return switch (t) {
            case "String" -> json.getNodeFactory().textNode((String) v);
            case "Character" -> json.getNodeFactory().textNode(String.valueOf(v));
            case "Boolean" -> json.getNodeFactory().booleanNode((Boolean) v);
            case "Double", "Float" -> json.getNodeFactory().numberNode(((Number) v).doubleValue());
            default -> json.getNodeFactory().numberNode(((Number) v).longValue());
        };
    }

    private static Object value(String key, String t, JsonNode v) {
        boolean ok = switch (t) {
            case "String", "Character" -> v.isTextual();
            case "Boolean" -> v.isBoolean();
            case "Double", "Float" -> v.isNumber();
            default -> v.canConvertToLong() && v.isIntegralNumber();
        };
        if (!ok) {
            throw new IllegalArgumentException(key + ": not a " + t);
        }
        return switch (t) {
            case "String" -> v.asText();
            case "Character" -> {
                if (v.asText().length() != 1) {
                    throw new IllegalArgumentException(key + ": not one character");
                }
                yield v.asText().charAt(0);
            }
            case "Boolean" -> v.asBoolean();
            case "Double" -> v.asDouble();
            case "Float" -> (float) v.asDouble();
            case "Long" -> v.asLong();
            case "Integer" -> Math.toIntExact(v.asLong());
            case "Short" -> (short) Math.toIntExact(v.asLong());
            case "Byte" -> (byte) Math.toIntExact(v.asLong());
            default -> throw new IllegalArgumentException(key + ": unknown type " + t);
        };
    }

    private static String text(JsonNode n, String field) {
        JsonNode v = n.get(field);
        return v == null || v.isNull() ? null : v.asText();
    }
}

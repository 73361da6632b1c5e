package dev.parley.testsupport.mistral;

import static dev.parley.testsupport.FakeServers.cut;
import static dev.parley.testsupport.FakeServers.daemonThreads;
import static dev.parley.testsupport.FakeServers.pause;

import dev.parley.testsupport.FakeServers.StreamCut;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.MissingNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import dev.parley.testsupport.RecordedRequest;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.regex.Pattern;

/**
 * A loopback server speaking Mistral AI's La Plateforme API as documented (docs.mistral.ai, API reference:
 * "Chat Completion" {@code POST /v1/chat/completions}, "Embeddings" {@code POST /v1/embeddings}, "Models"
 * {@code GET /v1/models}; "Error glossary"; "Prompt caching"), scriptable per test with {@link MistralBehaviour}.
 *
 * <ul>
 *   <li>Auth: {@code Authorization: Bearer <key>}; without it or with another key, 401 and the gateway's body
 *       {@code {"message":"Unauthorized","request_id":"…"}}.</li>
 *   <li>Streaming ({@code "stream": true}): {@code text/event-stream}, one {@code data: <chunk>} per event (blank line
 *       between), a first chunk with {@code delta.role}, one chunk per word, a last chunk with {@code finish_reason}
 *       and {@code usage}, then {@code data: [DONE]}. Tool calls come whole in one delta (Mistral does not stream their
 *       arguments in pieces), with {@code finish_reason: "tool_calls"}.</li>
 *   <li>Usage: {@code prompt_tokens} is the number of words in the request's messages, {@code completion_tokens} the
 *       number of content chunks; {@code prompt_tokens_details.cached_tokens} when the behaviour sets it.</li>
 *   <li>Request checks Mistral makes: {@code model} and {@code messages} required (422, FastAPI {@code detail}), tool
 *       call ids of exactly nine characters a-z, A-Z, 0-9 (400 "Tool call id was … but must be …"), a tool message
 *       answering an id no assistant message called (400).</li>
 *   <li>Errors: Mistral's error object {@code {"object":"error","message","type","param","code"}} (429 adds
 *       {@code raw_status_code}, {@code Retry-After} and {@code x-ratelimit-*} headers); 404 for an unknown path is
 *       FastAPI's {@code {"detail":"Not Found"}}. Message texts, and the {@code type} of 403, 503 and other 5xx
 *       bodies, are illustrative; the shapes, status codes and the 429 types/codes are the documented or observed
 *       ones.</li>
 * </ul>
 * Every request is recorded (method, path, lower-case headers, JSON body) so tests can assert what a client sent.
 */
public final class FakeMistralServer implements AutoCloseable {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Pattern TOOL_CALL_ID = Pattern.compile("[A-Za-z0-9]{9}");

    private final HttpServer server;
    private final ExecutorService executor;
    private final String apiKey;
    private final Queue<MistralBehaviour> queue = new ConcurrentLinkedQueue<>();
    private final List<RecordedRequest> requests = new CopyOnWriteArrayList<>();
    private final AtomicInteger inFlight = new AtomicInteger();
    private final AtomicInteger completedStreams = new AtomicInteger();
    private final AtomicInteger abortedByClient = new AtomicInteger();
    private final AtomicLong ids = new AtomicLong();
    private final AtomicBoolean closed = new AtomicBoolean();
    private volatile MistralBehaviour defaultBehaviour = MistralBehaviour.echo();
    private volatile List<String> models = List.of("mistral-small-latest", "mistral-large-latest", "pixtral-12b-2409",
            "mistral-embed");
    private volatile int embeddingDimensions = 1024;

    private FakeMistralServer(String apiKey) throws IOException {
        this.apiKey = apiKey;
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 64);
        this.executor = Executors.newCachedThreadPool(daemonThreads("fake-mistral"));
        server.setExecutor(executor);
        server.createContext("/", this::route);
        server.start();
    }

    /** Starts a server that demands {@code Authorization: Bearer <apiKey>}. */
    public static FakeMistralServer start(String apiKey) {
        try {
            return new FakeMistralServer(apiKey);
        } catch (IOException e) {
            throw new IllegalStateException("cannot start the fake Mistral server", e);
        }
    }

    /** The base URL a client is configured with, e.g. {@code http://127.0.0.1:12345/v1}. */
    public String baseUrl() {
        return "http://127.0.0.1:" + server.getAddress().getPort() + "/v1";
    }

    // ---- scripting ---------------------------------------------------------------------------------------------

    public MistralBehaviour enqueue(MistralBehaviour b) {
        queue.add(b);
        return b;
    }

    public FakeMistralServer defaultBehaviour(MistralBehaviour b) {
        this.defaultBehaviour = b;
        return this;
    }

    /** The ids {@code GET /v1/models} lists. */
    public FakeMistralServer models(String... ids) {
        this.models = List.of(ids);
        return this;
    }

    // ---- observing ---------------------------------------------------------------------------------------------

    public List<RecordedRequest> requests() {
        return List.copyOf(requests);
    }

    public List<RecordedRequest> chatRequests() {
        return requests.stream().filter(r -> r.path().equals("/v1/chat/completions")).toList();
    }

    public RecordedRequest lastChatRequest() {
        List<RecordedRequest> chat = chatRequests();
        return chat.isEmpty() ? null : chat.get(chat.size() - 1);
    }

    public List<RecordedRequest> embeddingRequests() {
        return requests.stream().filter(r -> r.path().equals("/v1/embeddings")).toList();
    }

    public int inFlight() {
        return inFlight.get();
    }

    /** Streams that reached {@code [DONE]}. */
    public int completedStreams() {
        return completedStreams.get();
    }

    /** Streams that ended because the client went away while the server was still writing. */
    public int abortedByClient() {
        return abortedByClient.get();
    }

    @Override
    public void close() {
        if (closed.compareAndSet(false, true)) {
            server.stop(0);
            executor.shutdownNow();
        }
    }

    // ---- protocol ----------------------------------------------------------------------------------------------

    private void route(HttpExchange ex) throws IOException {
        String path = ex.getRequestURI().getPath();
        boolean close = true;
        inFlight.incrementAndGet();
        try {
            byte[] raw = ex.getRequestBody().readAllBytes();
            JsonNode body;
            try {
                body = raw.length == 0 ? MissingNode.getInstance() : JSON.readTree(raw);
            } catch (IOException e) {
                record(ex, MissingNode.getInstance());
                send(ex, 400, errorObject("Invalid JSON body", "invalid_request_error", null, 0));
                return;
            }
            record(ex, body);
            if (!authorized(ex)) {
                // The API gateway's answer, before the API itself sees the request.
                send(ex, 401, "{\"message\":\"Unauthorized\",\"request_id\":\"" + Long.toHexString(ids.incrementAndGet())
                        + "0f3a\"}");
                return;
            }
            switch (path) {
                case "/v1/chat/completions" -> close = chat(ex, body);
                case "/v1/embeddings" -> embeddings(ex, body);
                case "/v1/models" -> listModels(ex);
                default -> send(ex, 404, "{\"detail\":\"Not Found\"}");
            }
        } catch (StreamCut cut) {
            close = false;
            throw cut;
        } finally {
            inFlight.decrementAndGet();
            if (close) {
                ex.close();
            }
        }
    }

    private void listModels(HttpExchange ex) throws IOException {
        if (!"GET".equals(ex.getRequestMethod())) {
            send(ex, 405, "{\"detail\":\"Method Not Allowed\"}");
            return;
        }
        ObjectNode list = JSON.createObjectNode().put("object", "list");
        ArrayNode data = list.putArray("data");
        for (String id : models) {
            boolean embed = id.contains("embed");
            ObjectNode m = data.addObject().put("id", id).put("object", "model").put("created", 1_730_000_000L)
                    .put("owned_by", "mistralai");
            m.putObject("capabilities").put("completion_chat", !embed).put("function_calling", !embed)
                    .put("vision", id.startsWith("pixtral")).put("completion_fim", false).put("fine_tuning", false);
            m.put("name", id).put("max_context_length", embed ? 8192 : 131072).put("type", "base");
        }
        send(ex, 200, JSON.writeValueAsString(list));
    }

    private void embeddings(HttpExchange ex, JsonNode body) throws IOException {
        if (!body.hasNonNull("model") || !body.path("input").isArray() && !body.path("input").isTextual()) {
            send(ex, 422, validation("model", "input"));
            return;
        }
        List<String> inputs = new ArrayList<>();
        if (body.path("input").isTextual()) {
            inputs.add(body.path("input").asText());
        } else {
            body.path("input").forEach(i -> inputs.add(i.asText()));
        }
        int dims = body.hasNonNull("output_dimension") ? body.path("output_dimension").asInt() : embeddingDimensions;
        ObjectNode root = JSON.createObjectNode().put("id", "embd-" + ids.incrementAndGet()).put("object", "list");
        ArrayNode data = root.putArray("data");
        int tokens = 0;
        for (int i = 0; i < inputs.size(); i++) {
            ObjectNode e = data.addObject().put("object", "embedding");
            ArrayNode v = e.putArray("embedding");
            for (float f : vector(inputs.get(i), dims)) {
                v.add(f);
            }
            e.put("index", i);
            tokens += words(inputs.get(i)).size();
        }
        root.put("model", body.path("model").asText());
        root.putObject("usage").put("prompt_tokens", tokens).put("total_tokens", tokens).put("completion_tokens", 0);
        send(ex, 200, JSON.writeValueAsString(root));
    }

    /** A deterministic unit vector per text, so a test can check which input a vector belongs to. */
    public static float[] vector(String text, int dims) {
        float[] v = new float[dims];
        long seed = text.hashCode();
        double norm = 0;
        for (int i = 0; i < dims; i++) {
            seed = seed * 6364136223846793005L + 1442695040888963407L;
            v[i] = ((seed >>> 40) % 2000 - 1000) / 1000f;
            norm += v[i] * v[i];
        }
        float n = (float) Math.sqrt(norm);
        for (int i = 0; i < dims; i++) {
            v[i] = n == 0 ? 0 : v[i] / n;
        }
        return v;
    }

    /** Returns false when the exchange must not be closed cleanly (a cut). */
    private boolean chat(HttpExchange ex, JsonNode body) throws IOException {
        if (!"POST".equals(ex.getRequestMethod())) {
            send(ex, 405, "{\"detail\":\"Method Not Allowed\"}");
            return true;
        }
        if (!body.hasNonNull("model") || !body.path("messages").isArray() || body.path("messages").isEmpty()) {
            send(ex, 422, validation("model", "messages"));
            return true;
        }
        String badId = badToolCallId(body.path("messages"));
        if (badId != null) {
            send(ex, 400, errorObject(badId, "invalid_request_error", null, 0));
            return true;
        }
        MistralBehaviour b = queue.poll();
        if (b == null) {
            b = defaultBehaviour;
        }
        String model = b.answerModel != null ? b.answerModel : body.path("model").asText();
        if (b.kind == MistralBehaviour.Kind.FAIL) {
            fail(ex, b);
            return true;
        }
        List<String> chunks = switch (b.kind) {
            case REPLY -> words(b.text);
            case ECHO -> words("echo: " + lastUserText(body));
            case TOOL_CALLS -> b.textBeforeCalls == null ? List.of() : words(b.textBeforeCalls);
            default -> List.of();
        };
        if (body.path("stream").asBoolean(false)) {
            return stream(ex, b, chunks, model, promptWords(body));
        }
        complete(ex, b, chunks, model, promptWords(body));
        return true;
    }

    /** Mistral's rule for tool call ids, and that a tool message answers a call made before it. */
    private static String badToolCallId(JsonNode messages) {
        List<String> called = new ArrayList<>();
        for (JsonNode m : messages) {
            for (JsonNode c : m.path("tool_calls")) {
                String id = c.path("id").asText("");
                if (!TOOL_CALL_ID.matcher(id).matches()) {
                    return "Tool call id was " + id + " but must be a-z, A-Z, 0-9, with a length of 9.";
                }
                called.add(id);
            }
            if ("tool".equals(m.path("role").asText())) {
                String id = m.path("tool_call_id").asText("");
                if (!TOOL_CALL_ID.matcher(id).matches()) {
                    return "Tool call id was " + id + " but must be a-z, A-Z, 0-9, with a length of 9.";
                }
                if (!called.contains(id)) {
                    return "Unexpected tool call id " + id + " in tool results";
                }
            }
        }
        return null;
    }

    private void fail(HttpExchange ex, MistralBehaviour b) throws IOException {
        if (b.status == 429) {
            ex.getResponseHeaders().set("x-ratelimit-limit-req-minute", "60");
            ex.getResponseHeaders().set("x-ratelimit-remaining-req-minute", "0");
            ex.getResponseHeaders().set("x-ratelimit-limit-tokens-minute", "500000");
            ex.getResponseHeaders().set("x-ratelimit-remaining-tokens-minute", "0");
            if (b.retryAfterSeconds >= 0) {
                ex.getResponseHeaders().set("Retry-After", Long.toString(b.retryAfterSeconds));
            }
        }
        send(ex, b.status, b.errorBody != null ? b.errorBody : defaultError(b.status));
    }

    static String defaultError(int status) {
        return switch (status) {
            case 400 -> errorObject("Invalid request", "invalid_request_error", null, 0);
            case 401 -> "{\"message\":\"Unauthorized\",\"request_id\":\"5e1c2d\"}";
            case 403 -> errorObject("You do not have access to this model.", "forbidden", null, 0);
            case 404 -> "{\"detail\":\"Not Found\"}";
            case 422 -> validation("messages.0.content");
            case 429 -> errorObject("Rate limit exceeded", "rate_limited", "1300", 429);
            case 503 -> errorObject("Service unavailable, please retry", "service_unavailable", null, 0);
            default -> status >= 500 ? errorObject("Internal server error", "internal_server_error", null, 0)
                    : errorObject("Request failed", "invalid_request_error", null, 0);
        };
    }

    /** Mistral's error object; {@code rawStatus} > 0 adds {@code raw_status_code}. */
    public static String errorObject(String message, String type, String code, int rawStatus) {
        ObjectNode e = JSON.createObjectNode().put("object", "error").put("message", message).put("type", type);
        e.putNull("param");
        if (code == null) {
            e.putNull("code");
        } else {
            e.put("code", code);
        }
        if (rawStatus > 0) {
            e.put("raw_status_code", rawStatus);
        }
        return e.toString();
    }

    /** A 422 body: FastAPI's validation detail inside Mistral's error object. */
    static String validation(String... fields) {
        ObjectNode e = JSON.createObjectNode().put("object", "error");
        ArrayNode detail = e.putObject("message").putArray("detail");
        for (String f : fields) {
            ObjectNode d = detail.addObject().put("type", "missing");
            ArrayNode loc = d.putArray("loc").add("body");
            for (String p : f.split("\\.")) {
                loc.add(p);
            }
            d.put("msg", "Field required");
        }
        e.put("type", "invalid_request_error");
        e.putNull("param");
        e.putNull("code");
        return e.toString();
    }

    private void complete(HttpExchange ex, MistralBehaviour b, List<String> chunks, String model, int promptTokens)
            throws IOException {
        pause(b.firstTokenDelay);
        if (b.tokenDelay != null) {
            pause(b.tokenDelay.multipliedBy(Math.max(0, chunks.size() - 1)));
        }
        if (b.malformedAfter >= 0) {
            send(ex, 200, "{\"id\":\"x\",\"choices\":[{not json");
            return;
        }
        ObjectNode root = JSON.createObjectNode().put("id", "cmpl-" + ids.incrementAndGet())
                .put("object", "chat.completion").put("model", model);
        usage(root, promptTokens, b.kind == MistralBehaviour.Kind.TOOL_CALLS ? b.calls.size() : chunks.size(),
                b.cachedTokens);
        root.put("created", System.currentTimeMillis() / 1000);
        ObjectNode choice = root.putArray("choices").addObject().put("index", 0);
        ObjectNode message = choice.putObject("message").put("role", "assistant");
        message.put("content", String.join("", chunks));
        if (b.kind == MistralBehaviour.Kind.TOOL_CALLS) {
            toolCalls(message, b.calls);
        } else {
            message.putNull("tool_calls");
        }
        choice.put("finish_reason", b.finishReason != null ? b.finishReason : "stop");
        byte[] bytes = JSON.writeValueAsBytes(root);
        if (b.cutAfter >= 0) {
            ex.getResponseHeaders().set("Content-Type", "application/json");
            ex.sendResponseHeaders(200, bytes.length);
            OutputStream out = ex.getResponseBody();
            out.write(bytes, 0, bytes.length / 2);
            out.flush();
            cut();
        }
        send(ex, 200, new String(bytes, StandardCharsets.UTF_8));
    }

    private boolean stream(HttpExchange ex, MistralBehaviour b, List<String> chunks, String model, int promptTokens)
            throws IOException {
        String id = "cmpl-" + ids.incrementAndGet();
        long created = System.currentTimeMillis() / 1000;
        ex.getResponseHeaders().set("Content-Type", "text/event-stream; charset=utf-8");
        ex.getResponseHeaders().set("Cache-Control", "no-cache");
        ex.sendResponseHeaders(200, 0);
        OutputStream out = ex.getResponseBody();
        try {
            pause(b.firstTokenDelay);
            ObjectNode first = JSON.createObjectNode().put("role", "assistant").put("content", "");
            frame(out, chunk(id, created, model, first, null));
            int sent = 0;
            for (String piece : chunks) {
                if (sent == b.cutAfter) {
                    cut();
                }
                if (sent == b.closeAfter) {
                    return true;
                }
                if (sent == b.malformedAfter) {
                    out.write("data: {not json\n\n".getBytes(StandardCharsets.UTF_8));
                    out.flush();
                }
                if (sent == b.errorEventAfter) {
                    out.write(("data: " + b.errorEvent + "\n\n").getBytes(StandardCharsets.UTF_8));
                    out.flush();
                    return true;
                }
                if (sent > 0) {
                    pause(b.tokenDelay);
                }
                frame(out, chunk(id, created, model, JSON.createObjectNode().put("content", piece), null));
                sent++;
            }
            if (sent == b.cutAfter) {
                cut();
            }
            if (sent == b.errorEventAfter) {
                out.write(("data: " + b.errorEvent + "\n\n").getBytes(StandardCharsets.UTF_8));
                out.flush();
                return true;
            }
            ObjectNode last = JSON.createObjectNode().put("content", "");
            int completion = sent;
            if (b.kind == MistralBehaviour.Kind.TOOL_CALLS) {
                toolCalls(last, b.calls);
                completion = b.calls.size();
            }
            ObjectNode end = chunk(id, created, model, last, b.finishReason != null ? b.finishReason : "stop");
            usage(end, promptTokens, completion, b.cachedTokens);
            frame(out, end);
            out.write("data: [DONE]\n\n".getBytes(StandardCharsets.UTF_8));
            out.flush();
            completedStreams.incrementAndGet();
            return true;
        } catch (StreamCut cut) {
            throw cut;
        } catch (IOException clientGone) {
            abortedByClient.incrementAndGet();
            return false;
        }
    }

    private static void toolCalls(ObjectNode message, List<MistralBehaviour.Call> calls) {
        ArrayNode arr = message.putArray("tool_calls");
        int i = 0;
        for (MistralBehaviour.Call c : calls) {
            ObjectNode call = arr.addObject().put("id", c.id()).put("type", "function");
            call.putObject("function").put("name", c.name()).put("arguments", c.argumentsJson());
            call.put("index", i++);
        }
    }

    private static ObjectNode chunk(String id, long created, String model, ObjectNode delta, String finish) {
        ObjectNode root = JSON.createObjectNode().put("id", id).put("object", "chat.completion.chunk")
                .put("created", created).put("model", model);
        ObjectNode choice = root.putArray("choices").addObject().put("index", 0);
        choice.set("delta", delta);
        if (finish == null) {
            choice.putNull("finish_reason");
        } else {
            choice.put("finish_reason", finish);
        }
        return root;
    }

    private static void usage(ObjectNode root, int prompt, int completion, int cached) {
        ObjectNode u = root.putObject("usage").put("prompt_tokens", prompt).put("total_tokens", prompt + completion)
                .put("completion_tokens", completion);
        if (cached >= 0) {
            u.putObject("prompt_tokens_details").put("cached_tokens", cached);
        }
    }

    private static void frame(OutputStream out, JsonNode node) throws IOException {
        out.write(("data: " + JSON.writeValueAsString(node) + "\n\n").getBytes(StandardCharsets.UTF_8));
        out.flush();
    }

    private static void send(HttpExchange ex, int status, String json) throws IOException {
        byte[] bytes = json.getBytes(StandardCharsets.UTF_8);
        ex.getResponseHeaders().set("Content-Type", "application/json");
        ex.sendResponseHeaders(status, bytes.length);
        try (OutputStream out = ex.getResponseBody()) {
            out.write(bytes);
        }
    }

    private boolean authorized(HttpExchange ex) {
        return apiKey == null || ("Bearer " + apiKey).equals(ex.getRequestHeaders().getFirst("Authorization"));
    }

    private void record(HttpExchange ex, JsonNode body) {
        Map<String, List<String>> headers = new HashMap<>();
        ex.getRequestHeaders().forEach((k, v) -> headers.put(k.toLowerCase(Locale.ROOT), List.copyOf(v)));
        requests.add(new RecordedRequest(ex.getRequestMethod(), ex.getRequestURI().getPath(), headers, body));
    }

    static List<String> words(String text) {
        if (text.isEmpty()) {
            return List.of();
        }
        return Arrays.asList(text.split("(?<=\\S)(?=\\s)"));
    }

    private static int promptWords(JsonNode body) {
        int n = 0;
        for (JsonNode m : body.path("messages")) {
            String t = text(m.path("content")).trim();
            if (!t.isEmpty()) {
                n += t.split("\\s+").length;
            }
        }
        return n;
    }

    private static String lastUserText(JsonNode body) {
        String last = "";
        for (JsonNode m : body.path("messages")) {
            if ("user".equals(m.path("role").asText())) {
                last = text(m.path("content"));
            }
        }
        return last;
    }

    /** Content is a string or an array of typed chunks ({@code text}, {@code image_url}, …). */
    static String text(JsonNode content) {
        if (content.isTextual()) {
            return content.asText();
        }
        StringBuilder sb = new StringBuilder();
        for (JsonNode part : content) {
            if ("text".equals(part.path("type").asText())) {
                sb.append(part.path("text").asText());
            }
        }
        return sb.toString();
    }

}
